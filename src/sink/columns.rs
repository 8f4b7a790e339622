//! The event builder's string columns, from the first copy of a value to finished Parquet
//! column chunks.
//!
//! [`StrCol`] holds a string column in Arrow layout (the query text; also each dictionary).
//! Nine event columns (user, hosts, operation, database, ...) hold a handful of distinct
//! values repeated on millions of rows. The generic arrow-rs path copies every value into a
//! `StringArray` and then hashes it again in the Parquet writer's dictionary interner, about
//! 20 ns per value per column. Here [`DictCol`] interns once, when the event is pushed (the
//! previous row's value, then a few recent keys, then a hash map; enum-valued columns by
//! variant), so the Arrow column is a `DictionaryArray<Int32, Utf8>` from the start, and
//! [`encode_dictionary`] writes its keys as the Parquet dictionary page plus RLE/bit-packed
//! index pages directly. [`encode_plain`] writes the query text as PLAIN pages with one copy.
//!
//! The file is what arrow-rs writes for the same columns at Parquet 1.0: a PLAIN dictionary
//! page, then v1 data pages with RLE definition levels (nullable columns) and `RLE_DICTIONARY`
//! indices (or PLAIN values), each page compressed on its own, plus an offset index. Readers
//! (DuckDB, Athena, arrow-rs) see `BYTE_ARRAY` + `STRING`, as before.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{Array, DictionaryArray, Int32Array, NullBufferBuilder, StringArray};
use arrow::buffer::NullBuffer;
use arrow::buffer::{Buffer, OffsetBuffer, ScalarBuffer};
use arrow::datatypes::Int32Type;
use bytes::Bytes;
use parquet::basic::{Compression, Encoding, EncodingMask, PageType};
use parquet::column::page::{CompressedPage, Page, PageWriter};
use parquet::column::writer::ColumnCloseResult;
use parquet::errors::{ParquetError, Result};
use parquet::file::metadata::{ColumnChunkMetaData, PageEncodingStats};
use parquet::file::page_index::offset_index::{OffsetIndexMetaData, PageLocation};
use parquet::file::writer::{SerializedPageWriter, TrackedWrite};
use parquet::schema::types::ColumnDescPtr;

/// Rows per data page. Index pages are small (a byte or two per row before compression), so
/// few large pages keep the per-page cost (header, compressor call) negligible.
const PAGE_ROWS: usize = 128 * 1024;

/// A dictionary-encoded string column under construction.
pub struct DictCol {
    keys: Vec<i32>,
    nulls: NullBufferBuilder,
    /// Distinct values in first-seen order.
    dict: StrCol,
    index: HashMap<Box<[u8]>, i32, foldhash::fast::FixedState>,
    /// The key pushed last (`-1` before the first value): consecutive rows often repeat it.
    last: i32,
    /// Keys of values from a small fixed vocabulary (an enum's variants), by variant index.
    slots: Vec<i32>,
    /// Recently pushed keys, most recent first (`-1`: empty): interleaved sessions alternate
    /// between a few users and hosts.
    recent: [i32; RECENT],
}

const RECENT: usize = 4;

impl DictCol {
    pub fn with_capacity(rows: usize) -> Self {
        DictCol {
            keys: Vec::with_capacity(rows),
            nulls: NullBufferBuilder::new(rows),
            dict: StrCol::with_capacity(0, 0),
            index: HashMap::default(),
            last: -1,
            slots: Vec::new(),
            recent: [-1; RECENT],
        }
    }

    fn value(&self, key: i32) -> &[u8] {
        self.dict.value(key as usize)
    }

    /// Appends a value. `checked`: `v` is known to be valid UTF-8; otherwise it is validated
    /// and invalid sequences are replaced.
    #[inline]
    pub fn push(&mut self, v: &[u8], checked: bool) {
        if self.last >= 0 && bytes_eq(self.value(self.last), v) {
            return self.push_key(self.last);
        }
        let key = match self.recent[1..]
            .iter()
            .find(|&&k| k >= 0 && bytes_eq(self.value(k), v))
        {
            Some(&k) => k,
            None => match self.index.get(v) {
                Some(&k) => k,
                None => self.insert(v, checked),
            },
        };
        // Move `key` to the front of `recent` (the previous front is `last`).
        let at = self
            .recent
            .iter()
            .position(|&k| k == key)
            .unwrap_or(RECENT - 1);
        self.recent.copy_within(0..at, 1);
        self.recent[0] = key;
        self.push_key(key);
    }

