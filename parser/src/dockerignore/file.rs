//! Reading a `.dockerignore` file into patterns, line by line.

use super::error::DockerignoreError;
use super::pattern::Pattern;

/// Reads the text of a `.dockerignore` into its patterns, in file order.
///
/// Rules (Docker's `ignorefile.ReadAll`): a UTF-8 BOM opening the file is dropped;
/// lines end at `\n` with an optional `\r` before it; a line whose *first*
/// character is `#` is a comment (`  # x` is the pattern `# x`); every other line
/// is trimmed and, when not blank, becomes one [`Pattern`]. Line numbers count
/// every line, comments and blanks included. The first invalid pattern stops the
/// reading with an error naming its line.
///
/// # Errors
///
/// [`DockerignoreError::BadPattern`] for a pattern that is not `filepath.Match`
/// syntax, [`DockerignoreError::EmptyException`] for a bare `!`.
pub fn parse(text: &str) -> Result<Vec<Pattern>, DockerignoreError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut patterns = Vec::new();
    for (index, line) in text.lines().enumerate() {
        if line.starts_with('#') {
            continue;
        }
        if let Some(pattern) = Pattern::from_line(line, index + 1)? {
            patterns.push(pattern);
        }
    }
    Ok(patterns)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canonical(text: &str) -> Vec<String> {
        parse(text).unwrap().iter().map(|p| p.to_string()).collect()
    }

    #[test]
    fn reads_like_ignorefile() {
        let text =
            "test1\n/test2\n/a/file/here\n\nlastfile\n# this is a comment\n! /inverted/abs/path\n";
        assert_eq!(
            canonical(text),
            [
                "test1",
                "test2",
                "a/file/here",
                "lastfile",
                "!inverted/abs/path"
            ]
        );
    }

    #[test]
    fn bom_crlf_and_indented_hash() {
        let text = "\u{feff}# comment\r\n*.log\r\n  #notacomment\r\n\r\n\t!keep.log \r\n";
        assert_eq!(canonical(text), ["*.log", "#notacomment", "!keep.log"]);
    }

    #[test]
    fn line_numbers_count_every_line() {
        let patterns = parse("# c\n\na\n\nb").unwrap();
        let lines: Vec<usize> = patterns.iter().map(Pattern::line).collect();
        assert_eq!(lines, [3, 5]);
        let err = parse("ok\n# c\nbad[\n").unwrap_err();
        assert_eq!((err.line(), err.pattern()), (3, "bad["));
    }
}
