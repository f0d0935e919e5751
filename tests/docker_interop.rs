//! Interop with the real Docker engine: `docker load` accepts what `kiln save`
//! writes (docker-archive and OCI formats) and runs it, and `kiln load`
//! accepts what `docker save` writes, with the same layer diff_ids throughout.
//!
//! The test starts its own dockerd (Debian's docker.io, installed by
//! `scripts/install-deps --test`) with every bit of state in a temp dir and
//! no bridge or iptables, and stops exactly that daemon (by PID) when done,
//! even on failure. `podman load` (with its storage in the same temp dir)
//! must accept both of kiln's formats as well. A missing docker or podman is a
//! failure, not a skip.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use support::{kiln, ok_as, Scratch};

/// The image every check uses.
const TAG: &str = "kiln-test/busybox:1";

/// A private dockerd; stopped (TERM, then KILL) by PID on drop.
struct Dockerd {
    child: Child,
    host: String,
    config: PathBuf,
    log: PathBuf,
    client: PathBuf,
}

impl Dockerd {
    /// Starts dockerd with its data, exec root, pidfile and socket under `dir`
    /// and waits (up to 60 s) until one of the docker clients talks to it.
    fn start(dir: &Path) -> Dockerd {
        let dockerd = find_tool("dockerd", &["/usr/bin/dockerd", "/usr/sbin/dockerd"]);
        let socket = dir.join("docker.sock");
        let config = dir.join("client");
        std::fs::create_dir_all(&config).unwrap();
        std::fs::write(config.join("config.json"), "{}").unwrap();
        // daemon.json only moves docker 20.10's trust key out of /etc/docker.
        let daemon_json = dir.join("daemon.json");
        let key = dir.join("key.json");
        let json = format!("{{ \"deprecated-key-path\": \"{}\" }}\n", key.display());
        std::fs::write(&daemon_json, json).unwrap();
        let log = dir.join("dockerd.log");
        let host = format!("unix://{}", socket.display());
        let child = Command::new(&dockerd)
            .arg("--config-file")
            .arg(&daemon_json)
            .arg("--data-root")
            .arg(dir.join("data"))
            .arg("--exec-root")
            .arg(dir.join("exec"))
            .arg("--pidfile")
            .arg(dir.join("dockerd.pid"))
            .args(["-H", &host, "--bridge=none", "--iptables=false"])
            .args(["--ip-masq=false", "--storage-driver=vfs"])
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", dockerd.display()));
        let mut daemon = Dockerd {
            child,
            host,
            config,
            log,
            client: PathBuf::new(),
        };
        let clients = ["/usr/bin/docker", "/usr/local/bin/docker", "docker"];
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = daemon.child.try_wait() {
                panic!("dockerd exited ({status}):\n{}", daemon.log_tail());
            }
            // Once any client answers, take the first in order of preference
            // that does (Debian's 20.10 client matches the 20.10 engine).
            let answers = |d: &mut Dockerd, client: &str| {
                d.client = PathBuf::from(client);
                let out = d.try_docker(&["version", "--format", "{{.Server.Version}}"]);
                out.ok().filter(|o| o.status.success())
            };
            if clients.iter().any(|c| answers(&mut daemon, c).is_some()) {
                for client in clients {
                    let Some(out) = answers(&mut daemon, client) else {
                        continue;
                    };
                    let server = String::from_utf8_lossy(&out.stdout).into_owned();
                    let client_version = daemon.docker(&["version", "-f", "{{.Client.Version}}"]);
                    println!(
                        "docker client {client} ({}) talks to dockerd {} (pid {})",
                        client_version.trim(),
                        server.trim(),
                        daemon.child.id()
                    );
                    return daemon;
                }
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        panic!(
            "dockerd did not answer on {} within 60 s (clients tried: {clients:?}):\n{}",
            daemon.host,
            daemon.log_tail()
        );
    }

    /// Runs the chosen docker client against this daemon.
    fn try_docker(&self, args: &[&str]) -> std::io::Result<Output> {
        Command::new(&self.client)
            .args(args)
            .env("DOCKER_HOST", &self.host)
            .env("DOCKER_CONFIG", &self.config)
            .env("DOCKER_BUILDKIT", "0")
            .stdin(Stdio::null())
            .output()
    }

    /// Runs `docker ARGS…`, which must succeed; returns its standard output.
    fn docker(&self, args: &[&str]) -> String {
        let out = self
            .try_docker(args)
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", self.client.display()));
        ok_as(out, &format!("docker {}", args.join(" ")))
    }

    /// The last lines of the daemon's log (for failure messages).
    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(15)..].join("\n")
    }
}

