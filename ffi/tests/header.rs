//! include/mcast.h must be exactly what cbindgen generates from this crate
//! with ffi/cbindgen.toml. Regenerate it with
//! `MCAST_BLESS=1 cargo test -p mcast-ffi --test header`.

use std::path::Path;

fn generate() -> String {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(dir.join("cbindgen.toml")).expect("reading ffi/cbindgen.toml");
    // Parse the sources directly (following `mod` declarations) rather than
    // through `cargo metadata`: no cargo process inside the test.
    let bindings = cbindgen::Builder::new()
        .with_config(config)
        .with_src(dir.join("src/lib.rs"))
        .generate()
        .expect("cbindgen failed on ffi/src");
    let mut out = Vec::new();
    bindings.write(&mut out);
    String::from_utf8(out).expect("cbindgen wrote UTF-8")
}

#[test]
fn header_is_current() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../include/mcast.h");
    let fresh = generate();
    if std::env::var_os("MCAST_BLESS").is_some_and(|v| v == "1") {
        std::fs::write(&path, &fresh).expect("writing include/mcast.h");
        return;
    }
    let current = std::fs::read_to_string(&path).unwrap_or_default();
    if current != fresh {
        let diff = current
            .lines()
            .zip(fresh.lines())
            .enumerate()
            .find(|(_, (a, b))| a != b)
            .map(|(i, (a, b))| format!("first difference at line {}:\n  checked in: {a}\n  generated:  {b}", i + 1))
            .unwrap_or_else(|| format!("lengths differ: {} vs {} lines", current.lines().count(), fresh.lines().count()));
        panic!(
            "include/mcast.h is stale: it differs from what cbindgen generates from ffi/src.\n{diff}\n\
             Regenerate it with: MCAST_BLESS=1 cargo test -p mcast-ffi --test header"
        );
    }
}

#[test]
fn every_exported_function_is_documented() {
    // Each prototype in the header is preceded by a doc comment.
    let h = generate();
    let lines: Vec<&str> = h.lines().collect();
    let mut checked = 0;
    for (i, l) in lines.iter().enumerate() {
        let starts_proto = l.contains("mcast_")
            && l.contains('(')
            && !["typedef", "static", "#", "}", "/", " ", "*"].iter().any(|p| l.starts_with(p));
        if starts_proto {
            checked += 1;
            let prev = lines[..i].iter().rev().find(|p| !p.trim().is_empty()).copied().unwrap_or("");
            assert!(prev.trim_start().starts_with("*/") || prev.trim_end().ends_with("*/"), "undocumented: {l}");
        }
    }
    assert!(checked >= 30, "found only {checked} prototypes: has the header's layout changed?");
}
