//! `--ulimit`, `--sysctl` and `--add-host`: typed by `kiln_parser::values`,
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
fn refused_host_options_name_the_flag() {
    let r = Root::new("host-refused");
    let cases: [(&[&str], &str); 6] = [
        (&["--ulimit", "nofile=2:1"], "invalid --ulimit \"nofile=2:1\": ulimit soft limit must be less than or equal to hard limit: 2 > 1"),
        (&["--ulimit", "bogus=1"], "invalid ulimit type: bogus"),
        (&["--sysctl", "kernel.hostname=x"], "sysctl 'kernel.hostname' is not allowed"),
        (&["--network", "host", "--sysctl", "net.ipv4.ip_forward=1"], "not allowed in the host's network namespace"),
        (&["--add-host", "db:300.1.1.1"], "invalid IP address in add-host: \"300.1.1.1\""),
        (&["--add-host", "gw:host-gateway"], "--add-host \"gw:host-gateway\" is not supported"),
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
