//! The consumer of a scan: unit outputs arrive here in input order; row groups go to the
//! writer, pass states are merged, and each file's notes and counts are kept for the summary.

use crate::error::Error;
use crate::error::Result;
use crate::input;
use crate::pass::profile::ProfileBuilder;
use crate::pass::PassSet;
use crate::session::{Activity, SessionBook};
use crate::sink::assemble::FileState;
use crate::sink::evidence::KeptTexts;
use crate::sink::parquet::PartitionedWriter;
use crate::sink::sessions::SessionWriter;

use super::{FileNote, UnitOutput};

/// What the consumer keeps while outputs arrive in order.
pub(crate) struct RunState<'a> {
    pub(crate) files: &'a [input::InputFile],
    pub(crate) per_file: Vec<FileState>,
    pub(crate) passes: Option<PassSet>,
    pub(crate) sessions: SessionBook,
    pub(crate) activity: Activity,
    /// `sessions.parquet` while it is written; dropped (and its error kept) on a failure.
    pub(crate) session_writer: Option<SessionWriter>,
    pub(crate) session_error: Option<Error>,
    /// `--privileges`: each user's use, merged in input order.
    pub(crate) privileges: Option<crate::privileges::Usage>,
    /// CloudTrail's database records, in input order, and the other records per service.
    pub(crate) control: Vec<crate::control::ControlEvent>,
    pub(crate) control_ignored: std::collections::BTreeMap<String, u64>,
    /// This scan's login profile, fed with each session as it ends.
    pub(crate) profile: ProfileBuilder,
    pub(crate) geoip: Option<std::sync::Arc<crate::intel::GeoIp>>,
    /// The texts of records not in their files as stored (see [`crate::sink::evidence`]),
    /// by (file, line), for the evidence the merged passes and the profile's logins may still
    /// show.
    pub(crate) texts: KeptTexts,
    /// How many texts were left by the last pruning: the map is pruned again at twice that.
    texts_pruned: usize,
}

/// Kept texts are not pruned below this many (pruning walks the whole pass state).
const TEXTS_PRUNE_FLOOR: usize = 4096;

impl<'a> RunState<'a> {
    pub(crate) fn new(files: &'a [input::InputFile]) -> Self {
        RunState {
            files,
            per_file: (0..files.len()).map(|_| FileState::default()).collect(),
            passes: None,
            sessions: SessionBook::default(),
            activity: Activity::default(),
            session_writer: None,
            session_error: None,
            privileges: None,
            control: Vec::new(),
            control_ignored: Default::default(),
            profile: ProfileBuilder::default(),
            geoip: None,
            texts: KeptTexts::default(),
            texts_pruned: 0,
        }
    }

    /// Hands over the sessions still open, and finishes `sessions.parquet`.
    pub(crate) fn finish_sessions(&mut self) -> Option<crate::error::Result<u64>> {
        let book = std::mem::take(&mut self.sessions);
        let (activity, writer, error, profile, geo) = (
            &mut self.activity,
            &mut self.session_writer,
            &mut self.session_error,
            &mut self.profile,
            self.geoip.as_deref(),
        );
        self.sessions.minutes = book.finish(&mut |s| {
            activity.add(&s);
            add_login(profile, &s, geo);
            write_session(writer, error, &s);
        });
        if let Some(e) = self.session_error.take() {
            return Some(Err(e));
        }
        self.session_writer.take().map(|w| w.finish())
    }

