//! Addresses in SQL: whether a `client_ip` (the canonical text the scan writes) lies in a
//! network, without any engine's INET type (Athena and Spark have none that all three share).
//!
//! An IPv4 address becomes a BIGINT (`ip4`); an IPv6 address is read hextet by hextet from
//! its text (`h0`, `h1`, ...: the part before `::`, the part after, zeros between), only as
//! many hextets as the networks in use need. A query computes these columns once per row
//! ([`Addr::columns`]) and tests them with [`Addr::in_net`].

use ipnet::IpNet;

use super::Dialect;

/// The private networks of `pass::is_private`: RFC 1918, shared address space, link-local,
/// RFC 4193 and IPv6 link-local.
const PRIVATE: [&str; 7] = [
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "169.254.0.0/16",
    "100.64.0.0/10",
    "fc00::/7",
    "fe80::/10",
];

/// The address columns a query needs, for the networks it tests.
pub(crate) struct Addr {
    d: Dialect,
    /// Hextets read from IPv6 text (`h0` .. `h{n-1}`).
    hextets: usize,
}

impl Addr {
    /// Columns for testing `nets` (and the private and loopback ranges, always).
    pub(crate) fn new(d: Dialect, nets: &[IpNet]) -> Addr {
        let hextets = nets
            .iter()
            .chain(&private())
            .filter(|n| matches!(n, IpNet::V6(_)))
            .map(|n| usize::from(n.prefix_len()).div_ceil(16))
            .max()
            .unwrap_or(1)
            .max(1);
        Addr { d, hextets }
    }

    /// `, <expr> AS ip4, <expr> AS h0, ...` computed from the text column `ip`.
    pub(crate) fn columns(&self, ip: &str) -> String {
        let d = self.d;
        let mut s = format!(
            ", CASE WHEN {ip} LIKE '%.%' AND {ip} NOT LIKE '%:%' THEN {} END AS ip4",
            (1..=4)
                .map(|i| format!(
                    "{} * {}",
                    d.bigint(&format!("split_part({ip}, '.', {i})")),
                    1i64 << (8 * (4 - i))
                ))
                .collect::<Vec<_>>()
                .join(" + ")
        );
        // Left of `::` (or all of it), right of `::`, and their hextet counts.
        let has = format!("({ip} LIKE '%::%')");
        let left = format!("CASE WHEN {has} THEN split_part({ip}, '::', 1) ELSE {ip} END");
        let right = format!("CASE WHEN {has} THEN split_part({ip}, '::', 2) ELSE '' END");
        let count = |part: &str| {
            format!(
                "(CASE WHEN {part} = '' THEN 0 ELSE length({part}) - length(replace({part}, ':', '')) + 1 END)"
            )
        };
        let (nl, nr) = (count(&left), count(&right));
        for i in 0..self.hextets {
            s += &format!(
                ", CASE WHEN {ip} IS NULL OR {ip} NOT LIKE '%:%' THEN NULL WHEN {i} < {nl} THEN {} WHEN {has} AND {i} >= 8 - {nr} THEN {} ELSE 0 END AS h{i}",
                d.hex(&format!("split_part({left}, ':', {})", i + 1)),
                d.hex(&format!("split_part({right}, ':', {i} - (8 - {nr}) + 1)")),
            );
        }
        s
    }

    /// Whether the row's address (its [`Addr::columns`]) is in `net`; never NULL.
    pub(crate) fn in_net(&self, net: &IpNet) -> String {
        match net {
            IpNet::V4(n) => {
                let lo = u32::from(n.network());
                let hi = u32::from(n.broadcast());
                format!("COALESCE(ip4 BETWEEN {lo} AND {hi}, FALSE)")
            }
            IpNet::V6(n) => {
                let lo = n.network().segments();
                let hi = n.broadcast().segments();
                let used = usize::from(n.prefix_len()).div_ceil(16);
                if used == 0 {
                    return "COALESCE(h0 IS NOT NULL, FALSE)".into();
                }
                let parts: Vec<String> = (0..used)
                    .map(|i| format!("h{i} BETWEEN {} AND {}", lo[i], hi[i]))
                    .collect();
                format!("COALESCE({}, FALSE)", parts.join(" AND "))
            }
        }
    }

