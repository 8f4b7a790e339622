//! Parquet output: events as Hive partitions `events/dt=YYYY-MM-DD/part-NNNNN.parquet`, and
//! `findings.parquet`.
//!
//! Encoding is the expensive part of writing Parquet, so it is split from file writing:
//! workers encode each chunk's rows into a complete row group ([`RowGroupEncoder`], the
//! column-chunk API of arrow-rs), and the single [`PartitionedWriter`] only appends encoded
//! bytes, in input order, to the file of the row group's day. That keeps the output
//! deterministic whatever the thread count, and lets encoding use every core.
//!
//! Files appear only complete: each is written as a hidden `.part-NNNNN.parquet.tmp` and
//! renamed when its footer is written. A crash leaves only hidden temporaries, which no
//! `*.parquet` glob matches.
//!
//! Layout choices follow reference/athena-duckdb-parquet.md: ZSTD, Parquet 1.0 with v1 pages,
//! dictionary encoding, INT64 timestamps in milliseconds with UTC, files rolling over at about
//! 256 MB.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{AsArray, RecordBatch};
use arrow::datatypes::{Int32Type, SchemaRef};
use parquet::arrow::arrow_writer::{compute_leaves, ArrowColumnChunk, ArrowRowGroupWriterFactory};
use parquet::arrow::{add_encoded_arrow_schema_to_metadata, ArrowSchemaConverter, ArrowWriter};
use parquet::basic::{Compression, ZstdLevel};
use parquet::column::writer::ColumnCloseResult;
use parquet::file::properties::{EnabledStatistics, WriterProperties, WriterVersion};
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::{ColumnPath, SchemaDescriptor};

use crate::error::{Error, Result};

/// Roll over to a new part file past this many bytes.
pub const ROLLOVER_BYTES: usize = 256 << 20;
/// Row groups hold at most this many rows (about 64–128 MB of audit events).
pub const MAX_ROW_GROUP_ROWS: usize = 1 << 20;
/// At most this many part files are open at once; the least recently used is finished first.
/// Out-of-order input (rotated files newest first) touches few days at a time.
const MAX_OPEN_PARTS: usize = 8;

/// Writer properties shared by every Parquet file this tool writes.
pub fn writer_properties(schema: &SchemaRef) -> Arc<WriterProperties> {
    let mut builder = WriterProperties::builder()
        .set_writer_version(WriterVersion::PARQUET_1_0)
        .set_compression(Compression::ZSTD(
            ZstdLevel::try_new(ZSTD_LEVEL).expect("valid zstd level"),
        ))
        .set_max_row_group_row_count(Some(MAX_ROW_GROUP_ROWS))
        // Min/max per column chunk is what readers prune row groups with; page-level
        // statistics cost work per value for little gain on append-only logs.
        .set_statistics_enabled(EnabledStatistics::Chunk)
        .set_created_by(format!("forensics {}", env!("CARGO_PKG_VERSION")));
    for field in schema.fields() {
        let col = ColumnPath::from(field.name().as_str());
        // Nearly unique per row: a dictionary only costs hashing before it is abandoned.
        if [
            "event_time",
            "event_time_us",
            "query_id",
            "connection_id",
            "source_line",
            PLAIN_TEXT_COLUMN,
            "detail",
            "evidence",
        ]
        .contains(&field.name().as_str())
        {
            builder = builder.set_column_dictionary_enabled(col.clone(), false);
        }
        // String min/max costs a comparison per value and prunes little in an audit log
        // (every row group holds most users and hosts); time and id columns keep theirs.
        if field.data_type() == &arrow::datatypes::DataType::Utf8 {
            builder = builder.set_column_statistics_enabled(col, EnabledStatistics::None);
        }
    }
    let mut props = builder.build();
    add_encoded_arrow_schema_to_metadata(schema, &mut props);
    Arc::new(props)
}

/// One encoded row group, ready to append to a file.
pub struct EncodedRowGroup {
    pub day: i64,
    pub rows: usize,
    pub chunks: Vec<EncodedColumn>,
}

/// One encoded column chunk: by the arrow-rs column writer, or by [`super::columns`].
pub enum EncodedColumn {
    Arrow(ArrowColumnChunk),
    Raw(bytes::Bytes, ColumnCloseResult),
}

