//! Differential test of the events writer against arrow-rs's `ArrowWriter`.
//!
//! The events file is written by hand-made page encoders (`sink::pages`) whose pieces
//! `sink::parquet::PartitionedWriter` joins into row groups. Here the same rows are written
//! once that way (through [`RowGroupEncoder`] and [`PartitionedWriter`], the API the scan
//! uses) and once by `ArrowWriter` configured like it (same writer properties: ZSTD(1),
//! Parquet 1.0, chunk-level statistics except on strings, offset index; dictionaries on
//! the same columns; the same row groups), and both files are read back with arrow-rs and
//! with DuckDB.
//!
//! What must be equal: every value and null (also against the input); per row group the
//! row count and, per column, the statistics (min, max, null count, as arrow-rs reads them),
//! the value count, the compression, the chunk's encodings and the kinds of its pages
//! (dictionary page, PLAIN or RLE_DICTIONARY data pages); the column index (neither writes
//! one: statistics are per chunk); DuckDB's md5 of every column and of whole rows in
//! `source_line` order, its null counts and types, and its `parquet_metadata()` min_value,
//! max_value, null count, value count and compression per chunk.
//!
//! Where ours differs from `ArrowWriter` by design, the test asserts what ours does instead:
//!
//! * Page boundaries (the offset index). Ours cuts each piece (one worker's rows of a
//!   chunk) into pages on its own and joins the pieces' pages unchanged: fixed-width columns
//!   get pages of [`FIXED_PAGE_ROWS`] rows counted from each piece's first row, the query
//!   text pages of at most [`PLAIN_PAGE_ROWS`] rows and [`PLAIN_PAGE_BYTES`] bytes (values
//!   with their 4-byte lengths; a longer value is a page alone) from each piece's first
//!   row; dictionary columns, encoded after their pieces' dictionaries are merged, pages of
//!   [`DICT_PAGE_ROWS`] rows from the row group's first row. `ArrowWriter` cuts pages at
//!   20 000 rows or about 1 MiB, across the whole row group. Both offset indexes must
//!   describe the pages actually in the chunk (the first page at row 0 and at the chunk's
//!   first data page, rows increasing, pages back to back to the chunk's end), ours must
//!   have exactly the layout above, and reading with a row selection, which skips pages by
//!   the offset index, must give the selected input rows from both files.
//! * Statistics only `ArrowWriter` writes: the deprecated `min`/`max` fields beside
//!   `min_value`/`max_value` of signed integer columns (DuckDB's `stats_min`/`stats_max`:
//!   NULL in ours, equal to `stats_min_value`/`stats_max_value` in `ArrowWriter`'s), and
//!   the size statistics (definition level histograms, unencoded byte-array sizes: absent
//!   in ours).
//!
//! The rows include i64::MIN and i64::MAX in every INT64 column but `event_time` and
//! `event_time_us`, whose low edge is i64::MIN / 1000 * 1000 µs, the lowest DuckDB reads
//! (it widens `event_time`'s milliseconds to microseconds), and i32::MIN and i32::MAX in
//! `retcode`.
//!
//! The test uses only the writer's public API and `crate::event`'s builder, so it
//! survives changes to the encoders' internals; the page layout constants below mirror
//! `sink::pages`.

use std::collections::BTreeSet;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, RecordBatch};
use arrow::datatypes::{DataType, SchemaRef};
use parquet::arrow::arrow_reader::{
    ArrowReaderOptions, ParquetRecordBatchReaderBuilder, RowSelection, RowSelectionPolicy,
    RowSelector,
};
use parquet::arrow::ArrowWriter;
use parquet::file::metadata::{PageIndexPolicy, ParquetMetaData};
use parquet::file::properties::WriterProperties;
use parquet::schema::types::ColumnPath;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::classify::StatementClass;
use crate::event::{schema, Event, EventBatchBuilder, Operation, SourceFormat, Text, COLUMNS};
use crate::sink::parquet::{writer_properties, PartitionedWriter, RowGroupEncoder};

