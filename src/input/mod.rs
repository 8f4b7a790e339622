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
#[cfg(target_os = "linux")]
mod guard;
pub mod sha256x2;
use sha2::{Digest, Sha256};

/// One input file, in the order the run will report it.
#[derive(Clone, Debug)]
pub(crate) struct InputFile {
    /// The path as the user gave it (or as found under a folder they gave).
    pub path: PathBuf,
    pub display: std::sync::Arc<str>,
    pub size: u64,
}

/// A share of the inputs for one of several scans (`--shard I/N`): `index` in `1..=count`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl Shard {
    /// `I-of-N`, as folder and file names carry it.
    pub fn label(&self) -> String {
        format!("{}-of-{}", self.index, self.count)
    }
}

impl std::str::FromStr for Shard {
    type Err = String;
    /// `I/N` with `1 <= I <= N`.
    fn from_str(s: &str) -> Result<Shard, String> {
        let bad = || format!("not a shard: {s:?} (use I/N with 1 <= I <= N, e.g. 2/8)");
        let (i, n) = s.trim().split_once('/').ok_or_else(bad)?;
        let (index, count): (u32, u32) = (
            i.trim().parse().map_err(|_| bad())?,
            n.trim().parse().map_err(|_| bad())?,
        );
        if index == 0 || index > count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

/// The files of `shard`, in their order: the inputs dealt out by size, largest first (ties
/// by path), each to the shard with the fewest bytes so far (ties to the lowest), so every
/// one of N runs given the same inputs computes the same deal and the shares are balanced
/// by bytes (within the largest file). A file is never split: its chunks, line numbers,
/// SHA-256 and sessions stay whole in one shard.
pub(crate) fn shard(files: Vec<InputFile>, shard: Shard) -> Vec<InputFile> {
    let mut order: Vec<usize> = (0..files.len()).collect();
    order.sort_by(|&a, &b| {
        files[b]
            .size
            .cmp(&files[a].size)
            .then_with(|| files[a].path.cmp(&files[b].path))
    });
    let mut load = vec![0u64; shard.count as usize];
    let mut mine = vec![false; files.len()];
    for f in order {
        let (to, _) = load
            .iter()
            .enumerate()
            .min_by_key(|&(i, l)| (*l, i))
            .expect("at least one shard");
        load[to] += files[f].size;
        mine[f] = to + 1 == shard.index as usize;
    }
    files
        .into_iter()
        .zip(mine)
        .filter_map(|(f, m)| m.then_some(f))
        .collect()
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
    pub(crate) fn from_magic(head: &[u8]) -> Compression {
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

/// A path found among the inputs that is not read: listed in the summary's `inputs` with its
/// status and why, so that nothing in the input tree is passed over silently. The run goes on.
#[derive(Debug)]
pub(crate) struct DiscoverError {
    pub path: PathBuf,
    pub status: Unread,
    /// Why, in a few words (`a FIFO (named pipe), ...`, `dangling symlink: ...`).
    pub reason: String,
    /// The system's message, for an error.
    pub message: Option<String>,
}

/// The summary status of a path that is not read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Unread {
    /// Not a file to read: a FIFO, socket or device, a symlink loop, or a second path to a
    /// file that is read under another.
    Skipped,
    /// A file that cannot be read: missing, a dangling symlink, permission denied.
    Error,
}

impl Unread {
    /// `skipped` or `error`, as in `summary.json`.
    pub fn as_str(self) -> &'static str {
        match self {
            Unread::Skipped => "skipped",
            Unread::Error => "error",
        }
    }
}

/// Expands files and folders (recursively, sorted by path so the order never depends on the
/// file system) into the list of input files, and the paths found that are not read. Hidden
/// files and folders under a given folder are skipped; a file named explicitly is always read.
///
/// Symbolic links are followed as ripgrep's `-L` follows them: a link named on the command
/// line always, and links met in a folder too, to files and folders, inside the tree or
/// leaving it. A link back to a folder being walked (a loop) is not followed again, and a link
/// that leads back to itself (`a -> b -> a`) is not read: both are listed as `skipped`, naming
/// the loop. One thing differs from ripgrep: a file reached through a symlink that is also
/// found under a path without one (or through several links) is read once, under that path,
/// and the other paths are listed as `skipped` ("same file as ..."), so that the same
/// evidence is not counted twice. Hard links and a path named twice are read as given.
///
/// The type of each entry is taken from its metadata (through the link) before anything is
/// opened: FIFOs, sockets and devices are never opened (a FIFO opened for reading waits for
/// a writer) and are listed as `skipped`; a dangling link or a path that cannot be examined
/// is an `error`.
pub(crate) fn discover(paths: &[PathBuf]) -> (Vec<InputFile>, Vec<DiscoverError>) {
    let mut found = Vec::new();
    let mut unread = Vec::new();
    for root in paths {
        let meta = match std::fs::metadata(root) {
            Ok(m) => m,
            Err(e) => {
                unread.push(not_examined(root.clone(), &e));
                continue;
            }
        };
        if !meta.is_dir() {
            take(root.clone(), &meta, &mut found, &mut unread);
            continue;
        }
        let walker = walkdir::WalkDir::new(root)
            .follow_links(true)
            .sort_by_file_name()
            .into_iter()
            .filter_entry(|e| e.depth() == 0 || !is_hidden(e.path()));
        for entry in walker {
            match entry {
                Ok(e) if e.file_type().is_dir() => {}
                Ok(e) => match e.metadata() {
                    Ok(m) => take(e.into_path(), &m, &mut found, &mut unread),
                    Err(err) => unread.push(walk_error(root, err)),
                },
                // Hidden entries are skipped even when they cannot be examined (an editor's
                // `.#name` lock is a dangling symlink).
                Err(err) if err.depth() > 0 && err.path().is_some_and(is_hidden) => {}
                Err(err) => unread.push(walk_error(root, err)),
            }
        }
    }
    let files = read_once(found, &mut unread);
    (files, unread)
}

fn is_hidden(path: &Path) -> bool {
    path.file_name()
        .is_some_and(|n| n.as_encoded_bytes().starts_with(b"."))
}

/// A file to read, or a special file listed as skipped.
fn take(
    path: PathBuf,
    meta: &std::fs::Metadata,
    found: &mut Vec<(PathBuf, std::fs::Metadata)>,
    unread: &mut Vec<DiscoverError>,
) {
    if meta.is_file() {
        found.push((path, meta.clone()));
        return;
    }
    unread.push(DiscoverError {
        path,
        status: Unread::Skipped,
        reason: special_file(meta.file_type()).to_string(),
        message: None,
    });
}

/// What a file that is neither a regular file nor a folder is.
fn special_file(t: std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return "a FIFO (named pipe), not a regular file: not opened (reading it would wait for a writer)";
        }
        if t.is_socket() {
            return "a socket, not a regular file: not opened";
        }
        if t.is_char_device() {
            return "a character device, not a regular file: not opened";
        }
        if t.is_block_device() {
            return "a block device, not a regular file: not opened";
        }
    }
    let _ = t;
    "not a regular file: not opened"
}

