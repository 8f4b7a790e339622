//! `control/dt=YYYY-MM-DD/part-NNNNN.parquet`: the CloudTrail records about databases
//! ([`crate::control::COLUMNS`]), written through the same row-group encoder and partitioned
//! writer as `events/` (ZSTD, Parquet 1.0, the table's storage per column), a day's rows in
//! time order.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::control::{self, ControlEvent};
use crate::error::Result;
use crate::sink::parquet::{PartitionedWriter, RowGroupEncoder, MAX_ROW_GROUP_ROWS};
use crate::time::day_of;

/// Writes `events` (sorted by time) under `dir` (the `control` folder of the staging
/// folder), each part named with `part_suffix` as the events' parts are (`-shard-I-of-N`);
/// returns the files written and the rows.
pub(crate) fn write(
    dir: &Path,
    events: &[ControlEvent],
    files: &[Arc<str>],
    pool: &rayon::ThreadPool,
    part_suffix: &str,
) -> Result<(Vec<PathBuf>, u64)> {
    let encoder = RowGroupEncoder::new(&control::COLUMNS)?;
    let mut writer = PartitionedWriter::new(dir, &control::COLUMNS)?.with_part_suffix(part_suffix);
    let mut at = 0;
    while at < events.len() {
        let day = day_of(events[at].time_us);
        let end = at
            + events[at..]
                .iter()
                .take(MAX_ROW_GROUP_ROWS)
                .take_while(|e| day_of(e.time_us) == day)
                .count();
        let rows: Vec<&ControlEvent> = events[at..end].iter().collect();
        writer.append(encoder.encode(day, &control::to_batch(&rows, files))?)?;
        at = end;
    }
    writer.finish(pool)
}
