//! Docker's `--env-file` format, for `run`, `create` and `exec`.

use std::path::Path;

use anyhow::{bail, Context, Result};

/// Reads `KEY=VALUE` lines (a bare `KEY` takes kiln's own value later, as
/// `-e KEY` does), skipping blank lines and `#` comments. A line whose key is
/// empty or holds whitespace is an error naming the file and line.
pub fn read_env_file(path: &Path) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("open {}", path.display()))?;
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let key = line.split('=').next().unwrap_or("");
        if key.is_empty() || key.contains(char::is_whitespace) {
            bail!(
                "{}:{}: invalid environment variable: {line}",
                path.display(),
                n + 1
            );
        }
        out.push(line.to_string());
    }
    Ok(out)
}
