//! `--format`: the subset of Go templates that Docker users type, rendered
//! over JSON values, plus the `table` form with aligned columns.
//!
//! Supported actions: `{{.}}`, `{{.Field}}`, `{{.A.B.C}}` (nested fields),
//! `{{json .Field}}` (compact JSON). Field names are exact (case-sensitive,
//! as in Go); a field the value does not have is an error naming it. Values
//! print as Go prints them: strings bare, lists `[a b]`, objects
//! `map[k:v]` (sorted keys), null `<no value>`. The escapes `\t` and `\n`
//! typed on a shell command line become tab and newline, as in Docker.

use anyhow::{bail, Result};
use serde_json::Value;

/// A parsed template.
#[derive(Debug)]
pub struct Template {
    parts: Vec<Part>,
}

#[derive(Debug)]
enum Part {
    Text(String),
    Field { path: Vec<String>, json: bool },
}

impl Template {
    /// Parses `text`; fails on an unclosed or unsupported action.
    pub fn parse(text: &str) -> Result<Template> {
        let text = text.replace("\\t", "\t").replace("\\n", "\n");
        let mut parts = Vec::new();
        let mut rest = text.as_str();
        while let Some(start) = rest.find("{{") {
            if start > 0 {
                parts.push(Part::Text(rest[..start].to_string()));
            }
            let Some(len) = rest[start..].find("}}") else {
                bail!("template: unclosed action in {text:?}");
            };
            parts.push(parse_action(&rest[start + 2..start + len])?);
            rest = &rest[start + len + 2..];
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_string()));
        }
        Ok(Template { parts })
    }

    /// Renders the template over `value`.
    pub fn render(&self, value: &Value) -> Result<String> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(text) => out.push_str(text),
                Part::Field { path, json } => {
                    let field = lookup(value, path)?;
                    if *json {
                        out.push_str(&serde_json::to_string(field)?);
                    } else {
                        out.push_str(&go_string(field));
                    }
                }
            }
        }
        Ok(out)
    }

    /// Renders with every field replaced by `header(path)` (a table header).
    pub fn render_header(&self, header: impl Fn(&str) -> String) -> String {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(text) => out.push_str(text),
                Part::Field { path, .. } => out.push_str(&header(&path.join("."))),
            }
        }
        out
    }
}

/// Parses the inside of `{{ … }}`.
fn parse_action(action: &str) -> Result<Part> {
    let words: Vec<&str> = action.split_whitespace().collect();
    let (json, field) = match words.as_slice() {
        [field] => (false, *field),
        ["json", field] => (true, *field),
        _ => bail!("template: unsupported action {{{{{action}}}}}"),
    };
    let Some(path) = field.strip_prefix('.') else {
        bail!("template: unsupported action {{{{{action}}}}}: expected .Field");
    };
    let path: Vec<String> = if path.is_empty() {
        Vec::new()
    } else {
        path.split('.').map(str::to_string).collect()
    };
    if path.iter().any(String::is_empty) {
        bail!("template: bad field path {field:?}");
    }
    Ok(Part::Field { path, json })
}

/// Follows `path` into `value`.
fn lookup<'v>(value: &'v Value, path: &[String]) -> Result<&'v Value> {
    let mut current = value;
    for (n, name) in path.iter().enumerate() {
        match current.get(name.as_str()) {
            Some(next) => current = next,
            None => bail!(
                "template: can't evaluate field {name} in .{}",
                path[..=n].join(".")
            ),
        }
    }
    Ok(current)
}

/// A value as Go's `fmt.Print` shows it.
fn go_string(value: &Value) -> String {
    match value {
        Value::Null => "<no value>".to_string(),
        Value::String(s) => s.clone(),
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(go_string).collect();
            format!("[{}]", items.join(" "))
        }
        Value::Object(map) => {
            let items: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{k}:{}", go_string(v)))
                .collect();
            format!("map[{}]", items.join(" "))
        }
        other => other.to_string(),
    }
}

/// Aligns tab-separated lines like Docker's tabwriter (min width 10, padding 3).
pub fn align_columns(lines: &[String]) -> String {
    let rows: Vec<Vec<&str>> = lines.iter().map(|l| l.split('\t').collect()).collect();
    let mut widths: Vec<usize> = Vec::new();
    for row in &rows {
        for (i, cell) in row.iter().enumerate().take(row.len().saturating_sub(1)) {
            let width = (cell.chars().count() + 3).max(10);
            match widths.get_mut(i) {
                Some(w) => *w = (*w).max(width),
                None => widths.push(width),
            }
        }
    }
    let mut out = String::new();
    for row in rows {
        let last = row.len() - 1;
        for (i, cell) in row.iter().enumerate() {
            if i == last {
                out.push_str(cell);
            } else {
                out.push_str(&format!("{cell:<w$}", w = widths[i]));
            }
        }
        out.push('\n');
    }
    out
}

/// Renders `rows` with `format`: a `table …` format gets a header line from
/// `header` and aligned columns; any other format is one line per row.
pub fn render_rows(
    format: &str,
    rows: &[Value],
    header: impl Fn(&str) -> String,
) -> Result<String> {
    if let Some(table) = format.strip_prefix("table") {
        let template = Template::parse(table.trim_start())?;
        let mut lines = vec![template.render_header(header)];
        for row in rows {
            lines.push(template.render(row)?);
        }
        return Ok(align_columns(&lines));
    }
    let template = Template::parse(format)?;
    let mut out = String::new();
    for row in rows {
        out.push_str(&template.render(row)?);
        out.push('\n');
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn renders_fields_nested_fields_and_json() {
        let v = json!({"Id": "sha256:ab", "Config": {"Env": ["A=1", "B=2"], "Labels": {"x": "y"}}});
        let t = Template::parse("{{.Id}} {{.Config.Env}} {{json .Config.Env}} {{.Config.Labels}}")
            .unwrap();
        assert_eq!(
            t.render(&v).unwrap(),
            r#"sha256:ab [A=1 B=2] ["A=1","B=2"] map[x:y]"#
        );
        assert_eq!(
            Template::parse("{{json .}}")
                .unwrap()
                .render(&json!(1))
                .unwrap(),
            "1"
        );
    }

    #[test]
    fn unknown_fields_and_bad_actions_are_errors() {
        let v = json!({"Id": "x"});
        let err = Template::parse("{{.Nope}}")
            .unwrap()
            .render(&v)
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "template: can't evaluate field Nope in .Nope"
        );
        assert!(Template::parse("{{.Id").is_err());
        assert!(Template::parse("{{range .Id}}").is_err());
    }

    #[test]
    fn tables_get_headers_and_aligned_columns() {
        let rows = [
            json!({"A": "x", "B": "yy"}),
            json!({"A": "longer-value", "B": "z"}),
        ];
        let out = render_rows("table {{.A}}\\t{{.B}}", &rows, |f| f.to_uppercase()).unwrap();
        assert_eq!(
            out,
            "A              B\nx              yy\nlonger-value   z\n"
        );
    }
}
