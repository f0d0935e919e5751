//! `--ulimit`, `--sysctl`, `--add-host` and `--device`: typed by `kiln_parser::values`,
//! applied by every runtime, refused with one line (exit 125) when Docker
//! refuses them.

use crate::fixture::{Root, IMG};

#[test]
fn ulimits_sysctls_and_extra_hosts_reach_the_container() {
    let r = Root::new("host-opts");
    let script = "ulimit -n; ulimit -Hn; grep -c 'Max processes *50 *50 ' /proc/self/limits; \
                  cat /proc/sys/net/ipv4/ip_forward; grep -w db /etc/hosts; grep -w v6 /etc/hosts";
    for runtime in ["kiln", "crun", "runc"] {
        let out = r.ok(&[
            "run",
            "--rm",
            "--runtime",
            runtime,
            "--ulimit",
            "nofile=100:200",
            "--ulimit",
            "nproc=50",
            "--sysctl",
            "net.ipv4.ip_forward=1",
            "--add-host",
            "db:10.1.2.3",
            "--add-host",
            "v6=[::1]",
            IMG,
            "sh",
            "-c",
            script,
        ]);
        assert_eq!(out, "100\n200\n1\n1\n10.1.2.3\tdb\n::1\tv6\n", "{runtime}");
    }
    // Without --ulimit nofile, Docker's default stays.
    assert_eq!(
        r.ok(&["run", "--rm", IMG, "sh", "-c", "ulimit -n"]),
        "1024\n"
    );
}

#[test]
fn devices_get_a_node_and_only_the_access_asked_for() {
    let r = Root::new("host-device");
    // A node of the "local/experimental" major 240 in the scratch dir: no
    // driver, so an open the device cgroup allows fails with ENXIO and one
    // it denies with EPERM (nothing of the host is read or written).
    let node = r.dir.join("exp-node");
    let made = std::process::Command::new("mknod")
        .arg(&node)
        .args(["c", "240", "0"])
        .status()
        .unwrap();
    assert!(made.success());
    let errno = "grep -o 'No such device or address\\|Operation not permitted'";
    let script = format!(
        "test -c /dev/exp && echo char; (cat /dev/exp) 2>&1 | {errno}; (echo x > /dev/exp) 2>&1 | {errno}"
    );
    let read_only = format!("{}:/dev/exp:r", node.display());
    for runtime in ["kiln", "crun", "runc"] {
        let out = r.ok(&[
            "run",
            "--rm",
            "--runtime",
            runtime,
            "--device",
            &read_only,
            IMG,
            "sh",
            "-c",
            &script,
        ]);
        assert_eq!(
            out, "char\nNo such device or address\nOperation not permitted\n",
            "{runtime}"
        );
    }
    let read_write = format!("{}:/dev/exp", node.display());
    let out = r.ok(&[
        "run",
        "--rm",
        "--device",
        &read_write,
        IMG,
        "sh",
        "-c",
        &script,
    ]);
    assert_eq!(
        out,
        "char\nNo such device or address\nNo such device or address\n"
    );
}

#[test]
fn refused_host_options_name_the_flag() {
    let r = Root::new("host-refused");
    let not_a_device = r.dir.join("plain");
    std::fs::write(&not_a_device, "x").unwrap();
    let plain = format!("--device={}", not_a_device.display());
    let cases: [(&[&str], &str); 8] = [
        (&[plain.as_str()], "not a device node"),
        (&["--device", "/dev/zero:/dev/z:rwx"], "invalid device mode: rwx"),
        (&["--ulimit", "nofile=2:1"], "invalid --ulimit \"nofile=2:1\": ulimit soft limit must be less than or equal to hard limit: 2 > 1"),
        (&["--ulimit", "bogus=1"], "invalid ulimit type: bogus"),
        (&["--sysctl", "kernel.hostname=x"], "sysctl 'kernel.hostname' is not allowed"),
        (&["--network", "host", "--sysctl", "net.ipv4.ip_forward=1"], "not allowed in the host's network namespace"),
        (&["--add-host", "db:300.1.1.1"], "invalid IP address in add-host: \"300.1.1.1\""),
        // `host-gateway` is resolved since bridge networks exist.
        (&["--network", "host", "--mac-address", "92:d0:c6:0a:29:33"], "conflicting options: mac-address and the network mode"),
    ];
    for (args, want) in cases {
        let mut all = vec!["run", "--rm"];
        all.extend(args);
        all.extend([IMG, "true"]);
        let out = r.run(&all);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(125), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains(want), "{args:?}: {err}");
    }
    assert_eq!(r.ok(&["ps", "-aq"]), "");
}
