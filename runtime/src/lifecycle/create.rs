//! `create`: from an image and [`CreateOptions`] to a container in status
//! `created`. [`super::plan::plan`] decides everything; this module acts on
//! the plan: record (name claimed), writable snapshot over the image's init
//! layer, volumes (with copy-up) and bind sources, `/etc` files and the OCI
//! bundle. Nothing runs yet.

use std::path::{Path, PathBuf};

use kiln_image::ContentStore;
use kiln_parser::values::{DeviceMapping, MountKind, MountRequest};
use kiln_snapshotter::{unpack, Labels, Snapshotter};

use super::options::CreateOptions;
use super::plan::{plan, CreatePlan, PlanContext};
use crate::container::{
    new_id, random_name, ContainerError, ContainerRecord, ContainerStore, MountPoint,
};
use crate::error::{Error, Result};
use crate::spec::{self, DeviceNode, MountSpec};
use crate::volumes::{self, VolumeStore};
use crate::{init_layer, rootfs};

/// Creates the container; returns it. Errors are one line; on error nothing
/// of the container is left (record, snapshot, anonymous volumes).
///
/// Safe to call from several threads at once: the root filesystem is
/// mounted in the calling thread's private mount namespace
/// ([`rootfs::enter_private_mount_namespace`]), never in the host's; it stays
/// mounted there (a foreground run on the same thread reuses it) until the
/// container is removed or the thread ends.
pub fn create(root: &Path, options: &CreateOptions) -> Result<ContainerRecord> {
    let store = ContainerStore::open(root)?;
    let content = ContentStore::new(root)?;
    let id = new_id().map_err(|e| Error::io("new container ID", e))?;
    // Every mount below (the overlay probe of a new root included) stays
    // in this thread's private namespace (see the function's docs).
    rootfs::enter_private_mount_namespace().map_err(|e| Error::io("private mount namespace", e))?;
    let snapshotter = rootfs::open_snapshotter(root, None)?;
    let network = super::network::resolve(root, options)?;
    let context = PlanContext {
        dir: store.dir(&id),
        id,
        created: {
            let (secs, nanos) = kiln_image::time::now();
            kiln_image::time::format_rfc3339_nanos(secs, nanos)
        },
        snapshotter: snapshotter.name().to_string(),
        network,
    };
    let plan = plan(options, &context)?;
    let mut record = claim_name(&store, plan.record.clone(), options.name.as_deref())?;
    let made = act(root, &content, snapshotter.as_ref(), &plan, &mut record)
        .and_then(|()| Ok(store.save_record(&record)?));
    if let Err(error) = made {
        let _ = rootfs::unmount(&context.dir.join("rootfs"));
        let _ = snapshotter.remove(&record.snapshot_key);
        remove_anonymous_volumes(root, &record);
        let _ = store.remove_dir(&record.id);
        return Err(error);
    }
    Ok(record)
}