/// The event column of mostly distinct text (the query), written as PLAIN pages by
/// [`super::columns::encode_plain`] rather than through arrow-rs's generic byte-array path.
const PLAIN_TEXT_COLUMN: &str = "object";

/// The events' ZSTD level (fast; the reference advises 1–3).
const ZSTD_LEVEL: i32 = 1;

/// Encodes record batches into row groups; one per worker (cheap to clone).
#[derive(Clone)]
pub struct RowGroupEncoder {
    schema: SchemaRef,
    descr: Arc<SchemaDescriptor>,
    factory: Arc<ArrowRowGroupWriterFactory>,
}

impl RowGroupEncoder {
    pub fn new(schema: SchemaRef) -> Result<Self> {
        let props = writer_properties(&schema);
        let parquet_schema = ArrowSchemaConverter::new()
            .with_coerce_types(props.coerce_types())
            .convert(&schema)
            .map_err(|e| Error::Output {
                path: PathBuf::from("events"),
                message: e.to_string(),
            })?;
        // The factory only needs a file writer for its schema and properties.
        let sink =
            SerializedFileWriter::new(std::io::sink(), parquet_schema.root_schema_ptr(), props)
                .map_err(|e| Error::Output {
                    path: PathBuf::from("events"),
                    message: e.to_string(),
                })?;
        let factory = ArrowRowGroupWriterFactory::new(&sink, schema.clone());
        Ok(RowGroupEncoder {
            schema,
            descr: Arc::new(SchemaDescriptor::new(parquet_schema.root_schema_ptr())),
            factory: Arc::new(factory),
        })
    }

    /// Encodes one batch (all rows of one day) into a row group.
    pub fn encode(&self, day: i64, batch: &RecordBatch) -> Result<EncodedRowGroup> {
        let err = |e: parquet::errors::ParquetError| Error::Output {
            path: PathBuf::from("events"),
            message: e.to_string(),
        };
        // The schema is flat: column i is leaf i.
        let writers = self.factory.create_column_writers(0).map_err(err)?;
        let mut chunks = Vec::with_capacity(writers.len());
        for (i, ((field, column), mut writer)) in self
            .schema
            .fields()
            .iter()
            .zip(batch.columns())
            .zip(writers)
            .enumerate()
        {
            if let Some(dict) = column.as_dictionary_opt::<Int32Type>() {
                let (data, close) =
                    super::columns::encode_dictionary(self.descr.column(i), dict, ZSTD_LEVEL)
                        .map_err(err)?;
                chunks.push(EncodedColumn::Raw(data, close));
                continue;
            }
            if field.name() == PLAIN_TEXT_COLUMN {
                let (data, close) = super::columns::encode_plain(
                    self.descr.column(i),
                    column.as_string::<i32>(),
                    ZSTD_LEVEL,
                )
                .map_err(err)?;
                chunks.push(EncodedColumn::Raw(data, close));
                continue;
            }
            for leaf in compute_leaves(field, column).map_err(err)? {
                writer.write(&leaf).map_err(err)?;
            }
            chunks.push(EncodedColumn::Arrow(writer.close().map_err(err)?));
        }
        Ok(EncodedRowGroup {
            day,
            rows: batch.num_rows(),
            chunks,
        })
    }
}

struct OpenPart {
    tmp: PathBuf,
    dest: PathBuf,
    writer: SerializedFileWriter<BufWriter<File>>,
    last_use: u64,
}

/// Appends encoded row groups to per-day part files, in the order given.
pub struct PartitionedWriter {
    root: PathBuf,
    props: Arc<WriterProperties>,
    parquet_schema: parquet::schema::types::TypePtr,
    open: BTreeMap<i64, OpenPart>,
    next_part: BTreeMap<i64, u32>,
    clock: u64,
    pub files_written: Vec<PathBuf>,
    pub rows_written: u64,
}

impl PartitionedWriter {
    pub fn new(root: &Path, schema: SchemaRef) -> Result<Self> {
        let props = writer_properties(&schema);
        let parquet_schema = ArrowSchemaConverter::new()
            .with_coerce_types(props.coerce_types())
            .convert(&schema)
            .map_err(|e| Error::Output {
                path: root.to_path_buf(),
                message: e.to_string(),
            })?
            .root_schema_ptr();
        Ok(PartitionedWriter {
            root: root.to_path_buf(),
            props,
            parquet_schema,
            open: BTreeMap::new(),
            next_part: BTreeMap::new(),
            clock: 0,
            files_written: Vec::new(),
            rows_written: 0,
        })
    }

