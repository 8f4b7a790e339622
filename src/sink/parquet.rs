//! Parquet output: events as Hive partitions `events/dt=YYYY-MM-DD/part-NNNNN.parquet`, and
//! `findings.parquet`.
//!
//! Encoding is the expensive part of writing Parquet, so it is split from file writing:
//! workers encode each chunk's rows of each day into a row-group piece ([`RowGroupEncoder`]:
//! compressed PLAIN pages, and the keys of the dictionary columns), and the single
//! [`PartitionedWriter`] joins the pieces of a day, in input order, into row groups of up to
//! [`MAX_ROW_GROUP_ROWS`] rows (pages follow each other; only the small dictionary columns
//! are encoded there, after their pieces' dictionaries are merged). That keeps the output
//! deterministic whatever the thread count, lets the heavy encoding use every core, and
//! still gives readers (Athena) row groups of about a million rows, not one per chunk.
//!
//! Files appear only complete: each is written as a hidden `.part-NNNNN.parquet.tmp` and
//! renamed when its footer is written. A crash leaves only hidden temporaries, which no
//! `*.parquet` glob matches; a write that fails (a full disk) removes its temporary, and a
//! writer dropped before [`PartitionedWriter::finish`] removes those of its open parts. (A
//! scan writes all of this inside its staging folder, see [`super::output`].) Errors name
//! the file's final path, not its temporary.
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
use arrow::datatypes::{Int32Type, Int64Type, SchemaRef};
use parquet::arrow::{add_encoded_arrow_schema_to_metadata, ArrowSchemaConverter, ArrowWriter};
use parquet::basic::{Compression, ZstdLevel};
use parquet::column::writer::ColumnCloseResult;
use parquet::file::properties::{EnabledStatistics, WriterProperties, WriterVersion};
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::{ColumnDescPtr, ColumnPath, SchemaDescriptor};

use super::pages::{self, ColumnPages, DictPiece};

use crate::error::{Error, Result};
use crate::table::{self, Column, Storage};

/// Roll over to a new part file past this many bytes.
pub(crate) const ROLLOVER_BYTES: usize = 256 << 20;
/// Row groups hold at most this many rows (about 200 MB of audit log text, 15–30 MB of
/// Parquet).
pub(crate) const MAX_ROW_GROUP_ROWS: usize = 1 << 20;
/// At most this many part files are open at once; the least recently used is finished first.
/// Out-of-order input (rotated files newest first) touches few days at a time.
const MAX_OPEN_PARTS: usize = 8;

/// Writer properties of a Parquet file of the table `columns` (with Arrow schema `schema`).
pub(crate) fn writer_properties(schema: &SchemaRef, columns: &[Column]) -> Arc<WriterProperties> {
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
    for column in columns {
        let path = ColumnPath::from(column.name);
        if !column.storage.dictionary() {
            builder = builder.set_column_dictionary_enabled(path.clone(), false);
        }
        if !column.storage.statistics() {
            builder = builder.set_column_statistics_enabled(path, EnabledStatistics::None);
        }
    }
    let mut props = builder.build();
    add_encoded_arrow_schema_to_metadata(schema, &mut props);
    Arc::new(props)
}

/// The encoded rows of one day from one chunk: a piece of a row group. The writer joins the
/// pieces of consecutive chunks into row groups of up to [`MAX_ROW_GROUP_ROWS`] rows.
pub struct EncodedRowGroup {
    pub day: i64,
    pub rows: usize,
    pub chunks: Vec<EncodedColumn>,
}

/// One column of an [`EncodedRowGroup`].
pub enum EncodedColumn {
    /// Compressed data pages (no dictionary page), which join with the next piece's pages.
    Pages(ColumnPages),
    /// A dictionary column: pieces have their own dictionaries, so the column is encoded when
    /// its row group is written, after the pieces' dictionaries are merged. The keys are small
    /// next to the rest of a row group's data.
    Dictionary(DictPiece),
}

