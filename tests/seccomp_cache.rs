//! The embedded runtime's seccomp programs, compiled once per profile and
//! cached under `<root>/seccomp/`, seen from inside containers: the same
//! filter, capabilities and `no_new_privs` as Docker (and as crun given the
//! same spec), one cache entry per profile, reused, and rebuilt when damaged.

use std::path::{Path, PathBuf};

mod support;
use support::census::{root_with_image, IMAGE};
use support::{kiln, ok_as};

/// Docker's default capability set, as `/proc/PID/status` shows it.
const DOCKER_CAPS: &str = "00000000a80425fb";

/// The seccomp, capability and no_new_privs lines of the container's
/// `/proc/self/status`, then `unshare=N`: the exit code of `unshare -U true`
/// (Docker's profile refuses user namespaces without CAP_SYS_ADMIN).
fn inside(root: &Path, flags: &[&str]) -> String {
    let script =
        "grep -E '^(Seccomp|Seccomp_filters|NoNewPrivs|CapPrm|CapEff):' /proc/self/status \
                  | tr -d '\\t'; unshare -U true 2>/dev/null; echo unshare=$?";
    let mut args = vec!["run", "--rm"];
    args.extend_from_slice(flags);
    args.extend([IMAGE, "sh", "-c", script]);
    ok_as(kiln(root, &args), &format!("run {flags:?}"))
}

fn expected(caps: &str, seccomp: u8, filters: u8, unshare: u8) -> String {
    format!(
        "CapPrm:{caps}\nCapEff:{caps}\nNoNewPrivs:0\nSeccomp:{seccomp}\n\
         Seccomp_filters:{filters}\nunshare={unshare}\n"
    )
}

fn cache_entries(root: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(root.join("seccomp"))
        .map(|dir| dir.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    found.sort();
    found
}

#[test]
fn default_profile_is_compiled_once_and_filters_as_docker() {
    let (_scratch, root) = root_with_image("seccomp-cache");
    assert!(cache_entries(&root).is_empty());
    let docker = expected(DOCKER_CAPS, 2, 1, 1);
    assert_eq!(inside(&root, &[]), docker, "first run (compiles)");
    let entries = cache_entries(&root);
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert!(entries[0].extension().is_some_and(|e| e == "bpf"));
    let bytes = std::fs::read(&entries[0]).unwrap();

    assert_eq!(inside(&root, &[]), docker, "second run (cached)");
    assert_eq!(cache_entries(&root), entries, "no new entry");
    assert_eq!(std::fs::read(&entries[0]).unwrap(), bytes);

    std::fs::write(&entries[0], b"KILNBPF1 not a program").unwrap();
    assert_eq!(inside(&root, &[]), docker, "damaged entry");
    assert_eq!(std::fs::read(&entries[0]).unwrap(), bytes, "rebuilt");

    // crun gets the profile in the spec and compiles it itself: same view.
    assert_eq!(inside(&root, &["--runtime", "crun"]), docker, "crun");

    // `exec` reads the container's recorded bundle again: it must still be
    // there after a start that used the cached program.
    let id = ok_as(kiln(&root, &["run", "-d", IMAGE, "sleep", "600"]), "run -d");
    let id = id.trim();
    let out = ok_as(kiln(&root, &["exec", id, "echo", "hi"]), "exec");
    assert_eq!(out, "hi\n");
    ok_as(kiln(&root, &["rm", "-f", id]), "rm -f");
}

#[test]
fn capabilities_and_no_new_privs_stay_the_specs() {
    let (_scratch, root) = root_with_image("seccomp-caps");
    let none = "0000000000000000";
    assert_eq!(
        inside(&root, &["-u", "1000"]),
        expected(none, 2, 1, 1),
        "-u 1000"
    );
    assert_eq!(
        inside(&root, &["--security-opt", "no-new-privileges"]),
        expected(DOCKER_CAPS, 2, 1, 1).replace("NoNewPrivs:0", "NoNewPrivs:1"),
        "no-new-privileges"
    );
    // With CAP_SYS_ADMIN, Docker's profile allows unshare: another profile.
    assert_eq!(
        inside(&root, &["--cap-add", "SYS_ADMIN"]),
        expected("00000000a82425fb", 2, 1, 0),
        "--cap-add SYS_ADMIN"
    );
    assert_eq!(
        inside(&root, &["--security-opt", "seccomp=unconfined"]),
        expected(DOCKER_CAPS, 0, 0, 0),
        "seccomp=unconfined"
    );
    assert_eq!(
        cache_entries(&root).len(),
        2,
        "default and SYS_ADMIN profiles"
    );
}

/// A build's RUN steps use the same cache as containers: the first RUN
/// compiles the profile once, and every step runs under Docker's filter and
/// capabilities (BuildKit's defaults for RUN).
#[test]
fn build_steps_share_the_cache_and_filter_as_docker() {
    let (scratch, root) = root_with_image("seccomp-cache-build");
    let context = scratch.0.join("context");
    std::fs::create_dir_all(&context).unwrap();
    let status =
        "grep -E '^(Seccomp|Seccomp_filters|NoNewPrivs|CapPrm|CapEff):' /proc/self/status \
                  | tr -d '\\t'; unshare -U true 2>/dev/null; echo unshare=$?";
    std::fs::write(
        context.join("Dockerfile"),
        format!("FROM {IMAGE}\nRUN ({status}) > /one\nRUN ({status}) > /two\n"),
    )
    .unwrap();
    let ctx = context.to_str().unwrap();
    ok_as(kiln(&root, &["build", "-q", "-t", "steps", ctx]), "build");
    assert_eq!(cache_entries(&root).len(), 1, "one program for both steps");
    let docker = expected(DOCKER_CAPS, 2, 1, 1);
    for file in ["/one", "/two"] {
        let shown = ok_as(kiln(&root, &["run", "--rm", "steps", "cat", file]), file);
        assert_eq!(shown, docker, "{file}");
    }
}
