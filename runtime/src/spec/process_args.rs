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