/// The events' ZSTD level (fast; the reference advises 1–3).
const ZSTD_LEVEL: i32 = 1;

/// Encodes record batches into row-group pieces; one per worker (cheap to clone).
///
/// Every event column is encoded by [`super::pages`]: PLAIN pages for the query text and
/// the fixed-width columns (compressed here, on the worker's core), dictionary columns as
/// their keys (encoded by the writer, see [`EncodedColumn::Dictionary`]).
#[derive(Clone)]
pub struct RowGroupEncoder {
    columns: &'static [Column],
    descr: Arc<SchemaDescriptor>,
}

impl RowGroupEncoder {
    /// An encoder of the table `columns` (each column's [`Storage`] says how it is encoded).
    pub fn new(columns: &'static [Column]) -> Result<Self> {
        let descr = schema_descriptor(columns).map_err(|e| Error::Output {
            path: PathBuf::from("events"),
            message: e.to_string(),
        })?;
        Ok(RowGroupEncoder { columns, descr })
    }

    /// Encodes one batch (rows of one day) into a row-group piece.
    pub fn encode(&self, day: i64, batch: &RecordBatch) -> Result<EncodedRowGroup> {
        let err = |e: parquet::errors::ParquetError| Error::Output {
            path: PathBuf::from("events"),
            message: e.to_string(),
        };
        let mismatch = |c: &Column| {
            err(parquet::errors::ParquetError::General(format!(
                "column {} does not have the type its storage needs",
                c.name
            )))
        };
        let mut chunks = Vec::with_capacity(batch.num_columns());
        // The schema is flat: column i is leaf i.
        for (i, (c, column)) in self.columns.iter().zip(batch.columns()).enumerate() {
            let descr = self.descr.column(i);
            let chunk = match c.storage {
                Storage::DictionaryText => {
                    let dict = column
                        .as_dictionary_opt::<Int32Type>()
                        .ok_or_else(|| mismatch(c))?;
                    EncodedColumn::Dictionary(DictPiece::new(dict).map_err(err)?)
                }
                Storage::DictionaryFixed => {
                    let ints = column
                        .as_primitive_opt::<Int64Type>()
                        .ok_or_else(|| mismatch(c))?;
                    EncodedColumn::Dictionary(DictPiece::from_int64(ints))
                }
                Storage::PlainText => EncodedColumn::Pages(
                    pages::encode_plain(descr, column.as_string::<i32>(), ZSTD_LEVEL)
                        .map_err(err)?,
                ),
                Storage::PlainFixed => EncodedColumn::Pages(
                    pages::encode_fixed(descr, column.as_ref(), ZSTD_LEVEL).map_err(err)?,
                ),
            };
            chunks.push(chunk);
        }
        Ok(EncodedRowGroup {
            day,
            rows: batch.num_rows(),
            chunks,
        })
    }
}

/// The Parquet schema of the files written for the table `columns`, as arrow-rs converts it.
fn schema_descriptor(columns: &[Column]) -> parquet::errors::Result<Arc<SchemaDescriptor>> {
    let schema = table::arrow_schema(columns);
    let props = writer_properties(&schema, columns);
    let parquet_schema = ArrowSchemaConverter::new()
        .with_coerce_types(props.coerce_types())
        .convert(&schema)?;
    Ok(Arc::new(SchemaDescriptor::new(
        parquet_schema.root_schema_ptr(),
    )))
}