    pub(crate) fn consume(
        &mut self,
        out: UnitOutput,
        writer: Option<&mut PartitionedWriter>,
    ) -> Result<()> {
        match out {
            UnitOutput::File { file, note } => {
                let Some(st) = self.per_file.get_mut(file) else {
                    return Ok(());
                };
                match note {
                    FileNote::Format {
                        format,
                        compression,
                    } => {
                        st.format = Some(format);
                        st.compression =
                            Some(compression.name().to_string()).filter(|s| !s.is_empty());
                    }
                    FileNote::Sha256 { hex, bytes } => {
                        st.sha256 = Some(hex);
                        st.bytes = Some(bytes);
                    }
                    FileNote::Skipped(r) => st.skipped = Some(r),
                    FileNote::Error(m) => st.errors.push(m),
                    FileNote::Changed(r) => st.changed = Some(r),
                }
            }
            UnitOutput::Control(c) => {
                let c = *c;
                self.control.extend(c.events);
                for (service, n) in c.ignored {
                    *self.control_ignored.entry(service).or_insert(0) += n;
                }
                if let Some(st) = self.per_file.get_mut(c.file) {
                    st.stats.merge(c.stats);
                }
            }
            UnitOutput::Chunk(c) => {
                let c = *c;
                // A write error (a full disk) costs the events only: the chunk's counts and
                // pass state are still merged, and the error returned after.
                let mut written = Ok(());
                if let Some(w) = writer {
                    for rg in c.row_groups {
                        written = w.append(rg);
                        if written.is_err() {
                            break;
                        }
                    }
                }
                match &mut self.passes {
                    Some(p) => p.merge(c.passes),
                    None => self.passes = Some(c.passes),
                }
                if let Some(u) = c.privileges {
                    match &mut self.privileges {
                        Some(p) => p.merge(*u),
                        None => self.privileges = Some(*u),
                    }
                }
                let (activity, writer, error, profile, geo) = (
                    &mut self.activity,
                    &mut self.session_writer,
                    &mut self.session_error,
                    &mut self.profile,
                    self.geoip.as_deref(),
                );
                self.sessions.add(c.sessions, &mut |s| {
                    activity.add(&s);
                    add_login(profile, &s, geo);
                    write_session(writer, error, &s);
                });
                // After the sessions: the profile then holds the logins this chunk ended.
                if !c.texts.is_empty() {
                    self.keep_texts(c.file as u32, c.texts);
                }
                let st = &mut self.per_file[c.file];
                if let Some(e) = c.error {
                    st.errors.push(e);
                }
                st.stats.merge(c.stats);
                return written;
            }
        }
        Ok(())
    }
}

impl RunState<'_> {
    /// Adds a chunk's texts; past twice the size the last pruning left (and a floor), keeps
    /// only those of the places the merged passes, the profile or an open session's login
    /// still reference, so the map stays within a small multiple of the evidence held,
    /// whatever the input's size. Chunks come
    /// in input order whatever the thread count, and a place the merged state dropped is never
    /// referenced again, so the texts read at the end do not depend on the split.
    fn keep_texts(&mut self, file: u32, texts: Vec<(u64, crate::sink::evidence::KeptText)>) {
        for (line, t) in texts {
            self.texts.entry((file, line)).or_insert(t);
        }
        if self.texts.len() <= (2 * self.texts_pruned).max(TEXTS_PRUNE_FLOOR) {
            return;
        }
        let mut live: std::collections::HashSet<(u32, u64), foldhash::fast::FixedState> =
            Default::default();
        let mut mark = |ev: &mut crate::finding::Evidence| {
            live.insert((ev.file, ev.line));
        };
        if let Some(p) = &mut self.passes {
            p.for_each_evidence(&mut mark);
        }
        // The logins `anomalous_login` may quote: those the profile keeps, and those of the
        // sessions still open (their login reaches the profile when they end).
        self.profile.for_each_evidence(&mut mark);
        self.sessions.for_each_evidence(&mut mark);
        self.texts.retain(|k, _| live.contains(k));
        self.texts_pruned = self.texts.len();
    }
}

/// Writes one session; the first failure drops the writer (and its temporary) and is kept.
fn write_session(
    writer: &mut Option<SessionWriter>,
    error: &mut Option<Error>,
    s: &crate::session::Session,
) {
    if let Some(w) = writer {
        if let Err(e) = w.push(s) {
            if let Some(w) = writer.take() {
                w.abandon();
            }
            error.get_or_insert(e);
        }
    }
}

