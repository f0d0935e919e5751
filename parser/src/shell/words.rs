//! Word splitting for [`Lexer::expand_words`](super::Lexer::expand_words).
//!
//! Splitting happens after expansion, on the pieces as the scanner produces
//! them: plain characters and text from unquoted `$` expansions split on
//! (Unicode) whitespace; text from quotes and escaped characters is "raw" and
//! never splits. Only non-empty words are kept, so `""` alone yields no word.

/// Accumulates the words of one scan.
#[derive(Debug, Default)]
pub(super) struct Words {
    done: Vec<String>,
    current: String,
}

impl Words {
    /// Adds an unquoted character: whitespace ends the current word.
    pub(super) fn push_split_char(&mut self, c: char) {
        if c.is_whitespace() {
            self.flush();
        } else {
            self.current.push(c);
        }
    }

    /// Adds the text of an unquoted `$` expansion, splitting on whitespace.
    pub(super) fn push_split(&mut self, text: &str) {
        text.chars().for_each(|c| self.push_split_char(c));
    }

    /// Adds a quoted or escaped character: it never splits.
    pub(super) fn push_raw_char(&mut self, c: char) {
        self.current.push(c);
    }

    /// Adds quoted text: it never splits.
    pub(super) fn push_raw(&mut self, text: &str) {
        self.current.push_str(text);
    }

    /// Ends the current word, if it has anything in it.
    fn flush(&mut self) {
        if !self.current.is_empty() {
            self.done.push(std::mem::take(&mut self.current));
        }
    }

    /// The words found, the last one included.
    pub(super) fn finish(mut self) -> Vec<String> {
        self.flush();
        self.done
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_and_raw_pieces() {
        let mut words = Words::default();
        words.push_split("  ab c ");
        words.push_raw(" q ");
        words.push_split_char('\u{a0}');
        words.push_raw("");
        words.push_split_char('\t');
        words.push_raw_char(' ');
        assert_eq!(words.finish(), ["ab", "c", " q ", " "]);
    }
}