    #[inline]
    pub fn push_str(&mut self, v: &str) {
        self.push(v.as_bytes(), true);
    }

    /// Appends `v`, the text of variant `slot` of a small vocabulary: after its first row the
    /// key is a table lookup, with no comparison.
    #[inline]
    pub fn push_slot(&mut self, slot: usize, v: &str) {
        match self.slots.get(slot) {
            Some(&k) if k >= 0 => self.push_key(k),
            _ => {
                self.push(v.as_bytes(), true);
                if self.slots.len() <= slot {
                    self.slots.resize(slot + 1, -1);
                }
                self.slots[slot] = self.last;
            }
        }
    }

    /// Appends the value of a key this column handed out (see [`DictCol::last_key`]) since
    /// its last [`DictCol::finish`].
    #[inline]
    pub fn push_key(&mut self, key: i32) {
        debug_assert!(key >= 0 && (key as usize) < self.dict.len());
        self.last = key;
        self.keys.push(key);
        self.nulls.append_non_null();
    }

    #[inline]
    pub fn push_null(&mut self) {
        self.keys.push(0);
        self.nulls.append_null();
    }

    #[cold]
    fn insert(&mut self, v: &[u8], checked: bool) -> i32 {
        let key = self.dict.len() as i32;
        self.dict.push_bytes(v, checked);
        self.dict.commit();
        // Keyed by the input bytes, so a replaced value is still found on its next row.
        self.index.insert(v.into(), key);
        key
    }

    /// The key of the value pushed last (`-1` before any non-null value).
    #[inline]
    pub fn last_key(&self) -> i32 {
        self.last
    }

    /// Bytes of distinct text held.
    pub fn len_bytes(&self) -> usize {
        self.dict.len_bytes()
    }

    /// Takes the rows pushed so far as an Arrow dictionary array, leaving the column empty.
    pub fn finish(&mut self) -> DictionaryArray<Int32Type> {
        let keys = std::mem::take(&mut self.keys);
        let nulls = self.nulls.finish();
        let dict = self.dict.finish();
        self.index.clear();
        self.last = -1;
        self.slots.clear();
        self.recent = [-1; RECENT];
        let keys = Int32Array::new(ScalarBuffer::from(keys), nulls);
        // SAFETY: every non-null key was handed out by `insert`, so it indexes `dict`.
        unsafe { DictionaryArray::new_unchecked(keys, Arc::new(dict)) }
    }
}

/// A UTF-8 string column under construction: the Arrow layout (values, `i32` offsets,
/// validity) in plain vectors, so a value can be written in pieces (unescaping, through
/// `fmt::Write`) and the vectors become the array's buffers without a copy.
///
/// Invariant: `values` holds valid UTF-8 at every [`StrCol::commit`]; writers append only
/// validated or replaced text.
pub struct StrCol {
    values: Vec<u8>,
    offsets: Vec<i32>,
    nulls: NullBufferBuilder,
}

impl StrCol {
    pub fn with_capacity(rows: usize, bytes: usize) -> Self {
        let mut offsets = Vec::with_capacity(rows + 1);
        offsets.push(0);
        StrCol {
            values: Vec::with_capacity(bytes),
            offsets,
            nulls: NullBufferBuilder::new(rows),
        }
    }

    /// Values committed so far.
    pub fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn value(&self, i: usize) -> &[u8] {
        &self.values[self.offsets[i] as usize..self.offsets[i + 1] as usize]
    }

    #[inline]
    pub fn reserve(&mut self, bytes: usize) {
        self.values.reserve(bytes);
    }

    /// Appends bytes to the value being written. `checked`: `v` is known to be valid UTF-8
    /// (cut at ASCII delimiters from a validated buffer); otherwise it is validated, and
    /// invalid sequences are replaced with U+FFFD.
    #[inline]
    pub fn push_bytes(&mut self, v: &[u8], checked: bool) {
        if checked || simdutf8::basic::from_utf8(v).is_ok() {
            self.values.extend_from_slice(v);
        } else {
            crate::event::push_lossy(v, self);
        }
    }