impl Drop for Dockerd {
    fn drop(&mut self) {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The first of `candidates` that exists, else `name` on PATH; panics if none.
fn find_tool(name: &str, candidates: &[&str]) -> PathBuf {
    if let Some(found) = candidates.iter().map(PathBuf::from).find(|p| p.exists()) {
        return found;
    }
    let on_path = Command::new("sh")
        .args(["-c", &format!("command -v {name}")])
        .output()
        .ok()
        .filter(|o| o.status.success());
    match on_path {
        Some(out) => PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()),
        None => {
            panic!("{name} not found: run scripts/install-deps --test (apt-get install docker.io)")
        }
    }
}

/// `kiln ARGS…`, which must succeed; returns its standard output.
fn kiln_ok(root: &Path, args: &[&str]) -> String {
    ok_as(kiln(root, args), &format!("kiln {}", args.join(" ")))
}

/// The diff_ids kiln records for `TAG` in `root`.
fn kiln_diff_ids(root: &Path) -> Vec<String> {
    let out = kiln_ok(root, &["image", "inspect", TAG]);
    let doc: serde_json::Value = serde_json::from_str(&out).expect("inspect prints JSON");
    let layers = doc[0]["RootFS"]["Layers"]
        .as_array()
        .expect("RootFS.Layers");
    layers
        .iter()
        .map(|l| l.as_str().unwrap().to_string())
        .collect()
}

/// Docker's RootFS.Layers and RepoTags of `TAG`.
fn docker_layers_and_tags(docker: &Dockerd) -> (Vec<String>, Vec<String>) {
    let out = docker.docker(&["image", "inspect", TAG]);
    let doc: serde_json::Value = serde_json::from_str(&out).expect("docker inspect prints JSON");
    let strings = |v: &serde_json::Value| -> Vec<String> {
        let items = v.as_array().cloned().unwrap_or_default();
        items
            .iter()
            .map(|s| s.as_str().unwrap().to_string())
            .collect()
    };
    (
        strings(&doc[0]["RootFS"]["Layers"]),
        strings(&doc[0]["RepoTags"]),
    )
}

/// Runs `podman ARGS…` with its storage under `dir/podman` (vfs driver);
/// it must succeed. Returns its standard output.
fn podman(dir: &Path, args: &[&str]) -> String {
    let podman = find_tool("podman", &["/usr/bin/podman"]);
    let state = dir.join("podman");
    let out = Command::new(&podman)
        .arg("--root")
        .arg(state.join("root"))
        .arg("--runroot")
        .arg(state.join("run"))
        .args(["--storage-driver", "vfs", "--events-backend", "file"])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", podman.display()));
    ok_as(out, &format!("podman {}", args.join(" ")))
}

/// Builds the busybox rootfs tar with the repository's script.
fn busybox_rootfs(out: &Path) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/busybox/make-rootfs.sh");
    let status = Command::new("bash").arg(&script).arg(out).status().unwrap();
    assert!(status.success(), "{} failed", script.display());
}

#[test]
fn docker_loads_kiln_saves_and_kiln_loads_docker_saves() {
    let started = Instant::now();
    let scratch = Scratch::new("docker-interop");
    let dir = &scratch.0;
    let root = dir.join("kiln");
    let rootfs = dir.join("rootfs.tar");
    busybox_rootfs(&rootfs);
    kiln_ok(&root, &["import", rootfs.to_str().unwrap(), TAG]);
    let diff_ids = kiln_diff_ids(&root);
    assert_eq!(diff_ids.len(), 1, "{diff_ids:?}");

    let docker = Dockerd::start(&dir.join("d"));
    for format in ["docker", "oci"] {
        let archive = dir.join(format!("kiln-{format}.tar"));
        let out = archive.to_str().unwrap();
        kiln_ok(&root, &["save", "--format", format, "-o", out, TAG]);
        let loaded = docker.docker(&["load", "-i", out]);
        assert!(
            loaded.contains(&format!("Loaded image: {TAG}")),
            "{format}: {loaded}"
        );
        let (layers, tags) = docker_layers_and_tags(&docker);
        assert_eq!(layers, diff_ids, "{format}: docker's RootFS.Layers");
        assert_eq!(tags, [TAG], "{format}: docker's RepoTags");
        let passwd = docker.docker(&[
            "run",
            "--rm",
            "--network",
            "none",
            TAG,
            "cat",
            "/etc/passwd",
        ]);
        assert!(passwd.starts_with("root:x:0:0:"), "{format}: {passwd}");
        docker.docker(&["rmi", TAG]);
    }

    // The other direction: docker save -> kiln load.
    let out = dir.join("kiln-docker.tar");
    docker.docker(&["load", "-i", out.to_str().unwrap()]);
    let from_docker = dir.join("from-docker.tar");
    docker.docker(&["save", "-o", from_docker.to_str().unwrap(), TAG]);
    let root2 = dir.join("kiln2");
    let loaded = kiln_ok(&root2, &["load", "-i", from_docker.to_str().unwrap()]);
    assert!(loaded.contains(TAG), "{loaded}");
    assert_eq!(
        kiln_diff_ids(&root2),
        diff_ids,
        "diff_ids after docker save | kiln load"
    );
    drop(docker);

    for format in ["docker", "oci"] {
        let archive = dir.join(format!("kiln-{format}.tar"));
        let loaded = podman(dir, &["load", "-i", archive.to_str().unwrap()]);
        // podman names a familiar docker-archive tag localhost/..., an OCI
        // archive's full io.containerd.image.name docker.io/...
        let name = loaded
            .lines()
            .find_map(|l| l.strip_prefix("Loaded image: "))
            .unwrap_or_else(|| panic!("podman load {format}: {loaded}"))
            .trim()
            .to_string();
        assert!(name.ends_with(TAG), "{format}: podman loaded {name}");
        let layers = podman(
            dir,
            &["image", "inspect", "-f", "{{json .RootFS.Layers}}", &name],
        );
        let layers: Vec<String> = serde_json::from_str(layers.trim()).expect("layers JSON");
        assert_eq!(layers, diff_ids, "{format}: podman's RootFS.Layers");
        podman(dir, &["rmi", "-f", &name]);
    }
    println!(
        "docker interop took {:.1} s",
        started.elapsed().as_secs_f64()
    );
}