/// A path whose metadata could not be read: a dangling symlink, a symlink loop, a missing
/// path, a permission problem.
fn not_examined(path: PathBuf, e: &io::Error) -> DiscoverError {
    let is_link = std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink());
    let error = |reason: String| DiscoverError {
        path: path.clone(),
        status: Unread::Error,
        reason,
        message: Some(e.to_string()),
    };
    #[cfg(unix)]
    if is_link && e.raw_os_error() == Some(libc::ELOOP) {
        return DiscoverError {
            path: path.clone(),
            status: Unread::Skipped,
            reason: "symlink loop: its links lead back to themselves; not followed".into(),
            message: None,
        };
    }
    match e.kind() {
        io::ErrorKind::NotFound if is_link => error(match std::fs::read_link(&path) {
            Ok(target) => format!(
                "dangling symlink: its target {} does not exist",
                target.display()
            ),
            Err(_) => "dangling symlink: its target does not exist".into(),
        }),
        io::ErrorKind::NotFound => error("not found".into()),
        io::ErrorKind::PermissionDenied => error("permission denied".into()),
        _ => error("cannot be examined".into()),
    }
}

/// An entry of a folder walk that failed: a link back to a folder being walked, or an entry
/// (or a folder) that could not be examined.
fn walk_error(root: &Path, e: walkdir::Error) -> DiscoverError {
    let path = e
        .path()
        .map_or_else(|| root.to_path_buf(), Path::to_path_buf);
    if let Some(ancestor) = e.loop_ancestor() {
        return DiscoverError {
            reason: format!(
                "symlink loop: leads back to {}, which is already being read; not followed again",
                ancestor.display()
            ),
            path,
            status: Unread::Skipped,
            message: None,
        };
    }
    match e.io_error() {
        Some(io) => not_examined(path, io),
        None => DiscoverError {
            path,
            status: Unread::Error,
            reason: "cannot be examined".into(),
            message: Some(e.to_string()),
        },
    }
}

