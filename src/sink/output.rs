//! The output folder: refusing a non-empty one without `--force`, and with it moving the
//! previous scan's outputs aside (only the names a scan writes, so a mistyped `-o` cannot
//! wipe unrelated files) into a hidden folder deleted in the background.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Prefix of the hidden folder a replaced output is moved into (see [`prepare_output_dir`]).
const REPLACED_PREFIX: &str = ".forensics-replaced-";

/// Refuses a non-empty output folder without `force`; with it, moves the previous scan's
/// outputs (and any folder of replaced outputs an interrupted run left) into one hidden
/// folder, which is returned for [`remove_in_background`]. Renaming is instant, while
/// deleting a large output takes tens of milliseconds the scan need not wait for.
pub(crate) fn prepare_output_dir(out: &Path, force: bool) -> Result<Option<PathBuf>> {
    let mut replaced = None;
    if out.exists() {
        let entries: Vec<std::fs::DirEntry> = std::fs::read_dir(out)
            .map_err(|e| Error::io(out, e))?
            .collect::<std::io::Result<_>>()
            .map_err(|e| Error::io(out, e))?;
        if !entries.is_empty() && !force {
            return Err(Error::Usage(format!(
                "output folder {} is not empty; pass --force to replace a previous scan's output",
                out.display()
            )));
        }
        let ours = |name: &str| {
            matches!(
                name,
                "events" | "findings.parquet" | "summary.json" | "summary.md"
            ) || name.starts_with(REPLACED_PREFIX)
        };
        let old: Vec<PathBuf> = entries
            .iter()
            .filter(|e| e.file_name().to_str().is_some_and(ours))
            .map(|e| e.path())
            .collect();
        if !old.is_empty() {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos());
            let trash = out.join(format!("{REPLACED_PREFIX}{}-{nanos}", std::process::id()));
            std::fs::create_dir(&trash).map_err(|e| Error::io(&trash, e))?;
            for p in old {
                let to = trash.join(p.file_name().expect("a folder entry has a name"));
                std::fs::rename(&p, &to).map_err(|e| Error::io(&p, e))?;
            }
            replaced = Some(trash);
        }
    }
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
    Ok(replaced)
}

/// Deletes `dir` (replaced outputs) on a thread of its own, joined when the guard drops, so
/// the run returns (on every path) only once it is gone. A folder it cannot delete stays
/// hidden, and the next `--force` run takes it.
pub(crate) fn remove_in_background(dir: Option<PathBuf>) -> Cleanup {
    Cleanup(dir.and_then(|dir| {
        std::thread::Builder::new()
            .name("forensics-cleanup".into())
            .spawn(move || {
                let _ = std::fs::remove_dir_all(&dir);
            })
            .ok()
    }))
}

/// See [`remove_in_background`].
pub(crate) struct Cleanup(Option<std::thread::JoinHandle<()>>);

impl Drop for Cleanup {
    fn drop(&mut self) {
        if let Some(h) = self.0.take() {
            let _ = h.join();
        }
    }
}
