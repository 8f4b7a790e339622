//! GeoIP and ASN look-ups (`--geoip PATH…`) in MaxMind DB files: GeoLite2/GeoIP2 Country or
//! City for the country, GeoLite2 ASN (or GeoIP2 ISP) for the autonomous system.
//!
//! Each file is memory-mapped (`maxminddb`'s `mmap` feature) and read in place; which facts
//! it gives is read from its records, so any mix of editions works and the first file that
//! knows a fact wins. Private, loopback, link-local and unspecified addresses are never looked
//! up (null). Callers look up each distinct address once per chunk or per run, never per
//! event.

use std::net::IpAddr;
use std::path::PathBuf;

use maxminddb::Reader;
use memmap2::Mmap;

use crate::error::{Error, Result};

/// What the databases say about one address.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NetInfo {
    /// ISO 3166-1 alpha-2 code of the country (the registered country when the database
    /// places the address nowhere more precise).
    pub country: Option<Box<str>>,
    pub asn: Option<u32>,
    pub as_org: Option<Box<str>>,
}

impl NetInfo {
    pub fn is_empty(&self) -> bool {
        self.country.is_none() && self.asn.is_none() && self.as_org.is_none()
    }

    /// `country NL, AS1136 KPN B.V.`, or what of it is known; empty when nothing is.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(c) = &self.country {
            parts.push(format!("country {c}"));
        }
        match (self.asn, &self.as_org) {
            (Some(n), Some(o)) => parts.push(format!("AS{n} {o}")),
            (Some(n), None) => parts.push(format!("AS{n}")),
            (None, Some(o)) => parts.push(format!("AS {o}")),
            (None, None) => {}
        }
        parts.join(", ")
    }
}

/// The fields read from a record of any edition (others are skipped by the decoder).
#[derive(serde::Deserialize)]
struct Record<'a> {
    #[serde(borrow, default)]
    country: Option<Country<'a>>,
    #[serde(borrow, default)]
    registered_country: Option<Country<'a>>,
    #[serde(default)]
    autonomous_system_number: Option<u32>,
    #[serde(borrow, default)]
    autonomous_system_organization: Option<&'a str>,
}

#[derive(serde::Deserialize)]
struct Country<'a> {
    #[serde(borrow, default)]
    iso_code: Option<&'a str>,
}

/// One opened database.
struct Database {
    path: PathBuf,
    kind: String,
    reader: Reader<Mmap>,
}

/// The databases of a run, in the order given.
pub struct GeoIp {
    databases: Vec<Database>,
}

impl std::fmt::Debug for GeoIp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.databases.iter().map(|d| (&d.path, &d.kind)))
            .finish()
    }
}

impl GeoIp {
    /// Opens (maps) every database.
    ///
    /// # Errors
    /// A file that cannot be opened or is not a MaxMind DB, naming it.
    pub fn open(paths: &[PathBuf]) -> Result<GeoIp> {
        let mut databases = Vec::with_capacity(paths.len());
        for path in paths {
            // SAFETY: the map is read-only; a database replaced by `geoipupdate` is written
            // under a new name and renamed over the old one, which leaves this map's inode
            // alone. A file truncated in place while we read it would fault, as any map can.
            let reader = unsafe { Reader::open_mmap(path) }.map_err(|e| Error::Config {
                path: path.clone(),
                message: format!("not a readable MaxMind DB (.mmdb) file: {e}"),
            })?;
            databases.push(Database {
                path: path.clone(),
                kind: reader.metadata().database_type.clone(),
                reader,
            });
        }
        Ok(GeoIp { databases })
    }

    /// The database types, as their metadata names them (`GeoLite2-ASN`, `GeoIP2-City`).
    pub fn kinds(&self) -> Vec<String> {
        self.databases.iter().map(|d| d.kind.clone()).collect()
    }

    /// What the databases know of `ip`: `None` for addresses that are not looked up
    /// (private, loopback, link-local, unspecified) and for those no database knows.
    pub fn lookup(&self, ip: IpAddr) -> Option<NetInfo> {
        let ip = ip.to_canonical();
        if !is_looked_up(ip) {
            return None;
        }
        let mut info = NetInfo::default();
        for db in &self.databases {
            let Ok(found) = db.reader.lookup(ip) else {
                continue;
            };
            // A corrupt record is treated as unknown: the scan goes on.
            let Ok(Some(r)) = found.decode::<Record<'_>>() else {
                continue;
            };
            if info.country.is_none() {
                let code = r
                    .country
                    .and_then(|c| c.iso_code)
                    .or(r.registered_country.and_then(|c| c.iso_code));
                info.country = code.map(Into::into);
            }
            if info.asn.is_none() && info.as_org.is_none() {
                info.asn = r.autonomous_system_number;
                info.as_org = r.autonomous_system_organization.map(Into::into);
            }
        }
        (!info.is_empty()).then_some(info)
    }
}