/// The files to read, in order: each file once (see [`discover`] on symlinks). The other paths
/// to a file read through a symlink are listed as skipped.
fn read_once(
    found: Vec<(PathBuf, std::fs::Metadata)>,
    unread: &mut Vec<DiscoverError>,
) -> Vec<InputFile> {
    let mut same_as: Vec<Option<usize>> = vec![None; found.len()];
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let mut by_id: std::collections::HashMap<(u64, u64), Vec<usize>> = Default::default();
        for (i, (_, m)) in found.iter().enumerate() {
            by_id.entry((m.dev(), m.ino())).or_default().push(i);
        }
        let mut groups: Vec<Vec<usize>> = by_id.into_values().filter(|g| g.len() > 1).collect();
        groups.sort();
        for group in groups {
            let linked: Vec<bool> = group
                .iter()
                .map(|&i| through_symlink(&found[i].0))
                .collect();
            if !linked.iter().any(|&l| l) {
                continue;
            }
            let keep = group
                .iter()
                .zip(&linked)
                .find(|(_, &l)| !l)
                .map_or(group[0], |(&i, _)| i);
            for (&i, &l) in group.iter().zip(&linked) {
                if i != keep && l {
                    same_as[i] = Some(keep);
                }
            }
        }
    }
    let mut files = Vec::with_capacity(found.len());
    for (i, (path, meta)) in found.iter().enumerate() {
        match same_as[i] {
            None => files.push(input_file(path.clone(), meta.len())),
            Some(keep) => unread.push(DiscoverError {
                path: path.clone(),
                status: Unread::Skipped,
                reason: format!(
                    "same file as {} (reached through a symlink): read once, under that name",
                    found[keep].0.display()
                ),
                message: None,
            }),
        }
    }
    files
}

/// Whether `path` or one of its folders is a symbolic link.
#[cfg(unix)]
fn through_symlink(path: &Path) -> bool {
    path.ancestors()
        .filter(|a| !a.as_os_str().is_empty())
        .any(|a| std::fs::symlink_metadata(a).is_ok_and(|m| m.file_type().is_symlink()))
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
    Mapped(MappedFile),
    /// Zero-length files cannot be mapped.
    Empty,
    Stream(Compression, File),
}

/// A read-only map of a plain file, safe to read while the file is cut shorter: a read past
/// the file's new end reads zeros instead of raising SIGBUS, and [`Map::failed_at`] says from
/// where (see `input/guard.rs`).
pub struct Map {
    #[cfg(target_os = "linux")]
    guard: Option<guard::Registered>,
    map: memmap2::Mmap,
}

impl Map {
    /// Maps the first `len` bytes of `file` (which may since have become shorter).
    pub fn new(file: &File, len: usize) -> io::Result<Map> {
        // SAFETY: the map is read-only. Another process may still write the file while it is
        // mapped (changing the bytes under the slice); a cut that makes pages unreadable is
        // absorbed by the guard (zeros, reported by `failed_at`) instead of raising SIGBUS.
        let map = unsafe { memmap2::MmapOptions::new().len(len).map(file)? };
        #[cfg(unix)]
        let _ = map.advise(memmap2::Advice::Sequential);
        Ok(Map {
            #[cfg(target_os = "linux")]
            guard: guard::register(map.as_ptr() as usize, map.len()),
            map,
        })
    }

