//! Turning a NORM_INFO (chosen by whoever sends to the group, so untrusted)
//! into a safe file name inside the output directory.

use std::collections::HashMap;

/// Longest name we produce, in bytes. Linux allows 255; we stay below so a
/// de-duplication suffix always fits.
const MAX_NAME_BYTES: usize = 200;

/// A file name for an object, from its NORM_INFO.
///
/// The result never contains '/', '\\', NUL or other control characters, is
/// never empty, "." or "..", and is at most [`MAX_NAME_BYTES`] bytes long.
/// A path in NORM_INFO keeps only its last component ("dir/a.txt" -> "a.txt"),
/// since senders such as libnorm's tools may put relative paths there and
/// the last component is the useful part. Anything unusable falls back to
/// `object-ID`.
pub fn sanitize_name(info: &[u8], object_id: u64) -> String {
    let fallback = || format!("object-{object_id}");
    // libnorm applications often include the C string terminator in NORM_INFO.
    let end = info.iter().position(|&b| b == 0).unwrap_or(info.len());
    let text = String::from_utf8_lossy(&info[..end]);
    let last = text.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = last
        .chars()
        .map(|c| if c.is_control() { '_' } else { c })
        .collect();
    let cleaned = cleaned.trim();
    if cleaned.is_empty() || cleaned.chars().all(|c| c == '.') {
        return fallback();
    }
    let mut name = cleaned.to_string();
    if name.len() > MAX_NAME_BYTES {
        let mut cut = MAX_NAME_BYTES;
        while !name.is_char_boundary(cut) {
            cut -= 1;
        }
        name.truncate(cut);
    }
    name
}

/// `base` with `-N` inserted before its extension: "a.txt" -> "a-2.txt",
/// "a" -> "a-2", ".bashrc" -> ".bashrc-2" (a leading dot is not an extension).
pub fn with_suffix(base: &str, n: u64) -> String {
    match base.rfind('.') {
        Some(dot) if dot > 0 => format!("{}-{n}{}", &base[..dot], &base[dot..]),
        _ => format!("{base}-{n}"),
    }
}

/// Remembers the names written during one run so that a second object with
/// the same name but different content does not silently replace the first.
/// Files that were in the directory before the run are overwritten, as `cp`
/// would: the guard is about this run's own output.
#[derive(Default)]
pub struct NameBook {
    /// final name -> SHA-256 of what we wrote there
    written: HashMap<String, [u8; 32]>,
}

impl NameBook {
    /// The name to write an object of digest `sha` under, given its wanted
    /// name. Same name and same content again: the same name (rewriting
    /// identical bytes loses nothing). Different content: the first free
    /// `name-N`.
    pub fn claim(&mut self, wanted: &str, sha: [u8; 32]) -> String {
        let mut candidate = wanted.to_string();
        let mut n = 1;
        loop {
            match self.written.get(&candidate) {
                None => {
                    self.written.insert(candidate.clone(), sha);
                    return candidate;
                }
                Some(prev) if *prev == sha => return candidate,
                Some(_) => {
                    n += 1;
                    candidate = with_suffix(wanted, n);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_names_pass() {
        assert_eq!(sanitize_name(b"report.pdf", 7), "report.pdf");
        assert_eq!(sanitize_name("h\u{e9}llo w\u{f6}rld.txt".as_bytes(), 7), "h\u{e9}llo w\u{f6}rld.txt");
        assert_eq!(sanitize_name(b".hidden", 7), ".hidden");
        assert_eq!(sanitize_name(b"a..b", 7), "a..b");
    }

    #[test]
    fn paths_keep_last_component() {
        assert_eq!(sanitize_name(b"dir/sub/file.bin", 1), "file.bin");
        assert_eq!(sanitize_name(b"/etc/passwd", 1), "passwd");
        assert_eq!(sanitize_name(b"../../etc/shadow", 1), "shadow");
        assert_eq!(sanitize_name(b"C:\\Users\\x\\doc.txt", 1), "doc.txt");
    }

    #[test]
    fn unusable_names_fall_back() {
        assert_eq!(sanitize_name(b"", 42), "object-42");
        assert_eq!(sanitize_name(b".", 42), "object-42");
        assert_eq!(sanitize_name(b"..", 42), "object-42");
        assert_eq!(sanitize_name(b"...", 42), "object-42");
        assert_eq!(sanitize_name(b"dir/", 42), "object-42");
        assert_eq!(sanitize_name(b"a/..", 42), "object-42");
        assert_eq!(sanitize_name(b"/", 42), "object-42");
        assert_eq!(sanitize_name(b"   ", 42), "object-42");
        assert_eq!(sanitize_name(b"\0abc", 42), "object-42");
    }

    #[test]
    fn control_characters_and_nul() {
        assert_eq!(sanitize_name(b"file.txt\0", 1), "file.txt", "C terminator dropped");
        assert_eq!(sanitize_name(b"file.txt\0garbage", 1), "file.txt");
        assert_eq!(sanitize_name(b"a\nb\tc\x1b[31m", 1), "a_b_c_[31m");
        assert_eq!(sanitize_name(b"x\x7fy", 1), "x_y");
        let s = sanitize_name(b"bad\xff\xfeutf8", 1);
        assert!(s.starts_with("bad") && s.ends_with("utf8") && !s.contains('/'));
    }

    #[test]
    fn long_names_are_cut_on_char_boundary() {
        let long = "\u{e9}".repeat(300); // 600 bytes
        let s = sanitize_name(long.as_bytes(), 1);
        assert!(s.len() <= MAX_NAME_BYTES);
        assert!(s.chars().all(|c| c == '\u{e9}'));
    }

    #[test]
    fn suffixes() {
        assert_eq!(with_suffix("a.txt", 2), "a-2.txt");
        assert_eq!(with_suffix("a", 2), "a-2");
        assert_eq!(with_suffix(".bashrc", 3), ".bashrc-3");
        assert_eq!(with_suffix("a.tar.gz", 2), "a.tar-2.gz");
    }

    #[test]
    fn name_book_never_replaces_different_content() {
        let mut book = NameBook::default();
        assert_eq!(book.claim("a.txt", [1; 32]), "a.txt");
        assert_eq!(book.claim("a.txt", [1; 32]), "a.txt", "identical content may reuse the name");
        assert_eq!(book.claim("a.txt", [2; 32]), "a-2.txt");
        assert_eq!(book.claim("a.txt", [3; 32]), "a-3.txt");
        assert_eq!(book.claim("a.txt", [2; 32]), "a-2.txt");
        // a name that happens to equal a generated one is itself de-duplicated
        assert_eq!(book.claim("a-2.txt", [9; 32]), "a-2-2.txt");
        assert_eq!(book.claim("b", [1; 32]), "b");
    }
}