/// Rows per row group in this test (the writer's limit is a million; this keeps it quick
/// while still giving several pages per column).
const ROW_GROUP_ROWS: usize = 150_000;
/// The page layouts ours writes by design (see the module comment); values from
/// `sink::pages`.
const FIXED_PAGE_ROWS: usize = 128 * 1024;
const DICT_PAGE_ROWS: usize = 128 * 1024;
const PLAIN_PAGE_ROWS: usize = 20_000;
const PLAIN_PAGE_BYTES: usize = 1 << 20;
/// Whether ours writes the column with a dictionary (the events table says).
fn dictionary(name: &str) -> bool {
    COLUMNS
        .iter()
        .any(|c| c.name == name && c.storage.dictionary())
}
/// The query text, PLAIN pages.
const TEXT_COLUMN: &str = "object";

/// What a piece's rows look like.
#[derive(Clone, Copy, Debug)]
enum Kind {
    /// Random rows: nulls in every nullable column, empty strings, `ids` distinct connection
    /// ids (over 256 and over 65 536 give the dictionary pieces wider keys), `users`
    /// distinct users.
    Mixed { ids: u64, users: u64 },
    /// Every nullable column null on every row.
    AllNull,
    /// Query text from empty to 2.5 MB, around the 1 MiB page limit (pages of one value).
    LongText,
    /// The smallest values of every integer column (and a null or two).
    Low,
    /// The largest values of every integer column.
    High,
}

/// One row, owned; [`Row::event`] lends it as the parsers do.
struct Row {
    time_us: i64,
    format: SourceFormat,
    server_host: String,
    user: String,
    client_host: String,
    connection_id: i64,
    query_id: i64,
    operation: Operation,
    /// Empty: null.
    database: String,
    object: Option<String>,
    escaped: bool,
    retcode: Option<i32>,
    tls: Option<bool>,
    class: Option<StatementClass>,
    line: u64,
}

impl Row {
    fn event(&self) -> Event<'_> {
        Event {
            time_us: self.time_us,
            format: self.format,
            server_host: self.server_host.as_bytes(),
            user: self.user.as_bytes(),
            client_host: self.client_host.as_bytes(),
            connection_id: self.connection_id,
            query_id: self.query_id,
            operation: self.operation,
            database: self.database.as_bytes(),
            object: match &self.object {
                None => Text::None,
                Some(t) if self.escaped => Text::Escaped(t.as_bytes()),
                Some(t) => Text::Raw(t.as_bytes()),
            },
            retcode: self.retcode,
            tls: self.tls,
            statement_class: self.class,
            line: self.line,
        }
    }
}

const CLASSES: [StatementClass; 7] = [
    StatementClass::Privilege,
    StatementClass::Destructive,
    StatementClass::Exfiltration,
    StatementClass::Ddl,
    StatementClass::Write,
    StatementClass::Read,
    StatementClass::Other,
];
const FORMATS: [SourceFormat; 4] = [
    SourceFormat::MariadbAudit,
    SourceFormat::RdsMysqlAudit,
    SourceFormat::AuroraMysqlAudit,
    SourceFormat::Postgres,
];