    pub fn append(&mut self, rg: EncodedRowGroup) -> Result<()> {
        self.clock += 1;
        if !self.open.contains_key(&rg.day) {
            if self.open.len() >= MAX_OPEN_PARTS {
                let lru = *self
                    .open
                    .iter()
                    .min_by_key(|(_, p)| p.last_use)
                    .expect("non-empty")
                    .0;
                self.finish_part(lru)?;
            }
            self.open_part(rg.day)?;
        }
        let part = self.open.get_mut(&rg.day).expect("just opened");
        part.last_use = self.clock;
        let dest = part.dest.clone();
        let err = |e: parquet::errors::ParquetError| Error::Output {
            path: dest.clone(),
            message: e.to_string(),
        };
        let mut group = part.writer.next_row_group().map_err(err)?;
        for chunk in rg.chunks {
            match chunk {
                EncodedColumn::Arrow(c) => c.append_to_row_group(&mut group).map_err(err)?,
                EncodedColumn::Raw(data, close) => {
                    group.append_column(&data, close).map_err(err)?
                }
            }
        }
        group.close().map_err(err)?;
        self.rows_written += rg.rows as u64;
        if part.writer.bytes_written() >= ROLLOVER_BYTES {
            self.finish_part(rg.day)?;
        }
        Ok(())
    }

    fn open_part(&mut self, day: i64) -> Result<()> {
        let dir = self
            .root
            .join(format!("dt={}", crate::time::date_string(day)));
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        let n = self.next_part.entry(day).or_insert(0);
        let name = format!("part-{:05}.parquet", *n);
        *n += 1;
        let dest = dir.join(&name);
        let tmp = dir.join(format!(".{name}.tmp"));
        let file = File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
        let writer = SerializedFileWriter::new(
            BufWriter::with_capacity(1 << 20, file),
            self.parquet_schema.clone(),
            self.props.clone(),
        )
        .map_err(|e| Error::Output {
            path: tmp.clone(),
            message: e.to_string(),
        })?;
        self.open.insert(
            day,
            OpenPart {
                tmp,
                dest,
                writer,
                last_use: self.clock,
            },
        );
        Ok(())
    }

    fn finish_part(&mut self, day: i64) -> Result<()> {
        let Some(part) = self.open.remove(&day) else {
            return Ok(());
        };
        let err = |e: parquet::errors::ParquetError| Error::Output {
            path: part.dest.clone(),
            message: e.to_string(),
        };
        let buf = part.writer.into_inner().map_err(err)?;
        let file = buf
            .into_inner()
            .map_err(|e| Error::io(&part.tmp, e.into_error()))?;
        file.sync_all().map_err(|e| Error::io(&part.tmp, e))?;
        std::fs::rename(&part.tmp, &part.dest).map_err(|e| Error::io(&part.dest, e))?;
        self.files_written.push(part.dest);
        Ok(())
    }

    /// Finishes every open part (writes footers, renames into place).
    pub fn finish(mut self) -> Result<(Vec<PathBuf>, u64)> {
        let days: Vec<i64> = self.open.keys().copied().collect();
        for day in days {
            self.finish_part(day)?;
        }
        self.files_written.sort();
        Ok((self.files_written, self.rows_written))
    }
}

/// Writes one batch to `path` atomically (temp name, then rename).
pub fn write_file_atomic(path: &Path, batch: &RecordBatch) -> Result<()> {
    let tmp = hidden_tmp(path);
    let file = File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
    let schema = batch.schema();
    let props = (*writer_properties(&schema)).clone();
    let err = |e: parquet::errors::ParquetError| Error::Output {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    let mut w = ArrowWriter::try_new(BufWriter::new(file), schema, Some(props)).map_err(err)?;
    w.write(batch).map_err(err)?;
    let buf = w.into_inner().map_err(err)?;
    let file = buf
        .into_inner()
        .map_err(|e| Error::io(&tmp, e.into_error()))?;
    file.sync_all().map_err(|e| Error::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
}

/// Writes bytes to `path` atomically (temp name, then rename).
pub fn write_bytes_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = hidden_tmp(path);
    std::fs::write(&tmp, bytes).map_err(|e| Error::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
}

fn hidden_tmp(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp"))
}
