//! `OverlaySnapshotter`: snapshots as overlayfs layers.
//!
//! Layout: `<root>/snapshots/overlay/snapshots/<id>/{fs,work}`. A snapshot's `fs`
//! holds only what it changed (overlayfs' upper directory: new files, copied-up
//! files, whiteout character devices and opaque-directory xattrs for deletions).
//!
//! Mounts:
//! - prepare, no parent: `bind` of the empty `fs`, `rbind,rw`;
//! - prepare over committed parents: `overlay` with `lowerdir=` the parents' `fs`
//!   (nearest first, `:`-separated), `upperdir=` and `workdir=` its own;
//! - view, no parent: read-only `bind` of its own empty `fs`;
//! - view of one parent: read-only `bind` of that parent's `fs`;
//! - view of a deeper chain: `overlay` with only `lowerdir=` (read-only by nature).
//!
//! `index=off` is added when the kernel enables the overlay index by default, as
//! lower directories are shared between mounts. Paths go into overlay options, so
//! the root must be UTF-8 and free of `,` and `:`. Callers that need the
//! directories themselves (the builder's exporter, its COPY rebase) ask
//! [`Snapshotter::layout`] (`own` = the `fs` above, [`Contents::Changes`]) rather
//! than reading them back from the options. The options name full paths; when
//! they exceed the one page `mount(2)` takes, [`crate::mount::mount_all`]
//! mounts them without full paths (see `overlay_mount`), so the layer limit does
//! not depend on the root path: overlayfs' own 500 lower layers on Linux 6.8+
//! (`lowerdir+`), 200+ on older kernels; Docker's overlay2 allows 128.

use std::fs::{self, DirBuilder};
use std::os::unix::fs::DirBuilderExt;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use crate::snapshot::{bind, path_str};
use crate::store::{Snap, Store, FS};
use crate::{
    mount, Contents, Error, Info, Kind, Labels, Layout, Mount, Result, Snapshotter, Usage,
};

const NAME: &str = "overlay";

/// Snapshots as overlayfs layers; see the module docs for layout and mounts.
#[derive(Debug)]
pub struct OverlaySnapshotter {
    store: Store,
}

impl OverlaySnapshotter {
    /// Opens (creating if needed) the overlay snapshotter under `<root>/snapshots/overlay`.
    pub fn new(root: &Path) -> Result<Self> {
        let store = Store::open(root, NAME)?;
        let dir = store.dir();
        let text = path_str(dir)?;
        if text.contains([',', ':']) {
            let reason = "overlay options cannot carry paths containing ',' or ':'";
            return Err(Error::UnusablePath {
                path: dir.to_path_buf(),
                reason,
            });
        }
        Ok(OverlaySnapshotter { store })
    }

    /// Whether overlayfs works on `root`'s filesystem: tries a real overlay mount
    /// (with a lower, upper and work directory) in a scratch directory under
    /// `<root>/snapshots`, checks a lower file shows through, then cleans up.
    pub fn supported(root: &Path) -> bool {
        static PROBES: AtomicU64 = AtomicU64::new(0);
        let n = PROBES.fetch_add(1, Ordering::Relaxed);
        let dir = root
            .join("snapshots")
            .join(format!(".overlay-probe-{}-{n}", std::process::id()));
        let ok = probe(&dir).is_ok();
        let _ = fs::remove_dir_all(&dir);
        ok
    }
}

fn probe(dir: &Path) -> Result<()> {
    for sub in ["lower", "upper", "work", "merged"] {
        let path = dir.join(sub);
        fs::create_dir_all(&path).map_err(Error::io("create directory", &path))?;
    }
    let lower_file = dir.join("lower").join("probe");
    fs::write(&lower_file, b"ok").map_err(Error::io("write", &lower_file))?;
    let option = |sub: &str| Ok::<_, Error>(format!("{sub}dir={}", path_str(&dir.join(sub))?));
    let probe = Mount {
        kind: "overlay".into(),
        source: "overlay".into(),
        target: None,
        options: vec![option("lower")?, option("upper")?, option("work")?],
    };
    let merged = dir.join("merged");
    mount::mount_all(&[probe], &merged)?;
    let seen = fs::read(merged.join("probe"));
    mount::unmount(&merged)?;
    seen.map_err(Error::io("read", merged.join("probe")))?;
    Ok(())
}

