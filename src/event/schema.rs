//! The `events` table (CONTRACT.md, `events` columns), defined once: its columns, how each is
//! stored, and the Arrow schemas derived from them.

use std::sync::OnceLock;

use arrow::datatypes::SchemaRef;

use crate::table::{self, Column, ColumnType::*, Storage::*};

/// The columns of `events/*.parquet`, in file order.
pub const COLUMNS: [Column; 20] = [
    Column::new("event_time", TimestampMsUtc, false, PlainFixed),
    Column::new("event_time_us", Int64, false, PlainFixed),
    Column::new("source_format", Utf8, false, DictionaryText),
    Column::new("server_host", Utf8, false, DictionaryText),
    Column::new("user", Utf8, false, DictionaryText),
    Column::new("client_host", Utf8, false, DictionaryText),
    Column::new("client_ip", Utf8, true, DictionaryText),
    // A few thousand distinct ids per row group of a million rows: a dictionary spares ZSTD
    // eight bytes per row of integers it compresses at only about 300 MB/s.
    Column::new("connection_id", Int64, false, DictionaryFixed),
    Column::new("query_id", Int64, false, PlainFixed),
    Column::new("operation", Utf8, false, DictionaryText),
    Column::new("database", Utf8, true, DictionaryText),
    Column::new("object", Utf8, true, PlainText),
    Column::new("retcode", Int32, true, PlainFixed),
    Column::new("tls", Boolean, true, PlainFixed),
    Column::new("statement_class", Utf8, true, DictionaryText),
    Column::new("source_file", Utf8, false, DictionaryText),
    Column::new("source_line", Int64, false, PlainFixed),
    // `--geoip` (null without it, and for private addresses): appended, as CONTRACT.md adds.
    Column::new("client_country", Utf8, true, DictionaryText),
    Column::new("client_asn", Int64, true, PlainFixed),
    Column::new("client_as_org", Utf8, true, DictionaryText),
];

/// The Arrow schema of `events/*.parquet`.
pub fn schema() -> SchemaRef {
    static SCHEMA: OnceLock<SchemaRef> = OnceLock::new();
    SCHEMA.get_or_init(|| table::arrow_schema(&COLUMNS)).clone()
}

/// The schema of the batches [`super::EventBatchBuilder`] produces: [`schema`] with the
/// [`DictionaryText`] columns as `Dictionary(Int32, Utf8)`.
pub(crate) fn batch_schema() -> SchemaRef {
    static SCHEMA: OnceLock<SchemaRef> = OnceLock::new();
    SCHEMA.get_or_init(|| table::built_schema(&COLUMNS)).clone()
}