/// One column of consecutive pieces as one column chunk: pages joined, or dictionaries merged
/// and encoded.
fn join_column(
    descr: ColumnDescPtr,
    pieces: Vec<EncodedColumn>,
) -> parquet::errors::Result<(bytes::Bytes, ColumnCloseResult)> {
    let mut pages: Option<ColumnPages> = None;
    let mut dicts = Vec::new();
    for piece in pieces {
        match piece {
            EncodedColumn::Pages(p) => match pages.as_mut() {
                Some(all) => all.append(p)?,
                None => pages = Some(p),
            },
            EncodedColumn::Dictionary(d) => dicts.push(d),
        }
    }
    match (pages, dicts.is_empty()) {
        (Some(pages), true) => pages.finish(descr),
        (None, false) => {
            let merged = pages::merge_dictionaries(&dicts)?;
            pages::encode_dictionary(descr, &merged, ZSTD_LEVEL)
        }
        _ => Err(parquet::errors::ParquetError::General(format!(
            "column {}: pieces encoded in different ways",
            descr.name()
        ))),
    }
}

struct OpenPart {
    tmp: PathBuf,
    dest: PathBuf,
    writer: SerializedFileWriter<BufWriter<File>>,
    last_use: u64,
    /// Pieces of the next row group, in input order.
    pending: Vec<EncodedRowGroup>,
    pending_rows: usize,
}

/// At most about this many row groups' worth of rows wait in pieces across all open parts; past it the other
/// parts' waiting rows are written, least recently used first. Input in time order then holds
/// one day's row group at a time, and input out of order cannot make the writer hold more
/// than a row group or two.
const MAX_PENDING_ROW_GROUPS: usize = 1;
/// A day's row group is written once this many pieces wait for it, whatever their rows: each
/// piece carries its columns' own buffers, so a run of many small files (a piece per file)
/// would otherwise hold a buffer set per file until a million rows come together (1.7 GB
/// for 100,000 two-line files). A normal chunk is a piece of some 20,000 rows, so normal row
/// groups (about 50 pieces) never reach it.
const MAX_PENDING_PIECES: usize = 1024;

/// Appends encoded row groups to per-day part files, in the order given.
pub struct PartitionedWriter {
    root: PathBuf,
    props: Arc<WriterProperties>,
    parquet_schema: parquet::schema::types::TypePtr,
    descr: Arc<SchemaDescriptor>,
    open: BTreeMap<i64, OpenPart>,
    next_part: BTreeMap<i64, u32>,
    clock: u64,
    pending_rows: usize,
    /// Rows per row group, at most ([`MAX_ROW_GROUP_ROWS`]; smaller in tests).
    row_group_rows: usize,
    /// Pieces waiting per row group, at most ([`MAX_PENDING_PIECES`]; smaller in tests).
    max_pending_pieces: usize,
    pub files_written: Vec<PathBuf>,
    pub rows_written: u64,
    /// Appended to each part's name (`-shard-I-of-N` for a sharded scan).
    part_suffix: String,
}

impl PartitionedWriter {
    /// Names the parts `part-NNNNN{suffix}.parquet` (a sharded scan's parts carry its shard,
    /// so the parts of N scans can be gathered into one folder without collisions).
    pub fn with_part_suffix(mut self, suffix: &str) -> Self {
        self.part_suffix = suffix.to_string();
        self
    }

