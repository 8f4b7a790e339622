//! Threat lists (`--threat-list FILE…`): lists of known-bad addresses, each named by its file
//! name.
//!
//! A line holds an address or a CIDR; `#` (and `;`, as in Spamhaus DROP) starts a comment;
//! blank lines are skipped. So plain lists such as Tor's bulk exit list and FireHOL's
//! `.ipset`/`.netset` files read as they are. Tor's `exit-addresses` document is read too: its
//! `ExitAddress ADDR TIME` lines give the addresses, its `ExitNode`, `Published` and
//! `LastStatus` lines are skipped. Any other line is an error naming the file and the line:
//! a list that half loads would miss what it is there to catch.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use ipnet::IpNet;

use super::ranges::Ranges;
use crate::error::{Error, Result};

/// One list: its name (the file name), the addresses it holds, and how many entries it had.
#[derive(Clone, Debug)]
pub struct ThreatList {
    pub name: String,
    pub entries: usize,
    ranges: Ranges,
}

/// Every list of a run, in the order given.
#[derive(Clone, Debug, Default)]
pub struct ThreatLists {
    lists: Vec<ThreatList>,
}

impl ThreatList {
    /// Parses the text of a list named `name`; an error names the line.
    ///
    /// Written for lists of 100,000 lines and more (FireHOL's largest sets): lines and
    /// comments are found with `memchr`, and an entry is read by the standard library's
    /// address parsers (`ipnet`'s own parser costs several times more per line).
    pub fn parse(name: &str, text: &str) -> std::result::Result<ThreatList, String> {
        let mut nets: Vec<IpNet> = Vec::new();
        let bytes = text.as_bytes();
        let ends = memchr::memchr_iter(b'\n', bytes).chain(std::iter::once(bytes.len()));
        let mut start = 0;
        for (i, end) in ends.enumerate() {
            let number = i + 1;
            if start >= bytes.len() {
                break;
            }
            let mut line = &text[start..end];
            start = end + 1;
            // Lines are short: a plain loop beats a vectorised search's set-up.
            if let Some(i) = line.bytes().position(|b| b == b'#' || b == b';') {
                line = &line[..i];
            }
            let mut words = line.split_ascii_whitespace();
            let Some(first) = words.next() else { continue };
            let entry = match first {
                "ExitAddress" => words.next().unwrap_or(""),
                "ExitNode" | "Published" | "LastStatus" => continue,
                _ => first,
            };
            match parse_entry(entry) {
                Some(net) => nets.push(net),
                None => {
                    let shown: String = entry.chars().take(60).collect();
                    return Err(format!("line {number}: not an address or CIDR: {shown:?}"));
                }
            }
        }
        Ok(ThreatList {
            name: name.to_string(),
            entries: nets.len(),
            ranges: Ranges::from_nets(nets),
        })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        self.ranges.contains(ip)
    }
}

impl ThreatLists {
    /// Reads every list; the name of each is its file name.
    ///
    /// # Errors
    /// A file that cannot be read ([`Error::Io`]) or holds a line that is not an address or
    /// a CIDR ([`Error::Config`], naming the line).
    pub fn load(paths: &[PathBuf]) -> Result<ThreatLists> {
        let mut lists = Vec::with_capacity(paths.len());
        for path in paths {
            let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
            let text = match simdutf8::basic::from_utf8(&bytes) {
                Ok(t) => std::borrow::Cow::Borrowed(t),
                Err(_) => String::from_utf8_lossy(&bytes),
            };
            let list =
                ThreatList::parse(&name_of(path), &text).map_err(|message| Error::Config {
                    path: path.clone(),
                    message,
                })?;
            lists.push(list);
        }
        Ok(ThreatLists { lists })
    }

    pub fn from_lists(lists: Vec<ThreatList>) -> ThreatLists {
        ThreatLists { lists }
    }

    pub fn is_empty(&self) -> bool {
        self.lists.is_empty()
    }

    pub fn lists(&self) -> &[ThreatList] {
        &self.lists
    }

    /// The lists holding `ip`, as a bit set by list index (the first 64 lists; a run with
    /// more names the first 64 that match, see [`ThreatLists::names`]).
    #[inline]
    pub fn matching(&self, ip: IpAddr) -> u64 {
        let mut bits = 0u64;
        for (i, l) in self.lists.iter().enumerate().take(64) {
            if l.contains(ip) {
                bits |= 1 << i;
            }
        }
        bits
    }

    /// The names of the lists in a bit set of [`ThreatLists::matching`].
    pub fn names(&self, bits: u64) -> Vec<&str> {
        (0..self.lists.len().min(64))
            .filter(|i| bits & (1 << i) != 0)
            .map(|i| self.lists[i].name.as_str())
            .collect()
    }
}

