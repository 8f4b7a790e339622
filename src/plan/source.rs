//! A mapped file while its units read it: opened by the first of its units to run, closed
//! once its last chunk is parsed and its hash finished (so a run over a hundred thousand
//! files holds a few descriptors and maps at a time, not one per file), and watched for
//! change (see "Files that change while they are read" in ARCHITECTURE.md).

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use crate::input::{self, Ident, MappedFile};

pub(super) struct Source {
    /// The file when it was planned: its chunks and format were read from these bytes.
    pub(super) planned: Ident,
    state: Mutex<State>,
    /// Work left before the map closes: chunks not yet parsed, plus the hash.
    pending: AtomicUsize,
    /// The final check has run (its note is given once).
    checked: AtomicBool,
}

enum State {
    Closed,
    Open(Arc<MappedFile>),
    /// The path no longer leads to the planned file: why.
    Failed(String),
}

impl Source {
    /// A planned file of `chunks` chunks (none for a file that is only hashed).
    pub(super) fn new(planned: Ident, chunks: usize) -> Source {
        Source {
            planned,
            state: Mutex::new(State::Closed),
            pending: AtomicUsize::new(chunks + 1),
            checked: AtomicBool::new(false),
        }
    }

    /// The open file, opened now if no unit has opened it yet. `Err` with the reason when the
    /// path no longer leads to the planned file; the hash's share of the work is then done.
    pub(super) fn open(&self, path: &Path) -> Result<Arc<MappedFile>, String> {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        match &*s {
            State::Open(m) => return Ok(m.clone()),
            State::Failed(r) => return Err(r.clone()),
            State::Closed => {}
        }
        match self.reopen(path) {
            Ok(m) => {
                let m = Arc::new(m);
                *s = State::Open(m.clone());
                Ok(m)
            }
            Err(r) => {
                *s = State::Failed(r.clone());
                self.pending.fetch_sub(1, Ordering::AcqRel);
                Err(r)
            }
        }
    }

    /// Opens and maps the planned file again (for a read outside the units, not kept).
    pub(super) fn reopen(&self, path: &Path) -> Result<MappedFile, String> {
        let gone = |e: std::io::Error| match e.kind() {
            std::io::ErrorKind::NotFound => {
                "changed during the scan: removed before it was read".to_string()
            }
            _ => format!("cannot read: {e}"),
        };
        let file = input::open_file(path).map_err(gone)?;
        let now = Ident::of(&file.metadata().map_err(gone)?);
        if !self.planned.same_file(&now) {
            return Err(format!(
                "changed during the scan: replaced by another file ({} at start, {} now) \
                 before it was read",
                size(self.planned.len),
                size(now.len)
            ));
        }
        MappedFile::new(file, now, self.planned.len as usize)
            .map_err(|e| format!("cannot read: {e}"))
    }

    /// How far the file still holds the bytes it was planned with, as far as can be seen
    /// now: its planned length, or less if it has become shorter or a read of its map failed
    /// (one `fstat`). A file that grew keeps its planned bytes (it was appended to).
    pub(super) fn cut(&self, m: &MappedFile) -> u64 {
        let mut cut = self.planned.len;
        if let Some(f) = m.map.failed_at() {
            cut = cut.min(f as u64);
        }
        if let Ok(now) = m.now() {
            cut = cut.min(now.len);
        }
        cut
    }

    /// Counts one piece of work done (a chunk parsed, or the hash finished); the last one
    /// runs [`Source::finish`].
    pub(super) fn settle(&self) -> Option<String> {
        if self.pending.fetch_sub(1, Ordering::AcqRel) != 1 {
            return None;
        }
        self.finish()
    }

    /// Whether the final check has run.
    pub(super) fn finished(&self) -> bool {
        self.checked.load(Ordering::Acquire)
    }

    /// The final check, once: closes the map (when its last reader lets go of it) and says
    /// why the file is an error if it changed while it was read.
    pub(super) fn finish(&self) -> Option<String> {
        if self.checked.swap(true, Ordering::AcqRel) {
            return None;
        }
        let state = std::mem::replace(
            &mut *self.state.lock().unwrap_or_else(|e| e.into_inner()),
            State::Closed,
        );
        match state {
            State::Failed(r) => Some(r),
            State::Open(m) => changed(&self.planned, m.now(), m.map.failed_at()),
            State::Closed => None,
        }
    }
}

/// Why a file is an error, if it is not the file it was when planned.
fn changed(
    planned: &Ident,
    now: std::io::Result<Ident>,
    failed_at: Option<usize>,
) -> Option<String> {
    let now = match now {
        Ok(now) if now == *planned && failed_at.is_none() => return None,
        Ok(now) => now,
        Err(e) => {
            return Some(format!(
                "changed during the scan: cannot be examined any more ({e}); \
                 what was read before is kept"
            ))
        }
    };
    let mut reason = if now.len == planned.len {
        format!(
            "changed during the scan: written to while it was read ({} at start and at the end)",
            size(planned.len)
        )
    } else {
        format!(
            "changed during the scan: {} at start, {} at the end",
            size(planned.len),
            size(now.len)
        )
    };
    if let Some(f) = failed_at {
        reason += &format!("; its map could not be read from byte {f} on");
    }
    if now.len > planned.len && failed_at.is_none() {
        reason += &format!("; its first {} bytes were read", planned.len);
    } else {
        reason += "; what was read before the change is kept";
    }
    Some(reason)
}

/// A size for people: `412 MB`, `1.5 kB`, `12 bytes`.
fn size(n: u64) -> String {
    const UNITS: [&str; 5] = ["kB", "MB", "GB", "TB", "PB"];
    if n < 1000 {
        return format!("{n} bytes");
    }
    let mut v = n as f64;
    let mut unit = "";
    for u in UNITS {
        if v < 1000.0 {
            break;
        }
        v /= 1000.0;
        unit = u;
    }
    if v < 10.0 {
        format!("{v:.1} {unit}")
    } else {
        format!("{v:.0} {unit}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(size(12), "12 bytes");
        assert_eq!(size(1_500), "1.5 kB");
        assert_eq!(size(412_000_000), "412 MB");
        assert_eq!(size(1_048_576), "1.0 MB");
    }

    #[test]
    fn a_change_is_named_by_the_lengths() {
        let planned = Ident {
            len: 412_000_000,
            dev: 1,
            ino: 2,
            mtime: (3, 4),
        };
        assert_eq!(changed(&planned, Ok(planned), None), None);
        let cut = Ident {
            len: 1_000_000,
            mtime: (5, 0),
            ..planned
        };
        let r = changed(&planned, Ok(cut), Some(1_003_520)).unwrap();
        assert!(
            r.starts_with("changed during the scan: 412 MB at start, 1.0 MB at the end"),
            "{r}"
        );
        let touched = Ident {
            mtime: (5, 0),
            ..planned
        };
        assert!(changed(&planned, Ok(touched), None)
            .unwrap()
            .contains("written to while it was read"));
    }
}
