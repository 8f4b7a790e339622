//! Parquet column chunks written directly from the event builder's Arrow columns.
//!
//! [`encode_dictionary`] writes a dictionary column's keys as the Parquet dictionary page plus
//! RLE/bit-packed index pages; [`encode_plain`] writes the query text as PLAIN pages with one
//! copy; [`encode_fixed`] writes the fixed-width columns with min/max statistics.
//! [`ColumnPages`] joins consecutive pieces of a column; [`DictPiece`]/[`merge_dictionaries`]
//! do the same for dictionary columns.
//!
//! The file is what arrow-rs writes for the same columns at Parquet 1.0: a PLAIN dictionary
//! page, then v1 data pages with RLE definition levels (nullable columns) and `RLE_DICTIONARY`
//! indices (or PLAIN values), each page compressed on its own, plus an offset index. Readers
//! (DuckDB, Athena, arrow-rs) see `BYTE_ARRAY` + `STRING`, as before.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, DictionaryArray, Int32Array, Int64Array, NullBufferBuilder, StringArray,
};
use arrow::buffer::NullBuffer;
use arrow::buffer::ScalarBuffer;
use arrow::datatypes::Int32Type;
use bytes::Bytes;
use parquet::basic::{Compression, Encoding, EncodingMask, PageType};
use parquet::column::page::{CompressedPage, Page, PageWriter};
use parquet::column::writer::ColumnCloseResult;
use parquet::errors::{ParquetError, Result};
use parquet::file::metadata::{ColumnChunkMetaData, PageEncodingStats};
use parquet::file::page_index::offset_index::{OffsetIndexMetaData, PageLocation};
use parquet::file::statistics::Statistics;
use parquet::file::writer::{SerializedPageWriter, TrackedWrite};
use parquet::schema::types::ColumnDescPtr;

use crate::event::columns::StrCol;

/// Rows per data page. Index pages are small (a byte or two per row before compression), so
/// few large pages keep the per-page cost (header, compressor call) negligible.
const PAGE_ROWS: usize = 128 * 1024;