/// A piece's rows; `line` numbers them (unique: the read-back order), and `edges` counts
/// the [`Kind::Low`] and [`Kind::High`] rows so far, whose lines count from the ends of the
/// INT64 range instead.
fn rows(kind: Kind, n: usize, seed: u64, line: &mut u64, edges: &mut [u64; 2]) -> Vec<Row> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let r = rng.next_u64();
        let pick = |shift: u32, n: u64| ((r >> shift) % n) as usize;
        *line += 1;
        let mut row = Row {
            time_us: 1_700_000_000_000_000 + *line as i64 * 1_000 + (r % 997) as i64,
            format: FORMATS[pick(3, 4)],
            server_host: ["db-1", "", "db-two.cluster-ro.example", "höst-ü"][pick(5, 4)].into(),
            user: String::new(),
            client_host: match pick(7, 8) {
                0 => "localhost".into(),
                1 => String::new(),
                2 => format!("2001:db8::{:x}", pick(10, 40)),
                3 => format!("[::1]:{}", 3300 + pick(10, 3)),
                4 => format!("10.1.2.{}:5432", pick(10, 5)),
                _ => format!("10.0.{}.{}", pick(10, 3), pick(12, 60)),
            },
            connection_id: 0,
            query_id: r as i64,
            operation: Operation::ALL[pick(16, 12)],
            database: ["", "shop", "analytics", "日本語", ""][pick(20, 5)].into(),
            object: None,
            escaped: false,
            retcode: Some(pick(23, 3) as i32 - 1),
            tls: Some(r & (1 << 25) != 0),
            class: Some(CLASSES[pick(26, 7)]),
            line: *line,
        };
        match kind {
            Kind::Mixed { ids, users } => {
                row.connection_id = ((r >> 29) % ids) as i64 - (ids / 3) as i64;
                row.user = match pick(45, 50) {
                    0 => String::new(),
                    _ => format!("user{}", (r >> 32) % users),
                };
                row.object = match pick(51, 12) {
                    0 | 1 => None,
                    2 => Some(String::new()),
                    3 => {
                        row.escaped = true;
                        Some(format!("SELECT \\'a\\'\\n, {i} -- é\\\\"))
                    }
                    k => Some(format!(
                        "SELECT {} FROM t{k} WHERE id = {r} /* ☃ */",
                        "c, ".repeat(pick(55, 60))
                    )),
                };
                if pick(57, 4) == 0 {
                    row.retcode = None;
                }
                if pick(59, 3) == 0 {
                    row.tls = None;
                }
                if pick(61, 4) == 0 {
                    row.class = None;
                }
            }
            Kind::AllNull => {
                row.connection_id = pick(30, 7) as i64;
                row.user = "u".into();
                row.client_host = ["localhost", ""][i % 2].into();
                row.database = String::new();
                row.retcode = None;
                row.tls = None;
                row.class = None;
            }
            Kind::LongText => {
                row.connection_id = 42;
                row.user = "bulk".into();
                let len = [
                    0,
                    1,
                    PLAIN_PAGE_BYTES - 4,
                    PLAIN_PAGE_BYTES,
                    PLAIN_PAGE_BYTES + 1,
                    700_000,
                    2_500_000,
                    300_000,
                    3,
                ][i % 9];
                let unit = format!("INSERT INTO t VALUES ({i}, 'ü{r}'); ");
                let mut text = unit.repeat(len / unit.len() + 1);
                text.truncate(text.floor_char_boundary(len));
                row.object = (i % 11 != 10).then_some(text);
            }
            Kind::Low | Kind::High => {
                let low = matches!(kind, Kind::Low);
                let (i64_edge, i32_edge) = if low {
                    (i64::MIN, i32::MIN)
                } else {
                    (i64::MAX, i32::MAX)
                };
                // The edge and its neighbour, and a null where the column allows one.
                let near = i % 2 == 1;
                let step = if low { 1 } else { -1 };
                // DuckDB reads `event_time` (milliseconds) as microseconds: the lowest it can
                // read is i64::MIN / 1000 ms, so that is the low edge of the time (and
                // `event_time_us`); the other INT64 columns take i64::MIN.
                let time_edge = if low {
                    i64::MIN / 1000 * 1000
                } else {
                    i64::MAX
                };
                row.time_us = if near { time_edge + step } else { time_edge };
                row.connection_id = if near { i64_edge + step } else { i64_edge };
                row.query_id = row.connection_id;
                row.retcode = match i % 3 {
                    0 => Some(i32_edge),
                    1 => Some(i32_edge + step as i32),
                    _ => None,
                };
                row.tls = (i % 3 != 2).then_some(!low);
                row.user = "edge".into();
                row.object =
                    (i % 3 != 2).then(|| String::from(if low { "" } else { "\u{10FFFF}" }));
                // Unique lines at the ends of the INT64 range (source_line is u64 cast).
                let k = &mut edges[low as usize];
                row.line = if low {
                    (i64::MIN as u64) + *k
                } else {
                    i64::MAX as u64 - *k
                };
                *k += 1;
            }
        }
        out.push(row);
    }
    out
}

