//! The output folder and the publication of a run.
//!
//! A run writes every output into a hidden staging folder inside `-o`
//! (`.forensics-staging-PID-NANOS`, see [`Staging`]) and moves them into place only when the
//! run is complete: `events/` first, then `findings.parquet`, `summary.md`, and
//! `summary.json` last ([`OUTPUTS`]), so a reader that sees `summary.json` sees a complete
//! run. With `--force`, the previous run's outputs stay where they are until then; at
//! publication they are moved into the staging folder in the reverse order (`summary.json`
//! first), the new ones moved in, and the staging folder (holding the old ones) deleted. At
//! every moment the visible outputs are therefore files of one run only: the old run's (less
//! those already moved out, its summary first) or the new run's (those already moved in, its
//! summary last), never a mix, and `summary.json` is there only when every output of its run
//! is. A run killed in the middle of that swap leaves its staging folder with the old
//! outputs aside; the next run puts them back before anything else (deleting its own already
//! moved in), so what it finds is the earlier complete run. Only the names a scan writes are
//! ever moved, so a mistyped `-o` cannot wipe unrelated files.
//!
//! A staging folder is owned by the run that holds an exclusive `flock` on it (the folder
//! itself, opened read-only). The kernel drops the lock when its process dies however it
//! dies (SIGKILL included), so the next run deletes exactly the staging folders whose lock it
//! can take: those of dead runs. A name with the pid, checked for a live process, would be
//! fooled by a reused pid, by another pid namespace (a container sharing the volume) and by
//! another host on a shared filesystem; a lock is not. Where the filesystem cannot lock (the
//! NFS client refuses `flock` on a read-only descriptor), nothing is deleted: a stale folder
//! stays hidden and costs only space.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::{Error, Result};

/// Prefix of a run's hidden staging folder.
pub(crate) const STAGING_PREFIX: &str = ".forensics-staging-";
/// Prefix of the hidden folder earlier versions moved replaced outputs into; a `--force` run
/// removes one it finds.
const LEGACY_REPLACED_PREFIX: &str = ".forensics-replaced-";
/// Where, inside the staging folder, the previous run's outputs go at publication.
const REPLACED: &str = "replaced";
/// Written into [`REPLACED`] once every previous output is in it, before the first new one
/// moves in: a dead run's folder without it died moving the old outputs out (none of its own
/// are visible); with it, moving its own in.
const ALL_MOVED_OUT: &str = ".all-moved-out";

/// The outputs a scan writes, in publication order: `summary.json` last, so its presence
/// means the whole run is in place. Every one of them is replaced by a `--force` run, also
/// those the new run does not write (`events/` under `--no-events`).
pub(crate) const OUTPUTS: [&str; 11] = [
    "events",
    "control",
    "sessions.parquet",
    "findings.parquet",
    "profile.parquet",
    "evidence",
    "privileges.sql",
    "privileges.md",
    "report.html",
    "summary.md",
    "summary.json",
];

/// Named points where a test can stop the binary (`FORENSICS_TEST_PAUSE=NAME`): the process
/// prints `forensics: test pause: NAME` on stderr and sleeps, for the test to kill it there.
/// The variable is read once per run.
#[derive(Clone, Debug, Default)]
pub(crate) struct Pause(Option<String>);

impl Pause {
    /// Reads `FORENSICS_TEST_PAUSE` (once per run).
    pub(crate) fn from_env() -> Pause {
        Pause(std::env::var("FORENSICS_TEST_PAUSE").ok())
    }

    /// Stops here (for an hour) when the test asked for the point `name`.
    pub(crate) fn at(&self, name: &str) {
        if self.0.as_deref() == Some(name) {
            eprintln!("forensics: test pause: {name}");
            std::thread::sleep(Duration::from_secs(3600));
        }
    }
}

/// A run's staging folder inside the output folder, locked for the run's lifetime. Dropped
/// without [`Staging::publish`] (an error, a panic), it is deleted with everything in it.
pub(crate) struct Staging {
    out: PathBuf,
    dir: PathBuf,
    pause: Pause,
    published: bool,
    /// The folder itself, opened and `flock`ed: the lock says the run is alive.
    _lock: Option<File>,
}