    /// The offset from which reading the map failed (the file had become shorter, or the
    /// disk failed) and reads zeros instead; `None` while every read succeeded.
    pub(crate) fn failed_at(&self) -> Option<usize> {
        #[cfg(target_os = "linux")]
        return self.guard.as_ref().and_then(|g| g.failed_at());
        #[cfg(not(target_os = "linux"))]
        None
    }
}

impl std::ops::Deref for Map {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.map
    }
}

/// What identifies a file's contents as they were at a moment: the same inode with the same
/// length and modification time is taken to hold the same bytes (in place, the way every
/// writer changes a file, a write moves the time).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ident {
    pub len: u64,
    pub dev: u64,
    pub ino: u64,
    pub mtime: (i64, i64),
}

impl Ident {
    pub fn of(meta: &std::fs::Metadata) -> Ident {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            Ident {
                len: meta.len(),
                dev: meta.dev(),
                ino: meta.ino(),
                mtime: (meta.mtime(), meta.mtime_nsec()),
            }
        }
        #[cfg(not(unix))]
        Ident {
            len: meta.len(),
            dev: 0,
            ino: 0,
            mtime: meta
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or((0, 0), |d| (d.as_secs() as i64, d.subsec_nanos() as i64)),
        }
    }

    /// Whether `other` is the same file (the same inode), whatever its contents now.
    pub(crate) fn same_file(&self, other: &Ident) -> bool {
        (self.dev, self.ino) == (other.dev, other.ino)
    }
}

/// A plain file mapped for reading, with its open descriptor (to see whether it changes
/// while it is read) and what it was when it was opened.
pub struct MappedFile {
    pub map: Map,
    file: File,
    pub opened: Ident,
}

impl MappedFile {
    /// Maps the first `len` bytes of an open file.
    pub fn new(file: File, opened: Ident, len: usize) -> io::Result<MappedFile> {
        Ok(MappedFile {
            map: Map::new(&file, len)?,
            file,
            opened,
        })
    }

    /// The file as it is now (one `fstat`).
    pub fn now(&self) -> io::Result<Ident> {
        Ok(Ident::of(&self.file.metadata()?))
    }

    /// The map alone (the descriptor is closed).
    pub(crate) fn into_map(self) -> Map {
        self.map
    }

    /// Bytes `start..end` by positioned reads through a small reused buffer, `each` called on
    /// every piece in order.
    pub(crate) fn read_pieces(
        &self,
        start: u64,
        end: u64,
        each: impl FnMut(&[u8]),
    ) -> io::Result<()> {
        read_file_pieces(&self.file, start, end, each)
    }
}

/// Opens a regular file for reading. Discovery has already left out FIFOs and devices by
/// their metadata; should a path have been replaced by one since, it is opened without
/// blocking (`O_NONBLOCK`: a FIFO with no writer would otherwise block the open) and refused.
pub(crate) fn open_file(path: &Path) -> io::Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NONBLOCK);
    let file = options.open(path)?;
    if !file.metadata()?.is_file() {
        return Err(io::Error::other(
            "not a regular file (it changed since the inputs were listed)",
        ));
    }
    Ok(file)
}

/// Opens a file and decides how to read it from its first bytes.
pub fn open(path: &Path) -> io::Result<Opened> {
    let mut file = open_file(path)?;
    let opened = Ident::of(&file.metadata()?);
    if opened.len == 0 {
        return Ok(Opened::Empty);
    }
    let mut magic = [0u8; 4];
    let n = read_up_to(&mut file, &mut magic)?;
    match Compression::from_magic(&magic[..n]) {
        Compression::None => {
            let len = usize::try_from(opened.len).map_err(io::Error::other)?;
            Ok(Opened::Mapped(MappedFile::new(file, opened, len)?))
        }
        c => {
            use std::io::Seek;
            file.seek(io::SeekFrom::Start(0))?;
            Ok(Opened::Stream(c, file))
        }
    }
}

