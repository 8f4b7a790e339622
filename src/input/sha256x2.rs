//! SHA-256 of two inputs at once, for the chain-of-custody hash of every mapped file.
//!
//! Hashing one input is a chain of dependent rounds: on the CPUs with the SHA extensions
//! (SHA-NI) a round waits for the one before it, so one stream runs at about half the rate
//! the unit could sustain (measured: 1.25 ns per `sha256rnds2` in one chain, 0.62 ns each in
//! two independent chains). A scan hashes many files, so [`update_pair`] feeds two files'
//! hashes in one interleaved pass. Each block's whole message schedule is computed before
//! its rounds, so the two round chains never wait on `sha256msg2`; interleaving the schedule
//! with the rounds (as single-stream code does) kept the pair at 2.19 GiB/s, against 2.92
//! GiB/s now and `sha2`'s 1.67 GiB/s for one stream (AMD EPYC, `benches/components.rs`).
//! Everything else (buffering, padding, the single-stream rounds) is the `sha2` crate's:
//! [`sha2::block_api::compress256`] for one stream (a schedule computed first does not
//! speed up one chain). The digests are checked against `sha2` in the tests, for every split
//! of the inputs.

use sha2::block_api::compress256;

/// A SHA-256 in progress (the state, the partial block and the length so far).
#[derive(Clone)]
pub struct Sha256State {
    state: [u32; 8],
    buf: [u8; 64],
    buf_len: usize,
    /// Bytes hashed so far.
    len: u64,
}

const INIT: [u32; 8] = [
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
];

impl Default for Sha256State {
    fn default() -> Self {
        Sha256State {
            state: INIT,
            buf: [0; 64],
            buf_len: 0,
            len: 0,
        }
    }
}

impl Sha256State {
    pub fn new() -> Self {
        Self::default()
    }

    /// Fills the partial block from the front of `data`; returns the rest (whole blocks
    /// follow only once the partial block is empty).
    fn top_up<'d>(&mut self, data: &'d [u8]) -> &'d [u8] {
        self.len += data.len() as u64;
        if self.buf_len == 0 {
            return data;
        }
        let take = (64 - self.buf_len).min(data.len());
        self.buf[self.buf_len..self.buf_len + take].copy_from_slice(&data[..take]);
        self.buf_len += take;
        if self.buf_len == 64 {
            compress256(&mut self.state, &[self.buf]);
            self.buf_len = 0;
        }
        &data[take..]
    }

    /// Keeps the tail of `data` (less than a block) for later.
    fn keep(&mut self, tail: &[u8]) {
        debug_assert!(self.buf_len == 0 || tail.is_empty());
        self.buf[self.buf_len..self.buf_len + tail.len()].copy_from_slice(tail);
        self.buf_len += tail.len();
    }

    pub(crate) fn update(&mut self, data: &[u8]) {
        let data = self.top_up(data);
        let (blocks, tail) = data.as_chunks::<64>();
        compress256(&mut self.state, blocks);
        self.keep(tail);
    }

    /// The digest.
    pub fn finalize(mut self) -> [u8; 32] {
        let bits = self.len.wrapping_mul(8);
        let mut pad = [0u8; 72];
        pad[0] = 0x80;
        // 0x80, zeros, then the 64-bit length, so the total is a multiple of 64.
        let zeros = (55usize.wrapping_sub(self.buf_len)) % 64;
        pad[1 + zeros..9 + zeros].copy_from_slice(&bits.to_be_bytes());
        self.update(&pad[..9 + zeros]);
        debug_assert_eq!(self.buf_len, 0);
        let mut out = [0u8; 32];
        for (o, s) in out.chunks_exact_mut(4).zip(self.state) {
            o.copy_from_slice(&s.to_be_bytes());
        }
        out
    }
}

/// Feeds `da` to `a` and `db` to `b`, hashing the two in lockstep where both have whole
/// blocks. Same result as `a.update(da); b.update(db)`.
pub fn update_pair(a: &mut Sha256State, da: &[u8], b: &mut Sha256State, db: &[u8]) {
    update_pair_on(Lanes::detect(), a, da, b, db);
}

/// How [`update_pair`] compresses the blocks of its two inputs: with the SHA extensions
/// (SHA-NI, x86-64) in one interleaved pass, or with `sha2`'s portable code one input after
/// the other. Chosen once per call by [`Lanes::detect`]; tests force either one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Lanes(LanesKind);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum LanesKind {
    Portable,
    /// Only built by [`Lanes::sha_ni`], after checking the CPU has the features.
    #[cfg(target_arch = "x86_64")]
    ShaNi,
}

impl Lanes {
    /// The fastest path this CPU has.
    #[inline]
    pub(crate) fn detect() -> Lanes {
        Lanes::sha_ni().unwrap_or(Lanes::portable())
    }