/// The pieces, in input order: what the writer should join them into is worked out by
/// [`row_groups`]. Three row groups: many small pieces; a piece of over [`DICT_PAGE_ROWS`]
/// rows (every column with several pages) and a few more; and a last piece alone, every
/// nullable column null.
fn pieces() -> Vec<(Kind, usize)> {
    use Kind::*;
    vec![
        (Low, 7),
        (
            Mixed {
                ids: 300,
                users: 300,
            },
            12_000,
        ),
        (Mixed { ids: 50, users: 3 }, 9_000),
        (Mixed { ids: 5, users: 2 }, 1),
        (
            Mixed {
                ids: 1_000,
                users: 1_000,
            },
            21_000,
        ),
        (High, 4),
        (Mixed { ids: 40, users: 20 }, 8_000),
        (
            Mixed {
                ids: 70_000,
                users: 1_000,
            },
            140_000,
        ),
        (Mixed { ids: 10, users: 10 }, 5_000),
        (LongText, 27),
        (Low, 3),
        (High, 3),
        (AllNull, 6_000),
    ]
}

/// The writer's rule: a piece joins the waiting ones unless that would pass the row limit.
/// Returns the pieces (indexes) of each row group.
fn row_groups(sizes: &[usize]) -> Vec<Vec<usize>> {
    let mut groups: Vec<Vec<usize>> = vec![];
    let mut rows = 0;
    for (i, &n) in sizes.iter().enumerate() {
        if groups.is_empty() || rows + n > ROW_GROUP_ROWS {
            groups.push(vec![]);
            rows = 0;
        }
        groups.last_mut().unwrap().push(i);
        rows += n;
    }
    groups
}

/// `batch` with its dictionary columns as plain strings: the file schema's types.
fn to_file_types(batch: &RecordBatch, file_schema: &SchemaRef) -> RecordBatch {
    let columns: Vec<ArrayRef> = batch
        .columns()
        .iter()
        .zip(file_schema.fields())
        .map(|(c, f)| arrow::compute::cast(c, f.data_type()).unwrap())
        .collect();
    RecordBatch::try_new(file_schema.clone(), columns).unwrap()
}

/// `ArrowWriter`'s properties for the same file: ours, with dictionaries on exactly the
/// columns ours encodes with one (arrow-rs would otherwise also try INT32 `retcode`).
fn reference_properties(file_schema: &SchemaRef) -> WriterProperties {
    let mut b = (*writer_properties(file_schema, &COLUMNS))
        .clone()
        .into_builder();
    for f in file_schema.fields() {
        let dict = dictionary(f.name());
        b = b.set_column_dictionary_enabled(ColumnPath::from(f.name().as_str()), dict);
    }
    b.build()
}

/// Reads `path` whole (values and the file's metadata with its page index).
fn read_back(path: &Path) -> (RecordBatch, Arc<ParquetMetaData>) {
    let options = ArrowReaderOptions::new()
        .with_page_index_policy(PageIndexPolicy::Optional)
        .with_encoding_stats_as_mask(false);
    let builder =
        ParquetRecordBatchReaderBuilder::try_new_with_options(File::open(path).unwrap(), options)
            .unwrap();
    let metadata = builder.metadata().clone();
    let schema = builder.schema().clone();
    let batches: Vec<RecordBatch> = builder.build().unwrap().map(|b| b.unwrap()).collect();
    (
        arrow::compute::concat_batches(&schema, &batches).unwrap(),
        metadata,
    )
}

/// Reads `path` through a row selection that skips whole pages (by the offset index).
fn read_selected(path: &Path, selection: &RowSelection) -> RecordBatch {
    let options = ArrowReaderOptions::new().with_page_index_policy(PageIndexPolicy::Required);
    let builder =
        ParquetRecordBatchReaderBuilder::try_new_with_options(File::open(path).unwrap(), options)
            .unwrap()
            .with_row_selection(selection.clone())
            .with_row_selection_policy(RowSelectionPolicy::Selectors);
    let schema = builder.schema().clone();
    let batches: Vec<RecordBatch> = builder.build().unwrap().map(|b| b.unwrap()).collect();
    arrow::compute::concat_batches(&schema, &batches).unwrap()
}