    /// Ends the value written since the last commit.
    #[inline]
    pub fn commit(&mut self) {
        // Batches are finished far below 2 GiB of text (see `event::MAX_BATCH_BYTES`).
        self.offsets.push(self.values.len() as i32);
        self.nulls.append_non_null();
    }

    #[inline]
    pub fn append_null(&mut self) {
        self.offsets.push(self.values.len() as i32);
        self.nulls.append_null();
    }

    pub fn len_bytes(&self) -> usize {
        self.values.len()
    }

    /// Takes the values committed so far as an Arrow array, leaving the column empty.
    pub fn finish(&mut self) -> StringArray {
        let values = std::mem::take(&mut self.values);
        let offsets = std::mem::replace(&mut self.offsets, vec![0]);
        let nulls = self.nulls.finish();
        // SAFETY: offsets start at 0, never decrease and end at `values.len()`; every value
        // between two offsets is valid UTF-8 (the type's invariant).
        unsafe {
            StringArray::new_unchecked(
                OffsetBuffer::new_unchecked(ScalarBuffer::from(offsets)),
                Buffer::from_vec(values),
                nulls,
            )
        }
    }
}

impl std::fmt::Write for StrCol {
    #[inline]
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.values.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

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
struct ChunkWriter {
    sink: TrackedWrite<Vec<u8>>,
    zstd_level: i32,
    uncompressed: u64,
    compressed: u64,
    dictionary_len: Option<u64>,
    locations: Vec<PageLocation>,
    rows: usize,
    stats: Vec<PageEncodingStats>,
}

impl ChunkWriter {
    fn new(zstd_level: i32, capacity: usize) -> Self {
        ChunkWriter {
            sink: TrackedWrite::new(Vec::with_capacity(capacity)),
            zstd_level,
            uncompressed: 0,
            compressed: 0,
            dictionary_len: None,
            locations: Vec::new(),
            rows: 0,
            stats: Vec::new(),
        }
    }

