//! `--chown` and `--chmod`.
//!
//! `--chown user[:group]` is resolved against the *destination's*
//! `/etc/passwd` and `/etc/group` (read inside the root, links resolved
//! chroot-style), as BuildKit does: a name is looked up, a number is taken as
//! is; a user without a group takes the user's primary group when named, and
//! the same number as the uid when numeric. An unknown name is an error.
//!
//! `--chmod` is octal (`755`, `0644`) or symbolic (`u+x,go-w`, `a=rX`), applied
//! to every copied file and directory (not to symlinks).

use std::io::Read;
use std::os::fd::AsRawFd;

use super::sys::{self, Resolve};
use super::write::Writer;
use super::FileError;

/// Resolves `--chown` against the root `dest` (see the module docs).
pub(super) fn resolve_chown(spec: &str, dest: &Writer) -> Result<(u32, u32), FileError> {
    let (user, group) = match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (spec, None),
    };
    if user.is_empty() {
        return Err(FileError(format!("invalid --chown {spec:?}: empty user")));
    }
    let (uid, primary) = match user.parse::<u32>() {
        Ok(n) => (n, n),
        Err(_) => {
            let passwd = read_etc(dest, "etc/passwd")?;
            let row = find(&passwd, user).ok_or_else(|| {
                FileError(format!(
                    "unable to find user {user}: no matching entries in passwd file"
                ))
            })?;
            let uid = field(&row, 2, user, "passwd")?;
            (uid, field(&row, 3, user, "passwd")?)
        }
    };
    let gid = match group {
        None => primary,
        Some("") => return Err(FileError(format!("invalid --chown {spec:?}: empty group"))),
        Some(g) => match g.parse::<u32>() {
            Ok(n) => n,
            Err(_) => {
                let groups = read_etc(dest, "etc/group")?;
                let row = find(&groups, g).ok_or_else(|| {
                    FileError(format!(
                        "unable to find group {g}: no matching entries in group file"
                    ))
                })?;
                field(&row, 2, g, "group")?
            }
        },
    };
    Ok((uid, gid))
}

/// The text of `/etc/<file>` in the destination (empty when missing).
fn read_etc(dest: &Writer, rel: &str) -> Result<String, FileError> {
    let fd = match sys::open(dest.root_fd(), rel, libc::O_RDONLY, Resolve::InRoot) {
        Ok(fd) => fd,
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => return Ok(String::new()),
        Err(e) => return Err(FileError::io("open", format!("/{rel}"), e)),
    };
    let _ = fd.as_raw_fd();
    let mut text = String::new();
    std::fs::File::from(fd)
        .read_to_string(&mut text)
        .map_err(|e| FileError::io("read", format!("/{rel}"), e))?;
    Ok(text)
}

/// The colon-separated fields of the line whose first field is `name`.
fn find(text: &str, name: &str) -> Option<Vec<String>> {
    text.lines()
        .map(|l| l.split(':').map(str::to_string).collect::<Vec<_>>())
        .find(|f| f.first().is_some_and(|n| n == name))
}

fn field(row: &[String], i: usize, name: &str, file: &str) -> Result<u32, FileError> {
    row.get(i)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| FileError(format!("malformed {file} entry for {name}")))
}

/// A parsed `--chmod`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Chmod {
    /// An absolute mode.
    Octal(u32),
    /// Clauses `(who mask, op, perms)` applied in order.
    Symbolic(Vec<(u32, char, String)>),
}

impl Chmod {
    /// Parses `--chmod`.
    pub(super) fn parse(text: &str) -> Result<Chmod, FileError> {
        let bad = || {
            FileError(format!(
                "invalid --chmod {text:?}: expected octal (0755) or symbolic (u+x,go-w)"
            ))
        };
        if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
            let mode = u32::from_str_radix(text, 8).map_err(|_| bad())?;
            return if mode <= 0o7777 {
                Ok(Chmod::Octal(mode))
            } else {
                Err(bad())
            };
        }
        let mut clauses = Vec::new();
        for clause in text.split(',') {
            let op_at = clause.find(['+', '-', '=']).ok_or_else(bad)?;
            let (who, rest) = clause.split_at(op_at);
            let mut mask = 0;
            for c in who.chars() {
                mask |= match c {
                    'u' => 0o4700,
                    'g' => 0o2070,
                    'o' => 0o1007,
                    'a' => 0o7777,
                    _ => return Err(bad()),
                };
            }
            if who.is_empty() {
                mask = 0o7777;
            }
            let op = rest.chars().next().ok_or_else(bad)?;
            let perms = &rest[1..];
            if !perms.chars().all(|c| "rwxXst".contains(c)) {
                return Err(bad());
            }
            clauses.push((mask, op, perms.to_string()));
        }
        Ok(Chmod::Symbolic(clauses))
    }

    /// The new permission bits for an entry with `mode` (`is_dir` for `X`).
    pub(super) fn apply(&self, mode: u32, is_dir: bool) -> u32 {
        let clauses = match self {
            Chmod::Octal(m) => return *m,
            Chmod::Symbolic(c) => c,
        };
        let mut mode = mode & 0o7777;
        for (mask, op, perms) in clauses {
            let mut bits = 0;
            for c in perms.chars() {
                bits |= match c {
                    'r' => 0o444,
                    'w' => 0o222,
                    'x' => 0o111,
                    'X' if is_dir || mode & 0o111 != 0 => 0o111,
                    's' => 0o6000,
                    't' => 0o1000,
                    _ => 0,
                };
            }
            let bits = bits & mask;
            mode = match op {
                '+' => mode | bits,
                '-' => mode & !bits,
                _ => (mode & !(mask & 0o7777 & !special_not_in(*mask))) | bits,
            };
        }
        mode
    }
}

/// For `=`: the special bits a who-mask does not own (so `u=rw` keeps `t`).
fn special_not_in(mask: u32) -> u32 {
    0o7000 & !mask
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chmod_forms() {
        assert_eq!(Chmod::parse("0755").unwrap().apply(0o600, false), 0o755);
        assert_eq!(Chmod::parse("u+x,go-w").unwrap().apply(0o666, false), 0o744);
        assert_eq!(Chmod::parse("a=rX").unwrap().apply(0o700, true), 0o555);
        assert_eq!(Chmod::parse("a=rX").unwrap().apply(0o600, false), 0o444);
        assert_eq!(Chmod::parse("u=rw").unwrap().apply(0o1777, false), 0o1677);
        assert!(Chmod::parse("9").is_err());
        assert!(Chmod::parse("q+x").is_err());
        assert!(Chmod::parse("77777").is_err());
    }
}
