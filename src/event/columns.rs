//! The event builder's string columns, where a value is first copied.
//!
//! [`StrCol`] holds a string column in Arrow layout (the query text; also each dictionary).
//! Nine event columns (user, hosts, operation, database, ...) hold a handful of distinct
//! values repeated on millions of rows. The generic arrow-rs path copies every value into a
//! `StringArray` and then hashes it again in the Parquet writer's dictionary interner, about
//! 20 ns per value per column. Here [`DictCol`] interns once, when the event is pushed (the
//! previous row's value, then a few recent keys, then a hash map; enum-valued columns by
//! variant), so the Arrow column is a `DictionaryArray<Int32, Utf8>` from the start, which
//! the sink's page encoders write as Parquet pages directly.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{Array, DictionaryArray, Int32Array, NullBufferBuilder, StringArray};
use arrow::buffer::{Buffer, OffsetBuffer, ScalarBuffer};
use arrow::datatypes::Int32Type;

use crate::bytes::bytes_eq;

/// A dictionary-encoded string column under construction.
pub(crate) struct DictCol {
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
    pub(crate) fn with_capacity(rows: usize) -> Self {
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
    pub(crate) fn push(&mut self, v: &[u8], checked: bool) {
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

    /// [`DictCol::push`], trying first `hint`, a key this column handed out since its last
    /// finish (`-1`: none). Returns the key pushed.
    #[inline]
    pub(crate) fn push_hinted(&mut self, v: &[u8], checked: bool, hint: i32) -> i32 {
        if hint >= 0 && (hint as usize) < self.dict.len() && bytes_eq(self.value(hint), v) {
            self.push_key(hint);
        } else {
            self.push(v, checked);
        }
        self.last
    }

    #[inline]
    pub(crate) fn push_str(&mut self, v: &str) {
        self.push(v.as_bytes(), true);
    }

    /// Appends `v`, the text of variant `slot` of a small vocabulary: after its first row the
    /// key is a table lookup, with no comparison.
    #[inline]
    pub(crate) fn push_slot(&mut self, slot: usize, v: &str) {
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
    /// its last [`DictCol::finish`], which checks every key once, in one pass (a check here,
    /// per row, kept this call out of line in the event loop).
    #[inline(always)]
    pub(crate) fn push_key(&mut self, key: i32) {
        debug_assert!(key >= 0 && (key as usize) < self.dict.len());
        self.last = key;
        self.keys.push(key);
        self.nulls.append_non_null();
    }

    #[inline]
    pub(crate) fn push_null(&mut self) {
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
    pub(crate) fn last_key(&self) -> i32 {
        self.last
    }

    /// Bytes of distinct text held.
    pub(crate) fn len_bytes(&self) -> usize {
        self.dict.len_bytes()
    }

    /// Takes the rows pushed so far as an Arrow dictionary array, leaving the column empty.
    pub(crate) fn finish(&mut self) -> DictionaryArray<Int32Type> {
        let keys = std::mem::take(&mut self.keys);
        let nulls = self.nulls.finish();
        let dict = self.dict.finish();
        self.index.clear();
        self.last = -1;
        self.slots.clear();
        self.recent = [-1; RECENT];
        // Every key indexes `dict` (null rows hold 0, which `push_key` never makes valid on
        // its own: an empty dictionary with only null rows is also fine for Arrow). Checked
        // here, once per batch, as the unchecked constructor below requires.
        let n = dict.len() as u32;
        let in_range = keys.iter().fold(true, |ok, &k| ok & ((k as u32) < n));
        let keys = Int32Array::new(ScalarBuffer::from(keys), nulls);
        assert!(
            in_range || keys.iter().flatten().all(|k| (k as u32) < n),
            "a dictionary key was not handed out by this column"
        );
        // SAFETY: every non-null key indexes `dict` (checked just above).
        unsafe { DictionaryArray::new_unchecked(keys, Arc::new(dict)) }
    }
}

/// A UTF-8 string column under construction: the Arrow layout (values, `i32` offsets,
/// validity) in plain vectors, so a value can be written in pieces (unescaping, through
/// `fmt::Write`) and the vectors become the array's buffers without a copy.
///
/// Invariant: `values` holds valid UTF-8 at every [`StrCol::commit`]; writers append only
/// validated or replaced text.
pub(crate) struct StrCol {
    values: Vec<u8>,
    offsets: Vec<i32>,
    nulls: NullBufferBuilder,
}

impl StrCol {
    pub(crate) fn with_capacity(rows: usize, bytes: usize) -> Self {
        let mut offsets = Vec::with_capacity(rows + 1);
        offsets.push(0);
        StrCol {
            values: Vec::with_capacity(bytes),
            offsets,
            nulls: NullBufferBuilder::new(rows),
        }
    }

    /// Values committed so far.
    pub(crate) fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    fn value(&self, i: usize) -> &[u8] {
        &self.values[self.offsets[i] as usize..self.offsets[i + 1] as usize]
    }

    /// Appends bytes to the value being written. `checked`: `v` is known to be valid UTF-8
    /// (cut at ASCII delimiters from a validated buffer); otherwise it is validated, and
    /// invalid sequences are replaced with U+FFFD.
    #[inline]
    pub(crate) fn push_bytes(&mut self, v: &[u8], checked: bool) {
        if checked || simdutf8::basic::from_utf8(v).is_ok() {
            self.values.extend_from_slice(v);
        } else {
            crate::event::push_lossy(v, self);
        }
    }

    /// Appends audit-plugin text with its backslash escapes resolved (see
    /// `event::unescape_into`). `v` must be valid UTF-8: escapes are ASCII and stand for one
    /// ASCII byte, so the result is valid too.
    ///
    /// Escapes are often a few bytes apart (`\'paid\'`), so the text is copied 16 bytes at
    /// a time into the spare capacity (a block past a backslash is overwritten by the next
    /// one) rather than by a `memcpy` call per piece between escapes.
    #[inline]
    pub(crate) fn push_unescaped(&mut self, v: &[u8]) {
        // The result is never longer than `v`.
        self.values.reserve(v.len());
        let len = self.values.len();
        let out = &mut self.values.spare_capacity_mut()[..v.len()];
        let (mut r, mut w) = (0, 0);
        let escape = |r: &mut usize, w: &mut usize, out: &mut [std::mem::MaybeUninit<u8>]| {
            // v[*r] is a backslash.
            match v
                .get(*r + 1)
                .copied()
                .and_then(crate::event::unescaped_byte)
            {
                Some(c) => {
                    out[*w].write(c);
                    *r += 2;
                }
                // Unknown or final escape: the backslash stays, what follows is text.
                None => {
                    out[*w].write(b'\\');
                    *r += 1;
                }
            }
            *w += 1;
        };
        while r + 16 <= v.len() {
            // `w <= r`, so `out[w..w + 16]` is within `out`.
            let block = &mut out[w..w + 16];
            // SAFETY: both ranges are 16 bytes long (checked by the slicing above); a
            // `MaybeUninit<u8>` has the layout of a `u8`; `v` and the spare capacity of
            // `values` do not overlap.
            unsafe {
                std::ptr::copy_nonoverlapping(v.as_ptr().add(r), block.as_mut_ptr().cast(), 16)
            };
            let hits = crate::bytes::eq_mask16(v, r, b'\\');
            if hits == 0 {
                r += 16;
                w += 16;
                continue;
            }
            let i = hits.trailing_zeros() as usize;
            r += i;
            w += i;
            escape(&mut r, &mut w, out);
        }
        while r < v.len() {
            if v[r] == b'\\' {
                escape(&mut r, &mut w, out);
            } else {
                out[w].write(v[r]);
                r += 1;
                w += 1;
            }
        }
        // SAFETY: bytes `len..len + w` were written above (each output byte is written by a
        // block copy or by the byte loops before `w` passes it).
        unsafe { self.values.set_len(len + w) };
    }

    /// Ends the value written since the last commit.
    #[inline]
    pub(crate) fn commit(&mut self) {
        // Batches are finished far below 2 GiB of text (see `event::MAX_BATCH_BYTES`).
        self.offsets.push(self.values.len() as i32);
        self.nulls.append_non_null();
    }

    #[inline]
    pub(crate) fn append_null(&mut self) {
        self.offsets.push(self.values.len() as i32);
        self.nulls.append_null();
    }

    pub(crate) fn len_bytes(&self) -> usize {
        self.values.len()
    }

    /// Takes the values committed so far as an Arrow array, leaving the column empty.
    pub(crate) fn finish(&mut self) -> StringArray {
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

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::Array;

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
