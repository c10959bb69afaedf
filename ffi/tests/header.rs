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

/// The doc comment (`/** ... */`) that ends on the line before `lines[i]`
/// (blank lines allowed in between), as one line of text: the comment
/// markers and line breaks removed, runs of spaces collapsed.
fn doc_before(lines: &[&str], i: usize) -> Option<String> {
    let mut j = i;
    while j > 0 && lines[j - 1].trim().is_empty() {
        j -= 1;
    }
    if j == 0 || !lines[j - 1].trim_end().ends_with("*/") {
        return None;
    }
    let end = j - 1;
    let start = (0..=end).rev().find(|&k| lines[k].trim_start().starts_with("/**"))?;
    let text = lines[start..=end]
        .iter()
        .map(|l| {
            let l = l.trim();
            let l = l.strip_prefix("/**").unwrap_or(l);
            let l = l.strip_suffix("*/").unwrap_or(l);
            l.strip_prefix('*').unwrap_or(l)
        })
        .collect::<Vec<_>>()
        .join(" ");
    Some(text.split_whitespace().collect::<Vec<_>>().join(" "))
}

#[test]
fn every_exported_function_is_documented() {
    // Each function the header declares or defines (the exported ones and
    // the trailer's `static inline` helpers) is preceded by a doc comment
    // stating, with these exact labels (the header's one wording):
    //   "Thread safety:"  which threads may call it, and with what,
    //   "Blocking:"       whether and how long it waits,
    //   "Errors:"         for functions returning mcast_status, the codes.
    // A label may answer "as `mcast_send`" (pointing at another function).
    let h = generate();
    let lines: Vec<&str> = h.lines().collect();
    let mut checked = 0;
    let mut inline = 0;
    let mut problems = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        let is_inline = l.starts_with("static inline ");
        let starts_proto = l.contains("mcast_")
            && l.contains('(')
            && (is_inline || !["typedef", "static", "#", "}", "/", " ", "*"].iter().any(|p| l.starts_with(p)));
        if !starts_proto {
            continue;
        }
        checked += 1;
        inline += usize::from(is_inline);
        let name = l.split('(').next().unwrap_or(l).split_whitespace().last().unwrap_or(l).trim_start_matches('*');
        let Some(doc) = doc_before(&lines, i) else {
            problems.push(format!("{name}: no doc comment"));
            continue;
        };
        let returns_status = {
            let ret = l.split('(').next().unwrap_or("");
            ret.contains("mcast_status ") || ret.contains("mcast_status\t")
        };
        let mut want = vec!["Thread safety:", "Blocking:"];
        if returns_status {
            want.push("Errors:");
        }
        for label in want {
            if !doc.contains(label) {
                problems.push(format!("{name}: its doc comment does not say \"{label}\""));
            }
        }
    }
    assert!(problems.is_empty(), "functions in include/mcast.h lack documentation:\n  {}", problems.join("\n  "));
    assert!(checked >= 30, "found only {checked} prototypes: has the header's layout changed?");
    assert!(inline >= 5, "found only {inline} static inline helpers (config inits, stats getters)");
}