/// Makes what `plan` describes: the root filesystem, the mounts' sources,
/// the `/etc` files and the bundle; fills `record.mounts`.
fn act(
    root: &Path,
    content: &ContentStore,
    snapshotter: &dyn Snapshotter,
    plan: &CreatePlan,
    record: &mut ContainerRecord,
) -> Result<()> {
    let options = &plan.spec;
    let dir = options
        .rootfs
        .parent()
        .unwrap_or(Path::new("/"))
        .to_path_buf();
    let chain = unpack(content, &plan.manifest, snapshotter).map_err(|source| Error::Unpack {
        image: record.config.image.clone(),
        source: Box::new(source),
    })?;
    rootfs::enter_private_mount_namespace().map_err(|e| Error::io("private mount namespace", e))?;
    // Docker's init layer between the image and the container's layer.
    let init = init_layer::snapshot::init_snapshot(snapshotter, &chain, &dir.join("init-rootfs"))?;
    snapshotter
        .prepare(&record.snapshot_key, Some(&init), &Labels::new())
        .map_err(|e| Error::snapshot("prepare root filesystem", e))?;
    rootfs::mount_snapshot(snapshotter, &record.snapshot_key, &options.rootfs)?;
    let (mut mounts, points) = make_mounts(root, &plan.mounts, &options.rootfs)?;
    spec::resolve_destinations(&options.rootfs, &mut mounts)?;
    record.mounts = points;
    let mut spec_options = options.clone();
    spec_options.mounts = spec::etc_files(&dir.join("etc"), &options.hostname, &plan.network)?;
    add_hosts(&dir.join("etc/hosts"), &plan.extra_hosts)?;
    spec_options.devices = plan
        .devices
        .iter()
        .map(device_node)
        .collect::<Result<_>>()?;
    spec_options.mounts.extend(mounts);
    if plan.init {
        let init = crate::init_binary::install(root).map_err(|e| Error::io("install init", e))?;
        spec_options.mounts.push(MountSpec::Bind {
            source: init,
            destination: crate::init_binary::INIT_PATH.into(),
            read_only: true,
        });
    }
    let mut spec = spec::build_spec(&spec_options)?;
    if !record.config.domainname.is_empty() {
        spec.set_domainname(Some(record.config.domainname.clone()));
    }
    ensure_workdir(&options.rootfs, &record.config.working_dir, &spec)?;
    let bundle = dir.join("bundle");
    std::fs::create_dir_all(&bundle)
        .map_err(|e| Error::io(format!("create {}", bundle.display()), e))?;
    let path = bundle.join("config.json");
    spec.save(&path)
        .map_err(|source| Error::WriteBundle { path, source })
}

/// A `--device` as its host node says: type, numbers, mode and owner.
fn device_node(device: &DeviceMapping) -> Result<DeviceNode> {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let path = Path::new(&device.host_path);
    let meta = std::fs::metadata(path)
        .map_err(|e| Error::io(format!("--device {}", device.host_path), e))?;
    let kind = meta.file_type();
    if !kind.is_char_device() && !kind.is_block_device() {
        return Err(Error::NotADevice(path.to_path_buf()));
    }
    let rdev = meta.rdev();
    Ok(DeviceNode {
        path: device.container_path.clone(),
        block: kind.is_block_device(),
        major: libc::major(rdev) as i64,
        minor: libc::minor(rdev) as i64,
        file_mode: meta.mode() & 0o7777,
        uid: meta.uid(),
        gid: meta.gid(),
        access: device.permissions.clone(),
    })
}

/// Appends the `--add-host` lines to the container's `/etc/hosts`.
fn add_hosts(hosts: &Path, lines: &[String]) -> Result<()> {
    if lines.is_empty() {
        return Ok(());
    }
    let context = || format!("write {}", hosts.display());
    let mut text = std::fs::read_to_string(hosts).map_err(|e| Error::io(context(), e))?;
    for line in lines {
        text.push_str(line);
        text.push('\n');
    }
    std::fs::write(hosts, text).map_err(|e| Error::io(context(), e))
}

