//! Inputs: finding the files, deciding how each is read, and cutting it into record-aligned
//! chunks.
//!
//! The one decision about I/O is made here, once: a plain file is memory-mapped (the parser
//! then borrows straight from the page cache, and large files are split into chunks parsed in
//! parallel); a gzip or zstd file is decompressed as a stream into blocks that end on a record
//! boundary (a compressed stream cannot be split, so such files are parallel across files).
//! Compression is recognised by magic bytes, whatever the name, so Firehose objects without an
//! extension are read too. Every error names its path.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

pub(crate) mod blocks;
pub mod sha256x2;
use sha2::{Digest, Sha256};

/// One input file, in the order the run will report it.
#[derive(Clone, Debug)]
pub struct InputFile {
    /// The path as the user gave it (or as found under a folder they gave).
    pub path: PathBuf,
    pub display: std::sync::Arc<str>,
    pub size: u64,
}

/// How a file's bytes are stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

impl Compression {
    /// From the first bytes of a file.
    pub fn from_magic(head: &[u8]) -> Compression {
        if head.starts_with(&[0x1f, 0x8b]) {
            Compression::Gzip
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Compression::Zstd
        } else {
            Compression::None
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Compression::None => "",
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
        }
    }
}

/// A path that could not be listed: reported, and the run goes on.
#[derive(Debug)]
pub struct DiscoverError {
    pub path: PathBuf,
    pub message: String,
}

/// Expands files and folders (recursively, sorted by path so the order never depends on the
/// file system) into the list of input files. Hidden files and folders under a given folder
/// are skipped; a file named explicitly is always read.
pub fn discover(paths: &[PathBuf]) -> (Vec<InputFile>, Vec<DiscoverError>) {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    for root in paths {
        let meta = match std::fs::metadata(root) {
            Ok(m) => m,
            Err(e) => {
                errors.push(DiscoverError {
                    path: root.clone(),
                    message: e.to_string(),
                });
                continue;
            }
        };
        if meta.is_file() {
            files.push(input_file(root.clone(), meta.len()));
            continue;
        }
        let walker = walkdir::WalkDir::new(root)
            .follow_links(true)
            .sort_by_file_name()
            .into_iter()
            .filter_entry(|e| e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.'));
        for entry in walker {
            match entry {
                Ok(e) if e.file_type().is_file() => {
                    let size = e.metadata().map(|m| m.len()).unwrap_or(0);
                    files.push(input_file(e.into_path(), size));
                }
                Ok(_) => {}
                Err(e) => errors.push(DiscoverError {
                    path: e
                        .path()
                        .map(Path::to_path_buf)
                        .unwrap_or_else(|| root.clone()),
                    message: e.to_string(),
                }),
            }
        }
    }
    (files, errors)
}

fn input_file(path: PathBuf, size: u64) -> InputFile {
    let display = path.to_string_lossy().into_owned().into();
    InputFile {
        path,
        display,
        size,
    }
}

/// A file opened for reading.
pub enum Opened {
    Mapped(memmap2::Mmap),
    /// Zero-length files cannot be mapped.
    Empty,
    Stream(Compression, File),
}

/// Opens a file and decides how to read it from its first bytes.
pub fn open(path: &Path) -> io::Result<Opened> {
    let mut file = File::open(path)?;
    let len = file.metadata()?.len();
    if len == 0 {
        return Ok(Opened::Empty);
    }
    let mut magic = [0u8; 4];
    let n = read_up_to(&mut file, &mut magic)?;
    match Compression::from_magic(&magic[..n]) {
        Compression::None => {
            // SAFETY: the map is read-only; a file truncated by another process while mapped
            // can raise SIGBUS, the accepted risk of every mmap-based reader (ripgrep's too).
            // Inputs are evidence copies that nobody should be writing to.
            let map = unsafe { memmap2::Mmap::map(&file)? };
            #[cfg(unix)]
            let _ = map.advise(memmap2::Advice::Sequential);
            Ok(Opened::Mapped(map))
        }
        c => {
            use std::io::Seek;
            file.seek(io::SeekFrom::Start(0))?;
            Ok(Opened::Stream(c, file))
        }
    }
}

fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Hands pages `start..end` of a map back to the page cache: the map stays valid (pages fault
/// in again from the file if touched), but they stop counting towards this process's resident
/// memory, so memory does not grow with the size of the input. Only whole pages inside the
/// range are released.
pub fn release_pages(map: &memmap2::Mmap, start: usize, end: usize) {
    const PAGE: usize = 4096;
    let s = start.div_ceil(PAGE) * PAGE;
    let e = end / PAGE * PAGE;
    if e > s {
        // SAFETY: the map is a read-only file mapping; after MADV_DONTNEED the pages are read
        // again from the file on the next access, so no borrowed data changes.
        #[cfg(unix)]
        unsafe {
            let _ = map.unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, s, e - s);
        }
    }
}

/// Hex SHA-256 of a byte slice (mapped files).
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// Hex SHA-256 of a mapped file, calling `done(start, end)` after each 8 MiB piece so the
/// caller can hand hashed pages back to the page cache.
pub fn sha256_hex_with(bytes: &[u8], mut done: impl FnMut(usize, usize)) -> String {
    const PIECE: usize = 8 << 20;
    let mut h = Sha256::new();
    let mut pos = 0;
    while pos < bytes.len() {
        let end = (pos + PIECE).min(bytes.len());
        h.update(&bytes[pos..end]);
        done(pos, end);
        pos = end;
    }
    hex(&h.finalize())
}

/// Hex SHA-256 of the file at `path`, read by [`read_pieces`] (a mapped file that is not a
/// log: only its hash is needed, and positioned reads cost less than faulting the map in).
pub fn sha256_hex_file(path: &Path, len: u64) -> io::Result<String> {
    let mut h = Sha256::new();
    read_pieces(path, len, 0, len, |piece| h.update(piece))?;
    Ok(hex(&h.finalize()))
}

/// Reads bytes `start..end` of the file at `path` with positioned reads through a small
/// reused buffer, calling `each` on every piece in order.
///
/// A pass that only looks at each byte once (hashing, counting lines) costs less this way than
/// through the file's map: the kernel copies from the page cache into a buffer that stays in
/// the core's cache, instead of faulting in and later unmapping 4 KiB pages one fault-around
/// window at a time. The file must still be `len` bytes long (the size it was mapped with).
pub fn read_pieces(
    path: &Path,
    len: u64,
    start: u64,
    end: u64,
    mut each: impl FnMut(&[u8]),
) -> io::Result<()> {
    const PIECE: usize = 256 << 10;
    let mut file = File::open(path)?;
    if file.metadata()?.len() != len {
        return Err(io::Error::other("file changed size while being read"));
    }
    let mut buf = vec![0u8; PIECE.min((end - start) as usize)];
    let mut pos = start;
    while pos < end {
        let want = (end - pos).min(buf.len() as u64) as usize;
        read_exact_at(&mut file, &mut buf[..want], pos)?;
        each(&buf[..want]);
        pos += want as u64;
    }
    Ok(())
}

#[cfg(unix)]
fn read_exact_at(file: &mut File, buf: &mut [u8], pos: u64) -> io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, pos)
}

