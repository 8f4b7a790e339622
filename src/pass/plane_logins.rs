//! The logins the joins of the two planes need (see [`super::control_plane`]): every
//! successful login per (file, server, user, source), with its first and last time and a
//! sample. Off unless the run reads CloudTrail ([`AnalysisConfig::control_plane`]): then one
//! branch per event, and a map update per login.

use super::{AnalysisConfig, FinishContext, Name, Observed, Pass, Seen};
use crate::finding::Finding;

/// (file, server host, user, source) → logins.
pub(crate) type LoginTable = std::collections::HashMap<(u32, Name, Name, Name), Seen>;

pub(crate) struct PlaneLoginsPass {
    on: bool,
    pub(crate) logins: LoginTable,
}

impl Pass for PlaneLoginsPass {
    fn for_each_evidence(&mut self, f: &mut dyn FnMut(&mut super::Evidence)) {
        for x in self.logins.values_mut() {
            x.for_each_evidence(f);
        }
    }

    fn new(config: &AnalysisConfig) -> Self {
        PlaneLoginsPass {
            on: config.control_plane,
            logins: LoginTable::new(),
        }
    }

    #[inline]
    fn observe(&mut self, o: &Observed<'_, '_>) {
        if !self.on || !o.is_successful_login() {
            return;
        }
        let e = o.event;
        let key = (
            o.evidence.file,
            e.server_host.into(),
            e.user.into(),
            o.source(),
        );
        self.logins
            .entry(key)
            .and_modify(|s| s.add(e.time_us, o.evidence))
            .or_insert_with(|| Seen::new(e.time_us, o.evidence));
    }

    fn merge(&mut self, later: Self) {
        super::merge_map(&mut self.logins, later.logins, |a, b| a.merge(b));
    }

    /// No finding of its own: [`super::control_plane`] reads the table.
    fn finish(self, _: &FinishContext<'_>, _: &mut Vec<Finding>) {}
}
