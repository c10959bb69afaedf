//! FILE objects received straight to disk (`ReceiverConfig::file_dir`).
//!
//! The receiver state machine hands each complete block over as
//! `ReceiverEvent::FileData`; the engine writes it here at its offset into a
//! hidden part file (`.mcast-PID-NODE-OBJECT.part`) in the directory. When
//! the object completes the part file is renamed `mcast-NODE-OBJECT` (with
//! `-2`, `-3`, ... if that exists) and its path delivered; if it is aborted,
//! or the receiver closes first, the part file is removed. So a receiver's
//! memory holds only incomplete blocks, whatever the size of the file.

use std::collections::{HashMap, HashSet};
use std::fs::{self, File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// Removes the part files that receivers which are gone left in `dir` (a
/// receiver killed with SIGKILL cannot remove its own): those named
/// `.mcast-PID-*.part` for a PID no process has.
fn remove_stale_parts(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(pid) = name.to_str().and_then(|n| n.strip_prefix(".mcast-")?.strip_suffix(".part")?.split('-').next()?.parse::<i32>().ok())
        else {
            continue;
        };
        // SAFETY: kill with signal 0 only checks that the process exists.
        let gone = unsafe { libc::kill(pid, 0) } != 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH);
        if pid > 0 && gone {
            tracing::info!(file = %e.path().display(), "removing a part file left by a receiver that is gone");
            let _ = fs::remove_file(e.path());
        }
    }
}

/// A part file being written; removed when dropped unless it was delivered.
struct PartFile {
    path: PathBuf,
    file: File,
    delivered: bool,
}

impl Drop for PartFile {
    fn drop(&mut self) {
        if !self.delivered {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// The part files of one receiver, by (sender node id, object id).
pub(crate) struct Spool {
    dir: PathBuf,
    files: HashMap<(u32, u64), PartFile>,
    /// Objects whose file could not be written: their remaining blocks are
    /// dropped until the object's `Aborted` event.
    failed: HashSet<(u32, u64)>,
}

impl Spool {
    /// Checks that `dir` is a directory we can create files in.
    pub(crate) fn new(dir: &Path) -> Result<Spool> {
        let meta = fs::metadata(dir).map_err(|e| Error::io(format!("file_dir {}", dir.display()), e))?;
        if !meta.is_dir() {
            return Err(Error::InvalidArgument(format!("file_dir {} is not a directory", dir.display())));
        }
        let probe = dir.join(format!(".mcast-probe-{}", std::process::id()));
        File::create(&probe).map_err(|e| Error::io(format!("cannot create files in file_dir {}", dir.display()), e))?;
        let _ = fs::remove_file(&probe);
        remove_stale_parts(dir);
        Ok(Spool { dir: dir.to_path_buf(), files: HashMap::new(), failed: HashSet::new() })
    }

    fn part(&mut self, key: (u32, u64)) -> std::io::Result<&mut PartFile> {
        if !self.files.contains_key(&key) {
            let path = self.dir.join(format!(".mcast-{}-{:08x}-{}.part", std::process::id(), key.0, key.1));
            let file = OpenOptions::new().read(true).write(true).create(true).truncate(true).open(&path)?;
            self.files.insert(key, PartFile { path, file, delivered: false });
        }
        Ok(self.files.get_mut(&key).expect("inserted"))
    }

    /// Writes a block of object `key` at `offset`. On failure the object's
    /// part file is removed and the error returned (the caller aborts the
    /// object); later blocks of it are ignored.
    pub(crate) fn write(&mut self, key: (u32, u64), offset: u64, data: &[u8]) -> std::result::Result<(), String> {
        if self.failed.contains(&key) {
            return Ok(());
        }
        let dir = self.dir.display().to_string();
        let r = match self.part(key) {
            Ok(p) => p.file.write_all_at(data, offset).map_err(|e| format!("cannot write {}: {e}", p.path.display())),
            Err(e) => Err(format!("cannot create a file in {dir}: {e}")),
        };
        if r.is_err() {
            self.files.remove(&key);
            self.failed.insert(key);
        }
        r
    }

    /// Object `key` is complete: its file (created empty if no block came)
    /// is cut to the object's `size` (blocks written at other offsets, by a
    /// peer that announced another size first, go) and gets its final name,
    /// which is returned.
    pub(crate) fn deliver(&mut self, key: (u32, u64), size: u64) -> std::result::Result<PathBuf, String> {
        let dir = self.dir.clone();
        let part = self.part(key).map_err(|e| format!("cannot create a file in {}: {e}", dir.display()))?;
        part.file.set_len(size).map_err(|e| format!("writing {}: {e}", part.path.display()))?;
        // A sender restarted with the same node id numbers its objects from
        // the start again: never replace a file delivered before.
        let mut path = dir.join(format!("mcast-{:08x}-{}", key.0, key.1));
        let mut n = 1;
        while path.exists() {
            n += 1;
            path = dir.join(format!("mcast-{:08x}-{}-{n}", key.0, key.1));
        }
        fs::rename(&part.path, &path).map_err(|e| format!("renaming {} to {}: {e}", part.path.display(), path.display()))?;
        part.delivered = true;
        self.files.remove(&key);
        Ok(path)
    }

    /// Object `key` was aborted: its part file goes.
    pub(crate) fn discard(&mut self, key: (u32, u64)) {
        self.files.remove(&key);
        self.failed.remove(&key);
    }
}