    /// A writer of the table `columns` under `root`.
    pub fn new(root: &Path, columns: &[Column]) -> Result<Self> {
        let schema = table::arrow_schema(columns);
        let props = writer_properties(&schema, columns);
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
            descr: Arc::new(SchemaDescriptor::new(parquet_schema.clone())),
            parquet_schema,
            open: BTreeMap::new(),
            next_part: BTreeMap::new(),
            clock: 0,
            pending_rows: 0,
            row_group_rows: MAX_ROW_GROUP_ROWS,
            max_pending_pieces: MAX_PENDING_PIECES,
            files_written: Vec::new(),
            rows_written: 0,
            part_suffix: String::new(),
        })
    }

    /// Row groups of at most `rows` rows (tests use small ones).
    #[cfg(test)]
    pub(crate) fn with_row_group_rows(mut self, rows: usize) -> Self {
        self.row_group_rows = rows.max(1);
        self
    }

    /// At most `pieces` pieces waiting per row group (tests use few).
    #[cfg(test)]
    pub(crate) fn with_max_pending_pieces(mut self, pieces: usize) -> Self {
        self.max_pending_pieces = pieces.max(1);
        self
    }

    /// Adds a piece of a row group for its day. Pieces of one day are joined, in the order
    /// given, into row groups of up to [`MAX_ROW_GROUP_ROWS`] rows.
    pub fn append(&mut self, rg: EncodedRowGroup) -> Result<()> {
        self.clock += 1;
        let day = rg.day;
        if !self.open.contains_key(&day) {
            if self.open.len() >= MAX_OPEN_PARTS {
                let lru = *self
                    .open
                    .iter()
                    .min_by_key(|(_, p)| p.last_use)
                    .expect("non-empty")
                    .0;
                self.finish_part(lru)?;
            }
            self.open_part(day)?;
        }
        let part = self.open.get_mut(&day).expect("just opened");
        part.last_use = self.clock;
        if part.pending_rows + rg.rows > self.row_group_rows {
            self.write_row_group(day)?;
            if !self.open.contains_key(&day) {
                // It rolled over.
                self.open_part(day)?;
            }
        }
        let part = self.open.get_mut(&day).expect("open");
        part.pending_rows += rg.rows;
        self.pending_rows += rg.rows;
        part.pending.push(rg);
        if part.pending.len() >= self.max_pending_pieces {
            self.write_row_group(day)?;
        }
        while self.pending_rows > self.row_group_rows * MAX_PENDING_ROW_GROUPS {
            // The day that has waited longest for more rows: with input in time order, the
            // day before this one, whose rows are complete.
            let Some(lru) = self
                .open
                .iter()
                .filter(|(d, p)| **d != day && p.pending_rows > 0)
                .min_by_key(|(_, p)| p.last_use)
                .map(|(d, _)| *d)
            else {
                break;
            };
            self.write_row_group(lru)?;
        }
        Ok(())
    }

    /// Writes the waiting pieces of `day` as one row group, and rolls the part over if it
    /// has grown past [`ROLLOVER_BYTES`].
    fn write_row_group(&mut self, day: i64) -> Result<()> {
        let Some((columns, rows)) = self.take_pending(day) else {
            return Ok(());
        };
        let joined = columns
            .into_iter()
            .enumerate()
            .map(|(i, pieces)| join_column(self.descr.column(i), pieces))
            .collect();
        self.append_joined(day, joined, rows)
    }

    /// The waiting pieces of `day`, column by column, and their row count.
    fn take_pending(&mut self, day: i64) -> Option<(Vec<Vec<EncodedColumn>>, usize)> {
        let part = self.open.get_mut(&day)?;
        if part.pending.is_empty() {
            return None;
        }
        let pieces = std::mem::take(&mut part.pending);
        let rows = std::mem::take(&mut part.pending_rows);
        self.pending_rows -= rows;
        let mut columns: Vec<Vec<EncodedColumn>> = (0..self.descr.num_columns())
            .map(|_| Vec::with_capacity(pieces.len()))
            .collect();
        for piece in pieces {
            for (i, chunk) in piece.chunks.into_iter().enumerate() {
                columns[i].push(chunk);
            }
        }
        Some((columns, rows))
    }

    /// Appends a row group of joined columns to `day`'s part, and rolls the part over if it
    /// has grown past [`ROLLOVER_BYTES`].
    fn append_joined(&mut self, day: i64, joined: Vec<JoinedColumn>, rows: usize) -> Result<()> {
        let part = self
            .open
            .get_mut(&day)
            .expect("pending pieces belong to an open part");
        let dest = part.dest.clone();
        let err = |e: parquet::errors::ParquetError| Error::Output {
            path: dest.clone(),
            message: e.to_string(),
        };
        let mut group = part.writer.next_row_group().map_err(err)?;
        for column in joined {
            let (data, close) = column.map_err(err)?;
            group.append_column(&data, close).map_err(err)?;
        }
        group.close().map_err(err)?;
        part.writer.flush().map_err(|e| Error::io(&part.dest, e))?;
        start_writeback(part.writer.inner().get_ref());
        self.rows_written += rows as u64;
        if part.writer.bytes_written() >= ROLLOVER_BYTES {
            self.finish_part(day)?;
        }
        Ok(())
    }

    fn open_part(&mut self, day: i64) -> Result<()> {
        let dir = self
            .root
            .join(format!("dt={}", crate::time::date_string(day)));
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        let n = self.next_part.entry(day).or_insert(0);
        let name = format!("part-{:05}{}.parquet", *n, self.part_suffix);
        *n += 1;
        let dest = dir.join(&name);
        let tmp = dir.join(format!(".{name}.tmp"));
        let file = File::create(&tmp).map_err(|e| Error::io(&dest, e))?;
        let writer = SerializedFileWriter::new(
            BufWriter::with_capacity(1 << 20, file),
            self.parquet_schema.clone(),
            self.props.clone(),
        )
        .map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            Error::Output {
                path: dest.clone(),
                message: e.to_string(),
            }
        })?;
        self.open.insert(
            day,
            OpenPart {
                tmp,
                dest,
                writer,
                last_use: self.clock,
                pending: Vec::new(),
                pending_rows: 0,
            },
        );
        Ok(())
    }

    fn finish_part(&mut self, day: i64) -> Result<()> {
        if self.open.get(&day).is_some_and(|p| !p.pending.is_empty()) {
            // The last row group (a rollover inside finishes the part already).
            self.write_row_group(day)?;
        }
        let Some(part) = self.open.remove(&day) else {
            return Ok(());
        };
        let (file, tmp, dest) = part.close()?;
        part_into_place(&file, &tmp, &dest)?;
        self.files_written.push(dest);
        Ok(())
    }

    /// Finishes every open part (writes the waiting row groups and footers, renames into
    /// place). The waiting row groups' columns are joined in parallel on `pool`, and the
    /// files are flushed to disk in parallel: this is the one stretch of writing that no
    /// parsing overlaps.
    pub fn finish(mut self, pool: &rayon::ThreadPool) -> Result<(Vec<PathBuf>, u64)> {
        use rayon::prelude::*;
        let days: Vec<i64> = self.open.keys().copied().collect();
        let mut jobs = Vec::new();
        let mut groups = Vec::new();
        for &day in &days {
            if let Some((columns, rows)) = self.take_pending(day) {
                groups.push((day, columns.len(), rows));
                jobs.extend(
                    columns
                        .into_iter()
                        .enumerate()
                        .map(|(i, pieces)| (self.descr.column(i), pieces)),
                );
            }
        }
        let mut joined = pool
            .install(|| {
                jobs.into_par_iter()
                    .map(|(descr, pieces)| join_column(descr, pieces))
                    .collect::<Vec<_>>()
            })
            .into_iter();
        for (day, n, rows) in groups {
            let columns = joined.by_ref().take(n).collect();
            if self.open.contains_key(&day) {
                self.append_joined(day, columns, rows)?;
            }
        }
        let mut closed = Vec::new();
        for day in days {
            if let Some(part) = self.open.remove(&day) {
                closed.push(part.close()?);
            }
        }
        pool.install(|| {
            closed
                .par_iter()
                .try_for_each(|(file, tmp, dest)| part_into_place(file, tmp, dest))
        })?;
        let mut files = std::mem::take(&mut self.files_written);
        files.extend(closed.into_iter().map(|(_, _, dest)| dest));
        files.sort();
        Ok((files, self.rows_written))
    }
}

