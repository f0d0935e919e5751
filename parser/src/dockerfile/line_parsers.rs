//! Per-instruction argument parsers: the text after keyword and flags -> [`Args`].
//!
//! Each Dockerfile instruction has its own argument syntax (BuildKit's
//! `line_parsers.go`): JSON-or-shell form, whitespace-separated words, quoted
//! words, `key=value` pairs, a sub-instruction. Quotes are kept at this level:
//! removing them is expansion's job, which happens at build time.

use super::ast::Args;
use super::error::DockerfileError;
use super::span::Position;
use super::split::is_token_space;

/// Which argument syntax an instruction uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ArgSyntax {
    /// RUN, CMD, ENTRYPOINT, SHELL: JSON array, else the whole rest as one value.
    MaybeJson,
    /// ADD, COPY, VOLUME: JSON array, else whitespace-separated words.
    MaybeJsonToList,
    /// FROM, EXPOSE: whitespace-separated words.
    Whitespace,
    /// MAINTAINER, USER, WORKDIR, STOPSIGNAL: the rest as one value.
    Single,
    /// ENV, LABEL: `k=v` pairs or the legacy `K v`.
    NameVal,
    /// ARG: quoted words, each `name` or `name=value`.
    NameOrNameVal,
    /// HEALTHCHECK: a type word, then JSON-or-shell form.
    Health,
    /// ONBUILD: another instruction.
    SubCommand,
    /// Unknown keywords: arguments ignored (the typed layer rejects them).
    Ignore,
}

impl ArgSyntax {
    /// The syntax of a (lower-case) keyword.
    pub fn of(keyword: &str) -> ArgSyntax {
        match keyword {
            "run" | "cmd" | "entrypoint" | "shell" => ArgSyntax::MaybeJson,
            "add" | "copy" | "volume" => ArgSyntax::MaybeJsonToList,
            "from" | "expose" => ArgSyntax::Whitespace,
            "maintainer" | "user" | "workdir" | "stopsignal" => ArgSyntax::Single,
            "env" | "label" => ArgSyntax::NameVal,
            "arg" => ArgSyntax::NameOrNameVal,
            "healthcheck" => ArgSyntax::Health,
            "onbuild" => ArgSyntax::SubCommand,
            _ => ArgSyntax::Ignore,
        }
    }
}

/// The outcome of trying the JSON array form.
pub(crate) enum JsonForm {
    /// A JSON array of strings.
    Strings(Vec<String>),
    /// Valid JSON array holding a non-string: a hard error.
    NotStrings,
    /// Not a JSON array: use the shell form.
    NotJson,
}

/// Tries `rest` as a JSON array of strings (Go's `json.Unmarshal` into `[]any`).
pub(crate) fn parse_json(rest: &str) -> JsonForm {
    let rest = rest.trim_start();
    if !rest.starts_with('[') {
        return JsonForm::NotJson;
    }
    match serde_json::from_str::<Vec<serde_json::Value>>(rest) {
        Err(_) => JsonForm::NotJson,
        Ok(values) => {
            let strings: Option<Vec<String>> = values
                .into_iter()
                .map(|v| match v {
                    serde_json::Value::String(s) => Some(s),
                    _ => None,
                })
                .collect();
            strings.map_or(JsonForm::NotStrings, JsonForm::Strings)
        }
    }
}

/// Splits on BuildKit's whitespace class; `None` for an empty input.
pub(crate) fn split_whitespace(rest: &str) -> Args {
    if rest.is_empty() {
        return Args::Empty;
    }
    Args::Values(
        rest.split(is_token_space)
            .filter(|w| !w.is_empty())
            .map(str::to_string)
            .collect(),
    )
}

/// JSON array, or the whole rest as one value.
pub(crate) fn maybe_json(rest: &str, keyword: &str, at: Position) -> Result<Args, DockerfileError> {
    if rest.is_empty() {
        return Ok(Args::Empty);
    }
    match parse_json(rest) {
        JsonForm::Strings(v) => Ok(Args::Json(v)),
        JsonForm::NotStrings => Err(not_strings(keyword, at)),
        JsonForm::NotJson => Ok(Args::Values(vec![rest.to_string()])),
    }
}

/// JSON array, or whitespace-separated words.
pub(crate) fn maybe_json_to_list(
    rest: &str,
    keyword: &str,
    at: Position,
) -> Result<Args, DockerfileError> {
    match parse_json(rest) {
        JsonForm::Strings(v) => Ok(Args::Json(v)),
        JsonForm::NotStrings => Err(not_strings(keyword, at)),
        JsonForm::NotJson => Ok(split_whitespace(rest)),
    }
}

fn not_strings(keyword: &str, at: Position) -> DockerfileError {
    DockerfileError::NotStringArray {
        at,
        keyword: keyword.to_ascii_uppercase(),
    }
}

