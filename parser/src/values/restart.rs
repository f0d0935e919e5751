//! `--restart` and Compose's `restart:`: `no`, `always`, `unless-stopped`,
//! `on-failure[:N]` (moby's `opts.ParseRestartPolicy`, with Docker's
//! messages). An empty value is `no`.

use super::ValueError;

/// When a container that exited is started again.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum RestartPolicy {
    /// Never (Docker's default).
    #[default]
    No,
    /// Always, unless stopped by the user.
    Always,
    /// Always, and across a reboot unless it was stopped before.
    UnlessStopped,
    /// After a non-zero exit, at most `max_retries` times (0: no limit).
    OnFailure {
        /// The most restarts (0: no limit).
        max_retries: u32,
    },
}

impl RestartPolicy {
    /// Docker's name (`no`, `always`, `unless-stopped`, `on-failure`).
    pub fn name(self) -> &'static str {
        match self {
            RestartPolicy::No => "no",
            RestartPolicy::Always => "always",
            RestartPolicy::UnlessStopped => "unless-stopped",
            RestartPolicy::OnFailure { .. } => "on-failure",
        }
    }
}

/// Parses Docker's `--restart` value.
pub fn parse_restart_policy(text: &str) -> Result<RestartPolicy, ValueError> {
    let fail = |reason: String| ValueError::InvalidRestart {
        value: text.to_string(),
        reason,
    };
    let (name, count) = match text.split_once(':') {
        Some((name, count)) => (name, Some(count)),
        None => (text, None),
    };
    let max_retries = match (name, count) {
        ("on-failure", Some(n)) => n.parse().map_err(|_| {
            fail(format!(
                "invalid restart policy: maximum retry count must be an integer: {n:?}"
            ))
        })?,
        (_, Some(_)) => {
            return Err(fail(format!("invalid restart policy format: maximum retry count cannot be used with restart policy '{name}'")))
        }
        _ => 0,
    };
    match name {
        "" | "no" => Ok(RestartPolicy::No),
        "always" => Ok(RestartPolicy::Always),
        "unless-stopped" => Ok(RestartPolicy::UnlessStopped),
        "on-failure" => Ok(RestartPolicy::OnFailure { max_retries }),
        other => Err(fail(format!("invalid restart policy: unknown policy '{other}'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restart_policies_parse_like_docker() {
        assert_eq!(parse_restart_policy("no").unwrap(), RestartPolicy::No);
        assert_eq!(parse_restart_policy("").unwrap(), RestartPolicy::No);
        assert_eq!(
            parse_restart_policy("on-failure:3").unwrap(),
            RestartPolicy::OnFailure { max_retries: 3 }
        );
        assert_eq!(
            parse_restart_policy("on-failure").unwrap(),
            RestartPolicy::OnFailure { max_retries: 0 }
        );
        assert_eq!(
            parse_restart_policy("unless-stopped").unwrap().name(),
            "unless-stopped"
        );
        assert!(parse_restart_policy("always:3")
            .unwrap_err()
            .to_string()
            .contains("cannot be used with restart policy 'always'"));
        assert!(parse_restart_policy("sometimes")
            .unwrap_err()
            .to_string()
            .contains("unknown policy"));
        assert!(parse_restart_policy("on-failure:x").is_err());
        assert!(parse_restart_policy("on-failure:-1").is_err());
    }
}