#[cfg(not(unix))]
fn read_exact_at(file: &mut File, buf: &mut [u8], pos: u64) -> io::Result<()> {
    use std::io::Seek;
    file.seek(io::SeekFrom::Start(pos))?;
    file.read_exact(buf)
}

/// Lower-case hex of a digest.
pub fn hex(d: &[u8]) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// A reader that hashes the raw (compressed) bytes it passes on, so the chain-of-custody hash
/// of a compressed file costs no second read.
pub struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
    pub bytes: u64,
}

impl<R: Read> HashingReader<R> {
    pub fn new(inner: R) -> Self {
        HashingReader {
            inner,
            hasher: Sha256::new(),
            bytes: 0,
        }
    }

    /// Reads whatever the decoder left unread (trailing bytes) and returns the hex digest.
    pub fn finish(mut self) -> io::Result<(String, u64)> {
        let mut buf = vec![0u8; 1 << 16];
        loop {
            let n = self.inner.read(&mut buf)?;
            if n == 0 {
                break;
            }
            self.hasher.update(&buf[..n]);
            self.bytes += n as u64;
        }
        Ok((hex(&self.hasher.finalize()), self.bytes))
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
}

/// A decompressing reader over a hashing reader over the file.
pub struct Decompressed {
    decoder: Box<dyn Read + Send>,
    hashed: std::sync::Arc<std::sync::Mutex<Option<HashingReader<io::BufReader<File>>>>>,
}

/// A `Read` handle that lends the shared hashing reader to the decoder.
struct Shared(std::sync::Arc<std::sync::Mutex<Option<HashingReader<io::BufReader<File>>>>>);

impl Read for Shared {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut g = self
            .0
            .lock()
            .map_err(|_| io::Error::other("hash state poisoned"))?;
        match g.as_mut() {
            Some(r) => r.read(buf),
            None => Ok(0),
        }
    }
}