/// Picks the container's name (given, or random with a numeric suffix when
/// taken) and adds the record to the store.
fn claim_name(
    store: &ContainerStore,
    mut record: ContainerRecord,
    name: Option<&str>,
) -> Result<ContainerRecord> {
    if let Some(name) = name {
        record.name = name.strip_prefix('/').unwrap_or(name).to_string();
        store.create(&record)?;
        return Ok(record);
    }
    let base = random_name(&record.id);
    for attempt in 0..1000 {
        record.name = if attempt == 0 {
            base.clone()
        } else {
            format!("{base}{attempt}")
        };
        match store.create(&record) {
            Ok(()) => return Ok(record),
            Err(ContainerError::NameInUse { .. }) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(Error::NoFreeName)
}

/// Makes each planned mount's source (volumes with copy-up, missing `-v`
/// bind sources); returns the spec mounts and Docker's `Mounts` entries.
fn make_mounts(
    root: &Path,
    planned: &[MountRequest],
    rootfs_dir: &Path,
) -> Result<(Vec<MountSpec>, Vec<MountPoint>)> {
    for mount in planned {
        if let MountKind::Bind {
            source,
            create_source: false,
            ..
        } = &mount.kind
        {
            if !Path::new(source).exists() {
                return Err(Error::BindSourceMissing(PathBuf::from(source)));
            }
        }
    }
    let volumes = VolumeStore::open(root)?;
    let mut specs = Vec::new();
    let mut points = Vec::new();
    for mount in planned {
        let (spec, point) = make_mount(&volumes, mount, rootfs_dir)?;
        specs.push(spec);
        points.push(point);
    }
    Ok((specs, points))
}

fn make_mount(
    volumes: &VolumeStore,
    mount: &MountRequest,
    rootfs_dir: &Path,
) -> Result<(MountSpec, MountPoint)> {
    let dest = mount.target.clone();
    let read_only = mount.read_only;
    Ok(match &mount.kind {
        MountKind::Bind { source, .. } => {
            let path = PathBuf::from(source);
            if !path.exists() {
                std::fs::create_dir_all(&path)
                    .map_err(|e| Error::io(format!("create bind source {source}"), e))?;
            }
            let point = MountPoint {
                kind: "bind".into(),
                source: source.clone(),
                destination: dest.clone(),
                mode: mount.mode.clone(),
                rw: !read_only,
                ..MountPoint::default()
            };
            let spec = MountSpec::Bind {
                source: path,
                destination: dest,
                read_only,
            };
            (spec, point)
        }
        MountKind::Volume {
            name,
            nocopy,
            labels,
            ..
        } => {
            let anonymous = name.is_none();
            let name = match name {
                Some(name) => name.clone(),
                None => new_id().map_err(|e| Error::io("new volume name", e))?,
            };
            let (volume, _) = volumes.ensure(&name, labels.clone(), anonymous)?;
            if !nocopy {
                let inside = spec::resolve_in_rootfs(rootfs_dir, &dest)?;
                volumes::copy_up(&inside, Path::new(&volume.mountpoint))?;
            }
            let spec = MountSpec::Bind {
                source: PathBuf::from(&volume.mountpoint),
                destination: dest.clone(),
                read_only,
            };
            let point = MountPoint {
                kind: "volume".into(),
                name,
                source: volume.mountpoint,
                destination: dest,
                mode: mount.mode.clone(),
                rw: !read_only,
            };
            (spec, point)
        }
        MountKind::Tmpfs { options } => {
            let point = MountPoint {
                kind: "tmpfs".into(),
                destination: dest.clone(),
                mode: options.join(","),
                rw: true,
                ..MountPoint::default()
            };
            let spec = MountSpec::Tmpfs {
                destination: dest,
                options: options.clone(),
            };
            (spec, point)
        }
    })
}

/// Creates the working directory in the root filesystem if missing, owned by
/// the container's user (as Docker does at start).
fn ensure_workdir(rootfs_dir: &Path, workdir: &str, spec: &oci_spec::runtime::Spec) -> Result<()> {
    if workdir.is_empty() || workdir == "/" {
        return Ok(());
    }
    let path = spec::resolve_in_rootfs(rootfs_dir, workdir)?;
    if path.exists() {
        return Ok(());
    }
    std::fs::create_dir_all(&path)
        .map_err(|e| Error::io(format!("create working directory {workdir}"), e))?;
    if let Some(process) = spec.process() {
        let user = process.user();
        let _ = std::os::unix::fs::chown(&path, Some(user.uid()), Some(user.gid()));
    }
    Ok(())
}

/// Removes the anonymous volumes of `record`.
pub fn remove_anonymous_volumes(root: &Path, record: &ContainerRecord) {
    let Ok(volumes) = VolumeStore::open(root) else {
        return;
    };
    for point in &record.mounts {
        if point.kind == "volume" && volumes.get(&point.name).is_some_and(|v| v.anonymous) {
            let _ = volumes.remove(&point.name);
        }
    }
}