impl Drop for PartitionedWriter {
    /// Removes the temporaries of the parts still open: a writer dropped before
    /// [`PartitionedWriter::finish`] (a write failed) leaves no file behind it.
    fn drop(&mut self) {
        for part in std::mem::take(&mut self.open).into_values() {
            let tmp = part.tmp.clone();
            drop(part);
            let _ = std::fs::remove_file(tmp);
        }
    }
}

/// A joined column chunk, ready to append to a row group.
type JoinedColumn = parquet::errors::Result<(bytes::Bytes, ColumnCloseResult)>;

impl OpenPart {
    /// Writes the footer; returns the file, its temporary and its final path. On failure
    /// the temporary is removed.
    fn close(self) -> Result<(File, PathBuf, PathBuf)> {
        let (tmp, dest) = (self.tmp, self.dest);
        let err = |e: parquet::errors::ParquetError| Error::Output {
            path: dest.clone(),
            message: e.to_string(),
        };
        let file = self
            .writer
            .into_inner()
            .map_err(err)
            .and_then(|buf| {
                buf.into_inner()
                    .map_err(|e| Error::io(&dest, e.into_error()))
            })
            .inspect_err(|_| {
                let _ = std::fs::remove_file(&tmp);
            })?;
        Ok((file, tmp, dest))
    }
}

