//! Container IDs and names, as Docker makes and checks them.

use std::io::Read;

/// A new container ID: 64 lowercase hex digits from the kernel's random source.
pub fn new_id() -> std::io::Result<String> {
    let mut bytes = [0u8; 32];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// The 12-digit form of an ID, as `ps` shows it.
pub fn short_id(id: &str) -> &str {
    &id[..id.len().min(12)]
}

/// Whether `name` is a valid container name: Docker's `[a-zA-Z0-9][a-zA-Z0-9_.-]+`
/// (a leading `/`, which Docker shows in `inspect`, is accepted and ignored).
pub fn valid_name(name: &str) -> bool {
    let name = name.strip_prefix('/').unwrap_or(name);
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphanumeric())
        && name.len() >= 2
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

const ADJECTIVES: &[&str] = &[
    "agitated",
    "brave",
    "calm",
    "clever",
    "dazzling",
    "eager",
    "elegant",
    "festive",
    "focused",
    "gallant",
    "happy",
    "hopeful",
    "jolly",
    "keen",
    "loving",
    "modest",
    "nifty",
    "optimistic",
    "peaceful",
    "quirky",
    "relaxed",
    "serene",
    "sharp",
    "stoic",
    "tender",
    "upbeat",
    "vibrant",
    "wizardly",
    "youthful",
    "zealous",
];

const SURNAMES: &[&str] = &[
    "babbage", "curie", "dijkstra", "euler", "feynman", "gauss", "hopper", "hypatia", "johnson",
    "knuth", "lamport", "lovelace", "meitner", "noether", "pascal", "ritchie", "shannon",
    "thompson", "turing", "wing",
];

/// A Docker-style random name (`adjective_surname`), picked with bytes of `id`
/// so that it needs no random source of its own. The caller retries with a
/// numeric suffix when the name is taken.
pub fn random_name(id: &str) -> String {
    let byte = |i: usize| usize::from_str_radix(&id[i * 2..i * 2 + 2], 16).unwrap_or(0);
    let adjective = ADJECTIVES[(byte(0) << 8 | byte(1)) % ADJECTIVES.len()];
    let surname = SURNAMES[(byte(2) << 8 | byte(3)) % SURNAMES.len()];
    format!("{adjective}_{surname}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_64_hex_and_distinct() {
        let a = new_id().unwrap();
        let b = new_id().unwrap();
        assert_eq!(a.len(), 64);
        assert!(a
            .chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        assert_ne!(a, b);
        assert_eq!(short_id(&a).len(), 12);
    }

    #[test]
    fn names_follow_dockers_rule() {
        for ok in ["web", "web_1", "a.b-c", "/web", "0x"] {
            assert!(valid_name(ok), "{ok}");
        }
        for bad in ["", "a", "-web", "_web", "we b", "web/1", "wéb"] {
            assert!(!valid_name(bad), "{bad}");
        }
    }

    #[test]
    fn random_names_are_valid() {
        let name = random_name(&"ab".repeat(32));
        assert!(valid_name(&name));
        assert!(name.contains('_'));
    }
}
