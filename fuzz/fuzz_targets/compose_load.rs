//! Fuzzes the whole Compose loader over an in-memory file set: the input is
//! split on NUL bytes into a compose file, a `.env`, an override file, a
//! file other services `extends`, and an `env_file`. Whatever the bytes,
//! loading must succeed or fail with a one-line error (never panic, hang or
//! overflow the stack), and a loaded model must print as YAML that reads
//! back as the same data.

#![no_main]

use kiln_parser::compose::loader::{self, project, render, LoadOptions, MemFiles};
use kiln_parser::compose::yaml;
use libfuzzer_sys::fuzz_target;

const NAMES: [&str; 5] = ["/p/compose.yaml", "/p/.env", "/p/compose.override.yaml", "/p/base.yaml", "/p/app.env"];

fn env() -> Vec<(String, String)> {
    [("HOME", "/home/u"), ("A", "a"), ("E", ""), ("PORT", "8080"), ("N", "x\ny")]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut files = MemFiles::new();
    for (name, part) in NAMES.iter().zip(text.split('\0')) {
        files.insert(name, part);
    }
    for flags in 0..4u8 {
        let mut opts = LoadOptions::new("/p", env());
        opts.interpolate = flags & 1 == 0;
        opts.consistency = flags & 2 == 0;
        match loader::load(&opts, &files) {
            Ok(mut loaded) => {
                if opts.interpolate {
                    project::bind(&mut loaded.model);
                    render::order_project(&mut loaded.model);
                } else {
                    render::sort_all(&mut loaded.model);
                }
                let printed = render::to_yaml(&loaded.model);
                let back = yaml::parse(&printed, "printed").expect("printed model parses");
                assert_eq!(back.to_json(), loaded.model.to_json(), "{printed}");
                let _ = render::to_json(&loaded.model, 2);
            }
            Err(e) => {
                let message = e.to_string();
                assert!(!message.contains('\n'), "multi-line error: {message:?}");
            }
        }
    }
});
