//! Heredoc markers on an instruction line (`RUN <<EOF`, `COPY <<-"A" <<B /dst/`).
//!
//! As in BuildKit, the line is split into shell words (quotes and escapes kept,
//! unset variables left as written); each word of the form `[n]<<[-]WORD` is a
//! marker. The delimiter's quotes are removed; if any part of it was quoted, the
//! body is not expanded.

use nom::{
    bytes::complete::{tag, take_while},
    character::complete::digit0,
    combinator::{eof, opt},
    IResult,
};

use crate::shell::Lexer;

/// A heredoc marker found on an instruction line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Marker {
    /// The delimiter, quotes removed.
    pub name: String,
    /// The file descriptor before `<<`, 0 when absent.
    pub file_descriptor: u32,
    /// True unless part of the delimiter was quoted.
    pub expand: bool,
    /// `<<-`: strip leading tabs.
    pub chomp: bool,
}

/// `(\d*)<<(-?)([^<]*)` over the whole word.
fn marker_parts(word: &str) -> IResult<&str, (&str, bool, &str)> {
    let (i, fd) = digit0(word)?;
    let (i, _) = tag("<<")(i)?;
    let (i, dash) = opt(tag("-"))(i)?;
    let (i, rest) = take_while(|c| c != '<')(i)?;
    let (i, _) = eof(i)?;
    Ok((i, (fd, dash.is_some(), rest)))
}

/// Reads one word as a heredoc marker; `Ok(None)` when it is not one.
pub(crate) fn parse_marker(word: &str) -> Result<Option<Marker>, String> {
    let Ok((_, (fd, chomp, rest))) = marker_parts(word) else {
        return Ok(None);
    };
    if rest.is_empty() {
        return Ok(None);
    }
    let lexer = Lexer::new('\\').skip_unset_env(true);
    let words = lexer.expand_words(rest, &()).map_err(|e| e.to_string())?;
    if words.len() != 1 {
        return Ok(None);
    }
    let raw = lexer
        .raw_quotes(true)
        .expand_words(rest, &())
        .map_err(|e| e.to_string())?;
    if raw.len() != words.len() {
        return Err(format!("inconsistent heredoc delimiter {rest:?}"));
    }
    let quotes = |s: &str| s.chars().filter(|c| *c == '\'' || *c == '"').count();
    let name = words.into_iter().next().unwrap_or_default();
    Ok(Some(Marker {
        expand: quotes(&name) == quotes(&raw[0]),
        name,
        file_descriptor: fd.parse().unwrap_or(0),
        chomp,
    }))
}

/// Every heredoc marker on `line`, in order.
pub(crate) fn markers_in_line(line: &str) -> Result<Vec<Marker>, String> {
    let lexer = Lexer::new('\\')
        .raw_quotes(true)
        .raw_escapes(true)
        .skip_unset_env(true);
    let words = lexer.expand_words(line, &()).unwrap_or_default();
    let mut markers = Vec::new();
    for word in words {
        if let Some(marker) = parse_marker(&word)? {
            markers.push(marker);
        }
    }
    Ok(markers)
}

/// Removes leading tabs from every line of a `<<-` heredoc body.
pub fn chomp_content(content: &str) -> String {
    content
        .split_inclusive('\n')
        .map(|l| l.trim_start_matches('\t'))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn marker(name: &str, fd: u32, expand: bool, chomp: bool) -> Marker {
        Marker {
            name: name.into(),
            file_descriptor: fd,
            expand,
            chomp,
        }
    }

    #[test]
    fn finds_markers() {
        assert_eq!(
            markers_in_line("RUN <<EOF").unwrap(),
            vec![marker("EOF", 0, true, false)]
        );
        assert_eq!(
            markers_in_line("RUN 3<<-'A' <<\"B\" cat").unwrap(),
            vec![marker("A", 3, false, true), marker("B", 0, false, false)]
        );
        assert_eq!(markers_in_line("RUN echo a<<b").unwrap(), vec![]);
        assert_eq!(markers_in_line("RUN echo '<<EOF'").unwrap(), vec![]);
        assert_eq!(
            markers_in_line("COPY <<E\"O\"F /x").unwrap(),
            vec![marker("EOF", 0, false, false)]
        );
    }

    #[test]
    fn chomps_tabs() {
        assert_eq!(chomp_content("\t\ta\n\tb\n"), "a\nb\n");
    }
}
