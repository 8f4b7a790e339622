//! [`Ranges`]: a set of address ranges (IPv4 and IPv6 apart), sorted and merged, answering
//! "is this address in the set" with one binary search.
//!
//! A threat list of 100,000 lines becomes at most 100,000 disjoint ranges (fewer where
//! entries touch or overlap); a look-up is `log2(n)` comparisons of integers, so a list's size
//! hardly shows in a scan (the pass asks once per login, not per event).

use std::net::IpAddr;

use ipnet::IpNet;

/// Disjoint, sorted, inclusive ranges; touching ranges are merged.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ranges {
    v4: Vec<(u32, u32)>,
    v6: Vec<(u128, u128)>,
}

impl Ranges {
    /// The set of addresses in any of `nets`. An IPv4-mapped IPv6 network
    /// (`::ffff:0:0/96` and below) counts as the IPv4 network it maps.
    pub fn from_nets(nets: impl IntoIterator<Item = IpNet>) -> Ranges {
        let mut v4 = Vec::new();
        let mut v6 = Vec::new();
        for net in nets {
            let net = net.trunc();
            match net {
                IpNet::V4(n) => v4.push((u32::from(n.network()), u32::from(n.broadcast()))),
                IpNet::V6(n) => {
                    let (lo, hi) = (u128::from(n.network()), u128::from(n.broadcast()));
                    match (mapped_v4(lo), mapped_v4(hi)) {
                        (Some(a), Some(b)) => v4.push((a, b)),
                        _ => v6.push((lo, hi)),
                    }
                }
            }
        }
        Ranges {
            v4: merge(v4),
            v6: merge(v6),
        }
    }

    /// Is `ip` in the set? (An IPv4-mapped IPv6 address is looked up as IPv4.)
    #[inline]
    pub fn contains(&self, ip: IpAddr) -> bool {
        match ip.to_canonical() {
            IpAddr::V4(a) => find(&self.v4, u32::from(a)),
            IpAddr::V6(a) => find(&self.v6, u128::from(a)),
        }
    }

    /// Disjoint ranges held (after merging).
    pub fn len(&self) -> usize {
        self.v4.len() + self.v6.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn mapped_v4(x: u128) -> Option<u32> {
    (x >> 32 == 0xffff).then_some(x as u32)
}

/// Sorts and merges overlapping or touching ranges.
fn merge<T: Copy + Ord + Step>(mut v: Vec<(T, T)>) -> Vec<(T, T)> {
    v.sort_unstable();
    let mut out: Vec<(T, T)> = Vec::with_capacity(v.len());
    for (lo, hi) in v {
        match out.last_mut() {
            Some(last) if last.1 >= lo || last.1.next() == Some(lo) => {
                last.1 = last.1.max(hi);
            }
            _ => out.push((lo, hi)),
        }
    }
    out.shrink_to_fit();
    out
}

#[inline]
fn find<T: Copy + Ord>(v: &[(T, T)], x: T) -> bool {
    // The first range starting after `x`; the one before it is the only candidate.
    let i = v.partition_point(|r| r.0 <= x);
    i > 0 && x <= v[i - 1].1
}

trait Step: Sized {
    fn next(self) -> Option<Self>;
}

impl Step for u32 {
    fn next(self) -> Option<u32> {
        self.checked_add(1)
    }
}

impl Step for u128 {
    fn next(self) -> Option<u128> {
        self.checked_add(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(nets: &[&str]) -> Ranges {
        Ranges::from_nets(nets.iter().map(|s| s.parse::<IpNet>().unwrap()))
    }

    fn has(r: &Ranges, ip: &str) -> bool {
        r.contains(ip.parse().unwrap())
    }

    /// The plain definition: any network contains the address.
    fn naive(nets: &[IpNet], ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        nets.iter().any(|n| {
            n.contains(&ip)
                || matches!((n, ip), (IpNet::V6(n6), IpAddr::V4(a)) if n6.contains(&a.to_ipv6_mapped()))
        })
    }

    #[test]
    fn edges_of_each_range_are_inside_and_their_neighbours_outside() {
        let r = set(&["203.0.113.0/24", "198.51.100.7/32", "2001:db8::/48"]);
        assert!(has(&r, "203.0.113.0") && has(&r, "203.0.113.255"));
        assert!(!has(&r, "203.0.112.255") && !has(&r, "203.0.114.0"));
        assert!(has(&r, "198.51.100.7") && !has(&r, "198.51.100.8"));
        assert!(has(&r, "2001:db8:0:ffff::1") && !has(&r, "2001:db8:1::"));
        // IPv4-mapped IPv6 addresses are the IPv4 address.
        assert!(has(&r, "::ffff:203.0.113.9"));
        assert!(!has(&r, "0.0.0.0") && !has(&r, "255.255.255.255") && !has(&r, "::"));
    }

    #[test]
    fn overlapping_and_touching_ranges_merge() {
        let r = set(&[
            "10.0.0.0/25",
            "10.0.0.128/25",
            "10.0.0.5/32",
            "10.0.2.0/24",
            "10.0.1.0/24",
            "255.255.255.255/32",
            "0.0.0.0/32",
        ]);
        assert_eq!(
            r.v4,
            vec![(0, 0), (0x0a00_0000, 0x0a00_02ff), (u32::MAX, u32::MAX)]
        );
        let r = set(&[
            "::ffff:10.0.0.0/120",
            "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128",
        ]);
        assert_eq!(r.v4, vec![(0x0a00_0000, 0x0a00_00ff)]);
        assert_eq!(r.v6, vec![(u128::MAX, u128::MAX)]);
    }

    #[test]
    fn lookups_agree_with_the_plain_definition_on_random_sets() {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for _ in 0..50 {
            let mut nets = Vec::new();
            for _ in 0..(next() % 40) {
                let v = next();
                // Addresses in a small space, so that ranges overlap and touch.
                let a = std::net::Ipv4Addr::from(0x0a00_0000 | (v as u32 & 0x0fff));
                nets.push(
                    IpNet::new(a.into(), 20 + (v >> 40) as u8 % 13)
                        .unwrap()
                        .trunc(),
                );
                let b = std::net::Ipv6Addr::from(((v as u128) & 0xfff) | (0x2001_0db8u128 << 96));
                nets.push(
                    IpNet::new(b.into(), 116 + (v >> 50) as u8 % 13)
                        .unwrap()
                        .trunc(),
                );
            }
            let r = Ranges::from_nets(nets.iter().copied());
            for _ in 0..300 {
                let v = next();
                let a: IpAddr = std::net::Ipv4Addr::from(0x0a00_0000 | (v as u32 & 0x1fff)).into();
                let b: IpAddr =
                    std::net::Ipv6Addr::from(((v as u128) & 0x1fff) | (0x2001_0db8u128 << 96))
                        .into();
                assert_eq!(r.contains(a), naive(&nets, a), "{a} in {nets:?}");
                assert_eq!(r.contains(b), naive(&nets, b), "{b} in {nets:?}");
            }
        }
    }
}
