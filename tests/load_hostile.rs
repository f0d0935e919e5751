//! End-to-end: `kiln load` of hostile archives (red-team H1, H2, L2, L3, L5):
//! an OCI index fan-out loads in linear time, member bombs load with bounded
//! memory (the child's max RSS from `wait4`), names from archives are printed
//! escaped, unsafe paths and empty archives are named, OCI diff_ids are
//! checked at load. Every run is bounded by a timeout (a hang fails the test).

mod support;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use sha2::{Digest as _, Sha256};
use support::{kiln, kiln_cmd, ok, Scratch};

/// How long any one kiln run may take before the test fails as a hang.
const HANG: Duration = Duration::from_secs(300);

/// What a bounded run gave.
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    /// The child's peak resident set, in KiB (`ru_maxrss`).
    max_rss_kib: i64,
}

/// Runs `cmd` to completion within [`HANG`], collecting output and peak RSS.
/// The child is reaped by `wait4` itself (for its rusage), not `Child::wait`.
#[allow(clippy::zombie_processes)]
fn bounded(mut cmd: Command) -> Run {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn kiln");
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = pipe.read_to_string(&mut text);
            text
        })
    };
    let out = drain(Box::new(child.stdout.take().unwrap()));
    let err = drain(Box::new(child.stderr.take().unwrap()));
    let pid = child.id() as libc::pid_t;
    let deadline = Instant::now() + HANG;
    let (status, usage) = loop {
        let mut status = 0;
        // SAFETY: an all-zero rusage is valid; wait4 fills it for our own child.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        let rc = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        assert!(rc >= 0, "wait4: {}", std::io::Error::last_os_error());
        if rc == pid {
            break (status, usage);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("kiln ran longer than {HANG:?}: a hang");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
    Run {
        code,
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
        max_rss_kib: usage.ru_maxrss,
    }
}

/// `kiln --root ROOT ARGS…` through [`bounded`].
fn kiln_bounded(root: &Path, args: &[&str]) -> Run {
    let mut cmd = kiln_cmd(root);
    cmd.args(args);
    bounded(cmd)
}

/// A run that failed with exit code 1 and one line; returns the line.
fn failed(run: &Run) -> &str {
    assert_eq!(
        run.code,
        Some(1),
        "stdout {} stderr {}",
        run.stdout,
        run.stderr
    );
    assert_eq!(run.stderr.lines().count(), 1, "{:?}", run.stderr);
    run.stderr.trim_end()
}

fn sha(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// A tar stream written member by member; names are written raw (ESC, `..`).
#[derive(Default)]
struct Tar(Vec<u8>);

impl Tar {
    fn header(&mut self, name: &[u8], kind: tar::EntryType, size: u64, link: &[u8]) {
        let mut header = tar::Header::new_gnu();
        header.as_old_mut().name[..name.len()].copy_from_slice(name);
        header.as_old_mut().linkname[..link.len()].copy_from_slice(link);
        header.set_entry_type(kind);
        header.set_size(size);
        header.set_mode(0o644);
        header.set_cksum();
        self.0.extend_from_slice(header.as_bytes());
    }

    fn file(&mut self, name: &str, data: &[u8]) -> &mut Self {
        self.header(
            name.as_bytes(),
            tar::EntryType::Regular,
            data.len() as u64,
            b"",
        );
        self.0.extend_from_slice(data);
        self.0.resize(self.0.len().next_multiple_of(512), 0);
        self
    }

    /// Adds `data` as `blobs/sha256/<hex>`; returns its descriptor.
    fn blob(&mut self, data: &[u8], media_type: &str) -> serde_json::Value {
        self.file(&format!("blobs/sha256/{}", sha(data)), data);
        serde_json::json!({"mediaType": media_type, "digest": format!("sha256:{}", sha(data)), "size": data.len()})
    }

    fn finish(&mut self, path: &Path) -> PathBuf {
        self.0.extend_from_slice(&[0; 1024]);
        std::fs::write(path, &self.0).unwrap();
        path.to_path_buf()
    }
}

/// A one-file layer tar.
fn layer() -> Vec<u8> {
    let mut tar = Tar::default();
    tar.header(b"./", tar::EntryType::Directory, 0, b"");
    tar.file("./hello", b"hi\n");
    tar.0.extend_from_slice(&[0; 1024]);
    tar.0
}

/// An image config whose diff_id is `diff_id` (hex).
fn config(diff_id: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "architecture": "amd64", "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": [format!("sha256:{diff_id}")]},
    }))
    .unwrap()
}

