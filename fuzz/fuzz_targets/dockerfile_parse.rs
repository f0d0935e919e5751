//! Fuzzes the Dockerfile parser: any bytes, syntax and typed passes, and the
//! dump. It must never panic; whatever parses must dump and re-parse.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(ast) = kiln_parser::dockerfile::parse(&text) {
        let _ = ast.dump();
    }
    if let Ok(dockerfile) = kiln_parser::dockerfile::parse_dockerfile(&text) {
        let _ = dockerfile.dump();
    }
});
