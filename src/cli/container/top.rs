//! `kiln top`: the container's processes, as `docker top` shows them (the
//! rows are [`kiln_runtime::top`]'s). Columns are aligned like Docker's CLI
//! does it (tabwriter: minimum width 20, padding 3).

use std::path::Path;

use anyhow::Result;
use clap::Args;
use kiln_runtime::container::ContainerStore;

use super::Exit;

/// `kiln top CONTAINER [ps OPTIONS]`.
#[derive(Debug, Args)]
pub struct TopArgs {
    /// The container (name, ID or ID prefix).
    container: String,
    /// Options for `ps` (default `-ef`).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    ps_options: Vec<String>,
}

/// Runs `kiln top`: every failure exits 1, as Docker.
pub fn top(root: &Path, args: TopArgs) -> Result<()> {
    let store = ContainerStore::open(root)?;
    let rows = kiln_runtime::top::top(&store, &args.container, &args.ps_options)
        .map_err(|e| Exit::new(1, &e.to_string()))?;
    print!("{}", align(&rows));
    Ok(())
}

/// Docker's `tabwriter.NewWriter(out, 20, 1, 3, ' ', 0)`.
fn align(rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = Vec::new();
    for row in rows {
        for (i, cell) in row.iter().enumerate().take(row.len().saturating_sub(1)) {
            let width = (cell.chars().count() + 3).max(20);
            match widths.get_mut(i) {
                Some(w) => *w = (*w).max(width),
                None => widths.push(width),
            }
        }
    }
    let mut out = String::new();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if i + 1 == row.len() {
                out.push_str(cell);
            } else {
                out.push_str(&format!("{cell:<w$}", w = widths[i]));
            }
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_align_as_dockers_tabwriter() {
        let rows = vec![
            vec!["UID".to_string(), "PID".into(), "CMD".into()],
            vec!["root".to_string(), "10".into(), "sleep 1000".into()],
        ];
        let text = align(&rows);
        assert!(
            text.starts_with("UID                 PID                 CMD\n"),
            "{text}"
        );
        assert!(
            text.ends_with("root                10                  sleep 1000\n"),
            "{text}"
        );
    }
}
