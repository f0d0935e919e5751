//! End-to-end tests of `kiln build --ssh` and `RUN --mount=type=ssh` with a
//! real `ssh-agent` holding a real key: the step talks to the agent through
//! the forwarded socket (a static C client, compiled here, sends
//! SSH2_AGENTC_REQUEST_IDENTITIES), the socket has the mount's mode and
//! owner, `SSH_AUTH_SOCK` points at it, nothing of it is in the layer, and
//! the agent's host path is not part of the cache key. Plus the one-line
//! errors. ssh-agent, ssh-keygen and ssh-add (openssh-client) and cc with a
//! static libc (gcc, libc6-dev) must be installed: these tests fail, not
//! skip, without them.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use support::{kiln_cmd, ok_as, one_line_error, Scratch};

const BASE: &str = "kiln-test/busybox";

/// A client of the SSH agent protocol: connects to argv[1] (or
/// `$SSH_AUTH_SOCK`), sends SSH2_AGENTC_REQUEST_IDENTITIES (11) framed with a
/// 4-byte big-endian length, prints the answer's type and key count.
const CLIENT_C: &str = r#"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int read_full(int fd, unsigned char *buf, size_t n) {
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, buf + got, n - got);
        if (r <= 0) return -1;
        got += (size_t)r;
    }
    return 0;
}

int main(int argc, char **argv) {
    const char *path = argc > 1 ? argv[1] : getenv("SSH_AUTH_SOCK");
    if (!path) { fprintf(stderr, "agent-client: no socket\n"); return 2; }
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un addr;
    memset(&addr, 0, sizeof addr);
    addr.sun_family = AF_UNIX;
    strncpy(addr.sun_path, path, sizeof addr.sun_path - 1);
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) { perror("connect"); return 3; }
    unsigned char req[5] = {0, 0, 0, 1, 11};
    if (write(fd, req, 5) != 5) { perror("write"); return 4; }
    unsigned char hdr[4];
    if (read_full(fd, hdr, 4) != 0) { fprintf(stderr, "agent-client: no answer\n"); return 5; }
    unsigned len = (unsigned)hdr[0] << 24 | hdr[1] << 16 | hdr[2] << 8 | hdr[3];
    if (len < 1 || len > 1 << 20) { fprintf(stderr, "agent-client: bad length\n"); return 6; }
    unsigned char *body = malloc(len);
    if (!body || read_full(fd, body, len) != 0) { fprintf(stderr, "agent-client: short\n"); return 7; }
    unsigned keys = 0;
    if (body[0] == 12 && len >= 5)
        keys = (unsigned)body[1] << 24 | body[2] << 16 | body[3] << 8 | body[4];
    printf("answer=%d keys=%u\n", body[0], keys);
    return 0;
}
"#;

/// The RUN under test: two ssh mounts (default target; custom target, mode
/// and owner); writes what the step saw to /result.txt.
const DOCKERFILE: &str = "FROM kiln-test/busybox\n\
COPY agent-client /usr/local/bin/agent-client\n\
RUN --mount=type=ssh \
--mount=type=ssh,id=other,target=/tmp/agent/other.sock,mode=0660,uid=65534,gid=65534,required=true \
{ echo \"auth=$SSH_AUTH_SOCK\"; \
stat -c 'default %F %a %u:%g' /run/buildkit/ssh_agent.0; \
stat -c 'other %F %a %u:%g' /tmp/agent/other.sock; \
agent-client; agent-client /tmp/agent/other.sock; } > /result.txt\n";

/// The busybox rootfs tar.
fn rootfs_tar(dir: &Path) -> PathBuf {
    let out = dir.join("bb.tar");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/busybox/make-rootfs.sh");
    let run = Command::new("bash")
        .arg(&script)
        .arg(&out)
        .output()
        .unwrap();
    ok_as(run, "make-rootfs.sh");
    out
}

/// A temp root with the busybox image imported and an empty context `ctx`.
struct Env {
    scratch: Scratch,
}

impl Env {
    fn new(name: &str) -> Env {
        let env = Env {
            scratch: Scratch::new(&format!("cli-build-ssh-{name}")),
        };
        let tar = rootfs_tar(&env.scratch.0);
        ok_as(
            kiln_cmd(&env.path("root"))
                .args(["import", tar.to_str().unwrap(), BASE])
                .output()
                .unwrap(),
            "kiln import",
        );
        std::fs::create_dir_all(env.ctx()).unwrap();
        env
    }

