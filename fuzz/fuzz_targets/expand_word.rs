//! Fuzzes shell-word expansion: any input must expand or fail cleanly, never
//! panic, hang or overflow the stack, with both escape characters and every
//! option combination.

#![no_main]

use kiln_parser::shell::{Lexer, ShellError};
use libfuzzer_sys::fuzz_target;

/// A small environment whose values exercise splitting, patterns and escapes.
fn env() -> Vec<(String, String)> {
    [
        ("A", "a"),
        ("E", ""),
        ("S", " x  y "),
        ("P", "*?[a-z]\\`$0"),
        ("H", "#%/"),
        ("N", "a\nb"),
        ("K", "한국어"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

/// Invariants of a failed expansion.
fn check_error(input: &str, error: &ShellError) {
    assert!(
        error.offset() <= input.chars().count(),
        "{input:?}: {error:?}"
    );
    assert_eq!(error.input(), input);
    let _ = error.to_string();
}

fuzz_target!(|data: &[u8]| {
    let input = String::from_utf8_lossy(data);
    let env = env();
    for escape in ['\\', '`'] {
        for flags in 0..8u8 {
            let lexer = Lexer::new(escape)
                .raw_quotes(flags & 1 != 0)
                .raw_escapes(flags & 2 != 0)
                .skip_unset_env(flags & 4 != 0);
            let word = lexer.expand_word(&input, &env);
            let words = lexer.expand_words(&input, &env);
            // Both run the same scan: they fail together, with the same error.
            match (&word, &words) {
                (Err(a), Err(b)) => {
                    assert_eq!(a, b);
                    check_error(&input, a);
                }
                (Ok(_), Ok(words)) => assert!(words.iter().all(|w| !w.is_empty())),
                _ => panic!("{input:?}: expand_word {word:?} vs expand_words {words:?}"),
            }
        }
    }
});
