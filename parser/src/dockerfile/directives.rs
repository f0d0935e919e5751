//! Parser directives: `# syntax=…`, `# escape=…`, `# check=…` at the very top.
//!
//! As in BuildKit, directives are only recognised before the first line that is
//! not a directive (an instruction, a blank line, or any other comment); a known
//! directive may appear once; unknown names end the directive block.

use nom::{
    bytes::complete::{tag, take_while, take_while1},
    character::complete::satisfy,
    combinator::recognize,
    sequence::pair,
    IResult,
};

use super::{error::DockerfileError, span::Position};

/// The directives BuildKit knows; any other `# name=value` ends the block.
const KNOWN: [&str; 3] = ["syntax", "escape", "check"];

/// Tracks the directive block while lines are read.
#[derive(Debug)]
pub(crate) struct Directives {
    done: bool,
    /// The escape character in force.
    pub escape: char,
    /// The directives seen, lower-case names, in order.
    pub found: Vec<(String, String)>,
}

impl Directives {
    /// The state at the top of a file: `\` as escape, no directive seen.
    pub fn new() -> Self {
        Directives {
            done: false,
            escape: '\\',
            found: Vec::new(),
        }
    }

    /// Looks at one physical line (newline removed, leading space removed for
    /// first lines) and records it if it is a directive.
    pub fn observe(&mut self, line: &str, line_no: u32) -> Result<(), DockerfileError> {
        if self.done {
            return Ok(());
        }
        let Some((name, value)) = parse_directive(line) else {
            self.done = true;
            return Ok(());
        };
        let name = name.to_ascii_lowercase();
        if !KNOWN.contains(&name.as_str()) {
            self.done = true;
            return Ok(());
        }
        let at = Position::new(line_no, 1);
        if self.found.iter().any(|(n, _)| *n == name) {
            return Err(DockerfileError::DuplicateDirective { at, name });
        }
        if name == "escape" {
            self.escape = match value {
                "\\" => '\\',
                "`" => '`',
                other => {
                    return Err(DockerfileError::InvalidEscape {
                        at,
                        token: other.into(),
                    })
                }
            };
        }
        self.found.push((name, value.to_string()));
        Ok(())
    }
}

/// `#\s*name\s*=\s*value\s*` -> (name, value), where name is `[A-Za-z][A-Za-z0-9]*`
/// and value is non-empty (`\s` being Go's RE2 class: space, \t, \n, \f, \r).
fn parse_directive(line: &str) -> Option<(&str, &str)> {
    fn directive(i: &str) -> IResult<&str, &str> {
        let (i, _) = tag("#")(i)?;
        let (i, _) = take_while(is_re2_space)(i)?;
        let (i, name) = recognize(pair(
            satisfy(|c| c.is_ascii_alphabetic()),
            take_while(|c: char| c.is_ascii_alphanumeric()),
        ))(i)?;
        let (i, _) = take_while(is_re2_space)(i)?;
        let (i, _) = tag("=")(i)?;
        let (i, _) = take_while(is_re2_space)(i)?;
        let (rest, _) = take_while1(|_| true)(i)?;
        Ok((rest, name))
    }
    let (_, name) = directive(line).ok()?;
    let after_eq = line.split_once('=')?.1;
    let value = after_eq.trim_matches(is_re2_space);
    (!value.is_empty()).then_some((name, value))
}

/// Go RE2's `\s`: `[\t\n\f\r ]`.
pub(crate) fn is_re2_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\u{c}' | '\r')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_directives() {
        assert_eq!(parse_directive("# escape = `"), Some(("escape", "`")));
        assert_eq!(
            parse_directive("#syntax=docker/dockerfile:1 "),
            Some(("syntax", "docker/dockerfile:1"))
        );
        assert_eq!(
            parse_directive("# check=skip=all"),
            Some(("check", "skip=all"))
        );
        assert_eq!(parse_directive("# escape ="), None);
        assert_eq!(parse_directive("# 1x=y"), None);
        assert_eq!(parse_directive("FROM x"), None);
    }

    #[test]
    fn stops_at_first_non_directive() {
        let mut d = Directives::new();
        d.observe("# comment", 1).unwrap();
        d.observe("# escape=`", 2).unwrap();
        assert_eq!(d.escape, '\\');
    }

    #[test]
    fn rejects_duplicates_and_bad_escape() {
        let mut d = Directives::new();
        d.observe("# escape=`", 1).unwrap();
        assert!(matches!(
            d.observe("# ESCAPE=\\", 2),
            Err(DockerfileError::DuplicateDirective { .. })
        ));
        let mut d = Directives::new();
        assert!(matches!(
            d.observe("# escape=x", 1),
            Err(DockerfileError::InvalidEscape { .. })
        ));
    }
}