/// Adds a session's successful login, if it has one, to the profile.
fn add_login(
    profile: &mut ProfileBuilder,
    s: &crate::session::Session,
    geo: Option<&crate::intel::GeoIp>,
) {
    let (Some(login), Some(time_us)) = (s.login, s.login_us) else {
        return;
    };
    if !login.success {
        return;
    }
    let login = crate::pass::profile::Login {
        user: &s.user,
        client_host: &s.client_host,
        time_us,
        databases: &s.databases,
        tls: s.tls,
        evidence: s.login_evidence,
    };
    profile.add(&login, geo);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::evidence::KeptText;

    #[test]
    fn kept_texts_are_pruned_to_the_places_the_passes_still_hold() {
        let out = super::super::tests::run(&super::super::tests::chunk(), None);
        let texts = out.texts.clone();
        let mut run = RunState::new(&[]);
        run.passes = Some(out.passes);
        // The chunk's sessions reach the profile first, as in `consume`.
        let (sessions, profile) = (&mut run.sessions, &mut run.profile);
        sessions.add(out.sessions, &mut |s| add_login(profile, &s, None));
        run.keep_texts(3, texts.clone());
        // Under the floor: nothing pruned.
        let stale = |n: u64| {
            (0..n)
                .map(|i| (1_000_000 + i, KeptText::of(b"x")))
                .collect()
        };
        run.keep_texts(3, stale(100));
        assert_eq!(run.texts.len(), texts.len() + 100);
        // Past it: only the places the passes hold are left, their texts unchanged.
        run.keep_texts(3, stale(TEXTS_PRUNE_FLOOR as u64));
        assert_eq!(run.texts.len(), texts.len());
        for (line, t) in &texts {
            assert_eq!(run.texts.get(&(3, *line)), Some(t));
        }
        assert_eq!(run.texts_pruned, texts.len());
    }

    /// The texts of logins that `anomalous_login` may still quote survive pruning: those the
    /// profile keeps and those of sessions still open.
    #[test]
    fn kept_texts_of_logins_survive_pruning() {
        use crate::finding::Evidence;
        use crate::session::{Login, Session, SessionChunk};
        let mut run = RunState::new(&[]);
        let name = |s: &str| -> crate::session::Name { s.as_bytes().into() };
        run.profile.add(
            &crate::pass::profile::Login {
                user: b"admin",
                client_host: b"192.0.2.7",
                time_us: 1,
                databases: &[],
                tls: None,
                evidence: Evidence::at(3, 2_000_000),
            },
            None,
        );
        let open = Session {
            server: name("db"),
            connection_id: 9,
            user: name("app"),
            client_host: name("10.0.0.1"),
            login: Some(Login {
                operation: crate::event::Operation::Connect,
                success: true,
            }),
            login_us: Some(2),
            logout_us: None,
            first_us: 2,
            last_us: 2,
            first_at: (3, 2_000_001),
            last_at: (3, 2_000_001),
            login_evidence: Evidence::at(3, 2_000_001),
            tls: None,
            events: 1,
            statements: Default::default(),
            databases: Vec::new(),
            head: false,
            ended: false,
        };
        let chunk = SessionChunk {
            parts: vec![open],
            minutes: Vec::new(),
        };
        run.sessions
            .add(chunk, &mut |_| panic!("the session is open"));
        let mut texts: Vec<(u64, KeptText)> = (0..TEXTS_PRUNE_FLOOR as u64 + 1)
            .map(|i| (1_000_000 + i, KeptText::of(b"x")))
            .collect();
        texts.push((2_000_000, KeptText::of(b"login kept by the profile")));
        texts.push((2_000_001, KeptText::of(b"login of an open session")));
        run.keep_texts(3, texts);
        let mut left: Vec<u64> = run.texts.keys().map(|k| k.1).collect();
        left.sort();
        assert_eq!(left, [2_000_000, 2_000_001]);
    }
}