/// Starts writing a part's row groups to disk without waiting, so the `fsync` that finishes
/// the part at the end of the scan (when no parsing overlaps it any more) has little left to
/// do.
fn start_writeback(file: &File) {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        // SAFETY: a plain system call on an open descriptor; an error only means the
        // final fsync does all the work.
        unsafe {
            libc::sync_file_range(file.as_raw_fd(), 0, 0, libc::SYNC_FILE_RANGE_WRITE);
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = file;
}

/// Flushes a finished part to disk and renames it into place; on failure removes it.
fn part_into_place(file: &File, tmp: &Path, dest: &Path) -> Result<()> {
    into_place(file.sync_all().map_err(|e| Error::io(dest, e)), tmp, dest)
}

/// Renames the temporary `tmp` to `path` once `written` says it is complete; removes it
/// when it is not or the rename fails.
pub(crate) fn into_place(written: Result<()>, tmp: &Path, path: &Path) -> Result<()> {
    let result = written.and_then(|()| std::fs::rename(tmp, path).map_err(|e| Error::io(path, e)));
    if result.is_err() {
        let _ = std::fs::remove_file(tmp);
    }
    result
}

/// Writes one batch of the table `columns` to `path` atomically (temp name, then rename).
/// On failure no file is left: neither `path` nor its temporary.
pub(crate) fn write_file_atomic(
    path: &Path,
    batch: &RecordBatch,
    columns: &[Column],
) -> Result<()> {
    let tmp = hidden_tmp(path);
    let file = File::create(&tmp).map_err(|e| Error::io(path, e))?;
    let written = write_parquet(BufWriter::new(file), path, batch, columns)
        .and_then(|file| file.sync_all().map_err(|e| Error::io(path, e)));
    into_place(written, &tmp, path)
}

/// Writes `batch` as a Parquet file to `out` (errors name `path`); returns the file.
fn write_parquet<W: std::io::Write + Send>(
    out: BufWriter<W>,
    path: &Path,
    batch: &RecordBatch,
    columns: &[Column],
) -> Result<W> {
    let schema = batch.schema();
    let props = (*writer_properties(&schema, columns)).clone();
    let err = |e: parquet::errors::ParquetError| Error::Output {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    let mut w = ArrowWriter::try_new(out, schema, Some(props)).map_err(err)?;
    w.write(batch).map_err(err)?;
    let buf = w.into_inner().map_err(err)?;
    buf.into_inner()
        .map_err(|e| Error::io(path, e.into_error()))
}

/// Writes bytes to `path` atomically (temp name, flushed to disk, then rename). On failure
/// no file is left: neither `path` nor its temporary.
pub(crate) fn write_bytes_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = hidden_tmp(path);
    let written = (|| {
        use std::io::Write as _;
        let mut f = File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()
    })()
    .map_err(|e| Error::io(path, e));
    into_place(written, &tmp, path)
}

pub(crate) fn hidden_tmp(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp"))
}

/// Test support: a Parquet file read back by arrow-rs, as its row groups' row counts and its
/// record batches in file order.
#[cfg(test)]
pub(crate) fn read_back(path: &Path) -> (Vec<i64>, Vec<RecordBatch>) {
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
        File::open(path).unwrap(),
    )
    .unwrap();
    let groups = reader
        .metadata()
        .row_groups()
        .iter()
        .map(|g| g.num_rows())
        .collect();
    let batches = reader.build().unwrap().map(|b| b.unwrap()).collect();
    (groups, batches)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Event, EventBatchBuilder, Operation, SourceFormat, Text, COLUMNS};

    /// A batch of `rows` events of `day`, their `source_line`s counting from `first_line`.
    fn batch(day: i64, first_line: u64, rows: usize) -> RecordBatch {
        let mut b = EventBatchBuilder::new("f.log".into(), rows);
        for i in 0..rows {
            let user = format!("u{}", (first_line as usize + i) % 5);
            b.push(&Event {
                time_us: day * 86_400_000_000 + i as i64 * 1_000,
                format: SourceFormat::RdsMysqlAudit,
                server_host: b"db",
                user: user.as_bytes(),
                client_host: b"10.0.0.1",
                connection_id: 7,
                query_id: i as i64,
                operation: Operation::Query,
                database: b"",
                object: Text::Raw(b"SELECT 1"),
                retcode: Some(0),
                tls: None,
                statement_class: None,
                line: first_line + i as u64,
            });
        }
        b.finish()
    }

    /// A writer that fails as a full disk does once `room` bytes are written.
    struct FullDisk {
        room: usize,
    }

    impl std::io::Write for FullDisk {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            if self.room == 0 {
                return Err(std::io::Error::from_raw_os_error(libc::ENOSPC));
            }
            let n = buf.len().min(self.room);
            self.room -= n;
            Ok(n)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// A full disk at any byte of a Parquet file is an error naming the file and the OS
    /// error, never a panic or a short file taken for a whole one.
    #[test]
    fn a_full_disk_at_any_byte_is_an_error_with_the_os_message() {
        let rows = batch(20_000, 1, 50);
        let whole = write_parquet(
            BufWriter::new(FullDisk { room: usize::MAX }),
            Path::new("x"),
            &rows,
            &COLUMNS,
        )
        .unwrap();
        let size = usize::MAX - whole.room;
        for room in (0..size).step_by(97).chain([size - 1]) {
            let err = write_parquet(
                BufWriter::with_capacity(64, FullDisk { room }),
                Path::new("out/findings.parquet"),
                &rows,
                &COLUMNS,
            )
            .err()
            .unwrap_or_else(|| panic!("{room} bytes of {size} taken for the whole file"));
            let msg = err.to_string();
            assert!(
                msg.starts_with("out/findings.parquet: ")
                    && msg.contains("No space left on device (os error 28)"),
                "{msg}"
            );
        }
    }

    /// A writer dropped before `finish` (a write failed) leaves no temporary behind.
    #[test]
    fn a_dropped_writer_removes_its_temporaries() {
        let dir = tempfile::tempdir().unwrap();
        let enc = RowGroupEncoder::new(&COLUMNS).unwrap();
        let mut w = PartitionedWriter::new(dir.path(), &COLUMNS)
            .unwrap()
            .with_row_group_rows(100);
        for (i, day) in [20_000i64, 20_001, 20_000, 20_002].into_iter().enumerate() {
            w.append(
                enc.encode(day, &batch(day, 1 + 300 * i as u64, 300))
                    .unwrap(),
            )
            .unwrap();
        }
        let files = |d: &Path| -> usize {
            std::fs::read_dir(d)
                .unwrap()
                .map(|e| std::fs::read_dir(e.unwrap().path()).unwrap().count())
                .sum()
        };
        assert_eq!(files(dir.path()), 3, "one temporary per day");
        drop(w);
        assert_eq!(files(dir.path()), 0);
    }

    /// Pieces of interleaved days, joined under a small row limit: every day's rows come
    /// back in input order, no row group exceeds the limit, and the writer never holds more
    /// than about one row group of rows.
    #[test]
    fn pieces_join_into_bounded_row_groups_in_input_order() {
        let dir = tempfile::tempdir().unwrap();
        let enc = RowGroupEncoder::new(&COLUMNS).unwrap();
        let mut w = PartitionedWriter::new(dir.path(), &COLUMNS)
            .unwrap()
            .with_row_group_rows(1_000);
        let mut line = 1;
        let mut want: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
        for (k, day) in [20_000i64, 20_000, 20_001, 20_000, 20_001, 20_002, 20_000]
            .into_iter()
            .cycle()
            .take(40)
            .enumerate()
        {
            let rows = 150 + (k * 37) % 300;
            let piece = enc.encode(day, &batch(day, line, rows)).unwrap();
            want.entry(day)
                .or_default()
                .extend((line..line + rows as u64).map(|l| l as i64));
            line += rows as u64;
            w.append(piece).unwrap();
            assert!(
                w.pending_rows <= 1_000,
                "writer holds {} rows",
                w.pending_rows
            );
        }
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap();
        let (files, written) = w.finish(&pool).unwrap();
        assert_eq!(written, line - 1);
        let mut got: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
        for f in &files {
            let day = want
                .keys()
                .copied()
                .find(|d| f.to_string_lossy().contains(&crate::time::date_string(*d)))
                .unwrap();
            let (groups, batches) = read_back(f);
            for rows in groups {
                assert!(rows <= 1_000, "{f:?}: row group of {rows}");
            }
            for b in batches {
                let lines = b.column_by_name("source_line").unwrap();
                got.entry(day)
                    .or_default()
                    .extend(lines.as_primitive::<arrow::datatypes::Int64Type>().values());
                let users = b.column_by_name("user").unwrap().as_string::<i32>();
                let first = lines.as_primitive::<arrow::datatypes::Int64Type>().value(0);
                assert_eq!(users.value(0), format!("u{}", first % 5));
            }
        }
        assert_eq!(got, want);
    }

    /// Many small pieces (a run of many small files) are written once the piece cap is
    /// reached, so the writer never holds more pieces than it; rows stay in input order.
    #[test]
    fn many_small_pieces_are_written_at_the_piece_cap() {
        let dir = tempfile::tempdir().unwrap();
        let enc = RowGroupEncoder::new(&COLUMNS).unwrap();
        let mut w = PartitionedWriter::new(dir.path(), &COLUMNS)
            .unwrap()
            .with_max_pending_pieces(8);
        let day = 20_000i64;
        for k in 0..50u64 {
            w.append(enc.encode(day, &batch(day, 1 + 2 * k, 2)).unwrap())
                .unwrap();
            let waiting: usize = w.open.values().map(|p| p.pending.len()).sum();
            assert!(waiting < 8, "{waiting} pieces wait");
        }
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap();
        let (files, written) = w.finish(&pool).unwrap();
        assert_eq!(written, 100);
        let (sizes, batches) = read_back(&files[0]);
        assert_eq!(sizes, [16, 16, 16, 16, 16, 16, 4]);
        let mut lines = Vec::new();
        for b in batches {
            let l = b.column_by_name("source_line").unwrap();
            lines.extend(
                l.as_primitive::<arrow::datatypes::Int64Type>()
                    .values()
                    .iter()
                    .copied(),
            );
        }
        assert_eq!(lines, (1..=100).collect::<Vec<i64>>());
    }
}
