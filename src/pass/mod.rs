//! Analysis passes: turn normalized events into findings.
//!
//! Every pass implements [`Pass`]: it observes events (the normalized columns only, never a
//! log format) inside the same single pass over the input as parsing, keeps bounded state
//! (aggregates per user, source or time window, never the event stream), and is built per
//! chunk in the workers, then merged in input order. Because merging is order-independent
//! for aggregates and the merge order is fixed anyway, findings do not depend on the thread
//! count. Adding a pass touches this folder only.

use crate::event::Event;
use crate::finding::Finding;

pub mod config;

pub use config::AnalysisConfig;

/// Where an event came from: the input file (index into the run's file list) and line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Evidence {
    pub file: u32,
    pub line: u64,
}

/// What a pass needs to finish: the configuration and a way to name evidence.
pub struct FinishContext<'a> {
    pub config: &'a AnalysisConfig,
    pub files: &'a [std::sync::Arc<str>],
}

impl FinishContext<'_> {
    /// `source_file:source_line` of an event.
    pub fn evidence(&self, ev: Evidence) -> String {
        let file = self
            .files
            .get(ev.file as usize)
            .map(|s| &**s)
            .unwrap_or("?");
        format!("{file}:{}", ev.line)
    }
}

/// One analysis pass. `observe` runs on the hot path, once per event.
pub trait Pass: Send + Sized {
    fn new(config: &AnalysisConfig) -> Self;
    fn observe(&mut self, event: &Event<'_>, evidence: Evidence);
    /// Folds in the state of a later chunk.
    fn merge(&mut self, later: Self);
    fn finish(self, ctx: &FinishContext<'_>, out: &mut Vec<Finding>);
}

/// All passes of a run, as one value the pipeline can observe, merge and finish.
pub struct PassSet {}

impl PassSet {
    pub fn new(_config: &AnalysisConfig) -> Self {
        PassSet {}
    }

    #[inline]
    pub fn observe(&mut self, _event: &Event<'_>, _evidence: Evidence) {}

    pub fn merge(&mut self, _later: PassSet) {}

    pub fn finish(self, _ctx: &FinishContext<'_>) -> Vec<Finding> {
        Vec::new()
    }
}