/// An address (a network of one) or a CIDR; host bits of a CIDR are dropped.
fn parse_entry(s: &str) -> Option<IpNet> {
    let (addr, prefix) = match s.bytes().position(|b| b == b'/') {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let ip = if addr.bytes().any(|b| b == b':') {
        IpAddr::V6(addr.parse().ok()?)
    } else {
        IpAddr::V4(addr.parse().ok()?)
    };
    match prefix {
        None => Some(IpNet::from(ip)),
        // Digits only, no leading zero (as `ipnet` reads a prefix).
        Some(p)
            if !p.is_empty()
                && p.len() <= 3
                && p.bytes().all(|b| b.is_ascii_digit())
                && !(p.len() > 1 && p.starts_with('0')) =>
        {
            IpNet::new(ip, p.parse().ok()?).ok().map(|n| n.trunc())
        }
        Some(_) => None,
    }
}

fn name_of(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn firehol_netsets_with_comments_and_cidrs_read_as_they_are() {
        let text = "#\n# firehol_level1\n#\n# Maintainer: FireHOL\n\n0.0.0.0/8\n\
                    5.63.151.0/24 # a comment\n  203.0.113.7  \n2001:db8:bad::/48\n\
                    192.0.2.0/24 ; SBL123\n";
        let l = ThreatList::parse("firehol_level1.netset", text).unwrap();
        assert_eq!(l.entries, 5);
        for yes in [
            "5.63.151.200",
            "203.0.113.7",
            "2001:db8:bad:1::9",
            "192.0.2.1",
            "0.1.2.3",
        ] {
            assert!(l.contains(ip(yes)), "{yes}");
        }
        for no in ["5.63.152.0", "203.0.113.8", "2001:db8:bae::1"] {
            assert!(!l.contains(ip(no)), "{no}");
        }
    }

    /// The fast entry parser reads what `ipnet` and the standard library read, and refuses
    /// what they refuse.
    #[test]
    fn entries_parse_as_ipnet_and_std_parse_them() {
        for s in [
            "203.0.113.7",
            "203.0.113.7/24",
            "0.0.0.0/0",
            "10.0.0.0/8",
            "2001:db8::/32",
            "2001:db8::1/128",
            "::ffff:1.2.3.4",
            "::/0",
            "10.0.0.0/33",
            "2001:db8::/129",
            "10.0.0.0/",
            "10.0.0.0/-1",
            "10.0.0.0/+8",
            "10.0.0.0/008",
            "010.0.0.1",
            "1.2.3",
            "1.2.3.4.5",
            "fe80::1%eth0",
            "",
            "/24",
            "junk",
            "1.2.3.4/24/8",
        ] {
            let want = s
                .parse::<IpNet>()
                .map(|n| n.trunc())
                .ok()
                .or_else(|| s.parse::<IpAddr>().ok().map(IpNet::from));
            assert_eq!(parse_entry(s), want, "{s:?}");
        }
    }

    #[test]
    fn tor_exit_address_documents_give_their_exit_addresses() {
        let text = "ExitNode 0011BD2485AD45D984EC4159C88FC066E5E3300E\n\
                    Published 2026-03-01 03:57:40\nLastStatus 2026-03-01 10:00:00\n\
                    ExitAddress 162.247.74.201 2026-03-01 10:04:14\n";
        let l = ThreatList::parse("exit-addresses", text).unwrap();
        assert_eq!(l.entries, 1);
        assert!(l.contains(ip("162.247.74.201")));
    }

    #[test]
    fn a_line_that_is_not_an_address_is_an_error_naming_the_line() {
        let e = ThreatList::parse("x", "10.0.0.1\n\nnot-an-ip\n").unwrap_err();
        assert_eq!(e, "line 3: not an address or CIDR: \"not-an-ip\"");
        let e = ThreatList::parse("x", "10.0.0.0/33\n").unwrap_err();
        assert!(e.starts_with("line 1:"), "{e}");
    }

    #[test]
    fn lists_are_named_by_their_file_name_and_matched_together() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("tor-exits.txt");
        let b = dir.path().join("blocklist.netset");
        std::fs::write(&a, "198.51.100.23\n").unwrap();
        std::fs::write(&b, "198.51.100.0/24\n").unwrap();
        let lists = ThreatLists::load(&[a, b.clone()]).unwrap();
        assert_eq!(
            lists.names(lists.matching(ip("198.51.100.23"))),
            ["tor-exits.txt", "blocklist.netset"]
        );
        assert_eq!(
            lists.names(lists.matching(ip("198.51.100.24"))),
            ["blocklist.netset"]
        );
        assert_eq!(lists.matching(ip("10.0.0.1")), 0);
        std::fs::write(&b, "junk\n").unwrap();
        let e = ThreatLists::load(&[b]).unwrap_err().to_string();
        assert!(
            e.contains("blocklist.netset: line 1: not an address"),
            "{e}"
        );
    }
}
