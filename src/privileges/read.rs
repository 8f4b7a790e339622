//! `forensics privileges DIR`: the `events` of a scan's output folder read back into a
//! [`Usage`], row by row, as the scan observes its events.

use std::path::{Path, PathBuf};

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{DataType, Int32Type, Int64Type};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ProjectionMask;

use crate::error::{Error, Result};
use crate::event::Operation;

use super::{Engine, Row, Usage};

const COLUMNS: [&str; 11] = [
    "event_time_us",
    "source_format",
    "server_host",
    "user",
    "client_host",
    "client_ip",
    "operation",
    "database",
    "object",
    "retcode",
    "tls",
];

/// Every `*.parquet` under `dir/events`, sorted.
fn event_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let root = dir.join("events");
    if !root.is_dir() {
        return Err(Error::Usage(format!(
            "{}: no events/ folder (a scan's output folder, not written with --no-events)",
            dir.display()
        )));
    }
    let mut files = Vec::new();
    for e in walkdir::WalkDir::new(&root).sort_by_file_name() {
        let e = e.map_err(|e| Error::Usage(format!("{}: {e}", root.display())))?;
        let name = e.file_name().to_string_lossy();
        if e.file_type().is_file() && name.ends_with(".parquet") && !name.starts_with('.') {
            files.push(e.into_path());
        }
    }
    Ok(files)
}

/// Reads `dir/events` into a usage model.
///
/// # Errors
/// No `events/` folder, or a file that is not the events table.
pub fn usage_of_events(dir: &Path) -> Result<Usage> {
    let mut usage = Usage::default();
    for path in event_files(dir)? {
        let file = std::fs::File::open(&path).map_err(|e| Error::io(&path, e))?;
        let bad = |m: String| Error::Output {
            path: path.clone(),
            message: m,
        };
        let builder =
            ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| bad(e.to_string()))?;
        let schema = builder.parquet_schema();
        let mut indices = Vec::new();
        for name in COLUMNS {
            let i = (0..schema.num_columns())
                .find(|&i| schema.column(i).name() == name)
                .ok_or_else(|| bad(format!("not an events file: no column {name}")))?;
            indices.push(i);
        }
        let mask = ProjectionMask::leaves(schema, indices);
        let reader = builder
            .with_projection(mask)
            .with_batch_size(65_536)
            .build()
            .map_err(|e| bad(e.to_string()))?;
        for batch in reader {
            let batch = batch.map_err(|e| bad(e.to_string()))?;
            observe_batch(&mut usage, &batch).map_err(bad)?;
        }
    }
    Ok(usage)
}

fn strings(
    batch: &RecordBatch,
    name: &str,
) -> std::result::Result<arrow::array::StringArray, String> {
    let col = batch
        .column_by_name(name)
        .ok_or_else(|| format!("no column {name}"))?;
    let col = arrow::compute::cast(col, &DataType::Utf8).map_err(|e| e.to_string())?;
    Ok(col.as_string::<i32>().clone())
}

fn observe_batch(usage: &mut Usage, batch: &RecordBatch) -> std::result::Result<(), String> {
    let col = |name: &str| {
        batch
            .column_by_name(name)
            .cloned()
            .ok_or_else(|| format!("no column {name}"))
    };
    let time = col("event_time_us")?;
    let time = time
        .as_primitive_opt::<Int64Type>()
        .ok_or("event_time_us is not int64")?;
    let retcode = col("retcode")?;
    let retcode = retcode
        .as_primitive_opt::<Int32Type>()
        .ok_or("retcode is not int32")?;
    let tls = col("tls")?;
    let tls = tls.as_boolean_opt().ok_or("tls is not boolean")?;
    let format = strings(batch, "source_format")?;
    let server = strings(batch, "server_host")?;
    let user = strings(batch, "user")?;
    let host = strings(batch, "client_host")?;
    let ip = strings(batch, "client_ip")?;
    let op = strings(batch, "operation")?;
    let db = strings(batch, "database")?;
    let object = strings(batch, "object")?;
    let opt = |a: &arrow::array::StringArray, i: usize| -> Option<String> {
        a.is_valid(i).then(|| a.value(i).to_string())
    };
    for i in 0..batch.num_rows() {
        let Some(operation) = Operation::from_bytes(op.value(i).as_bytes()) else {
            continue;
        };
        if !super::matters(operation) {
            continue;
        }
        let obj = opt(&object, i);
        let row = Row {
            time_us: time.value(i),
            engine: Engine::of_name(format.value(i)),
            server: server.value(i).as_bytes(),
            user: user.value(i).as_bytes(),
            client_host: host.value(i).as_bytes(),
            client_ip: opt(&ip, i).and_then(|s| s.parse().ok()),
            operation,
            database: if db.is_valid(i) {
                db.value(i).as_bytes()
            } else {
                b""
            },
            object: obj.as_deref(),
            retcode: retcode.is_valid(i).then(|| retcode.value(i)),
            tls: tls.is_valid(i).then(|| tls.value(i)),
        };
        usage.observe(&row);
    }
    Ok(())
}