impl Staging {
    /// Creates the output folder if needed, deletes the staging folders of dead runs, refuses
    /// a folder another run is writing, and a non-empty one without `force` (with it, checks
    /// only that the earlier outputs can be replaced later); then creates and locks this
    /// run's staging folder.
    pub(crate) fn create(out: &Path, force: bool, pause: Pause) -> Result<Staging> {
        std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
        let (live, visible) = scan_folder(out, None, force)?;
        if live {
            return Err(another_run(out));
        }
        if visible && !force {
            return Err(Error::Usage(format!(
                "output folder {} is not empty; pass --force to replace a previous scan's output",
                out.display()
            )));
        }
        loop {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos());
            let dir = out.join(format!("{STAGING_PREFIX}{}-{nanos}", std::process::id()));
            std::fs::create_dir(&dir).map_err(|e| Error::io(&dir, e))?;
            let lock = File::open(&dir).map_err(|e| Error::io(&dir, e))?;
            // Blocking: another run's cleanup may hold it for the moment it deletes the
            // folder it found unlocked (this one, just made); then start again.
            let locked = lock.lock().is_ok();
            if !still_there(&dir, &lock) {
                continue;
            }
            let staging = Staging {
                out: out.to_path_buf(),
                dir,
                pause,
                published: false,
                _lock: locked.then_some(lock),
            };
            // Two runs started together both found no live run above: whichever sees the
            // other's staging folder now gives up (both may), so no two runs publish into
            // one folder at once.
            if scan_folder(out, Some(&staging.dir), force)?.0 {
                return Err(another_run(out));
            }
            staging.pause.at("staged");
            return Ok(staging);
        }
    }

    /// The staging folder: outputs are written under it with their final names.
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// The test pauses of this run.
    pub(crate) fn pause(&self) -> &Pause {
        &self.pause
    }

    /// A path under the staging folder relative to it (as the summary names outputs).
    pub(crate) fn relative(&self, path: &Path) -> String {
        path.strip_prefix(&self.dir)
            .unwrap_or(path)
            .to_string_lossy()
            .into_owned()
    }

    /// Moves the staged outputs into place (see the module doc for the order), the previous
    /// run's aside first, then deletes the staging folder and what it holds. A failed rename
    /// puts back what was already moved, as far as it can.
    pub(crate) fn publish(mut self) -> Result<()> {
        let replaced = self.dir.join(REPLACED);
        let mut moved_out = Vec::new();
        let mut moved_in = Vec::new();
        let result = (|| -> Result<()> {
            for name in OUTPUTS.iter().rev() {
                let from = self.out.join(name);
                if std::fs::symlink_metadata(&from).is_ok() {
                    if moved_out.is_empty() {
                        std::fs::create_dir(&replaced).map_err(|e| Error::io(&replaced, e))?;
                    }
                    rename(&from, &replaced.join(name))?;
                    moved_out.push(*name);
                }
            }
            if !moved_out.is_empty() {
                let marker = replaced.join(ALL_MOVED_OUT);
                File::create(&marker).map_err(|e| Error::io(&marker, e))?;
                self.pause.at("swapped-out");
            }
            for name in OUTPUTS {
                let from = self.dir.join(name);
                if std::fs::symlink_metadata(&from).is_err() {
                    continue;
                }
                if name == "summary.json" {
                    self.pause.at("before-summary");
                }
                rename(&from, &self.out.join(name))?;
                moved_in.push(name);
                if name == "events" {
                    self.pause.at("published-events");
                }
            }
            Ok(())
        })();
        if let Err(e) = result {
            for name in moved_in.iter().rev() {
                let _ = std::fs::rename(self.out.join(name), self.dir.join(name));
            }
            for name in moved_out.iter().rev() {
                let _ = std::fs::rename(replaced.join(name), self.out.join(name));
            }
            return Err(e);
        }
        self.published = true;
        // The renames reach the disk before the run says it is done.
        if let Ok(d) = File::open(&self.out) {
            let _ = d.sync_all();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
        Ok(())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.published {
            // Still locked here: the lock is a field, dropped after this.
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// Deletes the dead runs' staging folders in `out` (all but `own`), and the replaced outputs
/// an earlier version left when `force`; says whether a live run's staging folder is there,
/// and whether anything else is.
fn scan_folder(out: &Path, own: Option<&Path>, force: bool) -> Result<(bool, bool)> {
    let mut live = false;
    let mut visible = false;
    for entry in std::fs::read_dir(out).map_err(|e| Error::io(out, e))? {
        let entry = entry.map_err(|e| Error::io(out, e))?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let path = entry.path();
        if Some(path.as_path()) == own {
            continue;
        }
        if name.starts_with(STAGING_PREFIX) {
            match remove_if_dead(&path) {
                Ok(Stale::Removed | Stale::Unknown) => {}
                Ok(Stale::Live) => live = true,
                Err(e) => return Err(Error::io(&path, e)),
            }
        } else if name.starts_with(LEGACY_REPLACED_PREFIX) && force {
            // Left by an earlier version's interrupted run.
            let _ = std::fs::remove_dir_all(&path);
        }
    }
    // Once dead runs are cleaned up (which may have put earlier outputs back).
    for entry in std::fs::read_dir(out).map_err(|e| Error::io(out, e))? {
        let entry = entry.map_err(|e| Error::io(out, e))?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if !name.starts_with(STAGING_PREFIX) && !name.starts_with(LEGACY_REPLACED_PREFIX) {
            visible = true;
        }
    }
    Ok((live, visible))
}

fn another_run(out: &Path) -> Error {
    Error::Usage(format!(
        "another forensics scan is writing to {} (it holds a {STAGING_PREFIX}* folder there); \
         wait for it or choose another -o",
        out.display()
    ))
}

fn rename(from: &Path, to: &Path) -> Result<()> {
    std::fs::rename(from, to).map_err(|e| Error::io(from, e))
}

/// What [`remove_if_dead`] found.
enum Stale {
    /// A dead run's folder, now deleted (or gone already).
    Removed,
    /// A live run holds it.
    Live,
    /// The filesystem cannot lock it: left alone, and not taken for a live run.
    Unknown,
}

/// Deletes the staging folder `dir` when no live run holds its lock.
fn remove_if_dead(dir: &Path) -> std::io::Result<Stale> {
    let lock = match File::open(dir) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Stale::Removed),
        Err(e) => return Err(e),
    };
    match lock.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => return Ok(Stale::Live),
        Err(std::fs::TryLockError::Error(_)) => return Ok(Stale::Unknown),
    }
    if let Some(out) = dir.parent() {
        restore_replaced(out, &dir.join(REPLACED))?;
    }
    match std::fs::remove_dir_all(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(Stale::Removed),
    }
}

