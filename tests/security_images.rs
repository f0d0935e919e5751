//! Crafted images against every runtime (embedded `kiln`, `crun`, `runc`),
//! driving the real `kiln` binary: the cases of `tests/security.rs` that
//! need an image of their own rather than the plain busybox one.
//!
//! - Docker's init-layer guarantee (red-team C4): an image whose `/dev`,
//!   `/proc`, `/sys`, `/etc` or `/etc/hosts` is a symlink to a host directory
//!   (absolute or `../../..` relative), or a file where a directory belongs,
//!   runs with real in-rootfs paths, for `kiln run` and for a build's `RUN`,
//!   and nothing is written to the host directory.
//! - execve semantics (M3): a file with no executable format fails with
//!   `exec format error` instead of running through `/bin/sh`.
//! - bad image `Env` entries (H5) fail clearly for `run` and for `RUN`.
//! - exec failures carry a message (L1): missing `#!` interpreter, an
//!   argument over the kernel's limit.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod support;
use support::{kiln, ok_as, Scratch};

const RUNTIMES: [&str; 3] = ["kiln", "crun", "runc"];

/// A scratch root with an unpacked busybox tree and a host directory that
/// images try to reach.
struct Fixture {
    scratch: Scratch,
    root: PathBuf,
    tree: PathBuf,
    host: PathBuf,
}

impl Fixture {
    fn new(name: &str) -> Fixture {
        let scratch = Scratch::new(name);
        let root = scratch.0.join("root");
        let tar = scratch.0.join("busybox.tar");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/busybox/make-rootfs.sh");
        let out = Command::new("bash")
            .arg(&script)
            .arg(&tar)
            .output()
            .unwrap();
        ok_as(out, "make-rootfs.sh");
        let tree = scratch.0.join("tree");
        std::fs::create_dir_all(&tree).unwrap();
        let status = Command::new("tar")
            .arg("-C")
            .arg(&tree)
            .arg("-xf")
            .arg(&tar)
            .status()
            .unwrap();
        assert!(status.success());
        let host = scratch.0.join("hostdir");
        std::fs::create_dir_all(&host).unwrap();
        std::fs::write(host.join("secret"), "HOSTSECRET-abc123\n").unwrap();
        Fixture {
            scratch,
            root,
            tree,
            host,
        }
    }

    /// Imports a copy of the busybox tree changed by `change` as `name`.
    fn image(&self, name: &str, change: impl FnOnce(&Path)) {
        let dir = self
            .scratch
            .0
            .join(format!("img-{}", name.replace([':', '/'], "_")));
        let _ = std::fs::remove_dir_all(&dir);
        let status = Command::new("cp")
            .arg("-a")
            .arg(&self.tree)
            .arg(&dir)
            .status()
            .unwrap();
        assert!(status.success());
        change(&dir);
        let tar = dir.with_extension("tar");
        support::tar_dir(&dir, &tar);
        ok_as(
            kiln(&self.root, &["import", tar.to_str().unwrap(), name]),
            "kiln import",
        );
    }

    /// The host directory's listing with contents (must never change).
    fn host_state(&self) -> Vec<(String, Vec<u8>)> {
        let mut all: Vec<(String, Vec<u8>)> = std::fs::read_dir(&self.host)
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                let content = std::fs::read(e.path()).unwrap_or_default();
                (e.file_name().to_string_lossy().into_owned(), content)
            })
            .collect();
        all.sort();
        all
    }

    fn kiln(&self, args: &[&str]) -> Output {
        kiln(&self.root, args)
    }
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn replace_with_symlink(tree: &Path, entry: &str, target: &str) {
    let path = tree.join(entry);
    if path.is_dir() && !path.is_symlink() {
        std::fs::remove_dir_all(&path).unwrap();
    } else {
        let _ = std::fs::remove_file(&path);
    }
    std::os::unix::fs::symlink(target, &path).unwrap();
}