/// Asserts two tables equal column by column, naming the first row that differs.
fn assert_same_rows(what: &str, a: &RecordBatch, b: &RecordBatch) {
    assert_eq!(a.num_rows(), b.num_rows(), "{what}: row counts");
    assert_eq!(a.num_columns(), b.num_columns(), "{what}: column counts");
    for (i, f) in a.schema().fields().iter().enumerate() {
        let (x, y) = (a.column(i), b.column(i));
        assert_eq!(x.data_type(), y.data_type(), "{what}: {} type", f.name());
        if x.as_ref() != y.as_ref() {
            let row = (0..x.len())
                .find(|&r| x.slice(r, 1).as_ref() != y.slice(r, 1).as_ref())
                .unwrap_or(usize::MAX);
            let show = |c: &ArrayRef| {
                let v = format!("{:?}", c.slice(row.min(c.len() - 1), 1));
                v[..v.floor_char_boundary(300)].to_string()
            };
            panic!(
                "{what}: column {} differs first at row {row}: {} vs {}",
                f.name(),
                show(x),
                show(y)
            );
        }
    }
}

/// Pages as (first row, rows) from an offset index, and the check that the locations
/// describe pages back to back from the chunk's first data page to its end.
fn pages_of(
    meta: &ParquetMetaData,
    rg: usize,
    col: usize,
    file_len: u64,
    who: &str,
) -> Vec<(usize, usize)> {
    let chunk = meta.row_group(rg).column(col);
    let name = chunk.column_descr().name().to_string();
    let index = meta.page_index_for_row_group(rg);
    let locations = index
        .page_locations(col)
        .unwrap_or_else(|| panic!("{who}: no offset index for {name} in row group {rg}"));
    assert!(!locations.is_empty(), "{who}: {name}: no pages");
    let rows = meta.row_group(rg).num_rows() as usize;
    let (start, len) = chunk.byte_range();
    assert!(start + len <= file_len);
    assert_eq!(
        locations[0].offset,
        chunk.data_page_offset(),
        "{who}: {name} rg {rg}: first page is the chunk's first data page"
    );
    assert_eq!(locations[0].first_row_index, 0, "{who}: {name} rg {rg}");
    for w in locations.windows(2) {
        assert_eq!(
            w[0].offset + w[0].compressed_page_size as i64,
            w[1].offset,
            "{who}: {name} rg {rg}: pages back to back"
        );
    }
    let last = locations.last().unwrap();
    assert_eq!(
        (last.offset + last.compressed_page_size as i64) as u64,
        start + len,
        "{who}: {name} rg {rg}: the last page ends the chunk"
    );
    let mut firsts: Vec<usize> = locations
        .iter()
        .map(|l| l.first_row_index as usize)
        .collect();
    firsts.push(rows);
    firsts
        .windows(2)
        .map(|w| {
            assert!(
                w[0] < w[1],
                "{who}: {name} rg {rg}: empty or unordered page"
            );
            (w[0], w[1] - w[0])
        })
        .collect()
}

/// The pages ours writes for a column: see the module comment. `pieces` are the row
/// group's pieces' batches.
fn our_pages(name: &str, pieces: &[&RecordBatch]) -> Vec<(usize, usize)> {
    let rows: usize = pieces.iter().map(|b| b.num_rows()).sum();
    let mut pages = vec![];
    if dictionary(name) {
        pages.extend(
            (0..rows)
                .step_by(DICT_PAGE_ROWS)
                .map(|s| (s, DICT_PAGE_ROWS.min(rows - s))),
        );
        return pages;
    }
    let mut base = 0;
    for piece in pieces {
        let n = piece.num_rows();
        if name == TEXT_COLUMN {
            let text = piece
                .column_by_name(name)
                .unwrap()
                .as_any()
                .downcast_ref::<arrow::array::StringArray>()
                .unwrap();
            let mut start = 0;
            while start < n {
                let (mut end, mut bytes) = (start, 0);
                while end < n && end - start < PLAIN_PAGE_ROWS {
                    let more = 4 + text.value_length(end) as usize;
                    if end > start && bytes + more > PLAIN_PAGE_BYTES {
                        break;
                    }
                    bytes += more;
                    end += 1;
                }
                pages.push((base + start, end - start));
                start = end;
            }
        } else {
            pages.extend(
                (0..n)
                    .step_by(FIXED_PAGE_ROWS)
                    .map(|s| (base + s, FIXED_PAGE_ROWS.min(n - s))),
            );
        }
        base += n;
    }
    pages
}