    fn path(&self, name: &str) -> PathBuf {
        self.scratch.0.join(name)
    }

    fn ctx(&self) -> PathBuf {
        self.path("ctx")
    }

    fn dockerfile(&self, text: &str) {
        std::fs::write(self.ctx().join("Dockerfile"), text).unwrap();
    }

    /// `kiln build ARGS… CTX` with `SSH_AUTH_SOCK` set to `auth` (or unset).
    fn build(&self, args: &[&str], auth: Option<&Path>) -> Output {
        let mut cmd = kiln_cmd(&self.path("root"));
        cmd.arg("build").args(args).arg(self.ctx());
        match auth {
            Some(sock) => cmd.env("SSH_AUTH_SOCK", sock),
            None => cmd.env_remove("SSH_AUTH_SOCK"),
        };
        cmd.output().unwrap()
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-R")
            .arg(self.path("root"))
            .output();
    }
}

/// A real `ssh-agent -D` on a socket of its own, holding one new key;
/// exactly its process is killed on drop.
struct Agent {
    child: Child,
    socket: PathBuf,
}

impl Agent {
    fn start(dir: &Path) -> Agent {
        let socket = dir.join("agent.sock");
        let child = Command::new("ssh-agent")
            .arg("-D")
            .arg("-a")
            .arg(&socket)
            .stdout(Stdio::null())
            .spawn()
            .expect("start ssh-agent (install openssh-client)");
        let agent = Agent { child, socket };
        let deadline = Instant::now() + Duration::from_secs(10);
        while !agent.socket.exists() {
            assert!(Instant::now() < deadline, "ssh-agent made no socket");
            std::thread::sleep(Duration::from_millis(20));
        }
        let key = dir.join("id_ed25519");
        let keygen = Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-C", "kiln-test", "-f"])
            .arg(&key)
            .output()
            .expect("run ssh-keygen");
        ok_as(keygen, "ssh-keygen");
        let add = Command::new("ssh-add")
            .arg(&key)
            .env("SSH_AUTH_SOCK", &agent.socket)
            .output()
            .expect("run ssh-add");
        ok_as(add, "ssh-add");
        agent
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Compiles [`CLIENT_C`] statically into `ctx/agent-client`.
fn compile_client(env: &Env) {
    let src = env.path("agent-client.c");
    std::fs::write(&src, CLIENT_C).unwrap();
    let cc = Command::new("cc")
        .args(["-static", "-Os", "-o"])
        .arg(env.ctx().join("agent-client"))
        .arg(&src)
        .output()
        .expect("run cc (install gcc and libc6-dev)");
    ok_as(cc, "cc -static agent-client.c");
}

/// `(steps, cached)` from the `done: N steps, M cached` line.
fn done_counts(stderr: &str) -> (String, String) {
    let line = stderr
        .lines()
        .find_map(|l| l.strip_prefix("done: "))
        .unwrap_or_else(|| panic!("no done line in:\n{stderr}"));
    let mut words = line.split_whitespace();
    let steps = words.next().unwrap().to_string();
    let cached = words.nth(1).unwrap().to_string();
    (steps, cached)
}

/// Unpacks the OCI archive `oci` into `dir`; returns the top layer blob.
fn top_layer(oci: &Path, dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let untar = Command::new("tar")
        .arg("-xf")
        .arg(oci)
        .arg("-C")
        .arg(dir)
        .output()
        .unwrap();
    ok_as(untar, "tar -xf");
    let blob = |digest: &str| dir.join("blobs/sha256").join(&digest["sha256:".len()..]);
    let json = |path: PathBuf| -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
    };
    let index = json(dir.join("index.json"));
    let manifest = json(blob(index["manifests"][0]["digest"].as_str().unwrap()));
    let layers = manifest["layers"].as_array().unwrap();
    blob(layers.last().unwrap()["digest"].as_str().unwrap())
}

#[test]
fn ssh_mounts_forward_a_real_agent_and_leave_nothing_in_the_layer() {
    let env = Env::new("forward");
    let agent = Agent::start(&env.scratch.0);
    compile_client(&env);
    env.dockerfile(DOCKERFILE);
    let other = format!("other={}", agent.socket.display());
    let oci = env.path("image.tar");
    let dest = format!("type=oci,dest={}", oci.display());
    let out = env.build(
        &[
            "--progress",
            "plain",
            "--ssh",
            "default",
            "--ssh",
            &other,
            "-t",
            "ssh:1",
            "-o",
            &dest,
        ],
        Some(&agent.socket),
    );
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    ok_as(out, "kiln build --ssh");
    let (steps, cached) = done_counts(&stderr);
    assert_ne!(steps, cached, "{stderr}");

    let layer = top_layer(&oci, &env.path("oci"));
    let listing = Command::new("tar")
        .arg("-tvf")
        .arg(&layer)
        .output()
        .unwrap();
    let listing = ok_as(listing, "tar -tvf layer");
    let names: Vec<&str> = listing
        .lines()
        .map(|l| l.rsplit(' ').next().unwrap().trim_start_matches("./"))
        .collect();
    assert!(names.contains(&"result.txt"), "{listing}");
    for gone in ["ssh_agent.0", "other.sock", "agent.sock"] {
        assert!(!names.iter().any(|n| n.ends_with(gone)), "{listing}");
    }
    // Mount points made for the targets stay, empty (like secrets').
    assert!(names.contains(&"run/buildkit/"), "{listing}");
    assert!(names.contains(&"tmp/agent/"), "{listing}");

    let unpacked = env.path("layer");
    std::fs::create_dir_all(&unpacked).unwrap();
    let untar = Command::new("tar")
        .arg("-xf")
        .arg(&layer)
        .arg("-C")
        .arg(&unpacked)
        .output()
        .unwrap();
    ok_as(untar, "tar -xf layer");
    let result = std::fs::read_to_string(unpacked.join("result.txt")).unwrap();
    assert_eq!(
        result,
        "auth=/run/buildkit/ssh_agent.0\n\
         default socket 600 0:0\n\
         other socket 660 65534:65534\n\
         answer=12 keys=1\n\
         answer=12 keys=1\n",
    );

    // The same build through another path to the same agent: all cached.
    let alias = env.path("alias");
    std::fs::create_dir_all(&alias).unwrap();
    let alias_sock = alias.join("agent-link.sock");
    std::os::unix::fs::symlink(&agent.socket, &alias_sock).unwrap();
    let other = format!("other={}", alias_sock.display());
    let out = env.build(
        &["--progress", "plain", "--ssh", "default", "--ssh", &other],
        Some(&alias_sock),
    );
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    ok_as(out, "kiln build --ssh (other path)");
    let (steps, cached) = done_counts(&stderr);
    assert_eq!(steps, cached, "{stderr}");

    // The forwarding sockets are gone from the step folders.
    let leftovers = Command::new("find")
        .arg(env.path("root"))
        .args(["-type", "s"])
        .output()
        .unwrap();
    let leftovers = ok_as(leftovers, "find -type s");
    assert!(leftovers.trim().is_empty(), "{leftovers}");
}

#[test]
fn an_optional_ssh_mount_without_an_agent_is_skipped() {
    let env = Env::new("optional");
    env.dockerfile(
        "FROM kiln-test/busybox\n\
         RUN --mount=type=ssh,id=absent test \"$SSH_AUTH_SOCK\" = /run/buildkit/ssh_agent.0 \
         && ! test -e /run/buildkit/ssh_agent.0 && echo skipped > /skipped\n",
    );
    ok_as(env.build(&["-q"], None), "kiln build (optional ssh)");
}

#[test]
fn ssh_errors_are_one_line() {
    let env = Env::new("errors");
    env.dockerfile("FROM kiln-test/busybox\nRUN --mount=type=ssh,required=true true\n");

    let err = one_line_error(env.build(&["--ssh", "default"], None));
    assert!(
        err.contains("--ssh default") && err.contains("SSH_AUTH_SOCK is not set"),
        "{err}"
    );

    let key = env.path("id_ed25519");
    std::fs::write(&key, "not really a key\n").unwrap();
    let spec = format!("deploy={}", key.display());
    let err = one_line_error(env.build(&["--ssh", &spec], None));
    assert!(
        err.contains(&spec) && err.contains("only SSH agent sockets are supported"),
        "{err}"
    );

    let err = one_line_error(env.build(&["-q"], None));
    assert!(
        err.contains("ssh agent default: not forwarded (pass --ssh default)"),
        "{err}"
    );
}