/// The red team's gen.py: layer, config, manifest, then `levels` indexes each
/// listing the previous one `fan` times; `index.json` names it `name`.
fn fan_out(path: &Path, fan: usize, levels: usize, diff_id: Option<&str>) -> PathBuf {
    let mut tar = Tar::default();
    let layer = layer();
    let l = tar.blob(&layer, "application/vnd.oci.image.layer.v1.tar");
    let c = tar.blob(
        &config(diff_id.unwrap_or(&sha(&layer))),
        "application/vnd.oci.image.config.v1+json",
    );
    let manifest = serde_json::json!({"schemaVersion": 2, "config": c, "layers": [l]});
    let mut child = tar.blob(
        &serde_json::to_vec(&manifest).unwrap(),
        "application/vnd.oci.image.manifest.v1+json",
    );
    for _ in 0..levels {
        let index = serde_json::json!({"schemaVersion": 2, "manifests": vec![child; fan]});
        child = tar.blob(
            &serde_json::to_vec(&index).unwrap(),
            "application/vnd.oci.image.index.v1+json",
        );
    }
    child["annotations"] = serde_json::json!({"io.containerd.image.name": "fan:1"});
    tar.file("oci-layout", br#"{"imageLayoutVersion":"1.0.0"}"#);
    let index = serde_json::json!({"schemaVersion": 2, "manifests": [child]});
    tar.file("index.json", &serde_json::to_vec(&index).unwrap());
    tar.finish(path)
}

#[test]
fn an_index_fan_out_loads_and_saves_in_linear_time() {
    let s = Scratch::new("load-fan-out");
    let root = s.0.join("root");
    let archive = fan_out(&s.0.join("fan.tar"), 100, 4, None);
    let run = kiln_bounded(&root, &["load", "-i", archive.to_str().unwrap()]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(run.stdout, "Loaded image: fan:1\n");
    let out = s.0.join("saved.tar");
    let run = kiln_bounded(
        &root,
        &[
            "save",
            "--format",
            "oci",
            "-o",
            out.to_str().unwrap(),
            "fan:1",
        ],
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let again = kiln_bounded(&s.0.join("root2"), &["load", "-i", out.to_str().unwrap()]);
    assert_eq!(again.code, Some(0), "{}", again.stderr);
    assert_eq!(again.stdout, "Loaded image: fan:1\n");
}

#[test]
fn indexes_nested_past_the_cap_fail_in_one_line_naming_archive_and_cap() {
    let s = Scratch::new("load-deep");
    let archive = fan_out(&s.0.join("deep.tar"), 1, 12, None);
    let run = kiln_bounded(
        &s.0.join("root"),
        &["load", "-i", archive.to_str().unwrap()],
    );
    assert_eq!(
        failed(&run),
        format!(
            "kiln: cannot load {}: archive exceeds the cap of 8 levels of nested image indexes",
            archive.display()
        )
    );
}

#[test]
fn oci_layers_are_checked_against_the_config_diff_ids_at_load() {
    let s = Scratch::new("load-oci-diff-id");
    let root = s.0.join("root");
    let archive = fan_out(&s.0.join("bad.tar"), 1, 0, Some(&"0".repeat(64)));
    let run = kiln_bounded(&root, &["load", "-i", archive.to_str().unwrap()]);
    let line = failed(&run);
    assert!(
        line.contains(&format!(
            "blobs/sha256/{}: layer diff_id is sha256:{}",
            sha(&layer()),
            sha(&layer())
        )),
        "{line}"
    );
    assert!(
        line.ends_with(&format!("the config says sha256:{}", "0".repeat(64))),
        "{line}"
    );
    assert_eq!(ok(kiln(&root, &["images", "-q"])), "", "nothing tagged");
}

/// gzip of `data` (one gzip member).
fn gz(data: &[u8]) -> Vec<u8> {
    use flate2::{write::GzEncoder, Compression};
    let mut e = GzEncoder::new(Vec::new(), Compression::best());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// A gzip stream of a tar with `count` members of type `kind` named by
/// `name(i)`, each of `mib` MiB of spaces. gzip allows members back to back,
/// so one compressed MiB is repeated: the bomb is made without compressing
/// (or holding) gigabytes, and this process stays small (a child's `maxrss`
/// starts from its parent's at exec).
fn space_bomb(
    path: &Path,
    count: usize,
    mib: u64,
    kind: tar::EntryType,
    name: impl Fn(usize) -> String,
) -> PathBuf {
    let spaces = gz(&[b' '; 1 << 20]);
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    for i in 0..count {
        let mut header = Tar::default();
        header.header(name(i).as_bytes(), kind, mib << 20, b"");
        out.write_all(&gz(&header.0)).unwrap();
        for _ in 0..mib {
            out.write_all(&spaces).unwrap();
        }
    }
    out.write_all(&gz(&[0; 1024])).unwrap();
    out.flush().unwrap();
    path.to_path_buf()
}

/// Loads `archive` into a fresh root; asserts a bounded peak RSS; returns the error line.
fn load_with_bounded_memory(s: &Scratch, archive: &Path) -> String {
    let run = kiln_bounded(
        &s.0.join("root"),
        &["load", "-i", archive.to_str().unwrap()],
    );
    assert!(
        run.max_rss_kib < 200 * 1024,
        "peak RSS {} KiB",
        run.max_rss_kib
    );
    failed(&run).to_string()
}

#[test]
fn json_member_bomb_loads_with_bounded_memory() {
    // The report's bomb.tar.gz has 100 members of 16 MiB (1.6 MB gzip; 1.6 GB
    // RSS before the fix). 20 of them keep the debug binary's gunzip short and
    // still needed 330 MB (over the bound) when every JSON member was buffered.
    let s = Scratch::new("load-bomb");
    let regular = tar::EntryType::Regular;
    let archive = space_bomb(&s.0.join("bomb.tar.gz"), 20, 16, regular, |i| {
        format!("m{i}.json")
    });
    let line = load_with_bounded_memory(&s, &archive);
    let want = "not an image archive: neither manifest.json nor oci-layout + index.json found";
    assert!(line.ends_with(want), "{line}");
}

#[test]
fn repeated_documents_hit_the_json_cap_with_bounded_memory() {
    let s = Scratch::new("load-bomb-manifest");
    let regular = tar::EntryType::Regular;
    let archive = space_bomb(&s.0.join("bomb.tar.gz"), 100, 16, regular, |_| {
        "manifest.json".into()
    });
    let line = load_with_bounded_memory(&s, &archive);
    assert!(
        line.ends_with("archive exceeds the cap of 67108864 JSON bytes read"),
        "{line}"
    );
}

#[test]
fn a_gigabyte_long_name_fails_at_the_header_cap_with_bounded_memory() {
    // One GNU long-name record (`././@LongLink`, type L) of 1 GiB: the tar
    // crate reads such records whole into memory.
    let s = Scratch::new("load-long-name");
    let long_name = tar::EntryType::GNULongName;
    let archive = space_bomb(&s.0.join("long.tar.gz"), 1, 1024, long_name, |_| {
        "././@LongLink".into()
    });
    let line = load_with_bounded_memory(&s, &archive);
    let want = "archive exceeds the cap of 1048576 bytes of tar header extensions per member";
    assert!(line.ends_with(want), "{line}");
}

#[test]
fn names_from_archives_are_printed_escaped() {
    let s = Scratch::new("load-escapes");
    let mut tar = Tar::default();
    tar.file("../\x1b]0;pwned\x07\x1b[2J", b"x");
    let archive = tar.finish(&s.0.join("esc.tar"));
    let run = kiln_bounded(
        &s.0.join("root"),
        &["load", "-i", archive.to_str().unwrap()],
    );
    let line = failed(&run);
    assert!(!line.contains('\x1b') && !line.contains('\x07'), "{line:?}");
    assert!(line.ends_with(r"archive path ../\u{1b}]0;pwned\u{7}\u{1b}[2J is unsafe: it is absolute or leaves the archive"), "{line}");

    let manifest = r#"[{"Config":"\u001b[31mred.json","RepoTags":["x:1"],"Layers":[]}]"#;
    let mut tar = Tar::default();
    tar.file("manifest.json", manifest.as_bytes());
    let archive = tar.finish(&s.0.join("esc-config.tar"));
    let run = kiln_bounded(
        &s.0.join("root"),
        &["load", "-i", archive.to_str().unwrap()],
    );
    let line = failed(&run);
    assert!(
        line.ends_with(r"archive member \u{1b}[31mred.json is missing"),
        "{line}"
    );
}

/// A docker-archive whose manifest.json is `manifest` (a valid layer and config beside it).
fn docker_archive(path: &Path, manifest: &str) -> PathBuf {
    let mut tar = Tar::default();
    let layer = layer();
    tar.file(&format!("{}/layer.tar", sha(&layer)), &layer);
    let config = config(&sha(&layer));
    tar.file(&format!("{}.json", sha(&config)), &config);
    tar.file("manifest.json", manifest.as_bytes());
    tar.finish(path)
}

#[test]
fn unsafe_layer_paths_are_named_unsafe() {
    let s = Scratch::new("load-unsafe");
    let config = config(&sha(&layer()));
    for layer in ["../../x/layer.tar", "/abc/layer.tar"] {
        let manifest = format!(
            r#"[{{"Config":"{}.json","RepoTags":["x:1"],"Layers":["{layer}"]}}]"#,
            sha(&config)
        );
        let archive = docker_archive(&s.0.join("unsafe.tar"), &manifest);
        let run = kiln_bounded(
            &s.0.join("root"),
            &["load", "-i", archive.to_str().unwrap()],
        );
        assert!(
            failed(&run).ends_with(&format!(
                "archive path {layer} is unsafe: it is absolute or leaves the archive"
            )),
            "{}",
            run.stderr
        );
    }
}

#[test]
fn an_archive_listing_no_image_fails() {
    let s = Scratch::new("load-empty");
    let archive = docker_archive(&s.0.join("empty.tar"), "[]");
    let run = kiln_bounded(
        &s.0.join("root"),
        &["load", "-i", archive.to_str().unwrap()],
    );
    assert!(
        failed(&run).ends_with("no images in archive (manifest.json lists none)"),
        "{}",
        run.stderr
    );
}
