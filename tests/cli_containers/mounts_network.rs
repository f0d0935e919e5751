//! `-v`, `--tmpfs`, `--read-only`, named volumes and `--network`.

use crate::fixture::{fails_with, parts, Root, IMG};

#[test]
fn bind_mounts_rw_and_ro() {
    let r = Root::new("binds");
    let host = r.dir.join("host");
    std::fs::create_dir(&host).unwrap();
    std::fs::write(host.join("from-host"), "hello from host\n").unwrap();
    let bind = format!("{}:/data", host.display());
    let out = r.ok(&[
        "run", "--rm", "-v", &bind, IMG, "sh", "-c",
        "cat /data/from-host; echo written > /data/from-ctr; grep ' /data ' /proc/mounts | cut -d' ' -f4 | cut -d, -f1",
    ]);
    assert_eq!(out, "hello from host\nrw\n");
    assert_eq!(
        std::fs::read_to_string(host.join("from-ctr")).unwrap(),
        "written\n"
    );

    let ro = format!("{}:/data:ro", host.display());
    let out = r.run(&[
        "run",
        "--rm",
        "-v",
        &ro,
        IMG,
        "sh",
        "-c",
        "cat /data/from-host; echo nope > /data/new",
    ]);
    let (stdout, stderr, code) = parts(&out);
    assert_eq!(code, Some(1), "{stderr}");
    assert_eq!(stdout, "hello from host\n");
    assert!(stderr.contains("Read-only file system"), "{stderr}");
    assert!(!host.join("new").exists());

    // inspect lists the bind in Mounts.
    let id = r.detach(&["-v", &ro, IMG, "true"]);
    r.ok(&["wait", &id]);
    let c = r.inspect_json(&id);
    let mounts = c["Mounts"].as_array().expect("Mounts array");
    assert_eq!(mounts.len(), 1, "{mounts:?}");
    assert_eq!(mounts[0]["Type"], "bind");
    assert_eq!(mounts[0]["Source"], host.to_str().unwrap());
    assert_eq!(mounts[0]["Destination"], "/data");
    assert_eq!(mounts[0]["RW"], false);
}

#[test]
fn tmpfs_and_read_only_root() {
    let r = Root::new("tmpfs");
    let out = r.ok(&[
        "run",
        "--rm",
        "--tmpfs",
        "/scratch",
        IMG,
        "grep",
        " /scratch ",
        "/proc/mounts",
    ]);
    let fields: Vec<&str> = out.split_whitespace().collect();
    assert_eq!(&fields[..3], ["tmpfs", "/scratch", "tmpfs"], "{out}");
    // Docker's --tmpfs defaults: rw,noexec,nosuid,nodev.
    for opt in ["rw", "noexec", "nosuid", "nodev"] {
        assert!(fields[3].split(',').any(|o| o == opt), "{out}");
    }

    let out = r.run(&[
        "run",
        "--rm",
        "--read-only",
        "--tmpfs",
        "/scratch",
        IMG,
        "sh",
        "-c",
        "if touch /rootfile; then echo root-writable; fi; echo ok > /scratch/f && cat /scratch/f",
    ]);
    let (stdout, stderr, code) = parts(&out);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(stdout, "ok\n");
    assert!(stderr.contains("Read-only file system"), "{stderr}");
}

#[test]
fn named_volume_outlives_its_containers() {
    let r = Root::new("volume");
    r.ok(&[
        "run",
        "--rm",
        "-v",
        "v1:/data",
        IMG,
        "sh",
        "-c",
        "echo persisted > /data/p",
    ]);
    let id = r.detach(&["-v", "v1:/data", IMG, "cat", "/data/p"]);
    assert_eq!(r.ok(&["wait", &id]).trim(), "0");
    assert_eq!(r.ok(&["logs", &id]), "persisted\n");
    let c = r.inspect_json(&id);
    assert_eq!(c["Mounts"][0]["Type"], "volume");
    assert_eq!(c["Mounts"][0]["Name"], "v1");
    assert_eq!(c["Mounts"][0]["Destination"], "/data");
    let source = c["Mounts"][0]["Source"].as_str().unwrap().to_string();
    assert_eq!(
        std::fs::read_to_string(std::path::Path::new(&source).join("p")).unwrap(),
        "persisted\n"
    );
}

#[test]
fn network_none_host_and_unknown() {
    let r = Root::new("network");
    let ifaces = |text: &str| -> Vec<String> {
        let mut v: Vec<String> = text
            .lines()
            .skip(2)
            .filter_map(|l| l.split(':').next())
            .map(|s| s.trim().to_string())
            .collect();
        v.sort();
        v
    };
    let none = r.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        IMG,
        "cat",
        "/proc/net/dev",
    ]);
    assert_eq!(ifaces(&none), ["lo"]);
    let host = r.ok(&[
        "run",
        "--rm",
        "--network",
        "host",
        IMG,
        "cat",
        "/proc/net/dev",
    ]);
    let ours = ifaces(&std::fs::read_to_string("/proc/net/dev").unwrap());
    assert_eq!(ifaces(&host), ours);
    assert!(ours.len() > 1, "the host has more than lo: {ours:?}");
    fails_with(
        r.run(&["run", "--rm", "--network", "nosuchnet", IMG, "true"]),
        125,
        "nosuchnet",
    );
}
