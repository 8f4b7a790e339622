//! `evidence/<finding_id>.log`: the raw lines behind each finding.
//!
//! The passes keep, per finding, where its earliest few events and its latest one are
//! ([`crate::pass::Sample`]): file, line and, for records read from a file's own bytes, the
//! offset and length of the record. The text is read back here with one small positioned
//! read per line, so the cost does not depend on the size of the input.
//!
//! A record whose text is not in the file as stored (a compressed stream, a CloudWatch JSON
//! delivery or a csvlog, whose records are rewritten before parsing) cannot be read back
//! that way: its text is copied out by the scan at the end of its chunk, while the chunk's
//! buffer is alive, for the evidence the chunk's passes still hold and the successful logins
//! of its sessions ([`KeptText`], kept by the consumer for the places the merged passes and
//! the login profile still reference), and used here. A
//! CloudWatch JSON record is shown as its message as logged; a csvlog row as the record the
//! parser reads (rewritten in the stderr layout: `time:host@db:[pid]:SEVERITY:  message`).
//! Only a record whose text is known neither way (its file unreadable now, or evidence that
//! neither a pass nor the profile kept) is named by `file:line` with a note.

use std::collections::HashMap;
use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::finding::{Evidence, Finding};

/// The most text kept of one record (a longer one is cut, marked with `…`).
pub const MAX_LINE_BYTES: usize = 8 << 10;

/// The text of a record, copied by the scan at the end of its chunk (the layer above this
/// one), for a record whose text is not in the file as stored. Cut and trimmed as [`read`] cuts a record it reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeptText {
    pub text: String,
    pub cut: bool,
}

impl KeptText {
    /// The text of the record `bytes`: lossy UTF-8, cut at [`MAX_LINE_BYTES`], its line end
    /// trimmed.
    pub fn of(bytes: &[u8]) -> KeptText {
        let want = bytes.len().min(MAX_LINE_BYTES);
        KeptText {
            text: lossy_record(&bytes[..want]),
            cut: want < bytes.len(),
        }
    }
}

/// Kept texts by (file, line) (see [`KeptText`]).
pub type KeptTexts = HashMap<(u32, u64), KeptText, foldhash::fast::FixedState>;

/// The text of a record's bytes as shown: lossy UTF-8 without its line end.
fn lossy_record(b: &[u8]) -> String {
    // Valid UTF-8 (nearly always) is checked at SIMD speed; the lossy walk is for the rest.
    let text = match simdutf8::basic::from_utf8(b) {
        Ok(s) => std::borrow::Cow::Borrowed(s),
        Err(_) => String::from_utf8_lossy(b),
    };
    text.trim_end_matches(['\r', '\n']).to_string()
}

/// One event behind a finding.
#[derive(Clone, Debug, serde::Serialize)]
pub struct EvidenceLine {
    /// `source_file:source_line`.
    pub place: String,
    /// The record as logged, `None` when its text is not in the file as stored.
    pub text: Option<String>,
    pub cut: bool,
}

/// The events shown for a finding, and how many more stand behind it.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct FindingEvidence {
    pub lines: Vec<EvidenceLine>,
    pub more: u64,
}

/// Reads the sampled events of every finding (`paths` and `names` index the input files):
/// from the file at the offset the scan noted, or else from the texts the scan kept.
pub fn read(
    findings: &[Finding],
    paths: &[PathBuf],
    names: &[Arc<str>],
    kept: &KeptTexts,
) -> Vec<FindingEvidence> {
    let mut open: HashMap<u32, Option<File>> = HashMap::new();
    findings
        .iter()
        .map(|f| {
            let lines: Vec<EvidenceLine> = f
                .samples
                .iter()
                .map(|ev| {
                    let file = open.entry(ev.file).or_insert_with(|| {
                        paths.get(ev.file as usize).and_then(|p| File::open(p).ok())
                    });
                    let (text, cut) = match file.as_ref().and_then(|fd| read_record(fd, ev)) {
                        Some((t, cut)) => (Some(t), cut),
                        None => match kept.get(&(ev.file, ev.line)) {
                            Some(k) => (Some(k.text.clone()), k.cut),
                            None => (None, false),
                        },
                    };
                    EvidenceLine {
                        place: format!(
                            "{}:{}",
                            names.get(ev.file as usize).map(|s| &**s).unwrap_or("?"),
                            ev.line
                        ),
                        text,
                        cut,
                    }
                })
                .collect();
            let more = (f.count.max(0) as u64).saturating_sub(lines.len() as u64);
            FindingEvidence { lines, more }
        })
        .collect()
}

/// The text of one record at its recorded offset, cut at [`MAX_LINE_BYTES`].
fn read_record(file: &File, ev: &Evidence) -> Option<(String, bool)> {
    use std::os::unix::fs::FileExt;
    let offset = ev.offset()?;
    let len = ev.len as usize;
    let want = len.min(MAX_LINE_BYTES);
    let mut buf = vec![0u8; want];
    let mut got = 0;
    while got < want {
        match file.read_at(&mut buf[got..], offset + got as u64) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return None,
        }
    }
    buf.truncate(got);
    // A file cut shorter since the scan may give fewer bytes (or zeros): shown as read.
    Some((lossy_record(&buf), got < len))
}

/// The file name of a finding's evidence inside the output folder.
pub fn file_name(f: &Finding) -> String {
    format!("evidence/{}.log", f.id)
}

/// Writes `evidence/` under `dir` (the staging folder): one file per finding.
pub fn write(dir: &Path, findings: &[Finding], evidence: &[FindingEvidence]) -> Result<()> {
    let folder = dir.join("evidence");
    std::fs::create_dir_all(&folder).map_err(|e| Error::io(&folder, e))?;
    for (f, ev) in findings.iter().zip(evidence) {
        let path = dir.join(file_name(f));
        let mut text = Vec::new();
        let _ = writeln!(
            text,
            "# finding {} · {} · {} · {} event(s) from {} to {}",
            f.id,
            f.kind,
            f.severity.as_str(),
            f.count,
            crate::time::rfc3339(f.first_seen_us),
            crate::time::rfc3339(f.last_seen_us)
        );
        let _ = writeln!(text, "# {}", f.detail.replace(['\n', '\r'], " "));
        let _ = writeln!(
            text,
            "# the earliest events and the latest, as logged (source_file:source_line: record)"
        );
        for l in &ev.lines {
            match &l.text {
                Some(t) => {
                    let _ = writeln!(text, "{}: {t}{}", l.place, if l.cut { "…" } else { "" });
                }
                None => {
                    let _ = writeln!(text, "{}: (text not known: read it at this line)", l.place);
                }
            }
        }
        if ev.more > 0 {
            let _ = writeln!(text, "# … and {} more event(s) not shown", ev.more);
        }
        // The folder is the run's own until it is published whole, so each file needs no
        // temporary name of its own (nor a flush to disk each: hundreds would cost seconds).
        std::fs::write(&path, &text).map_err(|e| Error::io(&path, e))?;
    }
    Ok(())
}
