//! Appending text and decimal / hex digits to byte buffers, without allocating.

use super::rng::R;
use rand::Rng;

pub(crate) fn push(b: &mut Vec<u8>, s: &str) {
    b.extend_from_slice(s.as_bytes());
}

pub(crate) fn push_num(b: &mut Vec<u8>, v: u64) {
    push_i64(b, v as i64);
}

pub(crate) fn push_i64(b: &mut Vec<u8>, v: i64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    let neg = v < 0;
    let mut u = v.unsigned_abs();
    loop {
        i -= 1;
        buf[i] = b'0' + (u % 10) as u8;
        u /= 10;
        if u == 0 {
            break;
        }
    }
    if neg {
        b.push(b'-');
    }
    b.extend_from_slice(&buf[i..]);
}

pub(crate) fn put2(t: &mut [u8], v: u32) {
    t[0] = b'0' + (v / 10 % 10) as u8;
    t[1] = b'0' + (v % 10) as u8;
}

pub(crate) fn put4(t: &mut [u8], v: u32) {
    put2(&mut t[0..2], v / 100);
    put2(&mut t[2..4], v % 100);
}

pub(crate) fn put3_push(b: &mut Vec<u8>, v: u32) {
    b.extend_from_slice(&[
        b'0' + (v / 100 % 10) as u8,
        b'0' + (v / 10 % 10) as u8,
        b'0' + (v % 10) as u8,
    ]);
}

pub(crate) fn push_hex(b: &mut Vec<u8>, rng: &mut R, n: usize) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut v = rng.next_u64();
    for i in 0..n {
        if i % 16 == 15 {
            v = rng.next_u64();
        }
        b.push(HEX[(v & 15) as usize]);
        v >>= 4;
    }
}