/// HEALTHCHECK: `TYPE` then a JSON-or-shell command.
pub(crate) fn health(rest: &str, keyword: &str, at: Position) -> Result<Args, DockerfileError> {
    let sep = rest.find(char::is_whitespace).unwrap_or(rest.len());
    if sep == 0 {
        return Ok(Args::Empty);
    }
    let typ = rest[..sep].to_string();
    let cmd = rest[sep..].trim_start();
    Ok(match maybe_json(cmd, keyword, at)? {
        Args::Json(v) => Args::TypeThenJson(typ, v),
        Args::Values(mut v) => {
            v.insert(0, typ);
            Args::Values(v)
        }
        _ => Args::Values(vec![typ]),
    })
}

/// ENV and LABEL: `k=v k2="v 2"` (separator `=`) or legacy `K the value` (separator ``).
pub(crate) fn name_val(
    rest: &str,
    keyword: &str,
    escape: char,
    at: Position,
) -> Result<Args, DockerfileError> {
    let words = parse_words(rest, escape);
    if words.is_empty() {
        return Ok(Args::Empty);
    }
    let mut values = Vec::new();
    if !words[0].contains('=') {
        let Some(split) = rest.find(is_token_space) else {
            return Err(DockerfileError::MissingValue {
                at,
                keyword: keyword.to_ascii_uppercase(),
            });
        };
        let value = rest[split..].trim_start_matches(is_token_space);
        values.extend([rest[..split].to_string(), value.to_string(), String::new()]);
        return Ok(Args::Values(values));
    }
    for word in words {
        let Some((k, v)) = word.split_once('=') else {
            return Err(DockerfileError::MissingEquals {
                at,
                keyword: keyword.to_ascii_uppercase(),
                word,
            });
        };
        values.extend([k.to_string(), v.to_string(), "=".to_string()]);
    }
    Ok(Args::Values(values))
}

/// ARG: quoted words.
pub(crate) fn name_or_name_val(rest: &str, escape: char) -> Args {
    let words = parse_words(rest, escape);
    if words.is_empty() {
        Args::Empty
    } else {
        Args::Values(words)
    }
}

/// The rest as one value.
pub(crate) fn single(rest: &str) -> Args {
    if rest.is_empty() {
        Args::Empty
    } else {
        Args::Values(vec![rest.to_string()])
    }
}

/// Splits on unquoted whitespace, keeping quotes and escapes in the words
/// (BuildKit's `parseWords`). Inside single quotes the escape char is literal.
pub(crate) fn parse_words(rest: &str, escape: char) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut blank_ok = false;
    let mut quote: Option<char> = None;
    let mut chars = rest.chars().peekable();
    while let Some(ch) = chars.next() {
        match quote {
            None if ch.is_whitespace() => {
                if blank_ok || !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
                blank_ok = false;
            }
            None => {
                if ch == '\'' || ch == '"' {
                    quote = Some(ch);
                    blank_ok = true;
                }
                if ch == escape {
                    match chars.next() {
                        None => continue,
                        Some(next) => {
                            word.push(ch);
                            word.push(next);
                            continue;
                        }
                    }
                }
                word.push(ch);
            }
            Some(q) => {
                if ch == q {
                    quote = None;
                }
                if ch == escape && q != '\'' {
                    match chars.next() {
                        None => {
                            quote = None;
                            continue;
                        }
                        Some(next) => {
                            word.push(ch);
                            word.push(next);
                            continue;
                        }
                    }
                }
                word.push(ch);
            }
        }
    }
    if blank_ok || !word.is_empty() {
        words.push(word);
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_keep_quotes_and_escapes() {
        assert_eq!(
            parse_words(r#"a="1 2" b\ c 'd e'"#, '\\'),
            vec![r#"a="1 2""#, r"b\ c", "'d e'"]
        );
        assert_eq!(parse_words("x=''", '\\'), vec!["x=''"]);
        assert_eq!(parse_words("  ", '\\'), Vec::<String>::new());
        assert_eq!(parse_words(r"a\", '\\'), vec!["a"]);
    }

    #[test]
    fn json_forms() {
        assert!(matches!(parse_json(r#"["a", "b"]"#), JsonForm::Strings(v) if v == ["a", "b"]));
        assert!(matches!(parse_json(r#"["a", 1]"#), JsonForm::NotStrings));
        assert!(matches!(parse_json(r#"["a""#), JsonForm::NotJson));
        assert!(matches!(parse_json("echo [x]"), JsonForm::NotJson));
    }

    #[test]
    fn name_val_forms() {
        let at = Position::new(1, 1);
        assert_eq!(
            name_val("K the value", "env", '\\', at).unwrap(),
            Args::Values(vec!["K".into(), "the value".into(), "".into()])
        );
        assert!(matches!(
            name_val("K", "env", '\\', at),
            Err(DockerfileError::MissingValue { .. })
        ));
        assert!(matches!(
            name_val("a=1 b", "env", '\\', at),
            Err(DockerfileError::MissingEquals { .. })
        ));
    }
}
