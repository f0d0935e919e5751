//! `ADD https://…` against a real TLS server (python3's `ssl` module) whose
//! certificate a private CA made with `openssl` signed: trusted through
//! `SSL_CERT_FILE` the download works and is verified against
//! `--checksum`; with the system's roots only, the build fails in one line
//! naming the certificate problem.

mod support;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use support::{ok, Scratch};

/// Runs `openssl ARGS…` in `dir`; panics with its output on failure.
fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run openssl (package openssl)");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA and a server certificate for 127.0.0.1 signed by it, in `dir`:
/// `ca.pem`, `server.pem`, `server.key`.
fn make_certificates(dir: &Path) {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=kiln test CA",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
        ],
    );
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=127.0.0.1",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
        ],
    );
    std::fs::write(dir.join("san.ext"), "subjectAltName=IP:127.0.0.1\n").unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            "san.ext",
            "-out",
            "server.pem",
        ],
    );
}

/// An HTTPS file server for `root` on 127.0.0.1 (a free port); killed on drop.
struct Server {
    child: Child,
    port: u16,
}

impl Server {
    fn start(root: &Path, certs: &Path) -> Server {
        let script = "import http.server, ssl, sys, os\n\
            os.chdir(sys.argv[1])\n\
            srv = http.server.HTTPServer(('127.0.0.1', 0), http.server.SimpleHTTPRequestHandler)\n\
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)\n\
            ctx.load_cert_chain(sys.argv[2], sys.argv[3])\n\
            srv.socket = ctx.wrap_socket(srv.socket, server_side=True)\n\
            print(srv.server_address[1], flush=True)\n\
            srv.serve_forever()\n";
        let mut child = Command::new("python3")
            .arg("-c")
            .arg(script)
            .arg(root)
            .arg(certs.join("server.pem"))
            .arg(certs.join("server.key"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("run python3");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line.trim().parse().expect("the server's port");
        Server { child, port }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn build(root: &Path, ctx: &Path, ca: Option<&Path>) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kiln"));
    cmd.arg("--root")
        .arg(root)
        .args(["build", "-q", "-t", "https:1"])
        .arg(ctx)
        .env_remove("KILN_ROOT")
        .env_remove("SSL_CERT_DIR");
    match ca {
        Some(ca) => cmd.env("SSL_CERT_FILE", ca),
        None => cmd.env_remove("SSL_CERT_FILE"),
    };
    cmd.output().unwrap()
}

#[test]
fn add_of_an_https_url_checks_the_certificate_and_the_checksum() {
    let scratch = Scratch::new("https");
    let certs = scratch.0.join("certs");
    let served = scratch.0.join("served");
    std::fs::create_dir_all(&certs).unwrap();
    std::fs::create_dir_all(&served).unwrap();
    make_certificates(&certs);
    let payload = "payload over TLS\n";
    std::fs::write(served.join("payload.txt"), payload).unwrap();
    let sum = {
        use sha2::Digest;
        format!("sha256:{}", hex::encode(sha2::Sha256::digest(payload)))
    };
    let server = Server::start(&served, &certs);

    let root = scratch.0.join("root");
    support::load_busybox_local(&root);
    let ctx = scratch.0.join("ctx");
    std::fs::create_dir_all(&ctx).unwrap();
    let url = format!("https://127.0.0.1:{}/payload.txt", server.port);
    std::fs::write(
        ctx.join("Dockerfile"),
        format!("FROM busybox:local\nADD --checksum={sum} {url} /dl/\n"),
    )
    .unwrap();

    // Only the system's roots: the private CA is not trusted.
    let out = build(&root, &ctx, None);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "an untrusted certificate was accepted"
    );
    assert!(
        err.contains(&url) && err.to_lowercase().contains("certificate"),
        "{err}"
    );

    // Trusted through SSL_CERT_FILE: downloaded, checked, in the image.
    ok(build(&root, &ctx, Some(&certs.join("ca.pem"))));
    let got = ok(support::kiln(
        &root,
        &["run", "--rm", "https:1", "cat", "/dl/payload.txt"],
    ));
    assert_eq!(got, payload);

    // A checksum that does not match fails.
    std::fs::write(
        ctx.join("Dockerfile"),
        format!(
            "FROM busybox:local\nADD --checksum=sha256:{} {url} /dl/\n",
            "0".repeat(64)
        ),
    )
    .unwrap();
    let out = build(&root, &ctx, Some(&certs.join("ca.pem")));
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("digest mismatch"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