/// How a hostile variant changes the busybox tree.
enum Change {
    /// The entry becomes a symlink to this target.
    Link(&'static str, String),
    /// `/dev` becomes a regular file.
    DevFile,
    /// `/dev/pts` and `/dev/shm` become symlinks to this target.
    DevSubLinks(String),
}

impl Change {
    fn apply(&self, tree: &Path) {
        match self {
            Change::Link(entry, target) => replace_with_symlink(tree, entry, target),
            Change::DevFile => {
                std::fs::remove_dir_all(tree.join("dev")).unwrap();
                std::fs::write(tree.join("dev"), "not a directory\n").unwrap();
            }
            Change::DevSubLinks(target) => {
                std::os::unix::fs::symlink(target, tree.join("dev/pts")).unwrap();
                std::os::unix::fs::symlink(target, tree.join("dev/shm")).unwrap();
            }
        }
    }
}

/// The hostile variants: (image name, how the tree is changed).
fn variants(fx: &Fixture) -> Vec<(&'static str, Change)> {
    let host = fx.host.to_str().unwrap().to_string();
    let rel = format!("../../../../../../../../../..{host}");
    vec![
        ("devsym:abs", Change::Link("dev", host.clone())),
        ("devsym:rel", Change::Link("dev", rel)),
        ("procsym:1", Change::Link("proc", host.clone())),
        ("syssym:1", Change::Link("sys", host.clone())),
        ("etcsym:1", Change::Link("etc", host.clone())),
        (
            "hostssym:1",
            Change::Link("etc/hosts", format!("{host}/secret")),
        ),
        ("devfile:1", Change::DevFile),
        ("devptssym:1", Change::DevSubLinks(host)),
    ]
}

/// What the container checks: real directories, a working /dev, /etc/hosts
/// readable and not the host's secret.
const CHECK: &str = "test -d /dev -a ! -L /dev && test -c /dev/null && test -d /proc/self \
    && test -d /sys/kernel && test -d /etc -a ! -L /etc && ! grep -q HOSTSECRET /etc/hosts \
    && echo INSIDE-OK";

#[test]
fn hostile_root_links_run_with_real_paths_on_every_runtime() {
    let fx = Fixture::new("init-layer-run");
    let variants = variants(&fx);
    for (name, change) in &variants {
        fx.image(name, |t| change.apply(t));
    }
    let before = fx.host_state();
    let mut failures = Vec::new();
    for runtime in RUNTIMES {
        for (name, _) in &variants {
            let out = fx.kiln(&["run", "--rm", "--runtime", runtime, name, "sh", "-c", CHECK]);
            if out.status.code() != Some(0) || !text(&out).contains("INSIDE-OK") {
                failures.push(format!("{runtime} {name}: {:?} {}", out.status, text(&out)));
            }
            if fx.host_state() != before {
                failures.push(format!("{runtime} {name}: WROTE TO THE HOST DIR"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(fx.host_state(), before);
}

/// The overlay snapshotter's metadata: key -> (id, parent).
fn snapshots(root: &Path) -> serde_json::Map<String, serde_json::Value> {
    let meta = std::fs::read(root.join("snapshots/overlay/metadata.json")).unwrap();
    let meta: serde_json::Value = serde_json::from_slice(&meta).unwrap();
    meta["snapshots"].as_object().unwrap().clone()
}

#[test]
fn init_layer_is_shared_and_not_in_the_containers_own_layer() {
    let fx = Fixture::new("init-layer-diff");
    fx.image("devsym:abs", |t| {
        replace_with_symlink(t, "dev", "/nonexistent-host-dir")
    });
    for runtime in RUNTIMES {
        let out = fx.kiln(&["run", "--runtime", runtime, "devsym:abs", "sh", "-c", CHECK]);
        assert!(
            text(&out).contains("INSIDE-OK"),
            "{runtime}: {}",
            text(&out)
        );
    }
    let ids = ok_as(fx.kiln(&["ps", "-aq", "--no-trunc"]), "ps");
    let ids: Vec<&str> = ids.lines().collect();
    assert_eq!(ids.len(), 3, "{ids:?}");
    let all = snapshots(&fx.root);
    let inits: Vec<&String> = all
        .keys()
        .filter(|k| k.starts_with("kiln-init-v1-"))
        .collect();
    assert_eq!(
        inits.len(),
        1,
        "one init snapshot per image chain: {inits:?}"
    );
    for id in ids {
        let own = &all[&format!("container-{id}")];
        assert_eq!(own["parent"].as_str(), Some(inits[0].as_str()));
        // The container's own layer (its upper dir) holds none of the fixes.
        let upper = fx
            .root
            .join("snapshots/overlay/snapshots")
            .join(own["id"].to_string())
            .join("fs");
        assert!(upper.is_dir(), "{}", upper.display());
        for entry in ["dev", "etc/hosts", "etc/mtab", "proc", "sys"] {
            assert!(
                upper.join(entry).symlink_metadata().is_err(),
                "{entry} in the container layer"
            );
        }
    }
}

#[test]
fn hostile_root_links_in_build_steps_on_every_runtime() {
    let fx = Fixture::new("init-layer-build");
    let variants = variants(&fx);
    for (name, change) in variants
        .iter()
        .filter(|(n, _)| matches!(*n, "devsym:abs" | "etcsym:1" | "procsym:1"))
    {
        fx.image(name, |t| change.apply(t));
    }
    let before = fx.host_state();
    let ctx = fx.scratch.0.join("ctx");
    std::fs::create_dir_all(&ctx).unwrap();
    for runtime in RUNTIMES {
        for base in ["devsym:abs", "etcsym:1", "procsym:1"] {
            let dockerfile = format!("FROM {base}\nRUN {CHECK} && echo step > /made-by-step\n");
            std::fs::write(ctx.join("Dockerfile"), dockerfile).unwrap();
            let tag = format!("out-{runtime}:{}", base.replace(':', "-"));
            let out = fx.kiln(&[
                "build",
                "--runtime",
                runtime,
                "--no-cache",
                "-t",
                &tag,
                ctx.to_str().unwrap(),
            ]);
            assert!(out.status.success(), "{runtime} {base}: {}", text(&out));
            assert_eq!(
                fx.host_state(),
                before,
                "{runtime} {base}: wrote to the host dir"
            );
            let layer = last_layer_entries(&fx, &tag);
            assert!(layer.iter().any(|e| e == "made-by-step"), "{layer:?}");
            // Nothing of the init layer in the step's layer: no aside names,
            // no directory where the image had its symlink, not even a copy
            // of the image's own symlink.
            assert!(!layer.iter().any(|e| e.contains(".kiln-init")), "{layer:?}");
            let top = match base {
                "devsym:abs" => "dev",
                "etcsym:1" => "etc",
                _ => "proc",
            };
            assert!(
                !layer
                    .iter()
                    .any(|e| e == top || e.starts_with(&format!("{top}/"))),
                "{runtime} {base}: the fix leaked into the layer: {layer:?}"
            );
        }
    }
}

/// The entry names of the image's top layer (`kiln save`, then `tar -t`).
fn last_layer_entries(fx: &Fixture, tag: &str) -> Vec<String> {
    let dir = fx
        .scratch
        .0
        .join(format!("save-{}", tag.replace([':', '/'], "_")));
    std::fs::create_dir_all(&dir).unwrap();
    let archive = dir.join("image.tar");
    ok_as(
        fx.kiln(&["save", "-o", archive.to_str().unwrap(), tag]),
        "save",
    );
    let status = Command::new("tar")
        .arg("-C")
        .arg(&dir)
        .arg("-xf")
        .arg(&archive)
        .status()
        .unwrap();
    assert!(status.success());
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    let layers = manifest[0]["Layers"].as_array().unwrap();
    let top = layers.last().unwrap().as_str().unwrap();
    let out = Command::new("tar")
        .arg("-tf")
        .arg(dir.join(top))
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.trim_start_matches("./").trim_end_matches('/').to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

#[test]
fn files_without_an_executable_format_fail_with_exec_format_error() {
    let fx = Fixture::new("exec-format");
    fx.image("app:1", |t| {
        std::fs::write(t.join("bin/app"), "echo INJECTED-AS-SHELL\n").unwrap();
        std::fs::write(t.join("bin/script"), "#!/nonexistent/interp\necho hi\n").unwrap();
        for f in ["bin/app", "bin/script"] {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(t.join(f), std::fs::Permissions::from_mode(0o755)).unwrap();
        }
    });
    for runtime in RUNTIMES {
        let out = fx.kiln(&["run", "--rm", "--runtime", runtime, "app:1", "/bin/app"]);
        let all = text(&out);
        assert!(
            !all.contains("INJECTED-AS-SHELL"),
            "{runtime}: ran through a shell: {all}"
        );
        assert!(
            all.to_lowercase().contains("exec format error"),
            "{runtime}: {all}"
        );
        assert_eq!(out.status.code(), Some(1), "{runtime}: {all}");
        let out = fx.kiln(&["run", "--rm", "--runtime", runtime, "app:1", "/bin/script"]);
        let all = text(&out);
        assert!(
            all.to_lowercase().contains("no such file or directory"),
            "{runtime}: {all}"
        );
        assert_ne!(out.status.code(), Some(0), "{runtime}: {all}");
    }
    // The embedded runtime names the missing interpreter.
    let out = fx.kiln(&["run", "--rm", "app:1", "/bin/script"]);
    assert!(text(&out).contains("/nonexistent/interp"), "{}", text(&out));
    // The same in a build step.
    let ctx = fx.scratch.0.join("ctx");
    std::fs::create_dir_all(&ctx).unwrap();
    std::fs::write(ctx.join("Dockerfile"), "FROM app:1\nRUN [\"/bin/app\"]\n").unwrap();
    let out = fx.kiln(&["build", "--no-cache", ctx.to_str().unwrap()]);
    assert!(!out.status.success());
    let all = text(&out);
    assert!(
        all.contains("exec format error") && !all.contains("INJECTED"),
        "{all}"
    );
}

#[test]
fn exec_failures_carry_a_message() {
    let fx = Fixture::new("exec-messages");
    fx.image("bb:1", |_| {});
    // One environment string over the kernel's 128 KiB per-string limit.
    let env_file = fx.scratch.0.join("big.env");
    std::fs::write(&env_file, format!("BIG={}\n", "x".repeat(200 * 1024))).unwrap();
    let env_file = env_file.to_str().unwrap();
    for runtime in RUNTIMES {
        let args = [
            "run",
            "--rm",
            "--runtime",
            runtime,
            "--env-file",
            env_file,
            "bb:1",
            "true",
        ];
        let out = fx.kiln(&args);
        let all = text(&out);
        assert_ne!(out.status.code(), Some(0), "{runtime}");
        assert!(
            all.to_lowercase().contains("argument list too long"),
            "{runtime}: {all:.300}"
        );
    }
    // And an argument over it in a build step (embedded runtime).
    let ctx = fx.scratch.0.join("ctx");
    std::fs::create_dir_all(&ctx).unwrap();
    let dockerfile = format!("FROM bb:1\nRUN echo {}\n", "y".repeat(200 * 1024));
    std::fs::write(ctx.join("Dockerfile"), dockerfile).unwrap();
    let out = fx.kiln(&["build", "--no-cache", ctx.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(
        text(&out).contains("argument list too long"),
        "{:.300}",
        text(&out)
    );
}

/// A docker-archive whose config has `Env` = `env` (the busybox layer).
fn load_with_env(fx: &Fixture, tag: &str, env: &[&str]) {
    let dir = fx.scratch.0.join("archive");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    support::tar_dir(&fx.tree, &dir.join("layer.tar"));
    let out = Command::new("sha256sum")
        .arg(dir.join("layer.tar"))
        .output()
        .unwrap();
    let sum = String::from_utf8_lossy(&out.stdout)
        .split(' ')
        .next()
        .unwrap()
        .to_string();
    let config = serde_json::json!({
        "architecture": "amd64", "os": "linux",
        "config": {"Env": env, "Cmd": ["true"]},
        "rootfs": {"type": "layers", "diff_ids": [format!("sha256:{sum}")]}
    });
    std::fs::write(dir.join("config.json"), config.to_string()).unwrap();
    let manifest =
        serde_json::json!([{"Config": "config.json", "RepoTags": [tag], "Layers": ["layer.tar"]}]);
    std::fs::write(dir.join("manifest.json"), manifest.to_string()).unwrap();
    let tar = fx.scratch.0.join("archive.tar");
    Command::new("tar")
        .arg("-C")
        .arg(&dir)
        .args([
            "-cf",
            tar.to_str().unwrap(),
            "manifest.json",
            "config.json",
            "layer.tar",
        ])
        .status()
        .unwrap();
    ok_as(fx.kiln(&["load", "-i", tar.to_str().unwrap()]), "load");
}

#[test]
fn bad_image_env_fails_runs_and_build_steps_clearly() {
    let fx = Fixture::new("bad-env");
    load_with_env(&fx, "badenv:1", &["PATH=/bin:/usr/bin", "=x"]);
    for runtime in RUNTIMES {
        let out = fx.kiln(&["run", "--rm", "--runtime", runtime, "badenv:1"]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(125), "{runtime}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.contains("image config Env: environment variable name can't be empty: \"=x\""),
            "{err}"
        );
        assert!(!err.contains("panicked"), "{err}");
    }
    let ctx = fx.scratch.0.join("ctx");
    std::fs::create_dir_all(&ctx).unwrap();
    std::fs::write(ctx.join("Dockerfile"), "FROM badenv:1\nRUN true\n").unwrap();
    for runtime in RUNTIMES {
        let out = fx.kiln(&[
            "build",
            "--runtime",
            runtime,
            "--no-cache",
            ctx.to_str().unwrap(),
        ]);
        let all = text(&out);
        assert!(!out.status.success(), "{runtime}");
        assert!(
            all.contains("environment variable name can't be empty"),
            "{runtime}: {all}"
        );
        assert!(!all.contains("panicked"), "{runtime}: {all}");
    }
}

#[test]
fn the_native_snapshotter_gets_the_same_guarantee() {
    let fx = Fixture::new("init-layer-native");
    std::fs::create_dir_all(fx.root.join("snapshots")).unwrap();
    std::fs::write(fx.root.join("snapshots/driver"), "native").unwrap();
    let host = fx.host.to_str().unwrap().to_string();
    fx.image("devsym:abs", |t| replace_with_symlink(t, "dev", &host));
    let before = fx.host_state();
    let ctx = fx.scratch.0.join("ctx");
    std::fs::create_dir_all(&ctx).unwrap();
    let dockerfile = format!("FROM devsym:abs\nRUN {CHECK} && echo step > /made-by-step\n");
    std::fs::write(ctx.join("Dockerfile"), dockerfile).unwrap();
    for runtime in RUNTIMES {
        let out = fx.kiln(&[
            "run",
            "--rm",
            "--runtime",
            runtime,
            "devsym:abs",
            "sh",
            "-c",
            CHECK,
        ]);
        assert!(
            text(&out).contains("INSIDE-OK"),
            "{runtime}: {}",
            text(&out)
        );
        let tag = format!("native-{runtime}:1");
        let dir = ctx.to_str().unwrap();
        let out = fx.kiln(&["build", "--runtime", runtime, "--no-cache", "-t", &tag, dir]);
        assert!(out.status.success(), "{runtime}: {}", text(&out));
        // The in-place fix is undone: the step's layer holds its file only.
        assert_eq!(last_layer_entries(&fx, &tag), ["made-by-step"], "{runtime}");
        assert_eq!(fx.host_state(), before, "{runtime}: wrote to the host dir");
    }
}
