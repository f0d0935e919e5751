//! `kiln build --ssh`: which SSH agent sockets RUN --mount=type=ssh reaches.
//!
//! Docker buildx's syntax: `--ssh ID[=PATH[,PATH…]]`, repeatable. Without a
//! path the agent is the one in `$SSH_AUTH_SOCK` (for any id, `default`
//! included). A path must be an agent's unix socket: buildx also accepts
//! private key files (BuildKit loads them into an in-process agent) and
//! several paths per id; kiln refuses both with a one-line error. Each id
//! may be given once.

use std::collections::BTreeMap;
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

/// Parses every `--ssh` value into agent sockets by id (absolute paths).
pub fn parse(specs: &[String]) -> Result<BTreeMap<String, PathBuf>> {
    let auth_sock = std::env::var_os("SSH_AUTH_SOCK").filter(|v| !v.is_empty());
    parse_with(specs, auth_sock.map(PathBuf::from))
}

/// [`parse`] with `$SSH_AUTH_SOCK` given (`None`: unset or empty).
fn parse_with(specs: &[String], auth_sock: Option<PathBuf>) -> Result<BTreeMap<String, PathBuf>> {
    let mut agents = BTreeMap::new();
    for spec in specs {
        let (id, paths) = match spec.split_once('=') {
            Some((id, paths)) => (id.trim(), Some(paths)),
            None => (spec.trim(), None),
        };
        if id.is_empty() {
            bail!("--ssh {spec}: missing the agent id (ID or ID=SOCKET)");
        }
        if agents.contains_key(id) {
            bail!("--ssh {spec}: agent id {id} given twice");
        }
        let path = match paths {
            None => match &auth_sock {
                Some(p) => p.clone(),
                None => bail!(
                    "--ssh {spec}: SSH_AUTH_SOCK is not set (start an ssh-agent, or pass --ssh {id}=/path/to/agent.sock)"
                ),
            },
            Some(list) => {
                let list: Vec<&str> = list.split(',').filter(|p| !p.is_empty()).collect();
                match list.as_slice() {
                    [one] => PathBuf::from(one),
                    [] => bail!("--ssh {spec}: missing the agent socket path after '='"),
                    _ => bail!(
                        "--ssh {spec}: only one agent socket per id is supported (got {})",
                        list.len()
                    ),
                }
            }
        };
        check_socket(spec, &path)?;
        let path = std::path::absolute(&path).unwrap_or(path);
        agents.insert(id.to_string(), path);
    }
    Ok(agents)
}

/// Fails (one line) unless `path` is a unix socket.
fn check_socket(spec: &str, path: &Path) -> Result<()> {
    let shown = path.display();
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) => bail!("--ssh {spec}: agent socket {shown}: {e}"),
    };
    let kind = meta.file_type();
    if kind.is_socket() {
        return Ok(());
    }
    if kind.is_file() {
        bail!(
            "--ssh {spec}: {shown} is a file, not an agent socket: only SSH agent sockets are supported (load the key with ssh-add and pass the agent)"
        );
    }
    bail!("--ssh {spec}: {shown} is not an SSH agent socket");
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixListener;

    fn specs(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn err(v: &[&str], auth: Option<PathBuf>) -> String {
        parse_with(&specs(v), auth).unwrap_err().to_string()
    }

    #[test]
    fn sockets_by_id_with_the_default_from_the_environment() {
        let dir = std::env::temp_dir().join(format!("kiln-cli-ssh-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let (a, b) = (dir.join("a.sock"), dir.join("b.sock"));
        let _la = UnixListener::bind(&a).unwrap();
        let _lb = UnixListener::bind(&b).unwrap();
        let key = dir.join("id_ed25519");
        std::fs::write(&key, "key").unwrap();

        let got = parse_with(
            &specs(&["default", "git", &format!("other={}", b.display())]),
            Some(a.clone()),
        )
        .unwrap();
        assert_eq!(got["default"], a);
        assert_eq!(got["git"], a);
        assert_eq!(got["other"], b);

        let e = err(&["default"], None);
        assert!(
            e.contains("--ssh default") && e.contains("SSH_AUTH_SOCK"),
            "{e}"
        );
        let e = err(&[&format!("k={}", key.display())], None);
        assert!(e.contains("only SSH agent sockets are supported"), "{e}");
        let e = err(&[&format!("k={},{}", a.display(), b.display())], None);
        assert!(e.contains("only one agent socket"), "{e}");
        let e = err(&["default", "default"], Some(a.clone()));
        assert!(e.contains("twice"), "{e}");
        let e = err(&[&format!("d={}", dir.join("missing").display())], None);
        assert!(e.contains("missing"), "{e}");
        let e = err(&["=x"], None);
        assert!(e.contains("missing the agent id"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