    /// `sha2`'s portable compression, one input after the other.
    pub(crate) fn portable() -> Lanes {
        Lanes(LanesKind::Portable)
    }

    /// The interleaved SHA-NI path, if this CPU has the SHA extensions.
    #[inline]
    pub(crate) fn sha_ni() -> Option<Lanes> {
        #[cfg(target_arch = "x86_64")]
        if shani::available() {
            return Some(Lanes(LanesKind::ShaNi));
        }
        None
    }
}

/// [`update_pair`] on the given path.
pub(crate) fn update_pair_on(
    lanes: Lanes,
    a: &mut Sha256State,
    da: &[u8],
    b: &mut Sha256State,
    db: &[u8],
) {
    let da = a.top_up(da);
    let db = b.top_up(db);
    let (ba, ta) = da.as_chunks::<64>();
    let (bb, tb) = db.as_chunks::<64>();
    let n = ba.len().min(bb.len());
    compress_pair(lanes, &mut a.state, &ba[..n], &mut b.state, &bb[..n]);
    compress256(&mut a.state, &ba[n..]);
    compress256(&mut b.state, &bb[n..]);
    a.keep(ta);
    b.keep(tb);
}

/// Compresses `ba` into `sa` and `bb` into `sb` (the same number of blocks).
fn compress_pair(
    lanes: Lanes,
    sa: &mut [u32; 8],
    ba: &[[u8; 64]],
    sb: &mut [u32; 8],
    bb: &[[u8; 64]],
) {
    debug_assert_eq!(ba.len(), bb.len());
    match lanes.0 {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `LanesKind::ShaNi` is only built by `Lanes::sha_ni`, which checked that the
        // CPU has the features the function is compiled for.
        LanesKind::ShaNi => unsafe { shani::compress_pair(sa, ba, sb, bb) },
        LanesKind::Portable => {
            compress256(sa, ba);
            compress256(sb, bb);
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod shani {
    use core::arch::x86_64::*;

    pub fn available() -> bool {
        std::is_x86_feature_detected!("sha")
            && std::is_x86_feature_detected!("sse2")
            && std::is_x86_feature_detected!("ssse3")
            && std::is_x86_feature_detected!("sse4.1")
    }

    const K32: [u32; 64] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
        0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
        0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
        0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
        0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
        0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
        0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
        0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
        0xc67178f2,
    ];

    /// One lane's working state.
    struct Lane {
        abef: __m128i,
        cdgh: __m128i,
    }

    #[inline]
    #[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
    fn rounds4(r: usize, w: __m128i, l: &mut Lane) {
        // SAFETY: K32 holds 64 words and r < 16.
        let rk = unsafe { _mm_loadu_si128(K32.as_ptr().add(4 * r).cast()) };
        let t1 = _mm_add_epi32(w, rk);
        l.cdgh = _mm_sha256rnds2_epu32(l.cdgh, l.abef, t1);
        let t2 = _mm_shuffle_epi32(t1, 0x0E);
        l.abef = _mm_sha256rnds2_epu32(l.abef, l.cdgh, t2);
    }

    #[inline]
    #[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
    fn full_schedule(first: [__m128i; 4]) -> [__m128i; 16] {
        let mut w = [_mm_setzero_si128(); 16];
        w[..4].copy_from_slice(&first);
        for i in 4..16 {
            let t1 = _mm_sha256msg1_epu32(w[i - 4], w[i - 3]);
            let t2 = _mm_alignr_epi8(w[i - 1], w[i - 2], 4);
            w[i] = _mm_sha256msg2_epu32(_mm_add_epi32(t1, t2), w[i - 1]);
        }
        w
    }

    #[inline]
    #[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
    fn load_block(block: &[u8; 64]) -> [__m128i; 4] {
        let p: *const __m128i = block.as_ptr().cast();
        let mask = _mm_set_epi64x(0x0C0D_0E0F_0809_0A0B, 0x0405_0607_0001_0203);
        // SAFETY: the block is 64 bytes, four unaligned 16-byte loads.
        core::array::from_fn(|i| _mm_shuffle_epi8(unsafe { _mm_loadu_si128(p.add(i)) }, mask))
    }

    #[inline]
    #[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
    fn load_state(state: &[u32; 8]) -> (__m128i, __m128i) {
        let p: *const __m128i = state.as_ptr().cast();
        // SAFETY: 8 words, two unaligned 16-byte loads.
        let (dcba, hgfe) = unsafe { (_mm_loadu_si128(p), _mm_loadu_si128(p.add(1))) };
        let cdab = _mm_shuffle_epi32(dcba, 0xB1);
        let efgh = _mm_shuffle_epi32(hgfe, 0x1B);
        (
            _mm_alignr_epi8(cdab, efgh, 8),
            _mm_blend_epi16(efgh, cdab, 0xF0),
        )
    }

    #[inline]
    #[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
    fn store_state(state: &mut [u32; 8], abef: __m128i, cdgh: __m128i) {
        let feba = _mm_shuffle_epi32(abef, 0x1B);
        let dchg = _mm_shuffle_epi32(cdgh, 0xB1);
        let dcba = _mm_blend_epi16(feba, dchg, 0xF0);
        let hgef = _mm_alignr_epi8(dchg, feba, 8);
        let p: *mut __m128i = state.as_mut_ptr().cast();
        // SAFETY: 8 words, two unaligned 16-byte stores.
        unsafe {
            _mm_storeu_si128(p, dcba);
            _mm_storeu_si128(p.add(1), hgef);
        }
    }

    /// The two lanes' rounds interleave, so each waits on its own chain while the other's
    /// instructions fill the gap.
    #[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
    pub(crate) fn compress_pair(
        sa: &mut [u32; 8],
        ba: &[[u8; 64]],
        sb: &mut [u32; 8],
        bb: &[[u8; 64]],
    ) {
        let (abef, cdgh) = load_state(sa);
        let mut a = Lane { abef, cdgh };
        let (abef, cdgh) = load_state(sb);
        let mut b = Lane { abef, cdgh };
        for (blk_a, blk_b) in ba.iter().zip(bb) {
            let (sa_abef, sa_cdgh, sb_abef, sb_cdgh) = (a.abef, a.cdgh, b.abef, b.cdgh);
            // The whole message schedule first: the round chains then never wait for it.
            let wa = full_schedule(load_block(blk_a));
            let wb = full_schedule(load_block(blk_b));
            for r in 0..16 {
                rounds4(r, wa[r], &mut a);
                rounds4(r, wb[r], &mut b);
            }
            a.abef = _mm_add_epi32(a.abef, sa_abef);
            a.cdgh = _mm_add_epi32(a.cdgh, sa_cdgh);
            b.abef = _mm_add_epi32(b.abef, sb_abef);
            b.cdgh = _mm_add_epi32(b.cdgh, sb_cdgh);
        }
        store_state(sa, a.abef, a.cdgh);
        store_state(sb, b.abef, b.cdgh);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use sha2::{Digest, Sha256};

    /// A number in `0..=hi`.
    fn upto(rng: &mut rand_chacha::ChaCha8Rng, hi: usize) -> usize {
        (rng.next_u64() % (hi as u64 + 1)) as usize
    }

    fn reference(data: &[u8]) -> [u8; 32] {
        Sha256::digest(data).into()
    }

    #[test]
    fn known_digests() {
        let abc = Sha256State::new();
        let mut h = abc.clone();
        h.update(b"abc");
        assert_eq!(
            crate::input::hex(&h.finalize()),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            crate::input::hex(&abc.finalize()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn every_length_around_the_padding_edges() {
        let data: Vec<u8> = (0..300u32).map(|i| (i * 7 + 3) as u8).collect();
        for n in 0..data.len() {
            let mut h = Sha256State::new();
            h.update(&data[..n]);
            assert_eq!(h.finalize(), reference(&data[..n]), "length {n}");
        }
    }

    #[test]
    fn pairs_fed_in_random_pieces_match_sha2() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        for round in 0..200 {
            let la = upto(&mut rng, 4999);
            let lb = upto(&mut rng, 4999);
            let a: Vec<u8> = (0..la).map(|_| rng.next_u64() as u8).collect();
            let b: Vec<u8> = (0..lb).map(|_| rng.next_u64() as u8).collect();
            let (mut ha, mut hb) = (Sha256State::new(), Sha256State::new());
            let (mut ia, mut ib) = (0, 0);
            while ia < la || ib < lb {
                let na = upto(&mut rng, (la - ia).min(700));
                let nb = upto(&mut rng, (lb - ib).min(700));
                match upto(&mut rng, 3) {
                    0 => {
                        ha.update(&a[ia..ia + na]);
                        ia += na;
                    }
                    1 => {
                        hb.update(&b[ib..ib + nb]);
                        ib += nb;
                    }
                    _ => {
                        update_pair(&mut ha, &a[ia..ia + na], &mut hb, &b[ib..ib + nb]);
                        ia += na;
                        ib += nb;
                    }
                }
            }
            assert_eq!(ha.finalize(), reference(&a), "round {round} a");
            assert_eq!(hb.finalize(), reference(&b), "round {round} b");
        }
    }

    /// The paths [`update_pair`] can take on this CPU, by name. Without the SHA extensions only
    /// the portable one, and the test output says so (shown with `--nocapture`).
    fn every_path() -> Vec<(&'static str, Lanes)> {
        let mut paths = vec![("portable", Lanes::portable())];
        match Lanes::sha_ni() {
            Some(lanes) => {
                assert_eq!(Lanes::detect(), lanes, "SHA-NI is preferred when present");
                paths.push(("sha-ni", lanes));
            }
            None => {
                assert_eq!(Lanes::detect(), Lanes::portable());
                println!("sha256x2: this CPU has no SHA extensions; SHA-NI path NOT tested");
            }
        }
        paths
    }

    /// Both inputs fed through `update_pair_on(lanes, ..)`, cut at `cuts` (offsets into the
    /// longer input, clipped to each one's length), then compared with `sha2`.
    fn check_split(name: &str, lanes: Lanes, a: &[u8], b: &[u8], cuts: &[usize]) {
        let (mut ha, mut hb) = (Sha256State::new(), Sha256State::new());
        let (mut ia, mut ib) = (0, 0);
        for &cut in cuts.iter().chain([usize::MAX].iter()) {
            let (ea, eb) = (cut.clamp(ia, a.len()), cut.clamp(ib, b.len()));
            update_pair_on(lanes, &mut ha, &a[ia..ea], &mut hb, &b[ib..eb]);
            (ia, ib) = (ea, eb);
        }
        let what = || format!("{name}: lengths {} and {}, cuts {cuts:?}", a.len(), b.len());
        assert_eq!(ha.finalize(), reference(a), "{} (a)", what());
        assert_eq!(hb.finalize(), reference(b), "{} (b)", what());
    }

    /// Each path, forced, against `sha2`: every length up to 300 bytes and lengths around
    /// block multiples up to 5000, each paired with another length, fed whole, at block
    /// edges, off block edges, one byte at a time at the start, and in random pieces.
    #[test]
    fn every_path_matches_sha2_for_many_lengths_and_splits() {
        let a: Vec<u8> = (0..5_000u32).map(|i| ((i * 31) ^ (i >> 3)) as u8).collect();
        let b: Vec<u8> = (0..5_000u32).map(|i| (i * 17 + 5) as u8).collect();
        let mut lengths: Vec<usize> = (0..=300).collect();
        for blocks in [5, 6, 7, 8, 15, 16, 17, 31, 32, 33, 64, 77] {
            lengths.extend([
                blocks * 64 - 1,
                blocks * 64,
                blocks * 64 + 1,
                blocks * 64 + 55,
            ]);
        }
        lengths.push(5_000);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        for (name, lanes) in every_path() {
            for (k, &la) in lengths.iter().enumerate() {
                // Pair with a length that is sometimes shorter, sometimes longer.
                let lb = lengths[(k * 7 + 3) % lengths.len()];
                let (a, b) = (&a[..la], &b[..lb]);
                let long = la.max(lb);
                check_split(name, lanes, a, b, &[]);
                check_split(name, lanes, a, b, &[64, 128, 192, 1024]);
                check_split(name, lanes, a, b, &[1, 2, 3, 63, 65, 127, 129, 200]);
                check_split(name, lanes, a, b, &[long / 3, long / 2, long - 1]);
                let mut cuts: Vec<usize> = (0..4).map(|_| upto(&mut rng, long)).collect();
                cuts.sort_unstable();
                check_split(name, lanes, a, b, &cuts);
            }
        }
    }

    /// Each path, forced, on inputs of many blocks fed in large unequal pieces.
    #[test]
    fn every_path_matches_sha2_on_long_pairs() {
        let a: Vec<u8> = (0..300_007u32).map(|i| (i % 251) as u8).collect();
        let b: Vec<u8> = (0..200_003u32).map(|i| (i % 253) as u8 ^ 0x5a).collect();
        for (name, lanes) in every_path() {
            let cuts: Vec<usize> = (1..40).map(|i| i * 7_777 + i % 3).collect();
            check_split(name, lanes, &a, &b, &cuts);
            check_split(name, lanes, &a, &b, &[]);
        }
    }

    #[test]
    fn long_pairs_match_sha2() {
        let a: Vec<u8> = (0..1_000_003u32).map(|i| (i % 251) as u8).collect();
        let b: Vec<u8> = (0..777_777u32).map(|i| (i % 253) as u8 ^ 0x5a).collect();
        let (mut ha, mut hb) = (Sha256State::new(), Sha256State::new());
        for (pa, pb) in a.chunks(65_536).zip(b.chunks(40_000)) {
            update_pair(&mut ha, pa, &mut hb, pb);
        }
        // a's 16 pieces run out before b's 20: feed the rest of b alone.
        hb.update(&b[16 * 40_000..]);
        assert_eq!(ha.finalize(), reference(&a));
        assert_eq!(hb.finalize(), reference(&b));
    }
}
