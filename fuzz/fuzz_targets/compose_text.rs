//! Fuzzes Compose's text passes: `.env` parsing (one file, several files, a
//! service's env files), `${...}` substitution and variable extraction. Any
//! input must parse or fail cleanly, never panic or hang; errors name a line
//! inside the text; a template whose every `$` is doubled comes back as it was.

#![no_main]

use kiln_parser::compose::dotenv;
use kiln_parser::compose::env_files::{env_files, service_environment, EnvFile};
use kiln_parser::compose::interpolate::{substitute, substitute_reporting};
use kiln_parser::compose::variables::extract_from;
use libfuzzer_sys::fuzz_target;

/// A small environment whose values hold templates of their own.
fn lookup(name: &str) -> Option<String> {
    match name {
        "A" => Some("a".into()),
        "E" => Some(String::new()),
        "D" => Some("$A ${B:-x}".into()),
        "K" => Some("한국어".into()),
        _ => None,
    }
}

fn check_dotenv(text: &str) {
    let lines = text.lines().count() + 1;
    match dotenv::parse(text, &lookup) {
        Ok(map) => {
            // `read` is `parse` minus the keys starting with a digit.
            let read = dotenv::read(text, &lookup).expect("read fails where parse did not");
            assert!(read.len() <= map.len());
        }
        Err(e) => {
            assert!(e.line() >= 1 && e.line() <= lines, "{e} (text has {lines} lines)");
            let _ = e.to_string();
        }
    }
}

fn check_files(text: &str) {
    let (first, second) = text.split_once('\0').unwrap_or((text, ""));
    let files = [
        EnvFile { name: "1.env", text: first },
        EnvFile { name: "2.env", text: second },
    ];
    let _ = env_files(&files, &lookup).map_err(|e| e.to_string());
    let service = [("A".to_string(), None), ("S".to_string(), Some("$A".to_string()))];
    let _ = service_environment(&files, &service, &lookup).map_err(|e| e.to_string());
}

fn check_template(text: &str) {
    let mut unset = 0usize;
    let reported = substitute_reporting(text, &lookup, &mut |_| unset += 1);
    assert_eq!(reported, substitute(text, &lookup));
    if let Err(e) = reported {
        let _ = e.to_string();
    }
    let escaped = text.replace('$', "$$");
    assert_eq!(substitute(&escaped, &lookup).as_deref(), Ok(text));
    let _ = extract_from(text);
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    check_dotenv(&text);
    check_files(&text);
    check_template(&text);
});
