//! Output tables described once: per column its name, type, nullability and how it is stored
//! in Parquet (encoding, dictionary, statistics). The Arrow schemas, the event builder's
//! batch schema, the writer properties and the event encoder all read these tables, so a
//! column's storage is decided in one place.

use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};

/// A column's logical type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColumnType {
    /// `timestamp(ms, UTC)`.
    TimestampMsUtc,
    Int64,
    Int32,
    Boolean,
    Utf8,
    /// A list of strings (`array<string>` in Athena).
    Utf8List,
}

/// How a column is stored in Parquet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Storage {
    /// Strings with few distinct values: built as `Dictionary(Int32, Utf8)` in Arrow, written
    /// as a dictionary page plus `RLE_DICTIONARY` index pages; no statistics (string min/max
    /// costs a comparison per value and prunes little in an audit log).
    DictionaryText,
    /// Fixed-width values with few distinct values per row group (connection ids; the
    /// findings' times and counts): dictionary-encoded, with min/max statistics.
    DictionaryFixed,
    /// Mostly distinct text (the query, a finding's detail): PLAIN pages, no dictionary (it
    /// would only cost hashing before it is abandoned), no statistics.
    PlainText,
    /// Fixed-width values nearly unique per row (times, ids, line numbers) or tiny (return
    /// codes, TLS): PLAIN pages with min/max statistics, which readers prune row groups with.
    PlainFixed,
}

impl Storage {
    /// Whether the column is dictionary-encoded.
    pub(crate) fn dictionary(self) -> bool {
        matches!(self, Storage::DictionaryText | Storage::DictionaryFixed)
    }

    /// Whether the column chunk carries min/max statistics.
    pub(crate) fn statistics(self) -> bool {
        matches!(self, Storage::DictionaryFixed | Storage::PlainFixed)
    }
}

/// One column of an output table.
#[derive(Clone, Copy, Debug)]
pub struct Column {
    pub name: &'static str,
    pub kind: ColumnType,
    pub nullable: bool,
    pub storage: Storage,
}

impl Column {
    pub const fn new(
        name: &'static str,
        kind: ColumnType,
        nullable: bool,
        storage: Storage,
    ) -> Self {
        Column {
            name,
            kind,
            nullable,
            storage,
        }
    }

    /// The Arrow type of the column in the file.
    pub fn data_type(&self) -> DataType {
        match self.kind {
            ColumnType::TimestampMsUtc => {
                DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into()))
            }
            ColumnType::Int64 => DataType::Int64,
            ColumnType::Int32 => DataType::Int32,
            ColumnType::Boolean => DataType::Boolean,
            ColumnType::Utf8 => DataType::Utf8,
            ColumnType::Utf8List => {
                DataType::List(Arc::new(Field::new("item", DataType::Utf8, true)))
            }
        }
    }

    /// The Arrow type of the column while it is built: [`Storage::DictionaryText`] columns
    /// are `Dictionary(Int32, Utf8)` (Parquet still sees plain `Utf8`).
    pub(crate) fn built_type(&self) -> DataType {
        match self.storage {
            Storage::DictionaryText => {
                DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8))
            }
            _ => self.data_type(),
        }
    }
}

/// The Arrow schema of a table, as written.
pub(crate) fn arrow_schema(columns: &[Column]) -> SchemaRef {
    Arc::new(Schema::new(
        columns
            .iter()
            .map(|c| Field::new(c.name, c.data_type(), c.nullable))
            .collect::<Vec<_>>(),
    ))
}

/// The Arrow schema of a table's batches as built ([`Column::built_type`]).
pub(crate) fn built_schema(columns: &[Column]) -> SchemaRef {
    Arc::new(Schema::new(
        columns
            .iter()
            .map(|c| Field::new(c.name, c.built_type(), c.nullable))
            .collect::<Vec<_>>(),
    ))
}
