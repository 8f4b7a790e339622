//! Small byte searches and comparisons of the hot path, where a general routine costs more
//! than the work: the values compared are a few bytes long, the bytes searched for a few
//! bytes apart. Also the one grammar of byte sizes (`16MiB`) the settings and `synth` read.
//!
//! The SIMD pieces use SSE2, which every x86_64 processor has, through one primitive
//! ([`eq_mask16`]); other targets take the plain loop it stands for.

/// Bit `i` set where `s[at + i]` is `byte`, for the 16 bytes at `at` (`at + 16 <= s.len()`).
#[inline]
pub(crate) fn eq_mask16(s: &[u8], at: usize, byte: u8) -> u32 {
    let block = &s[at..at + 16];
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{
            _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_set1_epi8,
        };
        // SAFETY: SSE2 is part of x86_64; the load reads the 16 bytes of `block`.
        unsafe {
            let v = _mm_loadu_si128(block.as_ptr().cast());
            _mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(byte as i8))) as u32
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    block
        .iter()
        .enumerate()
        .fold(0, |m, (i, &b)| m | (u32::from(b == byte) << i))
}

/// Bit `i` set where `s[at + i]` is `a` or `b` in either case (`a`, `b`: lower-case ASCII
/// letters), for the 16 bytes at `at` (`at + 16 <= s.len()`): one load for both letters.
#[inline]
pub(crate) fn either_ci_mask16(s: &[u8], at: usize, a: u8, b: u8) -> u32 {
    debug_assert!(a.is_ascii_lowercase() && b.is_ascii_lowercase());
    let block = &s[at..at + 16];
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{
            _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8,
        };
        // SAFETY: SSE2 is part of x86_64; the load reads the 16 bytes of `block`. Setting
        // bit 5 maps an upper-case letter to its lower case (and no other byte onto a
        // lower-case letter but its own upper case).
        unsafe {
            let v = _mm_or_si128(_mm_loadu_si128(block.as_ptr().cast()), _mm_set1_epi8(0x20));
            let hits = _mm_or_si128(
                _mm_cmpeq_epi8(v, _mm_set1_epi8(a as i8)),
                _mm_cmpeq_epi8(v, _mm_set1_epi8(b as i8)),
            );
            _mm_movemask_epi8(hits) as u32
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    block.iter().enumerate().fold(0, |m, (i, &c)| {
        m | (u32::from(c | 0x20 == a || c | 0x20 == b) << i)
    })
}

/// Calls `f` with the position of every byte of `s` that `mask` marks (bit `i` of
/// `mask(block, at)` for byte `at + i`, as the `*_mask16` functions here give it), in order,
/// until `f` returns true; returns whether it did. 16 bytes at a time; input shorter than
/// that is copied into a padded block first, so the short statements of most logs take one
/// block and no byte-by-byte loop.
#[inline]
pub(crate) fn any_hit(
    s: &[u8],
    mask: impl Fn(&[u8], usize) -> u32,
    mut f: impl FnMut(usize) -> bool,
) -> bool {
    // Calls `f` for each set bit of a block's hits, bit `i` standing for byte `$base + i`.
    macro_rules! each {
        ($hits:expr, $base:expr) => {
            let mut hits = $hits;
            while hits != 0 {
                if f($base + hits.trailing_zeros() as usize) {
                    return true;
                }
                hits &= hits - 1;
            }
        };
    }
    let n = s.len();
    if n < 16 {
        let padded = load_short(s).to_le_bytes();
        each!(mask(&padded, 0) & !(u32::MAX << n), 0);
        return false;
    }
    let mut base = 0;
    while base + 16 <= n {
        each!(mask(s, base), base);
        base += 16;
    }
    if base < n {
        // The last bytes: the block that ends the input, less the bytes already looked at.
        each!(mask(s, n - 16) >> (16 - (n - base)), base);
    }
    false
}

/// The first 16 bytes of `s` (all of it when shorter) as a little-endian number, zero past
/// its end: two overlapping loads instead of a call to `memcpy` for a length only known at
/// run time.
#[inline]
pub(crate) fn load_short(s: &[u8]) -> u128 {
    let n = s.len();
    let w8 = |i: usize| u128::from(u64::from_le_bytes(s[i..i + 8].try_into().expect("8")));
    let w4 = |i: usize| u128::from(u32::from_le_bytes(s[i..i + 4].try_into().expect("4")));
    let w1 = |i: usize| u128::from(s[i]);
    match n {
        0 => 0,
        1..=3 => w1(0) | w1(n / 2) << (8 * (n / 2)) | w1(n - 1) << (8 * (n - 1)),
        4..=7 => w4(0) | w4(n - 4) << (8 * (n - 4)),
        8..=15 => w8(0) | w8(n - 8) << (8 * (n - 8)),
        _ => w8(0) | w8(8) << 64,
    }
}

/// The first `needle` in `hay`: 16 bytes by one compare, then `memchr` for the rest. Escapes
/// in query text are often only a few bytes apart (`\'paid\'`), where setting up a `memchr`
/// search costs more than the bytes it skips.
#[inline]
pub(crate) fn find_byte_near(needle: u8, hay: &[u8]) -> Option<usize> {
    const NEAR: usize = 16;
    if hay.len() < NEAR {
        return hay.iter().position(|&b| b == needle);
    }
    let hits = eq_mask16(hay, 0, needle);
    if hits != 0 {
        return Some(hits.trailing_zeros() as usize);
    }
    memchr::memchr(needle, &hay[NEAR..]).map(|i| i + NEAR)
}

/// Slice equality for short values (users, hosts, databases), without a call to `memcmp`.
#[inline]
pub(crate) fn bytes_eq(a: &[u8], b: &[u8]) -> bool {
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

/// Parses a size such as `1GiB`, `1G`, `512M`, `500MB`, `64k`, `1.5G` or `12345`.
/// `K/M/G/T` with or without `iB` are binary (1024-based); `KB/MB/GB/TB` are decimal.
pub(crate) fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '_'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let num: String = num.chars().filter(|&c| c != '_').collect();
    if num.is_empty() {
        return Err(format!(
            "invalid size `{s}`: expected a number such as 512M or 1GiB"
        ));
    }
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "ki" | "kib" => 1 << 10,
        "m" | "mi" | "mib" => 1 << 20,
        "g" | "gi" | "gib" => 1 << 30,
        "t" | "ti" | "tib" => 1 << 40,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        "tb" => 1_000_000_000_000,
        u => {
            return Err(format!(
                "invalid size unit `{u}` in `{s}` (use K, M, G, T, KiB.., KB..)"
            ))
        }
    };
    if num.contains('.') {
        let v: f64 = num.parse().map_err(|_| format!("invalid size `{s}`"))?;
        let bytes = (v * mult as f64).round();
        if !bytes.is_finite() || bytes > u64::MAX as f64 {
            return Err(format!("size `{s}` is too large"));
        }
        Ok(bytes as u64)
    } else {
        let v: u64 = num.parse().map_err(|_| format!("invalid size `{s}`"))?;
        v.checked_mul(mult)
            .ok_or_else(|| format!("size `{s}` is too large"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_loads_equal_a_padded_copy() {
        let s: Vec<u8> = (1..=40u8).map(|b| b.wrapping_mul(97)).collect();
        for n in 0..=20 {
            let mut padded = [0u8; 16];
            let k = n.min(16);
            padded[..k].copy_from_slice(&s[..k]);
            assert_eq!(
                load_short(&s[..n]),
                u128::from_le_bytes(padded),
                "{n} bytes"
            );
        }
    }

    #[test]
    fn hits_are_those_of_a_byte_by_byte_walk() {
        // Every length around the block size, hits anywhere, and stopping early.
        let text = b"f(x) FROM (SELECT f(y)) fff ((( F".repeat(3);
        for n in 0..text.len() {
            for start in [0, 1, 7] {
                let s = &text[start.min(n)..n];
                let want: Vec<usize> = (0..s.len()).filter(|&i| s[i] == b'(').collect();
                let mut got = Vec::new();
                any_hit(
                    s,
                    |b, at| eq_mask16(b, at, b'('),
                    |i| {
                        got.push(i);
                        false
                    },
                );
                assert_eq!(got, want, "{n} {start}");
                if let Some(&first) = want.first() {
                    let mut seen = Vec::new();
                    let stopped = any_hit(
                        s,
                        |b, at| eq_mask16(b, at, b'('),
                        |i| {
                            seen.push(i);
                            true
                        },
                    );
                    assert!(stopped);
                    assert_eq!(seen, [first]);
                }
            }
        }
    }

    #[test]
    fn case_blind_mask_of_two_letters_marks_exactly_them() {
        let s: Vec<u8> = (0..=255u8)
            .chain(b"fFxXfile FILE lo_eXport".iter().copied())
            .collect();
        for at in 0..=s.len() - 16 {
            let want = (0..16).fold(0u32, |m, i| {
                m | (u32::from(matches!(s[at + i], b'f' | b'F' | b'x' | b'X')) << i)
            });
            assert_eq!(either_ci_mask16(&s, at, b'f', b'x'), want, "at {at}");
        }
    }

    #[test]
    fn sixteen_byte_mask_marks_every_match() {
        let s: Vec<u8> = (0..40u8)
            .map(|i| if i % 3 == 0 { b',' } else { b'a' + i % 7 })
            .collect();
        for at in 0..=s.len() - 16 {
            let want = (0..16).fold(0u32, |m, i| m | (u32::from(s[at + i] == b',') << i));
            assert_eq!(eq_mask16(&s, at, b','), want, "at {at}");
        }
    }

    #[test]
    fn near_byte_search_agrees_with_memchr() {
        for len in 0..80 {
            for at in (0..len).chain([usize::MAX]) {
                let mut hay: Vec<u8> = (0..len).map(|i| b'a' + (i % 20) as u8).collect();
                if at < len {
                    hay[at] = b'\\';
                    if at + 3 < len {
                        hay[at + 3] = b'\\';
                    }
                }
                assert_eq!(
                    find_byte_near(b'\\', &hay),
                    memchr::memchr(b'\\', &hay),
                    "len {len} at {at}"
                );
            }
        }
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
}