impl Decompressed {
    /// Opens `path`, found compressed when it was planned, as a decoder. The error is the
    /// message for the user.
    pub fn open(path: &Path) -> Result<(Compression, Self), String> {
        let (compression, file) = match open(path) {
            Ok(Opened::Stream(c, f)) => (c, f),
            Ok(_) => return Err("file changed while being read".into()),
            Err(e) => return Err(e.to_string()),
        };
        Decompressed::new(compression, file)
            .map(|d| (compression, d))
            .map_err(|e| format!("cannot start {} decoder: {e}", compression.name()))
    }

    pub fn new(compression: Compression, file: File) -> io::Result<Self> {
        let hashed = std::sync::Arc::new(std::sync::Mutex::new(Some(HashingReader::new(
            io::BufReader::with_capacity(1 << 20, file),
        ))));
        let src = Shared(hashed.clone());
        let decoder: Box<dyn Read + Send> = match compression {
            Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(src)),
            Compression::Zstd => Box::new(zstd::stream::read::Decoder::new(src)?),
            Compression::None => Box::new(src),
        };
        Ok(Decompressed { decoder, hashed })
    }

    /// Fills `buf` from its current length up to `want` bytes; returns false at end of input.
    pub fn fill(&mut self, buf: &mut Vec<u8>, want: usize) -> io::Result<bool> {
        // Zero the free space once, then read into it: decoders return a few KiB per call,
        // and resizing on every call would zero the rest of the block again each time.
        let mut filled = buf.len();
        if filled >= want {
            return Ok(true);
        }
        buf.resize(want, 0);
        let result = loop {
            if filled == want {
                break Ok(true);
            }
            match self.decoder.read(&mut buf[filled..]) {
                Ok(0) => break Ok(false),
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => break Err(e),
            }
        };
        buf.truncate(filled);
        result
    }

    /// The SHA-256 and size of the whole compressed file.
    pub fn finish(self) -> io::Result<(String, u64)> {
        drop(self.decoder);
        let reader = self
            .hashed
            .lock()
            .map_err(|_| io::Error::other("hash state poisoned"))?
            .take()
            .ok_or_else(|| io::Error::other("hash already taken"))?;
        reader.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn compression_is_recognised_by_magic_not_name() {
        assert_eq!(
            Compression::from_magic(&[0x1f, 0x8b, 8, 0]),
            Compression::Gzip
        );
        assert_eq!(
            Compression::from_magic(&[0x28, 0xb5, 0x2f, 0xfd]),
            Compression::Zstd
        );
        assert_eq!(Compression::from_magic(b"2023"), Compression::None);
    }

    #[test]
    fn gzip_stream_hash_covers_the_compressed_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x");
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(b"hello\nworld\n").unwrap();
        let bytes = gz.finish().unwrap();
        std::fs::write(&p, &bytes).unwrap();
        let Opened::Stream(c, f) = open(&p).unwrap() else {
            panic!("not a stream")
        };
        let mut d = Decompressed::new(c, f).unwrap();
        let mut buf = Vec::new();
        assert!(!d.fill(&mut buf, 1 << 20).unwrap());
        assert_eq!(buf, b"hello\nworld\n");
        let (sha, n) = d.finish().unwrap();
        assert_eq!(n, bytes.len() as u64);
        assert_eq!(sha, sha256_hex(&bytes));
    }

    #[test]
    fn discover_walks_folders_in_sorted_order_and_skips_hidden() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("b/.hidden")).unwrap();
        std::fs::write(dir.path().join("b/2"), b"x").unwrap();
        std::fs::write(dir.path().join("b/.hidden/3"), b"x").unwrap();
        std::fs::write(dir.path().join("a"), b"x").unwrap();
        let (files, errors) = discover(&[dir.path().to_path_buf(), dir.path().join("missing")]);
        let names: Vec<_> = files
            .iter()
            .map(|f| {
                f.path
                    .strip_prefix(dir.path())
                    .unwrap()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        assert_eq!(names, vec!["a", "b/2"]);
        assert_eq!(errors.len(), 1);
    }
}