/// The first `n` bytes of a file, decompressed if it is compressed (a second look at a
/// file's head after the scan, e.g. for the CloudWatch log group it names).
pub(crate) fn read_head(path: &Path, n: usize) -> io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    match open(path)? {
        Opened::Empty => {}
        Opened::Mapped(m) => {
            let mut f = open_file(path)?;
            buf.resize(n.min(m.map.len()), 0);
            let got = read_up_to(&mut f, &mut buf)?;
            buf.truncate(got);
        }
        Opened::Stream(c, f) => {
            Decompressed::new(c, f)?.fill(&mut buf, n)?;
        }
    }
    Ok(buf)
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
pub(crate) fn release_pages(map: &Map, start: usize, end: usize) {
    const PAGE: usize = 4096;
    let s = start.div_ceil(PAGE) * PAGE;
    let e = end / PAGE * PAGE;
    if e > s {
        // SAFETY: the map is a read-only file mapping; after MADV_DONTNEED the pages are read
        // again from the file on the next access, so no borrowed data changes.
        #[cfg(unix)]
        unsafe {
            let _ = map
                .map
                .unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, s, e - s);
        }
    }
}

/// Hex SHA-256 of a byte slice (the tests' reference).
#[cfg(test)]
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// Hex SHA-256 of a mapped file, calling `done(start, end)` after each 8 MiB piece so the
/// caller can hand hashed pages back to the page cache.
pub(crate) fn sha256_hex_with(bytes: &[u8], mut done: impl FnMut(usize, usize)) -> String {
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

/// [`read_pieces`] on an open file.
fn read_file_pieces(
    file: &File,
    start: u64,
    end: u64,
    mut each: impl FnMut(&[u8]),
) -> io::Result<()> {
    const PIECE: usize = 256 << 10;
    let mut buf = vec![0u8; PIECE.min((end - start) as usize)];
    let mut pos = start;
    while pos < end {
        let want = (end - pos).min(buf.len() as u64) as usize;
        read_exact_at(file, &mut buf[..want], pos)?;
        each(&buf[..want]);
        pos += want as u64;
    }
    Ok(())
}

#[cfg(unix)]
fn read_exact_at(file: &File, buf: &mut [u8], pos: u64) -> io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, pos)
}