thread_local! {
    static COMPRESSOR: RefCell<Option<(i32, zstd::bulk::Compressor<'static>)>> =
        const { RefCell::new(None) };
}

/// Compresses one page body with the worker thread's ZSTD context.
fn compress(level: i32, data: &[u8]) -> Result<Vec<u8>> {
    COMPRESSOR.with(|c| {
        let mut c = c.borrow_mut();
        if c.as_ref().is_none_or(|(l, _)| *l != level) {
            let comp = zstd::bulk::Compressor::new(level)
                .map_err(|e| ParquetError::General(format!("zstd: {e}")))?;
            *c = Some((level, comp));
        }
        let (_, comp) = c.as_mut().expect("just set");
        comp.compress(data)
            .map_err(|e| ParquetError::General(format!("zstd: {e}")))
    })
}

/// The pages of one column chunk, written into memory as they are encoded.
///
/// Chunks without a dictionary page can be joined ([`ColumnPages::append`]): v1 data pages are
/// self-contained, so the pages of several row groups' worth of one column follow each other
/// unchanged and only the metadata is recomputed. That is how small row groups encoded in
/// parallel become one large row group in the file.
pub struct ColumnPages {
    data: Vec<u8>,
    zstd_level: i32,
    uncompressed: u64,
    compressed: u64,
    dictionary_len: Option<u64>,
    locations: Vec<PageLocation>,
    rows: usize,
    stats: Vec<PageEncodingStats>,
    statistics: Option<Statistics>,
}

impl ColumnPages {
    fn new(zstd_level: i32, capacity: usize) -> Self {
        ColumnPages {
            data: Vec::with_capacity(capacity),
            zstd_level,
            uncompressed: 0,
            compressed: 0,
            dictionary_len: None,
            locations: Vec::new(),
            rows: 0,
            stats: Vec::new(),
            statistics: None,
        }
    }

    /// Rows in these pages.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Gives back the unused part of the buffer (pieces wait in memory to be joined).
    fn seal(mut self) -> Self {
        self.data.shrink_to_fit();
        self
    }

    /// Puts the pages of `next` (the same column's following rows) after these.
    pub fn append(&mut self, next: ColumnPages) -> Result<()> {
        if self.dictionary_len.is_some() || next.dictionary_len.is_some() {
            return Err(ParquetError::General(
                "column chunks with a dictionary page cannot be joined".into(),
            ));
        }
        let base = self.data.len() as i64;
        let first_row = self.rows as i64;
        self.data.extend_from_slice(&next.data);
        self.locations
            .extend(next.locations.into_iter().map(|l| PageLocation {
                offset: l.offset + base,
                compressed_page_size: l.compressed_page_size,
                first_row_index: l.first_row_index + first_row,
            }));
        self.uncompressed += next.uncompressed;
        self.compressed += next.compressed;
        self.rows += next.rows;
        for s in next.stats {
            match self
                .stats
                .iter_mut()
                .find(|t| t.page_type == s.page_type && t.encoding == s.encoding)
            {
                Some(t) => t.count += s.count,
                None => self.stats.push(s),
            }
        }
        self.statistics = merge_statistics(self.statistics.take(), next.statistics);
        Ok(())
    }

    fn write(&mut self, page: Page, uncompressed: usize) -> Result<u64> {
        let mut sink = TrackedWrite::new(&mut self.data);
        let spec = SerializedPageWriter::new(&mut sink)
            .write_page(CompressedPage::new(page, uncompressed))?;
        sink.into_inner()?;
        self.uncompressed += spec.uncompressed_size as u64;
        self.compressed += spec.compressed_size as u64;
        Ok(spec.compressed_size as u64)
    }

    /// The dictionary page (first in the chunk): PLAIN-encoded values.
    fn dictionary_page(&mut self, plain: &[u8], num_values: usize) -> Result<()> {
        let len = self.write(
            Page::DictionaryPage {
                buf: Bytes::from(compress(self.zstd_level, plain)?),
                num_values: num_values as u32,
                encoding: Encoding::PLAIN,
                is_sorted: false,
            },
            plain.len(),
        )?;
        self.dictionary_len = Some(len);
        self.stats.push(PageEncodingStats {
            page_type: PageType::DICTIONARY_PAGE,
            encoding: Encoding::PLAIN,
            count: 1,
        });
        Ok(())
    }

    /// A v1 data page of `rows` rows: `body` holds the definition levels (if any) and the
    /// values, uncompressed.
    fn data_page(&mut self, body: &[u8], rows: usize, encoding: Encoding) -> Result<()> {
        let offset = self.data.len() as i64;
        let len = self.write(
            Page::DataPage {
                buf: Bytes::from(compress(self.zstd_level, body)?),
                num_values: rows as u32,
                encoding,
                def_level_encoding: Encoding::RLE,
                rep_level_encoding: Encoding::RLE,
                statistics: None,
            },
            body.len(),
        )?;
        self.locations.push(PageLocation {
            offset,
            compressed_page_size: len as i32,
            first_row_index: self.rows as i64,
        });
        self.rows += rows;
        match self
            .stats
            .iter_mut()
            .find(|s| s.page_type == PageType::DATA_PAGE && s.encoding == encoding)
        {
            Some(s) => s.count += 1,
            None => self.stats.push(PageEncodingStats {
                page_type: PageType::DATA_PAGE,
                encoding,
                count: 1,
            }),
        }
        Ok(())
    }

    /// The chunk's bytes (offsets relative to their start) and the close result that splices
    /// them into a row group with `SerializedRowGroupWriter::append_column`.
    pub fn finish(self, descr: ColumnDescPtr) -> Result<(Bytes, ColumnCloseResult)> {
        let mut encodings = vec![Encoding::RLE];
        encodings.extend(self.stats.iter().map(|s| s.encoding));
        let mut metadata = ColumnChunkMetaData::builder(descr);
        if let Some(statistics) = self.statistics {
            metadata = metadata.set_statistics(statistics);
        }
        let metadata = metadata
            .set_compression(Compression::ZSTD(parquet::basic::ZstdLevel::try_new(
                self.zstd_level,
            )?))
            .set_encodings_mask(EncodingMask::new_from_encodings(encodings.iter()))
            .set_page_encoding_stats(self.stats)
            .set_total_compressed_size(self.compressed as i64)
            .set_total_uncompressed_size(self.uncompressed as i64)
            .set_num_values(self.rows as i64)
            .set_data_page_offset(self.dictionary_len.unwrap_or(0) as i64)
            .set_dictionary_page_offset(self.dictionary_len.map(|_| 0))
            .build()?;
        let bytes_written = self.data.len() as u64;
        let close = ColumnCloseResult {
            bytes_written,
            rows_written: self.rows as u64,
            metadata,
            bloom_filter: None,
            column_index: None,
            offset_index: Some(OffsetIndexMetaData {
                page_locations: self.locations,
                unencoded_byte_array_data_bytes: None,
            }),
        };
        Ok((Bytes::from(self.data), close))
    }
}

/// Appends the v1 definition levels of rows `start..end` (1 = present): a 4-byte length,
/// then the levels in the hybrid encoding with bit width 1.
fn definition_levels(nulls: Option<&NullBuffer>, start: usize, end: usize, body: &mut Vec<u8>) {
    let rows = end - start;
    let at = body.len();
    body.extend_from_slice(&[0; 4]);
    match nulls.filter(|n| n.slice(start, rows).null_count() > 0) {
        // No rows: no levels.
        _ if rows == 0 => {}
        // Every row present: one RLE run of 1s.
        None => {
            varint((rows as u64) << 1, body);
            body.push(1);
        }
        // One bit-packed run: levels of width 1, eight to a byte, least significant bit
        // first, are exactly the bytes of the validity bitmap (the last group zero-padded).
        Some(n) => {
            varint(((rows.div_ceil(8) as u64) << 1) | 1, body);
            let valid = n.inner();
            let bits = valid.inner().bit_chunks(valid.offset() + start, rows);
            for word in bits.iter() {
                body.extend_from_slice(&word.to_le_bytes());
            }
            let tail = bits.remainder_len();
            if tail > 0 {
                body.extend_from_slice(&bits.remainder_bits().to_le_bytes()[..tail.div_ceil(8)]);
            }
        }
    }
    let len = (body.len() - at - 4) as u32;
    body[at..at + 4].copy_from_slice(&len.to_le_bytes());
}

fn check_nulls(descr: &ColumnDescPtr, array: &dyn Array) -> Result<bool> {
    let nullable = descr.max_def_level() > 0;
    if !nullable && array.null_count() > 0 {
        return Err(ParquetError::General(format!(
            "column {} is required but holds nulls",
            descr.name()
        )));
    }
    Ok(nullable)
}

/// Encodes a dictionary column as one Parquet column chunk (a PLAIN dictionary page, then
/// `RLE_DICTIONARY` data pages).
pub(crate) fn encode_dictionary(
    descr: ColumnDescPtr,
    array: &DictionaryArray<Int32Type>,
    zstd_level: i32,
) -> Result<(Bytes, ColumnCloseResult)> {
    let nullable = check_nulls(&descr, array)?;
    let keys = array.keys().values();
    let nulls = array.nulls();
    let rows = array.len();
    let values = array.values();
    let mut w = ColumnPages::new(zstd_level, 1 << 16);
    let plain = if let Some(dict) = values.as_any().downcast_ref::<StringArray>() {
        // PLAIN byte arrays: a 4-byte little-endian length, then the bytes. No statistics
        // (see the writer's properties).
        let mut plain = Vec::with_capacity(dict.values().len() + 4 * dict.len());
        for v in dict.iter().flatten() {
            plain.extend_from_slice(&(v.len() as u32).to_le_bytes());
            plain.extend_from_slice(v.as_bytes());
        }
        plain
    } else if let Some(dict) = values.as_any().downcast_ref::<Int64Array>() {
        // PLAIN INT64: 8 little-endian bytes each; min/max as for a PLAIN INT64 column (every
        // dictionary value is used by a present row).
        let v = dict.values();
        w.statistics = Some(Statistics::int64(
            v.iter().min().copied(),
            v.iter().max().copied(),
            None,
            Some(array.null_count() as u64),
            false,
        ));
        v.iter().flat_map(|x| x.to_le_bytes()).collect()
    } else {
        return Err(ParquetError::General(format!(
            "column {}: dictionary values must be Utf8 or Int64",
            descr.name()
        )));
    };
    w.dictionary_page(&plain, values.len())?;
    let bit_width = bits_for(values.len().saturating_sub(1) as u32);

    let mut body = Vec::new();
    let mut indices: Vec<u32> = Vec::with_capacity(PAGE_ROWS.min(rows));
    let mut start = 0;
    while start < rows {
        let end = (start + PAGE_ROWS).min(rows);
        body.clear();
        indices.clear();
        if nullable {
            definition_levels(nulls, start, end, &mut body);
            match nulls {
                Some(n) => indices.extend(
                    n.slice(start, end - start)
                        .valid_indices()
                        .map(|i| keys[start + i] as u32),
                ),
                None => indices.extend(keys[start..end].iter().map(|&k| k as u32)),
            }
        } else {
            indices.extend(keys[start..end].iter().map(|&k| k as u32));
        }
        body.push(bit_width);
        rle_hybrid(&indices, bit_width, &mut body);
        w.data_page(&body, end - start, Encoding::RLE_DICTIONARY)?;
        start = end;
    }
    w.finish(descr)
}

/// One piece of a dictionary column waiting to be joined with the next pieces: its own
/// dictionary, and its keys in the narrowest width that holds them (most of these columns
/// have a few dozen distinct values, so a byte per row rather than four).
pub struct DictPiece {
    values: DictValues,
    keys: Keys,
    nulls: Option<NullBuffer>,
}

/// A piece's own dictionary.
enum DictValues {
    Utf8(StringArray),
    /// Integer ids with few distinct values per row group (connection ids): as a dictionary
    /// they take a couple of bytes per row before compression instead of eight, and ZSTD
    /// compresses 8-byte integers at only about 300 MB/s.
    Int64(Vec<i64>),
}

impl Keys {
    /// Keys in the narrowest width that holds `distinct` values.
    fn narrow(keys: &[i32], distinct: usize) -> Keys {
        match distinct {
            0..=256 => Keys::U8(keys.iter().map(|&k| k as u8).collect()),
            257..=65536 => Keys::U16(keys.iter().map(|&k| k as u16).collect()),
            _ => Keys::I32(ScalarBuffer::from(keys.to_vec())),
        }
    }
}

enum Keys {
    U8(Vec<u8>),
    U16(Vec<u16>),
    I32(ScalarBuffer<i32>),
}

impl DictPiece {
    pub fn new(array: &DictionaryArray<Int32Type>) -> Result<Self> {
        use arrow::array::AsArray;
        let values = array
            .values()
            .as_string_opt::<i32>()
            .ok_or_else(|| ParquetError::General("dictionary values must be Utf8".into()))?
            .clone();
        let nulls = array.nulls().cloned();
        let ks = array.keys().values();
        // Keys under nulls may hold anything; they are never read, so any width will do.
        let keys = match values.len() {
            0..=65536 => Keys::narrow(ks, values.len()),
            _ => Keys::I32(ks.clone()),
        };
        Ok(DictPiece {
            values: DictValues::Utf8(values),
            keys,
            nulls,
        })
    }

    /// A piece of an INT64 column written with a dictionary: its distinct values in order of
    /// first appearance, and a key per row.
    pub(crate) fn from_int64(array: &Int64Array) -> Self {
        let nulls = array.nulls().cloned();
        let mut index: HashMap<i64, i32, foldhash::fast::FixedState> = HashMap::default();
        let mut values = Vec::new();
        let mut last: Option<(i64, i32)> = None;
        let keys: Vec<i32> = (0..array.len())
            .map(|i| {
                if !array.is_valid(i) {
                    return 0;
                }
                let v = array.value(i);
                match last {
                    Some((lv, k)) if lv == v => k,
                    _ => {
                        let k = *index.entry(v).or_insert_with(|| {
                            values.push(v);
                            (values.len() - 1) as i32
                        });
                        last = Some((v, k));
                        k
                    }
                }
            })
            .collect();
        DictPiece {
            keys: Keys::narrow(&keys, values.len()),
            values: DictValues::Int64(values),
            nulls,
        }
    }

    pub fn len(&self) -> usize {
        match &self.keys {
            Keys::U8(k) => k.len(),
            Keys::U16(k) => k.len(),
            Keys::I32(k) => k.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Appends one piece's keys, renumbered, to the merged keys.
fn renumber_keys<K: Copy + TryInto<usize>>(
    ks: &[K],
    renumber: &[i32],
    valid: Option<&NullBuffer>,
    keys: &mut Vec<i32>,
    nulls: &mut NullBufferBuilder,
) {
    // Keys under nulls may hold anything: they map to 0, and stay null.
    let new = |k: K| {
        k.try_into()
            .ok()
            .and_then(|k: usize| renumber.get(k).copied())
            .unwrap_or(0)
    };
    keys.extend(ks.iter().map(|&k| new(k)));
    match valid {
        None => nulls.append_n_non_nulls(ks.len()),
        Some(valid) => nulls.append_buffer(valid),
    }
}

/// The pieces of one dictionary column from consecutive row groups as one array: the
/// dictionaries are merged (values in order of first appearance, so the result depends only
/// on the order of the pieces) and the keys renumbered.
pub(crate) fn merge_dictionaries(parts: &[DictPiece]) -> Result<DictionaryArray<Int32Type>> {
    let rows: usize = parts.iter().map(|p| p.len()).sum();
    let mut strings = StrCol::with_capacity(64, 1024);
    let mut string_index: HashMap<&[u8], i32, foldhash::fast::FixedState> = HashMap::default();
    let mut ints: Vec<i64> = Vec::new();
    let mut int_index: HashMap<i64, i32, foldhash::fast::FixedState> = HashMap::default();
    let int64 = matches!(parts.first().map(|p| &p.values), Some(DictValues::Int64(_)));
    let mut keys: Vec<i32> = Vec::with_capacity(rows);
    let mut nulls = NullBufferBuilder::new(rows);
    for part in parts {
        let renumber: Vec<i32> = match (&part.values, int64) {
            (DictValues::Utf8(vs), false) => (0..vs.len())
                .map(|j| {
                    let v = vs.value(j).as_bytes();
                    *string_index.entry(v).or_insert_with(|| {
                        strings.push_bytes(v, true);
                        strings.commit();
                        (strings.len() - 1) as i32
                    })
                })
                .collect(),
            (DictValues::Int64(vs), true) => vs
                .iter()
                .map(|&v| {
                    *int_index.entry(v).or_insert_with(|| {
                        ints.push(v);
                        (ints.len() - 1) as i32
                    })
                })
                .collect(),
            _ => {
                return Err(ParquetError::General(
                    "dictionary pieces of different types".into(),
                ))
            }
        };
        match &part.keys {
            Keys::U8(k) => renumber_keys(k, &renumber, part.nulls.as_ref(), &mut keys, &mut nulls),
            Keys::U16(k) => renumber_keys(k, &renumber, part.nulls.as_ref(), &mut keys, &mut nulls),
            Keys::I32(k) => renumber_keys(k, &renumber, part.nulls.as_ref(), &mut keys, &mut nulls),
        }
    }
    let keys = Int32Array::new(ScalarBuffer::from(keys), nulls.finish());
    let values: ArrayRef = if int64 {
        Arc::new(Int64Array::from(ints))
    } else {
        Arc::new(strings.finish())
    };
    if keys.null_count() < keys.len() && values.is_empty() {
        return Err(ParquetError::General(
            "dictionary pieces without values".into(),
        ));
    }
    // SAFETY: every key is an entry of `renumber`, an index into `values`, or 0 (under a
    // null, or where a piece's key is out of its own dictionary, which `DictPiece` never
    // builds); `values` is not empty when any key is valid (checked above).
    Ok(unsafe { DictionaryArray::new_unchecked(keys, values) })
}

/// Uncompressed bytes per data page of a PLAIN string column, and its row limit (the arrow-rs
/// defaults).
const PLAIN_PAGE_BYTES: usize = 1 << 20;
const PLAIN_PAGE_ROWS: usize = 20_000;

/// Encodes a string column of mostly distinct values (query text) as PLAIN data pages.
pub(crate) fn encode_plain(
    descr: ColumnDescPtr,
    array: &StringArray,
    zstd_level: i32,
) -> Result<ColumnPages> {
    let nullable = check_nulls(&descr, array)?;
    let nulls = array.nulls();
    let offsets = array.value_offsets();
    let values = array.value_data();
    let rows = array.len();
    let mut w = ColumnPages::new(zstd_level, values.len() / 4 + (1 << 16));
    let mut body = Vec::with_capacity(PLAIN_PAGE_BYTES + (1 << 16));
    let mut start = 0;
    while start < rows {
        // Rows up to the byte budget (at least one row).
        let mut end = start + 1;
        let limit = (start + PLAIN_PAGE_ROWS).min(rows);
        let base = offsets[start] as usize;
        while end < limit
            && offsets[end + 1] as usize - base + 4 * (end + 1 - start) <= PLAIN_PAGE_BYTES
        {
            end += 1;
        }
        body.clear();
        if nullable {
            definition_levels(nulls, start, end, &mut body);
        }
        for i in start..end {
            if nulls.is_none_or(|n| n.is_valid(i)) {
                let v = &values[offsets[i] as usize..offsets[i + 1] as usize];
                body.extend_from_slice(&(v.len() as u32).to_le_bytes());
                body.extend_from_slice(v);
            }
        }
        w.data_page(&body, end - start, Encoding::PLAIN)?;
        start = end;
    }
    Ok(w.seal())
}

/// Rows per data page of a fixed-width column: 1 MiB of INT64, the arrow-rs page size.
const FIXED_PAGE_ROWS: usize = 128 * 1024;

/// Encodes a fixed-width column (INT64, a millisecond timestamp, INT32 or BOOLEAN) as PLAIN
/// data pages, with the chunk's min/max and null count as arrow-rs writes them.
pub(crate) fn encode_fixed(
    descr: ColumnDescPtr,
    array: &dyn Array,
    zstd_level: i32,
) -> Result<ColumnPages> {
    use arrow::array::AsArray;
    use arrow::datatypes::{DataType, Int64Type, TimeUnit, TimestampMillisecondType};
    let nullable = check_nulls(&descr, array)?;
    let nulls = array.nulls();
    let rows = array.len();
    let mut w = ColumnPages::new(zstd_level, rows * 2 + (1 << 12));
    let mut body = Vec::with_capacity(FIXED_PAGE_ROWS * 8 + (1 << 12));
    let null_count = Some(array.null_count() as u64);
    // Each page: the definition levels (nullable columns), then `put` appends the present
    // values of rows `start..end`.
    let mut pages = |w: &mut ColumnPages, put: &mut dyn FnMut(usize, usize, &mut Vec<u8>)| {
        let mut start = 0;
        while start < rows {
            let end = (start + FIXED_PAGE_ROWS).min(rows);
            body.clear();
            if nullable {
                definition_levels(nulls, start, end, &mut body);
            }
            put(start, end, &mut body);
            w.data_page(&body, end - start, Encoding::PLAIN)?;
            start = end;
        }
        Ok::<(), ParquetError>(())
    };
    let present = |start: usize, end: usize| {
        (start..end).filter(move |&i| nulls.is_none_or(|n| n.is_valid(i)))
    };
    w.statistics = Some(match array.data_type() {
        DataType::Boolean => {
            // Bit-packed, least significant bit first.
            let b = array.as_boolean();
            let (mut any_false, mut any_true) = (false, false);
            pages(&mut w, &mut |start, end, body| {
                let mut acc = 0u8;
                let mut n = 0;
                for i in present(start, end) {
                    let v = b.value(i);
                    any_false |= !v;
                    any_true |= v;
                    acc |= (v as u8) << (n % 8);
                    n += 1;
                    if n % 8 == 0 {
                        body.push(acc);
                        acc = 0;
                    }
                }
                if n % 8 != 0 {
                    body.push(acc);
                }
            })?;
            let seen = any_false || any_true;
            let (lo, hi) = (seen.then_some(!any_false), seen.then_some(any_true));
            Statistics::boolean(lo, hi, None, null_count, false)
        }
        DataType::Int32 => {
            let values = array.as_primitive::<Int32Type>().values();
            let mut range = Range::default();
            pages(&mut w, &mut |start, end, body| {
                range.put(values, start, end, nulls, body)
            })?;
            Statistics::int32(range.lo, range.hi, None, null_count, false)
        }
        t @ (DataType::Int64 | DataType::Timestamp(TimeUnit::Millisecond, _)) => {
            let values = if matches!(t, DataType::Int64) {
                array.as_primitive::<Int64Type>().values()
            } else {
                array.as_primitive::<TimestampMillisecondType>().values()
            };
            let mut range = Range::default();
            pages(&mut w, &mut |start, end, body| {
                range.put(values, start, end, nulls, body)
            })?;
            Statistics::int64(range.lo, range.hi, None, null_count, false)
        }
        other => {
            return Err(ParquetError::General(format!(
                "column {}: no fixed-width encoder for {other}",
                descr.name()
            )))
        }
    });
    Ok(w.seal())
}

/// The smallest and largest value written so far.
#[derive(Default)]
struct Range<T> {
    lo: Option<T>,
    hi: Option<T>,
}

impl<T: Copy + Ord + LittleEndian + arrow::datatypes::ArrowNativeType> Range<T> {
    /// Appends the present values of rows `start..end` in PLAIN (little-endian) form.
    fn put(
        &mut self,
        values: &[T],
        start: usize,
        end: usize,
        nulls: Option<&NullBuffer>,
        body: &mut Vec<u8>,
    ) {
        let mut see = |v: T| {
            self.lo = Some(self.lo.map_or(v, |m| m.min(v)));
            self.hi = Some(self.hi.map_or(v, |m| m.max(v)));
        };
        match nulls {
            None => {
                let page = &values[start..end];
                // Arrow's native layout is little-endian, which is PLAIN: one copy.
                #[cfg(target_endian = "little")]
                {
                    use arrow::datatypes::ToByteSlice;
                    body.extend_from_slice(page.to_byte_slice());
                }
                #[cfg(not(target_endian = "little"))]
                for &v in page {
                    v.put_le(body);
                }
                if let (Some(&lo), Some(&hi)) = (page.iter().min(), page.iter().max()) {
                    see(lo);
                    see(hi);
                }
            }
            Some(n) => {
                for i in (start..end).filter(|&i| n.is_valid(i)) {
                    values[i].put_le(body);
                    see(values[i]);
                }
            }
        }
    }
}

/// PLAIN encoding of a fixed-width integer.
trait LittleEndian {
    fn put_le(self, out: &mut Vec<u8>);
}

impl LittleEndian for i64 {
    fn put_le(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
}

impl LittleEndian for i32 {
    fn put_le(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
}

/// The statistics of two consecutive pieces of one column: the smaller minimum, the larger
/// maximum, the sum of the null counts.
fn merge_statistics(a: Option<Statistics>, b: Option<Statistics>) -> Option<Statistics> {
    fn pick<T: Copy + PartialOrd>(x: Option<&T>, y: Option<&T>, min: bool) -> Option<T> {
        match (x.copied(), y.copied()) {
            (Some(x), Some(y)) => Some(if (x < y) == min { x } else { y }),
            (x, y) => x.or(y),
        }
    }
    let (a, b) = match (a, b) {
        (Some(a), Some(b)) => (a, b),
        (a, b) => return a.or(b),
    };
    let nulls = Some(a.null_count_opt().unwrap_or(0) + b.null_count_opt().unwrap_or(0));
    Some(match (&a, &b) {
        (Statistics::Int64(x), Statistics::Int64(y)) => Statistics::int64(
            pick(x.min_opt(), y.min_opt(), true),
            pick(x.max_opt(), y.max_opt(), false),
            None,
            nulls,
            false,
        ),
        (Statistics::Int32(x), Statistics::Int32(y)) => Statistics::int32(
            pick(x.min_opt(), y.min_opt(), true),
            pick(x.max_opt(), y.max_opt(), false),
            None,
            nulls,
            false,
        ),
        (Statistics::Boolean(x), Statistics::Boolean(y)) => Statistics::boolean(
            pick(x.min_opt(), y.min_opt(), true),
            pick(x.max_opt(), y.max_opt(), false),
            None,
            nulls,
            false,
        ),
        // Pieces of one column always have the same kind of statistics.
        _ => return None,
    })
}

/// Bits needed to store `max`.
fn bits_for(max: u32) -> u8 {
    (32 - max.leading_zeros()) as u8
}

/// Appends `values` in Parquet's RLE/bit-packing hybrid encoding (without length prefix).
///
/// Runs of 8 or more equal values become RLE runs; everything else is bit-packed in groups
/// of 8 (the last group zero-padded, which readers ignore past the page's value count).
pub(crate) fn rle_hybrid(values: &[u32], bit_width: u8, out: &mut Vec<u8>) {
    let w = bit_width as usize;
    let value_bytes = w.div_ceil(8);
    let n = values.len();
    let mut i = 0;
    while i < n {
        if starts_run(values, i) {
            let run = run_length(values, i);
            varint((run as u64) << 1, out);
            out.extend_from_slice(&values[i].to_le_bytes()[..value_bytes]);
            i += run;
            continue;
        }
        // A bit-packed section: whole groups of 8 until a long run starts a group.
        let start = i;
        let mut groups = 0;
        while i < n {
            groups += 1;
            i = (i + 8).min(n);
            if starts_run(values, i) {
                break;
            }
        }
        varint(((groups as u64) << 1) | 1, out);
        let section = &values[start..(start + groups * 8).min(n)];
        if w <= 8 {
            // Eight values of at most 8 bits: `w` bytes of one u64.
            for group in section.chunks(8) {
                let mut acc = 0u64;
                for (k, &v) in group.iter().enumerate() {
                    acc |= (v as u64) << (k * w);
                }
                out.extend_from_slice(&acc.to_le_bytes()[..w]);
            }
            continue;
        }
        // Wider values: eight of `w` bits make exactly `w` bytes, gathered in a small
        // buffer and appended at once.
        let mut bytes = [0u8; 32];
        for group in section.chunks(8) {
            let (mut acc, mut bits, mut len) = (0u128, 0, 0);
            for k in 0..8 {
                let v = group.get(k).copied().unwrap_or(0) as u128;
                acc |= v << bits;
                bits += w;
                if bits >= 64 {
                    bytes[len..len + 8].copy_from_slice(&(acc as u64).to_le_bytes());
                    len += 8;
                    acc >>= 64;
                    bits -= 64;
                }
            }
            debug_assert_eq!(bits % 8, 0, "8 values of w bits fill whole bytes");
            let rest = bits / 8;
            bytes[len..len + rest].copy_from_slice(&acc.to_le_bytes()[..rest]);
            out.extend_from_slice(&bytes[..len + rest]);
        }
    }
}

/// Whether a run of at least 8 equal values starts at `i` (an RLE run is worth it).
#[inline]
fn starts_run(values: &[u32], i: usize) -> bool {
    values
        .get(i..i + 8)
        .is_some_and(|g| g.iter().all(|&x| x == g[0]))
}

/// The number of values equal to `values[i]` from `i` on, compared eight at a time.
#[inline]
fn run_length(values: &[u32], i: usize) -> usize {
    let v = values[i];
    let rest = &values[i..];
    let whole = rest
        .chunks_exact(8)
        .take_while(|g| g.iter().all(|&x| x == v))
        .count()
        * 8;
    whole + rest[whole..].iter().take_while(|&&x| x == v).count()
}

fn varint(mut v: u64, out: &mut Vec<u8>) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::columns::DictCol;

    /// Decodes the hybrid encoding (reference reader for the tests).
    fn decode(mut b: &[u8], w: u8, n: usize) -> Vec<u32> {
        let mut out = Vec::new();
        let vb = (w as usize).div_ceil(8);
        while out.len() < n {
            let mut h: u64 = 0;
            let mut shift = 0;
            loop {
                let c = b[0];
                b = &b[1..];
                h |= ((c & 0x7f) as u64) << shift;
                shift += 7;
                if c < 0x80 {
                    break;
                }
            }
            if h & 1 == 0 {
                let mut v = [0u8; 4];
                v[..vb].copy_from_slice(&b[..vb]);
                b = &b[vb..];
                out.extend(std::iter::repeat_n(
                    u32::from_le_bytes(v),
                    (h >> 1) as usize,
                ));
            } else {
                let groups = (h >> 1) as usize;
                let bytes = groups * w as usize;
                let mut acc: u64 = 0;
                let mut bits = 0;
                let mut it = b[..bytes].iter();
                for _ in 0..groups * 8 {
                    while bits < w as usize {
                        acc |= (*it.next().unwrap() as u64) << bits;
                        bits += 8;
                    }
                    out.push((acc & ((1u64 << w) - 1)) as u32);
                    acc >>= w;
                    bits -= w as usize;
                }
                b = &b[bytes..];
            }
        }
        out.truncate(n);
        out
    }

    #[test]
    fn hybrid_round_trips_runs_and_mixed_values() {
        let mut cases: Vec<(Vec<u32>, u8)> = vec![
            (vec![], 1),
            (vec![0; 5], 0),
            (vec![1; 100], 1),
            ((0..37).map(|i| i % 5).collect(), 3),
            (
                (0..1000)
                    .map(|i| if i % 100 < 50 { 7 } else { i % 3 })
                    .collect(),
                3,
            ),
            ((0..300).map(|i| (i * 7919) % 1000).collect(), 10),
        ];
        cases.push(((0..64).map(|i| if i < 3 { 1 } else { 2 }).collect(), 2));
        // Every width up to 20 bits: random values broken by runs of random lengths, so
        // runs start and end inside and on the edges of groups of eight.
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for w in 1..=20u8 {
            let max = (1u64 << w) - 1;
            let mut values = Vec::new();
            while values.len() < 2000 {
                let v = (next() & max) as u32;
                let len = if next() % 3 == 0 { next() % 40 } else { 1 };
                values.extend(std::iter::repeat_n(v, len as usize));
            }
            cases.push((values, w));
        }
        for (values, w) in cases {
            let mut out = Vec::new();
            rle_hybrid(&values, w, &mut out);
            assert_eq!(decode(&out, w, values.len()), values, "width {w}");
        }
    }

    /// Writes every kind of column with the direct encoders, as pieces joined into one row
    /// group (each piece with its own dictionary, as chunks of a scan have), into a Parquet
    /// file, and reads it back with the arrow-rs reader: values, nulls, page boundaries and
    /// the chunk statistics must survive.
    /// A Parquet file of one row group made of encoded column chunks, as the writer splices
    /// them.
    fn one_row_group_file(
        descr: &parquet::schema::types::SchemaDescriptor,
        chunks: Vec<(Bytes, ColumnCloseResult)>,
    ) -> Bytes {
        use parquet::file::properties::WriterProperties;
        use parquet::file::writer::SerializedFileWriter;
        let props = Arc::new(WriterProperties::builder().build());
        let mut out = Vec::new();
        let mut w = SerializedFileWriter::new(&mut out, descr.root_schema_ptr(), props).unwrap();
        let mut rg = w.next_row_group().unwrap();
        for (data, close) in chunks {
            rg.append_column(&data, close).unwrap();
        }
        rg.close().unwrap();
        w.close().unwrap();
        Bytes::from(out)
    }

    /// Definition levels are the validity bitmap's bytes: a nullable column read back has its
    /// nulls where they were, also for an array sliced at an odd offset, across several pages
    /// (the last one partial) and with no nulls in some pages.
    #[test]
    fn nullable_columns_keep_their_nulls_at_any_offset_and_page() {
        use arrow::array::{AsArray, Int32Array, RecordBatch};
        use arrow::datatypes::Int32Type;
        use arrow::datatypes::{DataType, Field, Schema};
        use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
        use parquet::arrow::ArrowSchemaConverter;

        let rows = 2 * FIXED_PAGE_ROWS + 1_003;
        // Nulls in the first page only (and never in the second and third), in a pattern
        // that is not periodic in 8 or 64.
        let values: Vec<Option<i32>> = (0..rows + 5)
            .map(|i| (i >= FIXED_PAGE_ROWS || (i * 7919) % 13 > 3).then_some(i as i32))
            .collect();
        let whole = Int32Array::from(values.clone());
        for offset in [0, 3] {
            let array = whole.slice(offset, rows);
            let schema = Arc::new(Schema::new(vec![Field::new(
                "retcode",
                DataType::Int32,
                true,
            )]));
            let descr = ArrowSchemaConverter::new().convert(&schema).unwrap();
            let chunk = encode_fixed(descr.column(0), &array, 1)
                .unwrap()
                .finish(descr.column(0))
                .unwrap();
            let file = one_row_group_file(&descr, vec![chunk]);
            let back: Vec<RecordBatch> = ParquetRecordBatchReaderBuilder::try_new(file)
                .unwrap()
                .build()
                .unwrap()
                .collect::<std::result::Result<_, _>>()
                .unwrap();
            let got: Vec<Option<i32>> = back
                .iter()
                .flat_map(|b| {
                    b.column(0)
                        .as_primitive::<Int32Type>()
                        .iter()
                        .collect::<Vec<_>>()
                })
                .collect();
            assert_eq!(got, values[offset..offset + rows], "offset {offset}");
            assert!(got.iter().any(Option::is_none));
        }
    }

    /// An INT64 column written with a dictionary from pieces of few and many distinct values
    /// (one-byte, two-byte and four-byte keys) reads back as the same integers, with the
    /// chunk's min/max and a dictionary page.
    #[test]
    fn int64_dictionary_pieces_read_back_with_arrow_rs() {
        use arrow::array::{Int64Array, RecordBatch};
        use arrow::datatypes::{DataType, Field, Schema};
        use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
        use parquet::arrow::ArrowSchemaConverter;

        // Distinct values per piece: 3, 300 and 70,000, shared in part between pieces.
        let pieces: Vec<Vec<i64>> = vec![
            (0..5_000).map(|i| [7, -3, i64::MAX][i % 3]).collect(),
            (0..20_000).map(|i| 1_000 + (i as i64 * 7) % 300).collect(),
            (0..140_000)
                .map(|i| 1_100 + (i as i64 * 13) % 70_000)
                .collect(),
        ];
        let all: Vec<i64> = pieces.concat();
        let schema = Arc::new(Schema::new(vec![Field::new(
            "connection_id",
            DataType::Int64,
            false,
        )]));
        let descr = ArrowSchemaConverter::new().convert(&schema).unwrap();
        let dicts: Vec<DictPiece> = pieces
            .iter()
            .map(|p| DictPiece::from_int64(&Int64Array::from(p.clone())))
            .collect();
        assert!(matches!(dicts[0].keys, Keys::U8(_)));
        assert!(matches!(dicts[1].keys, Keys::U16(_)));
        assert!(matches!(dicts[2].keys, Keys::I32(_)));
        let merged = merge_dictionaries(&dicts).unwrap();
        let distinct: std::collections::BTreeSet<i64> = all.iter().copied().collect();
        assert_eq!(merged.values().len(), distinct.len(), "no repeats");
        let chunk = encode_dictionary(descr.column(0), &merged, 1).unwrap();
        let file = one_row_group_file(&descr, vec![chunk]);

        let meta =
            parquet::file::serialized_reader::SerializedFileReader::new(file.clone()).unwrap();
        let column = parquet::file::reader::FileReader::metadata(&meta)
            .row_group(0)
            .column(0)
            .clone();
        assert!(column.dictionary_page_offset().is_some());
        match column.statistics().unwrap() {
            Statistics::Int64(s) => assert_eq!(
                (s.min_opt(), s.max_opt(), s.null_count_opt()),
                (distinct.first(), distinct.last(), Some(0))
            ),
            other => panic!("{other:?}"),
        }
        let reader = ParquetRecordBatchReaderBuilder::try_new(file)
            .unwrap()
            .with_batch_size(all.len())
            .build()
            .unwrap();
        let batches: Vec<RecordBatch> = reader.map(|b| b.unwrap()).collect();
        let got = arrow::compute::concat_batches(&batches[0].schema(), &batches).unwrap();
        let got = got.column(0).as_any().downcast_ref::<Int64Array>().unwrap();
        assert_eq!(got.values().to_vec(), all);
    }

    #[test]
    fn joined_pieces_read_back_with_arrow_rs() {
        use arrow::array::{ArrayRef, BooleanArray, RecordBatch, TimestampMillisecondArray};
        use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
        use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
        use parquet::arrow::ArrowSchemaConverter;

        let rows = 300_000; // several pages of every kind
        let bounds = [0, 70_000, 71_000, 71_001, rows];
        let users = ["app", "admin", "rdsadmin", "東京"];
        let user = |i: usize| (i % 7 != 3).then(|| users[(i / 3 + i / 50_000) % users.len()]);
        let op = |i: usize| ["QUERY", "CONNECT"][i % 2];
        let text =
            |i: usize| (!i.is_multiple_of(11)).then(|| format!("select {i}, 'x' from t{}", i % 13));
        let time = |i: usize| 1_770_000_000_000 + (i as i64 * 37) % 1_000_003;
        let retcode = |i: usize| (!i.is_multiple_of(5)).then_some((i % 1_064) as i32 - 2);
        let tls = |i: usize| (!i.is_multiple_of(3)).then_some(i % 4 == 1);

        let schema = Arc::new(Schema::new(vec![
            Field::new("user", DataType::Utf8, true),
            Field::new("operation", DataType::Utf8, false),
            Field::new("object", DataType::Utf8, true),
            Field::new(
                "event_time",
                DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
                false,
            ),
            Field::new("source_line", DataType::Int64, false),
            Field::new("retcode", DataType::Int32, true),
            Field::new("tls", DataType::Boolean, true),
        ]));
        let descr = ArrowSchemaConverter::new().convert(&schema).unwrap();
        let mut users_pieces = Vec::new();
        let mut ops_pieces = Vec::new();
        let mut fixed: Vec<Option<ColumnPages>> = (0..5).map(|_| None).collect();
        for w in bounds.windows(2) {
            let (start, end) = (w[0], w[1]);
            let mut nullable = DictCol::with_capacity(end - start);
            let mut required = DictCol::with_capacity(end - start);
            for i in start..end {
                match user(i) {
                    Some(u) => nullable.push(u.as_bytes(), true),
                    None => nullable.push_null(),
                }
                required.push_slot(i % 2, op(i));
            }
            users_pieces.push(DictPiece::new(&nullable.finish()).unwrap());
            ops_pieces.push(DictPiece::new(&required.finish()).unwrap());
            let arrays: [ArrayRef; 5] = [
                Arc::new(StringArray::from(
                    (start..end).map(text).collect::<Vec<_>>(),
                )),
                Arc::new(
                    TimestampMillisecondArray::from((start..end).map(time).collect::<Vec<_>>())
                        .with_timezone("UTC"),
                ),
                Arc::new(arrow::array::Int64Array::from(
                    (start..end).map(|i| i as i64 + 1).collect::<Vec<_>>(),
                )),
                Arc::new(Int32Array::from(
                    (start..end).map(retcode).collect::<Vec<_>>(),
                )),
                Arc::new(BooleanArray::from(
                    (start..end).map(tls).collect::<Vec<_>>(),
                )),
            ];
            for (k, array) in arrays.iter().enumerate() {
                let pages = if k == 0 {
                    encode_plain(descr.column(2), array.as_any().downcast_ref().unwrap(), 1)
                } else {
                    encode_fixed(descr.column(2 + k), array.as_ref(), 1)
                }
                .unwrap();
                match fixed[k].as_mut() {
                    Some(all) => all.append(pages).unwrap(),
                    None => fixed[k] = Some(pages),
                }
            }
        }

        let users_all = merge_dictionaries(&users_pieces).unwrap();
        let ops_all = merge_dictionaries(&ops_pieces).unwrap();
        assert_eq!(
            users_all.values().len(),
            users.len(),
            "merged dictionary has no repeats"
        );
        let mut chunks = vec![
            encode_dictionary(descr.column(0), &users_all, 1).unwrap(),
            encode_dictionary(descr.column(1), &ops_all, 1).unwrap(),
        ];
        for (k, pages) in fixed.into_iter().enumerate() {
            let pages = pages.unwrap();
            assert_eq!(pages.rows(), rows);
            chunks.push(pages.finish(descr.column(2 + k)).unwrap());
        }
        let file = one_row_group_file(&descr, chunks);

        // Statistics of the joined chunks, against the values.
        let meta =
            parquet::file::serialized_reader::SerializedFileReader::new(file.clone()).unwrap();
        let meta = parquet::file::reader::FileReader::metadata(&meta)
            .row_group(0)
            .clone();
        assert_eq!(meta.num_rows(), rows as i64);
        let stats = |c: usize| meta.column(c).statistics().unwrap().clone();
        let (tmin, tmax) = ((0..rows).map(time).min(), (0..rows).map(time).max());
        match stats(3) {
            Statistics::Int64(s) => {
                assert_eq!((s.min_opt().copied(), s.max_opt().copied()), (tmin, tmax))
            }
            other => panic!("{other:?}"),
        }
        match stats(4) {
            Statistics::Int64(s) => {
                assert_eq!((s.min_opt(), s.max_opt()), (Some(&1), Some(&(rows as i64))))
            }
            other => panic!("{other:?}"),
        }
        let rc: Vec<i32> = (0..rows).filter_map(retcode).collect();
        match stats(5) {
            Statistics::Int32(s) => {
                assert_eq!(s.min_opt(), rc.iter().min());
                assert_eq!(s.max_opt(), rc.iter().max());
                assert_eq!(s.null_count_opt(), Some((rows - rc.len()) as u64));
            }
            other => panic!("{other:?}"),
        }
        match stats(6) {
            Statistics::Boolean(s) => {
                assert_eq!((s.min_opt(), s.max_opt()), (Some(&false), Some(&true)))
            }
            other => panic!("{other:?}"),
        }

        let reader = ParquetRecordBatchReaderBuilder::try_new(file.clone())
            .unwrap()
            .with_batch_size(rows)
            .build()
            .unwrap();
        let batches: Vec<RecordBatch> = reader.map(|b| b.unwrap()).collect();
        let got = arrow::compute::concat_batches(&batches[0].schema(), &batches).unwrap();
        assert_eq!(got.num_rows(), rows);
        let as_strings = |a: &ArrayRef| -> Vec<Option<String>> {
            let a = arrow::compute::cast(a, &DataType::Utf8).unwrap();
            a.as_any()
                .downcast_ref::<StringArray>()
                .unwrap()
                .iter()
                .map(|v| v.map(str::to_string))
                .collect()
        };
        let want = |f: &dyn Fn(usize) -> Option<String>| (0..rows).map(f).collect::<Vec<_>>();
        assert_eq!(
            as_strings(got.column(0)),
            want(&|i| user(i).map(str::to_string))
        );
        assert_eq!(
            as_strings(got.column(1)),
            want(&|i| Some(op(i).to_string()))
        );
        assert_eq!(as_strings(got.column(2)), want(&text));
        let t = got
            .column(3)
            .as_any()
            .downcast_ref::<TimestampMillisecondArray>()
            .unwrap();
        assert_eq!(t.values().to_vec(), (0..rows).map(time).collect::<Vec<_>>());
        let l = got
            .column(4)
            .as_any()
            .downcast_ref::<arrow::array::Int64Array>()
            .unwrap();
        assert!(l
            .values()
            .iter()
            .enumerate()
            .all(|(i, &v)| v == i as i64 + 1));
        let r = got.column(5).as_any().downcast_ref::<Int32Array>().unwrap();
        assert_eq!(
            r.iter().collect::<Vec<_>>(),
            (0..rows).map(retcode).collect::<Vec<_>>()
        );
        let b = got
            .column(6)
            .as_any()
            .downcast_ref::<BooleanArray>()
            .unwrap();
        assert_eq!(
            b.iter().collect::<Vec<_>>(),
            (0..rows).map(tls).collect::<Vec<_>>()
        );

        // Skipping to a row through the offset index lands on the right page of every column.
        use parquet::arrow::arrow_reader::{ArrowReaderOptions, RowSelection, RowSelector};
        let skip = 200_000;
        let options = ArrowReaderOptions::new()
            .with_offset_index_policy(parquet::file::metadata::PageIndexPolicy::Required);
        let reader = ParquetRecordBatchReaderBuilder::try_new_with_options(file, options)
            .unwrap()
            .with_row_selection(RowSelection::from(vec![
                RowSelector::skip(skip),
                RowSelector::select(10),
            ]))
            .build()
            .unwrap();
        let got = reader.map(|b| b.unwrap()).next().unwrap();
        let l = got
            .column(4)
            .as_any()
            .downcast_ref::<arrow::array::Int64Array>()
            .unwrap();
        assert_eq!(
            l.values().to_vec(),
            (skip as i64 + 1..skip as i64 + 11).collect::<Vec<_>>()
        );
        assert_eq!(
            as_strings(got.column(2)),
            (skip..skip + 10).map(text).collect::<Vec<_>>()
        );
        assert_eq!(
            as_strings(got.column(0)),
            (skip..skip + 10)
                .map(|i| user(i).map(str::to_string))
                .collect::<Vec<_>>()
        );
    }
}