/// Addresses worth a look-up: not private (RFC 1918, RFC 4193, shared address space),
/// loopback, link-local or unspecified.
fn is_looked_up(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => {
            let o = a.octets();
            !(a.is_private()
                || a.is_loopback()
                || a.is_link_local()
                || a.is_unspecified()
                || (o[0] == 100 && (o[1] & 0xc0) == 64))
        }
        IpAddr::V6(a) => {
            let s = a.segments()[0];
            !(a.is_loopback()
                || a.is_unspecified()
                || (s & 0xfe00) == 0xfc00
                || (s & 0xffc0) == 0xfe80)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn testdata(name: &str) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("testdata/geoip")
            .join(name)
    }

    fn geo() -> GeoIp {
        GeoIp::open(&[
            testdata("GeoLite2-Country-Test.mmdb"),
            testdata("GeoLite2-ASN-Test.mmdb"),
        ])
        .unwrap()
    }

    /// Values from MaxMind's own source data of the test databases
    /// (`source-data/GeoLite2-Country-Test.json`, `GeoLite2-ASN-Test.json`).
    #[test]
    fn the_test_databases_give_maxminds_documented_values() {
        let g = geo();
        assert_eq!(g.kinds(), ["GeoLite2-Country", "GeoLite2-ASN"]);
        let info = g.lookup("89.160.20.115".parse().unwrap()).unwrap();
        assert_eq!(info.country.as_deref(), Some("SE"));
        assert_eq!(info.asn, Some(29518));
        assert_eq!(info.as_org.as_deref(), Some("Bredband2 AB"));
        assert_eq!(info.describe(), "country SE, AS29518 Bredband2 AB");
        let info = g.lookup("216.160.83.58".parse().unwrap()).unwrap();
        assert_eq!(
            (info.country.as_deref(), info.asn, info.as_org),
            (Some("US"), Some(209), None)
        );
        // Country known, AS not (and the reverse), and IPv6.
        let info = g.lookup("2001:218::1".parse().unwrap()).unwrap();
        assert_eq!((info.country.as_deref(), info.asn), (Some("JP"), None));
        let info = g.lookup("1.128.0.1".parse().unwrap()).unwrap();
        assert_eq!((info.country, info.asn), (None, Some(1221)));
        // An IPv4-mapped address is its IPv4 address.
        let mapped = g.lookup("::ffff:89.160.20.115".parse().unwrap()).unwrap();
        assert_eq!(mapped.asn, Some(29518));
    }

    #[test]
    fn private_and_unknown_addresses_give_nothing() {
        let g = geo();
        for ip in [
            "10.20.1.11",
            "192.168.1.1",
            "127.0.0.1",
            "fd00::1",
            "fe80::1",
            "100.64.0.1",
        ] {
            assert_eq!(g.lookup(ip.parse().unwrap()), None, "{ip}");
        }
        assert_eq!(g.lookup("203.0.113.50".parse().unwrap()), None);
    }

    /// MaxMind's corrupt test databases: each is refused when opened, or answers look-ups
    /// (with nothing, or with what it holds) without a panic.
    #[test]
    fn corrupt_databases_are_refused_or_read_without_a_panic() {
        let dir = testdata("bad-data");
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        assert!(files.len() >= 20, "{files:?}");
        let mut x: u32 = 0x1234_5678;
        for f in files {
            let Ok(g) = GeoIp::open(std::slice::from_ref(&f)) else {
                continue;
            };
            for _ in 0..512 {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                let _ = g.lookup(IpAddr::V4(x.into()));
                let _ = g.lookup(IpAddr::V6(((x as u128) << 96 | x as u128).into()));
            }
            let _ = g.lookup("1.1.1.1".parse().unwrap());
        }
    }

    #[test]
    fn a_file_that_is_not_a_database_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("bogus.mmdb");
        std::fs::write(&p, b"not a database").unwrap();
        let e = GeoIp::open(&[p]).unwrap_err().to_string();
        assert!(e.contains("bogus.mmdb: not a readable MaxMind DB"), "{e}");
        let e = GeoIp::open(&[dir.path().join("gone.mmdb")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("gone.mmdb"), "{e}");
    }
}
