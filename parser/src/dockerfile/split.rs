//! Splits a logical line into keyword, builder flags and the rest, as BuildKit's
//! `splitCommand`/`extractBuilderFlags` do.
//!
//! Flags are the leading words starting with `--`; a lone `--` ends them. Quotes
//! inside a flag are removed and `\` escapes the next character. One deliberate
//! difference: BuildKit walks flags byte by byte (so a Latin-1 reading of UTF-8
//! bytes can split a non-ASCII flag value); kiln walks characters.

/// A logical line split into its parts; all are sub-slices of the line.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct SplitLine<'a> {
    /// The keyword as written.
    pub keyword: &'a str,
    /// The flags, quotes and escapes resolved.
    pub flags: Vec<String>,
    /// What follows the flags, trimmed.
    pub args: &'a str,
}

/// BuildKit's `tokenWhitespace`: `[\t\v\f\r ]`.
pub(crate) fn is_token_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\u{b}' | '\u{c}' | '\r')
}

/// Splits `line` into keyword, flags and arguments. Every returned `&str` is a
/// sub-slice of `line` (also when empty), so callers may compute offsets.
pub(crate) fn split_command(line: &str) -> SplitLine<'_> {
    let trimmed = line.trim();
    let (keyword, rest) = match trimmed.find(is_token_space) {
        Some(i) => (
            &trimmed[..i],
            trimmed[i..].trim_start_matches(is_token_space),
        ),
        None => (trimmed, &trimmed[trimmed.len()..]),
    };
    let (args, flags) = extract_builder_flags(rest);
    SplitLine {
        keyword,
        flags,
        args: args.trim(),
    }
}

enum Phase {
    Spaces,
    Word,
    Quote(char),
}

/// Reads the leading `--flag` words of `line`; returns the remaining text and the flags.
fn extract_builder_flags(line: &str) -> (&str, Vec<String>) {
    let mut flags = Vec::new();
    let mut word = String::new();
    let mut blank_ok = false;
    let mut phase = Phase::Spaces;
    let mut chars = line.char_indices().peekable();
    while let Some((pos, ch)) = chars.next() {
        match phase {
            Phase::Spaces => {
                if ch.is_whitespace() {
                    continue;
                }
                if !line[pos..].starts_with("--") {
                    return (&line[pos..], flags);
                }
                phase = Phase::Word;
                push_word_char(&mut word, ch, &mut chars, &mut phase, &mut blank_ok);
            }
            Phase::Word => {
                if ch.is_whitespace() {
                    if word == "--" {
                        return (&line[pos..], flags);
                    }
                    if blank_ok || !word.is_empty() {
                        flags.push(std::mem::take(&mut word));
                    }
                    blank_ok = false;
                    phase = Phase::Spaces;
                    continue;
                }
                push_word_char(&mut word, ch, &mut chars, &mut phase, &mut blank_ok);
            }
            Phase::Quote(q) => {
                if ch == q {
                    phase = Phase::Word;
                } else if ch == '\\' {
                    match chars.next() {
                        Some((_, next)) => word.push(next),
                        None => phase = Phase::Word,
                    }
                } else {
                    word.push(ch);
                }
            }
        }
    }
    if !matches!(phase, Phase::Spaces) && word != "--" && (blank_ok || !word.is_empty()) {
        flags.push(word);
    }
    (&line[line.len()..], flags)
}

/// One unquoted character of a flag word: opens quotes, resolves `\`.
fn push_word_char(
    word: &mut String,
    ch: char,
    chars: &mut std::iter::Peekable<std::str::CharIndices<'_>>,
    phase: &mut Phase,
    blank_ok: &mut bool,
) {
    match ch {
        '\'' | '"' => {
            *phase = Phase::Quote(ch);
            *blank_ok = true;
        }
        '\\' => {
            if let Some((_, next)) = chars.next() {
                word.push(next);
            }
        }
        c => word.push(c),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(line: &str) -> (String, Vec<String>, String) {
        let s = split_command(line);
        (s.keyword.to_string(), s.flags, s.args.to_string())
    }

    #[test]
    fn splits_keyword_flags_args() {
        assert_eq!(
            split("  COPY --from=a --chown=\"x y\" src dst "),
            (
                "COPY".into(),
                vec!["--from=a".into(), "--chown=x y".into()],
                "src dst".into()
            )
        );
        assert_eq!(
            split("CMD --doit -- [ ]"),
            ("CMD".into(), vec!["--doit".into()], "[ ]".into())
        );
        assert_eq!(
            split("COPY -- foo /tmp/"),
            ("COPY".into(), vec![], "foo /tmp/".into())
        );
        assert_eq!(split("RUN"), ("RUN".into(), vec![], "".into()));
        assert_eq!(
            split("RUN --a=''"),
            ("RUN".into(), vec!["--a=".into()], "".into())
        );
        assert_eq!(split("RUN -x y"), ("RUN".into(), vec![], "-x y".into()));
        assert_eq!(
            split("RUN --a='x"),
            ("RUN".into(), vec!["--a=x".into()], "".into())
        );
    }

    #[test]
    fn parts_are_sub_slices_of_the_line() {
        for line in ["CMD", "  CMD  ", "RUN --a='x", "COPY --from=a", "ENV a=b"] {
            let s = split_command(line);
            let range = line.as_ptr() as usize..=line.as_ptr() as usize + line.len();
            assert!(range.contains(&(s.keyword.as_ptr() as usize)), "{line:?}");
            assert!(range.contains(&(s.args.as_ptr() as usize)), "{line:?}");
        }
    }
}