#[cfg(not(unix))]
fn read_exact_at(mut file: &File, buf: &mut [u8], pos: u64) -> io::Result<()> {
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
pub(crate) struct HashingReader<R> {
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
pub(crate) struct Decompressed {
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

    /// Issue #16: nothing in the input tree is passed over silently. Symlinks are followed
    /// (inside the tree, leaving it, named on the command line); loops, FIFOs, sockets and
    /// devices are skipped with the reason; a dangling symlink is an error; a non-UTF-8 name
    /// is read. Nothing here is opened, so a FIFO cannot block.
    #[cfg(unix)]
    #[test]
    fn discover_lists_links_loops_and_special_files_with_reasons() {
        use std::os::unix::ffi::OsStrExt;
        use std::os::unix::fs::symlink;
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let t = dir.path().join("tree");
        std::fs::create_dir_all(t.join("sub")).unwrap();
        std::fs::write(t.join("a.log"), b"x").unwrap();
        std::fs::write(outside.path().join("far.log"), b"xy").unwrap();
        symlink(t.join("a.log"), t.join("b-link-in.log")).unwrap();
        symlink(outside.path().join("far.log"), t.join("c-link-out.log")).unwrap();
        symlink(t.join("missing.log"), t.join("d-dangling.log")).unwrap();
        symlink(t.join("e-loop-2"), t.join("e-loop-1")).unwrap();
        symlink(t.join("e-loop-1"), t.join("e-loop-2")).unwrap();
        symlink("..", t.join("sub/up")).unwrap();
        let fifo = t.join("f-fifo");
        let c = std::ffi::CString::new(fifo.as_os_str().as_bytes()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
        let _socket = std::os::unix::net::UnixListener::bind(t.join("g-socket")).unwrap();
        let raw = t.join(std::ffi::OsStr::from_bytes(b"h-caf\xe9.log"));
        std::fs::write(&raw, b"z").unwrap();
        // A hidden dangling link (an editor's lock) stays hidden.
        symlink("nowhere", t.join(".#lock")).unwrap();
        symlink(t.join("a.log"), dir.path().join("named-link.log")).unwrap();

        let (files, unread) = discover(&[
            t.clone(),
            dir.path().join("named-link.log"),
            PathBuf::from("/dev/null"),
        ]);
        let name = |p: &Path| {
            p.strip_prefix(&t)
                .or_else(|_| p.strip_prefix(dir.path()))
                .unwrap_or(p)
                .to_string_lossy()
                .into_owned()
        };
        let read: Vec<String> = files.iter().map(|f| name(&f.path)).collect();
        assert_eq!(read, vec!["a.log", "c-link-out.log", "h-caf\u{fffd}.log",]);
        assert_eq!(files[1].size, 2, "the size is the target's");
        assert_eq!(files[2].path, raw, "the path is kept exactly");
        let listed: Vec<(String, Unread, String)> = unread
            .iter()
            .map(|e| (name(&e.path), e.status, e.reason.clone()))
            .collect();
        let find = |n: &str| {
            listed
                .iter()
                .find(|(p, ..)| p == n)
                .unwrap_or_else(|| panic!("{n} not listed: {listed:#?}"))
        };
        assert_eq!(listed.len(), 9, "{listed:#?}");
        let d = find("d-dangling.log");
        assert_eq!(d.1, Unread::Error);
        assert!(d.2.starts_with("dangling symlink"), "{d:?}");
        for l in ["e-loop-1", "e-loop-2", "sub/up"] {
            let e = find(l);
            assert_eq!(e.1, Unread::Skipped);
            assert!(e.2.starts_with("symlink loop"), "{e:?}");
        }
        assert!(find("f-fifo").2.contains("FIFO"));
        assert!(find("g-socket").2.contains("socket"));
        assert!(find("/dev/null").2.contains("character device"));
        let b = find("b-link-in.log");
        assert_eq!(b.1, Unread::Skipped);
        assert!(
            b.2.starts_with("same file as ") && b.2.contains("a.log"),
            "{b:?}"
        );
        // Named on the command line, a link is followed too, and its target, also found in
        // the tree, is still read once; named alone, it is read.
        assert!(find("named-link.log").2.starts_with("same file as "));
        let (files, unread) = discover(&[dir.path().join("named-link.log")]);
        assert_eq!((files.len(), unread.len()), (1, 0));
        assert_eq!(files[0].path, dir.path().join("named-link.log"));
    }
}

#[cfg(test)]
mod shard_tests {
    use super::*;

    fn files(sizes: &[u64]) -> Vec<InputFile> {
        sizes
            .iter()
            .enumerate()
            .map(|(i, &size)| InputFile {
                path: PathBuf::from(format!("f{i:02}")),
                display: format!("f{i:02}").into(),
                size,
            })
            .collect()
    }

    #[test]
    fn shards_partition_the_files_balanced_by_size_and_keep_their_order() {
        let sizes = [5, 100, 7, 60, 40, 3, 3, 90, 1, 0, 55];
        let n = 3;
        let mut seen = Vec::new();
        let mut loads = Vec::new();
        for i in 1..=n {
            let mine = shard(files(&sizes), Shard { index: i, count: n });
            let names: Vec<String> = mine.iter().map(|f| f.display.to_string()).collect();
            let mut sorted = names.clone();
            sorted.sort();
            assert_eq!(names, sorted, "input order kept");
            loads.push(mine.iter().map(|f| f.size).sum::<u64>());
            seen.extend(names);
        }
        seen.sort();
        let all: Vec<String> = files(&sizes)
            .iter()
            .map(|f| f.display.to_string())
            .collect();
        assert_eq!(seen, all, "every file in exactly one shard");
        let total: u64 = sizes.iter().sum();
        let biggest = *sizes.iter().max().unwrap();
        for l in &loads {
            assert!(l.abs_diff(total / n as u64) <= biggest, "{loads:?}");
        }
        // The same deal every time.
        let again = shard(files(&sizes), Shard { index: 2, count: n });
        assert_eq!(again.iter().map(|f| f.size).sum::<u64>(), loads[1]);
    }

    #[test]
    fn shard_arguments_are_checked() {
        assert_eq!("2/8".parse::<Shard>(), Ok(Shard { index: 2, count: 8 }));
        assert_eq!("1/1".parse::<Shard>().unwrap().label(), "1-of-1");
        for bad in ["0/4", "5/4", "4", "a/b", "1/0", ""] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
    }
}
