//! `profile.parquet`: the login profile of a scan (see [`crate::pass::profile`]), one row per
//! (user, dimension, value), and reading it back for `--baseline DIR`.
//!
//! Long rather than wide, so that profiles merge in SQL as they merge here:
//! `SELECT user, dimension, value, min(label), sum(count), min(first_seen), max(last_seen)
//! FROM read_parquet([...]) GROUP BY ALL`.

use std::path::Path;
use std::sync::{Arc, OnceLock};

use arrow::array::{
    Array, ArrayRef, AsArray, Int64Builder, RecordBatch, StringBuilder, TimestampMillisecondBuilder,
};
use arrow::datatypes::SchemaRef;

use crate::error::{Error, Result};
use crate::pass::profile::{Dimension, Profile, Stat};
use crate::table::{self, Column, ColumnType::*, Storage::*};

/// The columns of `profile.parquet`, in file order.
pub const COLUMNS: [Column; 9] = [
    Column::new("user", Utf8, false, DictionaryText),
    Column::new("dimension", Utf8, false, DictionaryText),
    Column::new("value", Utf8, false, PlainText),
    // The AS organisation of an `asn` row.
    Column::new("label", Utf8, true, PlainText),
    Column::new("count", Int64, false, PlainFixed),
    Column::new("first_seen", TimestampMsUtc, false, PlainFixed),
    Column::new("last_seen", TimestampMsUtc, false, PlainFixed),
    // Exact times, so that a profile read back merges exactly.
    Column::new("first_seen_us", Int64, false, PlainFixed),
    Column::new("last_seen_us", Int64, false, PlainFixed),
];

/// The Arrow schema of `profile.parquet`.
pub fn schema() -> SchemaRef {
    static SCHEMA: OnceLock<SchemaRef> = OnceLock::new();
    SCHEMA.get_or_init(|| table::arrow_schema(&COLUMNS)).clone()
}

/// The profile as one record batch.
pub(crate) fn to_batch(p: &Profile) -> RecordBatch {
    let n = p.rows.len();
    let mut user = StringBuilder::new();
    let mut dim = StringBuilder::new();
    let mut value = StringBuilder::new();
    let mut label = StringBuilder::new();
    let mut count = Int64Builder::with_capacity(n);
    let mut first = TimestampMillisecondBuilder::with_capacity(n).with_timezone("UTC");
    let mut last = TimestampMillisecondBuilder::with_capacity(n).with_timezone("UTC");
    let mut first_us = Int64Builder::with_capacity(n);
    let mut last_us = Int64Builder::with_capacity(n);
    for ((u, d, v), s) in &p.rows {
        user.append_value(u);
        dim.append_value(d.as_str());
        value.append_value(v);
        label.append_option(s.label.as_deref());
        count.append_value(s.count as i64);
        first.append_value(s.first_us.div_euclid(1000));
        last.append_value(s.last_us.div_euclid(1000));
        first_us.append_value(s.first_us);
        last_us.append_value(s.last_us);
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(user.finish()),
        Arc::new(dim.finish()),
        Arc::new(value.finish()),
        Arc::new(label.finish()),
        Arc::new(count.finish()),
        Arc::new(first.finish()),
        Arc::new(last.finish()),
        Arc::new(first_us.finish()),
        Arc::new(last_us.finish()),
    ];
    RecordBatch::try_new(schema(), columns).expect("profile columns match the schema")
}

/// Writes `DIR/profile.parquet` (under a hidden temporary name, renamed when complete).
pub(crate) fn write(dir: &Path, p: &Profile) -> Result<()> {
    super::parquet::write_file_atomic(&dir.join("profile.parquet"), &to_batch(p), &COLUMNS)
}

/// Reads the profile of an earlier scan's output folder `dir` (or of a `profile.parquet`
/// named directly).
///
/// # Errors
/// A missing or unreadable file, or one that is not a profile, naming it.
pub fn read(dir: &Path) -> Result<Profile> {
    let path = if dir.is_dir() {
        dir.join("profile.parquet")
    } else {
        dir.to_path_buf()
    };
    let bad = |message: String| Error::Config {
        path: path.clone(),
        message,
    };
    let file = std::fs::File::open(&path).map_err(|e| Error::io(&path, e))?;
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
        .and_then(|b| b.build())
        .map_err(|e| bad(format!("not a profile.parquet: {e}")))?;
    let mut p = Profile::default();
    for batch in reader {
        let batch = batch.map_err(|e| bad(format!("not a profile.parquet: {e}")))?;
        let col = |name: &str| {
            batch
                .column_by_name(name)
                .cloned()
                .ok_or_else(|| bad(format!("no column {name}: not a profile.parquet")))
        };
        let text = |name: &str| -> Result<Vec<Option<String>>> {
            let c = arrow::compute::cast(&col(name)?, &arrow::datatypes::DataType::Utf8)
                .map_err(|e| bad(e.to_string()))?;
            Ok(c.as_string::<i32>()
                .iter()
                .map(|v| v.map(str::to_string))
                .collect())
        };
        let int = |name: &str| -> Result<Vec<i64>> {
            let c = arrow::compute::cast(&col(name)?, &arrow::datatypes::DataType::Int64)
                .map_err(|e| bad(e.to_string()))?;
            let c = c.as_primitive::<arrow::datatypes::Int64Type>();
            if c.null_count() > 0 {
                return Err(bad(format!(
                    "column {name} has nulls: not a profile.parquet"
                )));
            }
            Ok(c.values().to_vec())
        };
        let (users, dims, values, labels) = (
            text("user")?,
            text("dimension")?,
            text("value")?,
            text("label")?,
        );
        let (counts, firsts, lasts) = (int("count")?, int("first_seen_us")?, int("last_seen_us")?);
        for i in 0..batch.num_rows() {
            let d = dims[i].as_deref().unwrap_or("");
            let dimension = Dimension::parse(d)
                .ok_or_else(|| bad(format!("row {}: unknown dimension {d:?}", i + 1)))?;
            let stat = Stat {
                count: counts[i].max(0) as u64,
                first_us: firsts[i],
                last_us: lasts[i],
                label: labels[i].clone(),
            };
            let key = (
                users[i].clone().unwrap_or_default(),
                dimension,
                values[i].clone().unwrap_or_default(),
            );
            let mut one = Profile::default();
            one.rows.insert(key, stat);
            p.merge(one);
        }
    }
    Ok(p)
}