    fn write(&mut self, page: Page, uncompressed: usize) -> Result<u64> {
        let spec = SerializedPageWriter::new(&mut self.sink)
            .write_page(CompressedPage::new(page, uncompressed))?;
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
        let offset = self.sink.bytes_written() as i64;
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
    fn finish(self, descr: ColumnDescPtr) -> Result<(Bytes, ColumnCloseResult)> {
        let mut encodings = vec![Encoding::RLE];
        encodings.extend(self.stats.iter().map(|s| s.encoding));
        let metadata = ColumnChunkMetaData::builder(descr)
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
        let bytes_written = self.sink.bytes_written() as u64;
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
        Ok((Bytes::from(self.sink.into_inner()?), close))
    }
}

/// Appends the v1 definition levels of rows `start..end` (1 = present): a 4-byte length,
/// then the levels in the hybrid encoding with bit width 1.
fn definition_levels(nulls: Option<&NullBuffer>, start: usize, end: usize, body: &mut Vec<u8>) {
    let levels: Vec<u32> = (start..end)
        .map(|i| nulls.is_none_or(|n| n.is_valid(i)) as u32)
        .collect();
    let at = body.len();
    body.extend_from_slice(&[0; 4]);
    rle_hybrid(&levels, 1, body);
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
pub fn encode_dictionary(
    descr: ColumnDescPtr,
    array: &DictionaryArray<Int32Type>,
    zstd_level: i32,
) -> Result<(Bytes, ColumnCloseResult)> {
    let nullable = check_nulls(&descr, array)?;
    let dict = array
        .values()
        .as_any()
        .downcast_ref::<StringArray>()
        .ok_or_else(|| ParquetError::General("dictionary values must be Utf8".into()))?;
    let keys = array.keys().values();
    let nulls = array.nulls();
    let rows = array.len();
    let bit_width = bits_for(dict.len().saturating_sub(1) as u32);
    let mut w = ChunkWriter::new(zstd_level, 1 << 16);

    // PLAIN byte arrays: a 4-byte little-endian length, then the bytes.
    let mut plain = Vec::with_capacity(dict.values().len() + 4 * dict.len());
    for v in dict.iter().flatten() {
        plain.extend_from_slice(&(v.len() as u32).to_le_bytes());
        plain.extend_from_slice(v.as_bytes());
    }
    w.dictionary_page(&plain, dict.len())?;

    let mut body = Vec::new();
    let mut indices: Vec<u32> = Vec::with_capacity(PAGE_ROWS.min(rows));
    let mut start = 0;
    while start < rows {
        let end = (start + PAGE_ROWS).min(rows);
        body.clear();
        indices.clear();
        if nullable {
            definition_levels(nulls, start, end, &mut body);
            indices.extend(
                (start..end)
                    .filter(|&i| nulls.is_none_or(|n| n.is_valid(i)))
                    .map(|i| keys[i] as u32),
            );
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

/// Uncompressed bytes per data page of a PLAIN string column, and its row limit (the arrow-rs
/// defaults).
const PLAIN_PAGE_BYTES: usize = 1 << 20;
const PLAIN_PAGE_ROWS: usize = 20_000;

/// Encodes a string column of mostly distinct values (query text) as PLAIN data pages.
pub fn encode_plain(
    descr: ColumnDescPtr,
    array: &StringArray,
    zstd_level: i32,
) -> Result<(Bytes, ColumnCloseResult)> {
    let nullable = check_nulls(&descr, array)?;
    let nulls = array.nulls();
    let offsets = array.value_offsets();
    let values = array.value_data();
    let rows = array.len();
    let mut w = ChunkWriter::new(zstd_level, values.len() / 4 + (1 << 16));
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
    w.finish(descr)
}

/// Slice equality for the short values of these columns, without a call to `memcmp`.
#[inline]
fn bytes_eq(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    let w8 = |s: &[u8], i: usize| u64::from_le_bytes(s[i..i + 8].try_into().expect("8 bytes"));
    let w4 = |s: &[u8], i: usize| u32::from_le_bytes(s[i..i + 4].try_into().expect("4 bytes"));
    match n {
        0 => true,
        1..=3 => a.iter().zip(b).all(|(x, y)| x == y),
        4..=8 => w4(a, 0) == w4(b, 0) && w4(a, n - 4) == w4(b, n - 4),
        9..=16 => w8(a, 0) == w8(b, 0) && w8(a, n - 8) == w8(b, n - 8),
        _ => a == b,
    }
}

/// Bits needed to store `max`.
fn bits_for(max: u32) -> u8 {
    (32 - max.leading_zeros()) as u8
}

/// Appends `values` in Parquet's RLE/bit-packing hybrid encoding (without length prefix).
///
/// Runs of 8 or more equal values become RLE runs; everything else is bit-packed in groups
/// of 8 (the last group zero-padded, which readers ignore past the page's value count).
pub fn rle_hybrid(values: &[u32], bit_width: u8, out: &mut Vec<u8>) {
    let w = bit_width as usize;
    let value_bytes = w.div_ceil(8);
    let n = values.len();
    let run_at = |i: usize| -> usize {
        let v = values[i];
        values[i..].iter().take_while(|&&x| x == v).count()
    };
    let mut i = 0;
    while i < n {
        let run = run_at(i);
        if run >= 8 {
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
            if i < n && run_at(i) >= 8 {
                break;
            }
        }
        varint(((groups as u64) << 1) | 1, out);
        let mut acc: u64 = 0;
        let mut bits = 0;
        for k in 0..groups * 8 {
            let v = values.get(start + k).copied().unwrap_or(0) as u64;
            acc |= v << bits;
            bits += w;
            while bits >= 8 {
                out.push(acc as u8);
                acc >>= 8;
                bits -= 8;
            }
        }
        debug_assert_eq!(bits, 0, "8 values of w bits fill whole bytes");
    }
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
        for (values, w) in cases {
            let mut out = Vec::new();
            rle_hybrid(&values, w, &mut out);
            assert_eq!(decode(&out, w, values.len()), values, "width {w}");
        }
    }

    /// Writes the columns with the direct encoders into a Parquet file and reads them back
    /// with the arrow-rs reader: values, nulls and page boundaries must survive.
    #[test]
    fn direct_chunks_read_back_with_arrow_rs() {
        use arrow::array::{ArrayRef, RecordBatch};
        use arrow::datatypes::{DataType, Field, Schema};
        use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
        use parquet::arrow::ArrowSchemaConverter;
        use parquet::file::properties::WriterProperties;
        use parquet::file::writer::SerializedFileWriter;

        let rows = 300_000; // several dictionary pages and many PLAIN pages
        let users = ["app", "admin", "rdsadmin", "東京"];
        let mut nullable = DictCol::with_capacity(rows);
        let mut required = DictCol::with_capacity(rows);
        let mut text: Vec<Option<String>> = Vec::with_capacity(rows);
        for i in 0..rows {
            if i % 7 == 3 {
                nullable.push_null();
            } else {
                nullable.push(users[(i / 3) % users.len()].as_bytes(), true);
            }
            required.push_slot(i % 2, ["QUERY", "CONNECT"][i % 2]);
            text.push((i % 11 != 0).then(|| format!("select {i}, 'x' from t{}", i % 13)));
        }
        let (nullable, required) = (nullable.finish(), required.finish());
        let text = StringArray::from(text);

        let schema = Arc::new(Schema::new(vec![
            Field::new("user", DataType::Utf8, true),
            Field::new("operation", DataType::Utf8, false),
            Field::new("object", DataType::Utf8, true),
        ]));
        let descr = ArrowSchemaConverter::new().convert(&schema).unwrap();
        let props = Arc::new(WriterProperties::builder().build());
        let mut out = Vec::new();
        let mut w = SerializedFileWriter::new(&mut out, descr.root_schema_ptr(), props).unwrap();
        let mut rg = w.next_row_group().unwrap();
        for (data, close) in [
            encode_dictionary(descr.column(0), &nullable, 1).unwrap(),
            encode_dictionary(descr.column(1), &required, 1).unwrap(),
            encode_plain(descr.column(2), &text, 1).unwrap(),
        ] {
            rg.append_column(&data, close).unwrap();
        }
        rg.close().unwrap();
        w.close().unwrap();

        let reader = ParquetRecordBatchReaderBuilder::try_new(Bytes::from(out))
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
        let want_user: Vec<Option<String>> = (0..rows)
            .map(|i| (i % 7 != 3).then(|| users[(i / 3) % users.len()].to_string()))
            .collect();
        assert_eq!(as_strings(got.column(0)), want_user);
        let want_op: Vec<Option<String>> = (0..rows)
            .map(|i| Some(["QUERY", "CONNECT"][i % 2].to_string()))
            .collect();
        assert_eq!(as_strings(got.column(1)), want_op);
        let want_text: Vec<Option<String>> = text.iter().map(|v| v.map(str::to_string)).collect();
        assert_eq!(as_strings(got.column(2)), want_text);
    }

    #[test]
    fn short_equality_agrees_with_slice_equality() {
        let words: Vec<Vec<u8>> = (0..40)
            .flat_map(|n| {
                let a: Vec<u8> = (0..n).map(|i| b'a' + (i % 26) as u8).collect();
                let mut b = a.clone();
                let mut c = a.clone();
                if n > 0 {
                    b[0] ^= 1;
                    c[n as usize - 1] ^= 1;
                }
                [a, b, c]
            })
            .collect();
        for x in &words {
            for y in &words {
                assert_eq!(bytes_eq(x, y), x == y, "{x:?} {y:?}");
            }
        }
    }

    #[test]
    fn builder_interns_values_and_keeps_nulls() {
        let mut c = DictCol::with_capacity(4);
        c.push(b"app", true);
        c.push(b"app", true);
        c.push_null();
        c.push(b"admin", true);
        c.push(b"app", true);
        c.push(b"bad\xff", false);
        let a = c.finish();
        let strings: Vec<Option<String>> = (0..a.len())
            .map(|i| {
                a.is_valid(i).then(|| {
                    let d = a.values().as_any().downcast_ref::<StringArray>().unwrap();
                    d.value(a.keys().value(i) as usize).to_string()
                })
            })
            .collect();
        assert_eq!(
            strings,
            vec![
                Some("app".into()),
                Some("app".into()),
                None,
                Some("admin".into()),
                Some("app".into()),
                Some("bad\u{FFFD}".into()),
            ]
        );
        assert_eq!(a.values().len(), 3, "one entry per distinct value");
    }
}
