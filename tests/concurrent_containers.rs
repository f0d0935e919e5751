//! Containers made at the same time, on the real kernel:
//!
//! - `eight_threads_create_in_private_namespaces`: eight threads of this test
//!   process call the runtime library's `lifecycle::create` at once. Each
//!   thread sees its container's root filesystem mounted in its own mount
//!   namespace; neither this process's original namespace (its main thread's
//!   table) nor the host's (PID 1's) ever shows a mount under the `--root`,
//!   while the threads still hold their mounts, while the containers run
//!   (started by `kiln start`) and after `kiln rm -f`.
//! - `twenty_concurrent_detached_runs_then_rm_f`: twenty `kiln run -d` at
//!   once, half of them long-running, half exiting with their own code; each
//!   is checked (running, or exited with its code; its own output in its log),
//!   then twenty `kiln rm -f` at once leave nothing behind (mounts, cgroups,
//!   monitor processes, snapshots, state directories).
//!
//! Waits are bounded: a thread that hangs fails the test after a timeout.
//! The tests hold one mutex: they look at host-wide state.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::mpsc;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use kiln_image::{ContentStore, Digest, ImageIndex, Reference};
use kiln_parser::values::{NetworkAttachment, RestartPolicy};
use kiln_runtime::lifecycle::{self, CreateOptions, HealthOverrides};
use kiln_runtime::rootfs;

mod support;
use support::census::{assert_no_leftovers, census, root_with_image, IMAGE};
use support::{kiln, ok_as};

