//! Where a sender's object bytes come from.

use std::io;
use std::sync::Arc;

/// The bytes of one object being sent, read by segment.
///
/// The sender reads segments on demand (first transmission and every repair)
/// instead of holding whole objects in memory, so a file source costs only its
/// file handle. Implementations must return the same bytes every time.
pub trait ObjectSource: Send {
    /// Object size in bytes.
    fn len(&self) -> u64;
    /// True for an empty object.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Fills `buf` with the bytes at `offset` (`offset + buf.len() <= len()`).
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()>;
    /// Bytes of memory this source holds (counted against the transmit cache).
    fn memory_size(&self) -> u64 {
        self.len()
    }
}

impl ObjectSource for Vec<u8> {
    fn len(&self) -> u64 {
        self.as_slice().len() as u64
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        read_slice(self, offset, buf)
    }
}

impl ObjectSource for Arc<[u8]> {
    fn len(&self) -> u64 {
        (**self).len() as u64
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        read_slice(self, offset, buf)
    }
}

/// A file read segment by segment (its size is taken once, when opened).
#[derive(Debug)]
pub struct FileSource {
    file: std::fs::File,
    len: u64,
}

impl FileSource {
    pub fn open(path: &std::path::Path) -> io::Result<Self> {
        let file = std::fs::File::open(path)?;
        let meta = file.metadata()?;
        if !meta.is_file() {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "not a regular file"));
        }
        Ok(FileSource { file, len: meta.len() })
    }
}

impl ObjectSource for FileSource {
    fn len(&self) -> u64 {
        self.len
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        std::os::unix::fs::FileExt::read_exact_at(&self.file, buf, offset)
    }
    fn memory_size(&self) -> u64 {
        0
    }
}

fn read_slice(data: &[u8], offset: u64, buf: &mut [u8]) -> io::Result<()> {
    let start = usize::try_from(offset).map_err(|_| io::ErrorKind::InvalidInput)?;
    let end = start.checked_add(buf.len()).ok_or(io::ErrorKind::InvalidInput)?;
    let src = data.get(start..end).ok_or(io::ErrorKind::UnexpectedEof)?;
    buf.copy_from_slice(src);
    Ok(())
}
