//! "Did you mean …?" hints for near misses (unknown instructions, mount types,
//! mount keys), as BuildKit adds them: the closest candidate by edit distance,
//! when it is close enough to be a plausible typo.

/// The candidate closest to `value` (case-insensitive), if it is at most
/// `max(1, len/3)` edits away (one typo in a short word, two in a long one).
pub(crate) fn closest<'c>(value: &str, candidates: &[&'c str]) -> Option<&'c str> {
    let value = value.to_ascii_lowercase();
    let limit = (value.chars().count() / 3).max(1);
    candidates
        .iter()
        .map(|c| (levenshtein(&value, &c.to_ascii_lowercase()), *c))
        .filter(|(d, _)| *d > 0 && *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// `message`, followed by ` (did you mean X?)` when a candidate is close.
pub(crate) fn with_hint(message: String, value: &str, candidates: &[&str]) -> String {
    match closest(value, candidates) {
        Some(hint) => format!("{message} (did you mean {hint}?)"),
        None => message,
    }
}

/// Edit distance (insertions, deletions, substitutions) between two strings.
fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut row = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            row[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(row[j] + 1);
        }
        prev = row;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        assert_eq!(levenshtein("kitten", "sitting"), 3);
        assert_eq!(levenshtein("", "abc"), 3);
        assert_eq!(levenshtein("copy", "copy"), 0);
    }

    #[test]
    fn hints() {
        let words = ["COPY", "CMD", "FROM", "RUN"];
        assert_eq!(closest("CPY", &words), Some("COPY"));
        assert_eq!(closest("frm", &words), Some("FROM"));
        assert_eq!(closest("FOOBAR", &words), None);
        assert_eq!(
            with_hint("bad".into(), "RUNN", &words),
            "bad (did you mean RUN?)"
        );
    }
}