/// How long one container's create, start or removal may take at most.
const TIMEOUT: Duration = Duration::from_secs(120);

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// Lines of this process's original mount table (the main thread's, which
/// never enters a namespace of its own) and of PID 1's that name `root`.
fn host_mounts(root: &Path) -> Vec<String> {
    let needle = root.to_str().unwrap();
    ["/proc/self/mountinfo", "/proc/1/mountinfo"]
        .iter()
        .flat_map(|table| {
            std::fs::read_to_string(table)
                .unwrap()
                .lines()
                .filter(|l| l.contains(needle))
                .map(|l| format!("{table}: {l}"))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The create options of `kiln create IMAGE sleep 600`, for the image in `root`.
fn sleep_options(root: &Path) -> CreateOptions {
    let content = ContentStore::new(root).unwrap();
    let record = ImageIndex::new(root)
        .unwrap()
        .get(&Reference::parse(IMAGE).unwrap())
        .unwrap()
        .expect("the imported image");
    let target = kiln_image::host_manifest(&content, &record.digest).unwrap();
    let manifest: serde_json::Value = content.read_json(&target).unwrap();
    let id: Digest = manifest["config"]["digest"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let image_config = serde_json::from_slice(&content.read_bytes(&id).unwrap()).unwrap();
    CreateOptions {
        name: None,
        image: IMAGE.into(),
        manifest: record.digest,
        image_id: id.to_string(),
        image_config,
        entrypoint: None,
        args: vec!["sleep".into(), "600".into()],
        env: Vec::new(),
        workdir: None,
        user: None,
        hostname: None,
        tty: false,
        interactive: false,
        labels: BTreeMap::new(),
        restart: RestartPolicy::default(),
        auto_remove: false,
        security: Default::default(),
        read_only: false,
        resources: Default::default(),
        mounts: Vec::new(),
        network: NetworkAttachment::None,
        ports: Vec::new(),
        publish_all: false,
        expose: Vec::new(),
        dns: Vec::new(),
        dns_search: Vec::new(),
        dns_options: Vec::new(),
        domainname: None,
        mac_address: None,
        runtime: String::new(),
        stop_signal: None,
        stop_timeout: None,
        health: HealthOverrides::default(),
        init: false,
        ulimits: Vec::new(),
        sysctls: BTreeMap::new(),
        devices: Vec::new(),
        extra_hosts: Vec::new(),
        log: Default::default(),
    }
}

/// One creating thread's report: the container ID and whether the thread
/// saw the root filesystem mounted in its own namespace.
type Created = Result<(String, bool), String>;

#[test]
fn eight_threads_create_in_private_namespaces() {
    let _serial = serial();
    let (_scratch, root) = root_with_image("concurrent-threads");
    // Files kiln makes once per root (locks, indexes) exist from now on.
    ok_as(kiln(&root, &["run", "--rm", IMAGE, "true"]), "first run");
    let before = census(&root);
    assert_eq!(
        host_mounts(&root),
        Vec::<String>::new(),
        "before any create"
    );
    let template = sleep_options(&root);
    let (report, reports) = mpsc::channel::<Created>();
    let mut releases = Vec::new();
    let ids: Vec<String> = std::thread::scope(|scope| {
        for name in 0..8 {
            let (release, released) = mpsc::channel::<()>();
            releases.push(release);
            let (report, root, mut options) = (report.clone(), &root, template.clone());
            options.name = Some(format!("thread-{name}"));
            scope.spawn(move || {
                let created = lifecycle::create(root, &options)
                    .map(|record| {
                        let store = kiln_runtime::container::ContainerStore::open(root).unwrap();
                        let mounted = rootfs::is_mountpoint(&store.dir(&record.id).join("rootfs"));
                        (record.id, mounted)
                    })
                    .map_err(|e| e.to_string());
                report.send(created).unwrap();
                // Keep this thread (and its namespace) alive until released.
                let _ = released.recv_timeout(TIMEOUT);
            });
        }
        let mut ids = Vec::new();
        for _ in 0..8 {
            let created = reports.recv_timeout(TIMEOUT).expect("a create hung");
            let (id, mounted) = created.expect("create from a thread");
            assert!(
                mounted,
                "{id}: its root filesystem in its thread's namespace"
            );
            ids.push(id);
        }
        assert_eq!(
            host_mounts(&root),
            Vec::<String>::new(),
            "8 containers created, their threads alive"
        );
        releases.clear();
        ids
    });
    assert_eq!(host_mounts(&root), Vec::<String>::new(), "threads ended");

    let mut args = vec!["start"];
    args.extend(ids.iter().map(String::as_str));
    ok_as(kiln(&root, &args), "kiln start of the 8 containers");
    let running = ok_as(kiln(&root, &["ps", "-q", "--no-trunc"]), "ps");
    assert_eq!(running.lines().count(), 8, "running: {running}");
    assert_eq!(host_mounts(&root), Vec::<String>::new(), "while they run");

    let mut args = vec!["rm", "-f"];
    args.extend(ids.iter().map(String::as_str));
    ok_as(kiln(&root, &args), "kiln rm -f of the 8 containers");
    assert_no_leftovers(&root, &before, "8 threads create, start, rm -f");
}

/// What container `i` of the twenty runs: even ones print and keep running,
/// odd ones print and exit with code `i`.
fn script(i: usize) -> String {
    if i.is_multiple_of(2) {
        format!("echo out-{i}; exec sleep 600")
    } else {
        format!("echo out-{i}; exit {i}")
    }
}

/// Runs `work(i)` for `i` in `0..n` on `n` threads at once; the results in
/// order. A thread that takes longer than [`TIMEOUT`] fails the test.
fn all_at_once<T: Send>(n: usize, work: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let (done, results) = mpsc::channel();
    std::thread::scope(|scope| {
        for i in 0..n {
            let (done, work) = (done.clone(), &work);
            scope.spawn(move || done.send((i, work(i))).unwrap());
        }
        let mut out: Vec<Option<T>> = (0..n).map(|_| None).collect();
        for _ in 0..n {
            let (i, value) = results.recv_timeout(TIMEOUT).expect("a thread hung");
            out[i] = Some(value);
        }
        out.into_iter().map(Option::unwrap).collect()
    })
}

/// Polls `done` every 20 ms for at most [`TIMEOUT`].
fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < TIMEOUT, "timed out: {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn twenty_concurrent_detached_runs_then_rm_f() {
    let _serial = serial();
    let (_scratch, root) = root_with_image("concurrent-runs");
    ok_as(kiln(&root, &["run", "--rm", IMAGE, "true"]), "first run");
    let before = census(&root);
    let ids = all_at_once(20, |i| {
        let out = kiln(&root, &["run", "-d", IMAGE, "sh", "-c", &script(i)]);
        ok_as(out, &format!("run -d #{i}")).trim().to_string()
    });
    for (i, id) in ids.iter().enumerate() {
        assert_eq!(id.len(), 64, "run -d #{i} printed {id:?}");
        if !i.is_multiple_of(2) {
            let code = ok_as(kiln(&root, &["wait", id]), "wait");
            assert_eq!(code.trim(), i.to_string(), "#{i}: exit code");
        }
        let status = ok_as(
            kiln(&root, &["inspect", "-f", "{{.State.Status}}", id]),
            "inspect",
        );
        let wanted = if i.is_multiple_of(2) {
            "running"
        } else {
            "exited"
        };
        assert_eq!(status.trim(), wanted, "#{i}");
        wait_until(&format!("#{i}: its output in its log"), || {
            ok_as(kiln(&root, &["logs", id]), "logs") == format!("out-{i}\n")
        });
    }
    let running = ok_as(kiln(&root, &["ps", "-q", "--no-trunc"]), "ps");
    assert_eq!(running.lines().count(), 10, "running: {running}");

    let removed = all_at_once(20, |i| kiln(&root, &["rm", "-f", &ids[i]]));
    for (i, out) in removed.into_iter().enumerate() {
        assert_eq!(ok_as(out, &format!("rm -f #{i}")).trim(), ids[i]);
    }
    assert_no_leftovers(&root, &before, "20 concurrent run -d + rm -f");
}
