//! Go's `strconv.Quote`, which BuildKit's dump format uses for every argument.
//!
//! Printable characters are kept as they are; `"` and `\` are escaped; the
//! usual C escapes (`\a \b \f \n \r \t \v`) are used; other non-printable
//! characters become `\xNN` (below U+0080), `\uNNNN` or `\UNNNNNNNN`.
//!
//! "Printable" follows Go's `unicode.IsPrint` (letters, marks, numbers,
//! punctuation, symbols and the ASCII space) as far as Rust's standard library
//! lets us tell: control characters, format characters, non-ASCII spaces,
//! line/paragraph separators and private-use characters are escaped. Unassigned
//! code points are kept (Rust has no table for them); that case never occurs in
//! real Dockerfiles.

/// Quotes `s` exactly as Go's `strconv.Quote` does (see the module docs).
pub fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        push_quoted_char(&mut out, c);
    }
    out.push('"');
    out
}

fn push_quoted_char(out: &mut String, c: char) {
    match c {
        '"' => out.push_str("\\\""),
        '\\' => out.push_str("\\\\"),
        '\u{7}' => out.push_str("\\a"),
        '\u{8}' => out.push_str("\\b"),
        '\u{c}' => out.push_str("\\f"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\u{b}' => out.push_str("\\v"),
        c if is_go_printable(c) => out.push(c),
        c if (c as u32) < 0x80 => out.push_str(&format!("\\x{:02x}", c as u32)),
        c if (c as u32) < 0x10000 => out.push_str(&format!("\\u{:04x}", c as u32)),
        c => out.push_str(&format!("\\U{:08x}", c as u32)),
    }
}

/// Approximates Go's `unicode.IsPrint` (see the module docs for the limits).
fn is_go_printable(c: char) -> bool {
    if c == ' ' {
        return true;
    }
    if c.is_control() || c.is_whitespace() {
        return false;
    }
    let u = c as u32;
    !is_format_or_private(u) && !is_noncharacter(u)
}

/// The 66 noncharacters (U+FDD0..U+FDEF and the last two of every plane).
fn is_noncharacter(u: u32) -> bool {
    (0xFDD0..=0xFDEF).contains(&u) || (u & 0xFFFE) == 0xFFFE
}

/// Unicode categories Cf (format) and Co (private use), which Go escapes.
fn is_format_or_private(u: u32) -> bool {
    matches!(u,
        0xAD | 0x600..=0x605 | 0x61C | 0x6DD | 0x70F | 0x890..=0x891 | 0x8E2 | 0x180E
        | 0x200B..=0x200F | 0x202A..=0x202E | 0x2060..=0x2064 | 0x2066..=0x206F
        | 0xFEFF | 0xFFF9..=0xFFFB | 0x110BD | 0x110CD | 0x13430..=0x1343F
        | 0x1BCA0..=0x1BCA3 | 0x1D173..=0x1D17A | 0xE0001 | 0xE0020..=0xE007F
        | 0xE000..=0xF8FF | 0xF0000..=0xFFFFD | 0x100000..=0x10FFFD)
}

#[cfg(test)]
mod tests {
    use super::go_quote;

    #[test]
    fn quotes_like_go() {
        assert_eq!(go_quote("foo"), r#""foo""#);
        assert_eq!(go_quote(r#"a"b\c"#), r#""a\"b\\c""#);
        assert_eq!(
            go_quote("\" \\ / \u{8} \u{c} \n \r \t \u{0}"),
            r#""\" \\ / \b \f \n \r \t \x00""#
        );
        assert_eq!(go_quote("♥☃ 한국어"), "\"♥☃ 한국어\"");
        assert_eq!(go_quote("\u{7f}\u{a0}\u{feff}"), r#""\x7f\u00a0\ufeff""#);
        assert_eq!(go_quote("\u{10ffff}"), r#""\U0010ffff""#);
    }
}