/// Creates the empty `fs` (0755) and `work` (0700) directories of a new snapshot.
fn populate(dir: &Path, _parent: Option<&Path>) -> Result<()> {
    for (sub, mode) in [(FS, 0o755), ("work", 0o700)] {
        let path = dir.join(sub);
        DirBuilder::new()
            .mode(mode)
            .create(&path)
            .map_err(Error::io("create directory", &path))?;
        fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(mode))
            .map_err(Error::io("chmod", &path))?;
    }
    Ok(())
}

/// Whether the kernel turns the overlay index on by default (then we turn it off).
fn index_on_by_default() -> bool {
    static INDEX: OnceLock<bool> = OnceLock::new();
    *INDEX.get_or_init(|| {
        fs::read_to_string("/sys/module/overlay/parameters/index").is_ok_and(|v| v.trim() == "Y")
    })
}

fn mounts(snap: &Snap) -> Result<Vec<Mount>> {
    let read_only = snap.kind == Kind::View;
    let mount = match (read_only, snap.parents.as_slice()) {
        (_, []) => bind(&snap.dir.join(FS), read_only)?,
        (true, [parent]) => bind(&parent.join(FS), true)?,
        (_, parents) => {
            let mut options = Vec::new();
            if index_on_by_default() {
                options.push("index=off".to_string());
            }
            if !read_only {
                options.push(format!("workdir={}", path_str(&snap.dir.join("work"))?));
                options.push(format!("upperdir={}", path_str(&snap.dir.join(FS))?));
            }
            let lowers: Result<Vec<String>> =
                parents.iter().map(|p| path_str(&p.join(FS))).collect();
            options.push(format!("lowerdir={}", lowers?.join(":")));
            Mount {
                kind: "overlay".into(),
                source: "overlay".into(),
                target: None,
                options,
            }
        }
    };
    Ok(vec![mount])
}

impl Snapshotter for OverlaySnapshotter {
    fn name(&self) -> &'static str {
        NAME
    }

    fn prepare(&self, key: &str, parent: Option<&str>, labels: &Labels) -> Result<Vec<Mount>> {
        mounts(
            &self
                .store
                .create(key, parent, Kind::Active, labels, &populate)?,
        )
    }

    fn view(&self, key: &str, parent: Option<&str>) -> Result<Vec<Mount>> {
        let labels = Labels::new();
        mounts(
            &self
                .store
                .create(key, parent, Kind::View, &labels, &populate)?,
        )
    }

    fn mounts(&self, key: &str) -> Result<Vec<Mount>> {
        mounts(&self.store.active(key)?)
    }

    fn commit(&self, name: &str, key: &str) -> Result<()> {
        self.store.commit(name, key)
    }

    fn remove(&self, key: &str) -> Result<()> {
        self.store.remove(key)
    }

    fn stat(&self, key: &str) -> Result<Info> {
        self.store.stat(key)
    }

    fn list(&self) -> Result<Vec<Info>> {
        self.store.list()
    }

    fn layout(&self, key: &str) -> Result<Layout> {
        let (own, parents) = self.store.dirs(key)?;
        Ok(Layout {
            own,
            parents,
            contents: Contents::Changes,
        })
    }

    fn usage(&self, key: &str) -> Result<Usage> {
        self.store.usage(key)
    }

    fn collect(
        &self,
        roots: &dyn Fn(&[Info]) -> Result<std::collections::BTreeSet<String>>,
    ) -> Result<crate::Collected> {
        self.store.collect(roots)
    }
}