/// Puts back the outputs a dead `--force` run had moved aside (`replaced`, see
/// [`Staging::publish`]) when it died before its own `summary.json` was in place, so a kill
/// in the middle of the swap leaves the earlier complete run, as a kill at any other moment
/// does, once the next run has started. Its own outputs already moved in (after
/// [`ALL_MOVED_OUT`]) are deleted first: they are an incomplete run. A run that died after
/// its summary was in place is complete: what it moved aside is left to be deleted.
fn restore_replaced(out: &Path, replaced: &Path) -> std::io::Result<()> {
    if !replaced.is_dir() {
        return Ok(());
    }
    let moving_in = replaced.join(ALL_MOVED_OUT).exists();
    if moving_in && std::fs::symlink_metadata(out.join("summary.json")).is_ok() {
        return Ok(());
    }
    for name in OUTPUTS {
        let old = replaced.join(name);
        let visible = out.join(name);
        if moving_in {
            // Every earlier output was aside: what is visible is the dead run's own.
            match std::fs::symlink_metadata(&visible) {
                Ok(m) if m.is_dir() => std::fs::remove_dir_all(&visible)?,
                Ok(_) => std::fs::remove_file(&visible)?,
                Err(_) => {}
            }
        }
        if std::fs::symlink_metadata(&old).is_ok() {
            std::fs::rename(&old, &visible)?;
        }
    }
    if let Ok(d) = File::open(out) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Whether `path` still names the folder `file` was opened from (another run's cleanup may
/// have deleted it between its creation and its lock).
fn still_there(path: &Path, file: &File) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(path), file.metadata()) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino() && b.nlink() > 0,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    /// A dead run's staging folder (nobody holds its lock) is deleted by the next run; a
    /// locked one is a live run's: left alone, and the folder refused.
    #[test]
    fn dead_staging_folders_are_removed_and_live_ones_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        let dead = out.join(format!("{STAGING_PREFIX}1-2"));
        std::fs::create_dir_all(dead.join("events")).unwrap();
        std::fs::write(dead.join("findings.parquet"), b"x").unwrap();
        let live = out.join(format!("{STAGING_PREFIX}3-4"));
        std::fs::create_dir_all(&live).unwrap();
        let held = File::open(&live).unwrap();
        held.lock().unwrap();
        let err = Staging::create(&out, false, Pause::default())
            .err()
            .unwrap();
        assert!(err.to_string().contains("another forensics scan"), "{err}");
        assert_eq!(names(&out), [format!("{STAGING_PREFIX}3-4")]);
        drop(held);
        let staging = Staging::create(&out, false, Pause::default()).unwrap();
        assert_eq!(names(&out).len(), 1);
        assert!(staging.dir().starts_with(&out));
        drop(staging);
        assert!(
            names(&out).is_empty(),
            "an unpublished staging folder deletes itself"
        );
    }

    /// Publication swaps the earlier outputs out (all of them, also those the new run does
    /// not write) and the new ones in, and leaves no staging folder.
    #[test]
    fn publish_replaces_every_earlier_output() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().to_path_buf();
        for name in OUTPUTS {
            std::fs::write(out.join(name), b"old").unwrap();
        }
        std::fs::write(out.join("keep.txt"), b"mine").unwrap();
        let staging = Staging::create(&out, true, Pause::default()).unwrap();
        std::fs::write(staging.dir().join("findings.parquet"), b"new").unwrap();
        std::fs::write(staging.dir().join("summary.json"), b"new").unwrap();
        staging.publish().unwrap();
        assert_eq!(
            names(&out),
            ["findings.parquet", "keep.txt", "summary.json"]
        );
        assert_eq!(std::fs::read(out.join("summary.json")).unwrap(), b"new");
        assert_eq!(std::fs::read(out.join("keep.txt")).unwrap(), b"mine");
    }
}