    /// Whether the address is in any of `nets` (FALSE for none).
    pub(crate) fn in_any(&self, nets: &[IpNet]) -> String {
        if nets.is_empty() {
            return "FALSE".into();
        }
        let v: Vec<String> = nets.iter().map(|n| self.in_net(n)).collect();
        format!("({})", v.join(" OR "))
    }

    /// Loopback: 127.0.0.0/8 and ::1 (`IpAddr::is_loopback`).
    pub(crate) fn loopback(&self, ip: &str) -> String {
        format!(
            "({} OR COALESCE({ip} = '::1', FALSE))",
            self.in_net(&"127.0.0.0/8".parse().expect("valid"))
        )
    }

    /// `pass::is_private`.
    pub(crate) fn private(&self) -> String {
        self.in_any(&private())
    }
}

fn private() -> Vec<IpNet> {
    PRIVATE.iter().map(|s| s.parse().expect("valid")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::IpAddr;
    use std::process::Command;

    /// Network membership computed by DuckDB from the generated columns agrees with
    /// `IpNet::contains` on addresses in every textual shape the scan writes (IPv4, IPv6
    /// compressed at the start, middle or end, uncompressed, IPv4-mapped), host names and
    /// NULL.
    #[test]
    fn membership_in_sql_agrees_with_ipnet() {
        let nets: Vec<IpNet> = [
            "10.0.0.0/8",
            "172.16.0.0/12",
            "0.0.0.0/0",
            "203.0.113.7/32",
            "fc00::/7",
            "fe80::/10",
            "2001:db8::/32",
            "2001:db8:abcd:12::/64",
            "::/0",
            "::1/128",
            "2001:db8:0:0:0:0:0:ff00/120",
        ]
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
        let ips = [
            "10.1.2.3",
            "9.255.255.255",
            "172.31.255.255",
            "172.32.0.0",
            "203.0.113.7",
            "203.0.113.8",
            "127.0.0.1",
            "::1",
            "::",
            "fc00::",
            "fdff:ffff::1",
            "fe00::1",
            "fe80::1",
            "febf:1::",
            "2001:db8::1",
            "2001:db8:abcd:12::1",
            "2001:db8:abcd:13:ffff::",
            "2001:db9::",
            "2001:db8::ff01",
            "2001:db8::ff00",
            "1:2:3:4:5:6:7:8",
            "::ffff:10.1.2.3",
            "db.internal",
        ];
        let addr = Addr::new(Dialect::Duckdb, &nets);
        let values: Vec<String> = ips.iter().map(|ip| format!("('{ip}')")).collect();
        let tests: Vec<String> = nets.iter().map(|n| addr.in_net(n)).collect();
        let sql = format!(
            "SELECT ip, [{}] FROM (SELECT ip{} FROM (VALUES {}, (NULL)) t(ip)) x ORDER BY ip NULLS LAST",
            tests.join(", "),
            addr.columns("ip"),
            values.join(", ")
        );
        let script = "import duckdb, json, sys\n\
                      print(json.dumps(duckdb.connect().execute(sys.stdin.read()).fetchall()))";
        let mut child = Command::new("python3")
            .args(["-c", script])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("python3 runs");
        use std::io::Write as _;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(sql.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "DuckDB failed (.ci/run installs it): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let rows: Vec<(Option<String>, Vec<bool>)> = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(rows.len(), ips.len() + 1);
        for (ip, got) in rows {
            let parsed: Option<IpAddr> = ip.as_deref().and_then(|s| s.parse().ok());
            // The text a scan writes for an IPv4-mapped address is IPv6 (`::ffff:a.b.c.d`):
            // its last two hextets are not read (no network here needs them).
            let want: Vec<bool> = nets
                .iter()
                .map(|n| parsed.is_some_and(|a| n.contains(&a)))
                .collect();
            assert_eq!(got, want, "{ip:?} in {nets:?}");
        }
    }
}
