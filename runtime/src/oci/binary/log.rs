//! Reading a runtime's `--log-format=json` log for its error message.

/// The message of the last `error`/`fatal` entry of a JSON-lines log (runc and
/// crun write `{"level":"error","msg":"…","time":"…"}`), else the last non-empty
/// line as is; `None` for an empty log.
pub(super) fn last_error(log: &str) -> Option<String> {
    let lines: Vec<&str> = log
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let entry_error = lines.iter().rev().find_map(|line| {
        let entry: serde_json::Value = serde_json::from_str(line).ok()?;
        let level = entry["level"].as_str()?;
        matches!(level, "error" | "fatal" | "panic")
            .then(|| entry["msg"].as_str().map(str::to_owned))
            .flatten()
    });
    entry_error.or_else(|| lines.last().map(|l| (*l).to_owned()))
}

#[cfg(test)]
mod tests {
    use super::last_error;

    #[test]
    fn picks_the_last_error_entry() {
        let log = concat!(
            "{\"level\":\"warning\",\"msg\":\"w\",\"time\":\"t\"}\n",
            "{\"level\":\"error\",\"msg\":\"first\",\"time\":\"t\"}\n",
            "{\"msg\": \"exec: not found\", \"level\": \"error\", \"time\": \"t\"}\n",
            "{\"level\":\"info\",\"msg\":\"i\",\"time\":\"t\"}\n",
        );
        assert_eq!(last_error(log).as_deref(), Some("exec: not found"));
        assert_eq!(last_error("plain text\n").as_deref(), Some("plain text"));
        assert_eq!(last_error(""), None);
    }
}