/// What a chunk's pages are encoded with, from its page encoding statistics.
fn page_encodings(meta: &ParquetMetaData, rg: usize, col: usize) -> BTreeSet<(String, String)> {
    meta.row_group(rg)
        .column(col)
        .page_encoding_stats()
        .expect("page encoding statistics")
        .iter()
        .map(|s| (format!("{:?}", s.page_type), format!("{:?}", s.encoding)))
        .collect()
}

/// DuckDB's digest of a file (tests/support/duckdb_digest.py).
fn duckdb_digest(path: &Path) -> serde_json::Value {
    let out = Command::new("python3")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/duckdb_digest.py"))
        .arg(path)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "DuckDB read-back failed (is the duckdb Python package installed? .ci/run installs it):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn events_writer_matches_arrow_writer() {
    let file_schema = schema();
    let dir = tempfile::tempdir().unwrap();
    let day = 19_700;

    // The rows, through the event builder as the parsers feed it, one batch per piece.
    let specs = pieces();
    let (mut line, mut edges) = (0, [0, 0]);
    let batches: Vec<RecordBatch> = specs
        .iter()
        .enumerate()
        .map(|(k, &(kind, n))| {
            let rows = rows(kind, n, k as u64, &mut line, &mut edges);
            let mut b = EventBatchBuilder::new(format!("input-{}.log", k % 2).into(), n);
            for row in &rows {
                b.push(&row.event());
            }
            b.finish()
        })
        .collect();
    let sizes: Vec<usize> = batches.iter().map(|b| b.num_rows()).collect();
    let groups = row_groups(&sizes);
    assert_eq!(
        groups.iter().map(|g| g.len()).collect::<Vec<_>>(),
        [7, 5, 1]
    );

    // Ours: pieces encoded as the scan's workers do, joined by the writer.
    let ours = {
        let encoder = RowGroupEncoder::new(&COLUMNS).unwrap();
        let mut w = PartitionedWriter::new(&dir.path().join("ours"), &COLUMNS)
            .unwrap()
            .with_row_group_rows(ROW_GROUP_ROWS);
        for b in &batches {
            w.append(encoder.encode(day, b).unwrap()).unwrap();
        }
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap();
        let (files, rows) = w.finish(&pool).unwrap();
        assert_eq!(rows as usize, sizes.iter().sum::<usize>());
        assert_eq!(files.len(), 1, "one day, one part: {files:?}");
        files[0].clone()
    };

    // The reference: ArrowWriter, the same rows in the same row groups.
    let reference: PathBuf = dir.path().join("reference.parquet");
    let plain: Vec<RecordBatch> = batches
        .iter()
        .map(|b| to_file_types(b, &file_schema))
        .collect();
    {
        let props = reference_properties(&file_schema);
        let mut w = ArrowWriter::try_new(
            File::create(&reference).unwrap(),
            file_schema.clone(),
            Some(props),
        )
        .unwrap();
        for group in &groups {
            for &p in group {
                w.write(&plain[p]).unwrap();
            }
            w.flush().unwrap();
        }
        w.close().unwrap();
    }

    // The input, in the file's types: every nullable column has nulls, every string
    // column an empty string.
    let input = arrow::compute::concat_batches(&file_schema, &plain).unwrap();
    for (f, c) in file_schema.fields().iter().zip(input.columns()) {
        if f.is_nullable() {
            assert!(c.null_count() > 0, "input: {} has no nulls", f.name());
        }
    }
    // ... and the edges of the integer ranges.
    let int64 = |name: &str| {
        let c = input.column_by_name(name).unwrap();
        let c = c
            .as_any()
            .downcast_ref::<arrow::array::Int64Array>()
            .unwrap();
        (
            arrow::compute::min(c).unwrap(),
            arrow::compute::max(c).unwrap(),
        )
    };
    for name in ["connection_id", "query_id", "source_line"] {
        assert_eq!(int64(name), (i64::MIN, i64::MAX), "input: {name}");
    }
    assert_eq!(int64("event_time_us"), (i64::MIN / 1000 * 1000, i64::MAX));
    let retcode = input.column_by_name("retcode").unwrap();
    let retcode = retcode
        .as_any()
        .downcast_ref::<arrow::array::Int32Array>()
        .unwrap();
    assert_eq!(
        (arrow::compute::min(retcode), arrow::compute::max(retcode)),
        (Some(i32::MIN), Some(i32::MAX))
    );
    for name in ["server_host", "user", "client_host", TEXT_COLUMN] {
        let c = input.column_by_name(name).unwrap();
        let s = c
            .as_any()
            .downcast_ref::<arrow::array::StringArray>()
            .unwrap();
        assert!(
            s.iter().any(|v| v == Some("")),
            "input: {name} has no empty string"
        );
    }

    // arrow-rs: values and nulls.
    let (got_ours, meta_ours) = read_back(&ours);
    let (got_ref, meta_ref) = read_back(&reference);
    assert_same_rows("ours vs input", &got_ours, &input);
    assert_same_rows("ours vs ArrowWriter", &got_ours, &got_ref);

    // arrow-rs: row groups, per column statistics, value counts, compression, encodings.
    assert_eq!(meta_ours.num_row_groups(), groups.len());
    assert_eq!(meta_ref.num_row_groups(), groups.len());
    let ours_len = std::fs::metadata(&ours).unwrap().len();
    let ref_len = std::fs::metadata(&reference).unwrap().len();
    for (rg, group) in groups.iter().enumerate() {
        let (o, r) = (meta_ours.row_group(rg), meta_ref.row_group(rg));
        let rows: usize = group.iter().map(|&p| sizes[p]).sum();
        assert_eq!(o.num_rows() as usize, rows, "ours: rows of row group {rg}");
        assert_eq!(
            r.num_rows() as usize,
            rows,
            "ArrowWriter: rows of row group {rg}"
        );
        let group_batches: Vec<&RecordBatch> = group.iter().map(|&p| &plain[p]).collect();
        for col in 0..o.num_columns() {
            let (oc, rc) = (o.column(col), r.column(col));
            let name = oc.column_descr().name();
            let at = format!("row group {rg}, column {name}");
            assert_eq!(oc.statistics(), rc.statistics(), "statistics of {at}");
            assert_eq!(oc.num_values(), rc.num_values(), "value count of {at}");
            assert_eq!(oc.compression(), rc.compression(), "compression of {at}");
            // Both the same kind of pages (dictionary, PLAIN or RLE_DICTIONARY data pages).
            assert_eq!(
                page_encodings(&meta_ours, rg, col),
                page_encodings(&meta_ref, rg, col),
                "page encodings of {at}"
            );
            assert_eq!(
                oc.encodings().collect::<Vec<_>>(),
                rc.encodings().collect::<Vec<_>>(),
                "encodings of {at}"
            );
            // By design: no size statistics in ours (see the module comment).
            assert!(oc.definition_level_histogram().is_none(), "{at}");
            assert!(oc.unencoded_byte_array_data_bytes().is_none(), "{at}");

            // Page index: no column index in either (chunk statistics); offset indexes
            // that describe the chunks' pages, ours in its own layout.
            let (oi, ri) = (
                meta_ours.page_index_for_row_group(rg),
                meta_ref.page_index_for_row_group(rg),
            );
            assert!(oi.column_index(col).is_none(), "ours: column index of {at}");
            assert!(
                ri.column_index(col).is_none(),
                "ArrowWriter: column index of {at}"
            );
            let pages = pages_of(&meta_ours, rg, col, ours_len, "ours");
            pages_of(&meta_ref, rg, col, ref_len, "ArrowWriter");
            assert_eq!(
                pages,
                our_pages(name, &group_batches),
                "ours: pages of {at}"
            );
        }
    }
    // The layouts reach past one page per chunk where they should.
    let most = |meta: &ParquetMetaData, col: &str| {
        let i = file_schema.index_of(col).unwrap();
        (0..groups.len())
            .map(|rg| {
                meta.page_index_for_row_group(rg)
                    .page_locations(i)
                    .map_or(0, |l| l.len())
            })
            .max()
            .unwrap()
    };
    for col in [
        "user",
        "connection_id",
        "event_time",
        "retcode",
        "tls",
        TEXT_COLUMN,
    ] {
        assert!(
            most(&meta_ours, col) >= 2,
            "ours: {col} never has two pages"
        );
    }
    assert!(most(&meta_ours, TEXT_COLUMN) >= 8);

    // Reading through the offset index: select rows here and there, skipping whole pages.
    let total = input.num_rows();
    let mut selectors = vec![];
    let mut at = 0;
    for (i, take) in [
        (3_000usize, 10usize),
        (140_000, 5),
        (1, 1),
        (21_000, 300),
        (50_000, 2),
    ]
    .into_iter()
    .cycle()
    .enumerate()
    {
        let skip = take.0 + i * 7;
        if at + skip + take.1 > total {
            break;
        }
        selectors.push(RowSelector::skip(skip));
        selectors.push(RowSelector::select(take.1));
        at += skip + take.1;
    }
    selectors.push(RowSelector::skip(total - at - 1));
    selectors.push(RowSelector::select(1));
    let selection = RowSelection::from(selectors);
    let want = {
        let mask = arrow::array::BooleanArray::from(selection.clone().iter().fold(
            Vec::with_capacity(total),
            |mut v, s| {
                v.extend(std::iter::repeat_n(!s.skip, s.row_count));
                v
            },
        ));
        arrow::compute::filter_record_batch(&input, &mask).unwrap()
    };
    assert_same_rows(
        "ours, selected rows",
        &read_selected(&ours, &selection),
        &want,
    );
    assert_same_rows(
        "ArrowWriter, selected rows",
        &read_selected(&reference, &selection),
        &want,
    );

    // DuckDB: the same columns, values, rows and chunk statistics.
    let (dd_ours, dd_ref) = (duckdb_digest(&ours), duckdb_digest(&reference));
    assert_eq!(dd_ours["rows"], total as u64);
    assert_eq!(dd_ours["columns"], dd_ref["columns"], "DuckDB: columns");
    assert_eq!(dd_ours["rows_md5"], dd_ref["rows_md5"], "DuckDB: rows");
    for c in dd_ours["columns"].as_object().unwrap().values() {
        assert!(c["md5"].is_string(), "{c}");
    }
    let chunks = |d: &serde_json::Value| d["chunks"].as_array().unwrap().clone();
    let (co, cr) = (chunks(&dd_ours), chunks(&dd_ref));
    assert_eq!(co.len(), groups.len() * file_schema.fields().len());
    assert_eq!(co.len(), cr.len());
    for (o, r) in co.iter().zip(&cr) {
        for key in [
            "row_group",
            "rows",
            "column",
            "num_values",
            "null_count",
            "min_value",
            "max_value",
            "compression",
        ] {
            assert_eq!(o[key], r[key], "DuckDB: {key} of {o} and {r}");
        }
        // By design: ArrowWriter also fills the deprecated min/max of signed integer
        // columns; ours writes only min_value/max_value.
        let signed = matches!(
            file_schema
                .field_with_name(o["column"].as_str().unwrap())
                .unwrap()
                .data_type(),
            DataType::Int32 | DataType::Int64 | DataType::Timestamp(..)
        );
        assert!(
            o["min"].is_null() && o["max"].is_null(),
            "ours: deprecated min/max in {o}"
        );
        if signed && !r["min_value"].is_null() {
            assert_eq!(r["min"], r["min_value"], "ArrowWriter: {r}");
            assert_eq!(r["max"], r["max_value"], "ArrowWriter: {r}");
        } else {
            assert!(r["min"].is_null() && r["max"].is_null(), "ArrowWriter: {r}");
        }
    }
}
