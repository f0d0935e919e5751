//! The container path of a short-syntax service volume (`src:dst:opts`), as
//! compose-go's `format.ParseVolume` finds it: a Windows drive letter
//! (`C:`) is not a separator, nor is a `:` inside `${...}`; one section is
//! an anonymous volume (its target); 1 and 2 character specs are targets.

/// The target of `spec`, or compose-go's error text.
pub(super) fn target(spec: &str) -> Result<String, String> {
    match spec.len() {
        0 => return Err("invalid empty volume spec".into()),
        1 | 2 => return Ok(spec.to_string()),
        _ => {}
    }
    let bytes = spec.as_bytes();
    let mut sections: Vec<String> = Vec::new();
    let mut buffer = String::new();
    let mut depth = 0usize;
    let chars = spec.char_indices().map(Some).chain(std::iter::once(None));
    for item in chars {
        let (i, c) = match item {
            Some((i, c)) => (i, Some(c)),
            None => (spec.len(), None),
        };
        if c == Some('$') && bytes.get(i + 1) == Some(&b'{') {
            depth += 1;
            buffer.push('$');
            continue;
        }
        if c == Some('}') && depth > 0 {
            depth -= 1;
            buffer.push('}');
            continue;
        }
        let drive = c == Some(':')
            && buffer.chars().count() == 1
            && buffer.chars().all(char::is_alphabetic);
        if !drive && (c == Some(':') || c.is_none()) && depth == 0 {
            if buffer.is_empty() {
                return Err(format!(
                    "invalid spec: {spec}: empty section between colons"
                ));
            }
            if sections.len() == 2 && c == Some(':') {
                return Err(format!("invalid spec: {spec}: too many colons"));
            }
            sections.push(std::mem::take(&mut buffer));
        } else if let Some(c) = c {
            buffer.push(c);
        }
    }
    // One section is an anonymous volume: its text is the target.
    Ok(match sections.len() {
        1 => sections.remove(0),
        _ => sections.remove(1),
    })
}

#[cfg(test)]
mod tests {
    use super::target;

    #[test]
    fn targets() {
        assert_eq!(target("/data").unwrap(), "/data");
        assert_eq!(target("./src:/app:ro").unwrap(), "/app");
        assert_eq!(target("C:\\x:/app").unwrap(), "/app");
        assert_eq!(target("${A:-x}:/b").unwrap(), "/b");
        assert!(target("ab::c").is_err());
        assert_eq!(target("a::b").unwrap(), "b"); // `a:` reads as a drive letter
        assert!(target("ab:cd:ro:x").is_err());
        assert!(target("").is_err());
    }
}
