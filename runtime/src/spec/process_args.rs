//! Docker's rules for the command line and environment of a container.

use super::{ImageDefaults, SpecError};

/// The PATH Docker gives a Linux container whose image and user set none.
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Docker's rule for the argv of a container.
///
/// - no `--entrypoint`: the image's Entrypoint, followed by `args` when given,
///   else by the image's Cmd;
/// - `--entrypoint ""`: the entrypoint is cleared and the image's Cmd is not
///   used either, so the argv is `args` alone;
/// - `--entrypoint X`: `X` followed by `args` (the image's Cmd is not used).
///
/// An empty result is [`SpecError::NoCommand`] ("No command specified").
pub fn resolve_args(
    image: &ImageDefaults,
    entrypoint: Option<&str>,
    args: &[String],
) -> Result<Vec<String>, SpecError> {
    let mut argv: Vec<String> = match entrypoint {
        None => image.entrypoint.clone().unwrap_or_default(),
        Some("") => Vec::new(),
        Some(e) => vec![e.to_owned()],
    };
    if !args.is_empty() {
        argv.extend(args.iter().cloned());
    } else if entrypoint.is_none() {
        argv.extend(image.cmd.clone().unwrap_or_default());
    }
    if argv.is_empty() {
        return Err(SpecError::NoCommand);
    }
    Ok(argv)
}

/// Why an environment entry cannot be given to a process (runc's words);
/// `None` if it can. An entry is `NAME=value` with a non-empty name and no
/// NUL byte anywhere.
pub fn env_entry_error(entry: &str) -> Option<String> {
    let Some((name, value)) = entry.split_once('=') else {
        return Some(format!(
            "invalid environment variable {entry:?}: missing '='"
        ));
    };
    if name.is_empty() {
        Some(format!(
            "environment variable name can't be empty: {entry:?}"
        ))
    } else if name.contains('\0') {
        Some(format!(
            "environment variable name can't contain null(\\x00): {name:?}"
        ))
    } else if value.contains('\0') {
        Some(format!(
            "environment variable {name} value can't contain null(\\x00)"
        ))
    } else {
        None
    }
}

/// Checks environment entries from `origin` (`-e`, `image config Env`, …)
/// before a spec is built: the first bad one is [`SpecError::InvalidEnv`].
/// With `bare_ok`, a bare `NAME` (Docker's "take kiln's value" form of `-e`)
/// passes when the name is not empty and has no NUL.
pub fn check_env(origin: &str, entries: &[String], bare_ok: bool) -> Result<(), SpecError> {
    for entry in entries {
        let bare = bare_ok && !entry.contains('=');
        let why = if bare && entry.contains('\0') {
            Some(format!(
                "environment variable name can't contain null(\\x00): {entry:?}"
            ))
        } else if bare && entry.is_empty() {
            Some("environment variable name can't be empty: \"\"".to_string())
        } else if bare {
            None
        } else {
            env_entry_error(entry)
        };
        if let Some(reason) = why {
            return Err(SpecError::InvalidEnv {
                origin: origin.to_string(),
                reason,
            });
        }
    }
    Ok(())
}

/// Docker's environment merge.
///
/// The base is `PATH=<default>`, `HOSTNAME=<hostname>` and (with a tty)
/// `TERM=xterm`; then the image's env and the user's `-e` values are applied
/// in order, each `KEY=VALUE` replacing an earlier value of `KEY` in place or
/// appending. A bare `KEY` takes its value from kiln's own environment; when
/// kiln has no such variable, `KEY` is removed altogether (Docker's "unset"
/// rule, which also drops an image-provided value).
pub fn merge_env(image: &[String], user: &[String], hostname: &str, tty: bool) -> Vec<String> {
    let mut env = vec![
        format!("PATH={DEFAULT_PATH}"),
        format!("HOSTNAME={hostname}"),
    ];
    if tty {
        env.push("TERM=xterm".to_owned());
    }
    for item in image {
        set_var(&mut env, item.clone());
    }
    for item in user {
        match item.split_once('=') {
            Some(_) => set_var(&mut env, item.clone()),
            None => match std::env::var(item) {
                Ok(value) => set_var(&mut env, format!("{item}={value}")),
                Err(_) => env.retain(|e| key_of(e) != item.as_str()),
            },
        }
    }
    env
}

/// The key of a `KEY=VALUE` (or bare `KEY`) entry.
pub(crate) fn key_of(entry: &str) -> &str {
    entry.split_once('=').map_or(entry, |(k, _)| k)
}

/// Replaces the entry with the same key in place, or appends.
fn set_var(env: &mut Vec<String>, entry: String) {
    if !entry.contains('=') {
        // An image env entry without '=' carries no value; Docker unsets it.
        let key = entry;
        env.retain(|e| key_of(e) != key);
        return;
    }
    let key = key_of(&entry).to_owned();
    match env.iter_mut().find(|e| key_of(e) == key) {
        Some(slot) => *slot = entry,
        None => env.push(entry),
    }
}

#[cfg(test)]
mod env_tests {
    use super::*;

    #[test]
    fn env_entries_are_checked_with_runcs_words() {
        assert_eq!(env_entry_error("A=b"), None);
        assert_eq!(env_entry_error("A="), None);
        assert_eq!(
            env_entry_error("=x").unwrap(),
            "environment variable name can't be empty: \"=x\""
        );
        assert!(env_entry_error("NOVALUE").unwrap().contains("missing '='"));
        assert!(env_entry_error("A\0B=c").unwrap().contains("null"));
        let user = |e: &str| check_env("-e", &[e.to_string()], true);
        assert!(user("HOME").is_ok());
        assert_eq!(
            user("=x").unwrap_err().to_string(),
            "-e: environment variable name can't be empty: \"=x\""
        );
        assert!(check_env("image config Env", &["NOVALUE".into()], false).is_err());
    }
}
