//! What the baseline detections need: logins unlike the first days (`anomalous_login`, found
//! with `--learn`), and a threat list holding some of the incidents' sources
//! (`threat_list_login`, `threat_list_attempt`, found with `--threat-list`).
//!
//! The learning period is the first [`learn_days`] days; the anomalous logins are planted on
//! the last day, outside the incidents' slots (their hours, 01, 03 and 14, are no slot of a
//! 7-day period): a known user from a new AS and country at 03:00, a user never seen, and the
//! master user from the bastion at an hour it never logs in. The threat list is written
//! beside the corpus as [`THREAT_LIST_NAME`]; its hits are read off the plan (every login and
//! failed login from a listed source), so they follow the incidents wherever they move.
//! Expectations that need a setting say so in `needs` (`learn`, `threat_list`, `geoip`), and
//! a scan without it is not held to them.

use std::net::IpAddr;

use ipnet::IpNet;

use super::estate::{BASTION, MASTER_USER};
use super::ground_truth::Expected;
use super::plan::{stmt, Body, Conn, Env, Session, SlicePlan};
use super::time::{DAY_US, MIN_US, SLICE_US, US};

/// The file name of the threat list written beside the corpus (the list's name in findings).
pub(crate) const THREAT_LIST_NAME: &str = "synth-blocklist.netset";

/// A FireHOL-style list: the brute-force attacker's address, the sprayer's network, and
/// documentation ranges nothing in the corpus uses (MCAST-TEST-NET, part of 2001:db8::/32).
pub(crate) const THREAT_LIST: &str = "\
#
# synth-blocklist: known-bad sources for `forensics synth` corpora (FireHOL netset layout)
#
203.0.113.50
198.51.100.0/24
233.252.0.0/24
2001:db8:bad::/48
";

/// A public address of MaxMind's test databases (country SE, AS29518 Bredband2 AB in
/// `GeoLite2-Country-Test.mmdb` and `GeoLite2-ASN-Test.mmdb`).
pub(crate) const NEW_AS_SOURCE: &str = "89.160.20.115";
/// A user the logs never showed before.
pub(crate) const NEW_USER: &str = "svc_backup";

/// The learning period (`--learn`) for a corpus of `days` days.
pub(crate) fn learn_days(days: u32) -> u32 {
    days / 2
}

/// Plants the anomalous logins on the last day (periods of 3 days or more); returns how
/// many.
pub(crate) fn plant_anomalous_logins(
    env: &Env,
    slices: &mut [SlicePlan],
    out: &mut Vec<Expected>,
    bastion_logins: &mut u64,
) -> usize {
    if env.days < 3 {
        return 0;
    }
    let pg = env.flavor == super::Flavor::Postgres;
    let day0 = env.start_us + (env.days as i64 - 1) * DAY_US;
    let mut add = |s: Session| {
        let h = ((s.start - env.start_us) / SLICE_US) as usize;
        slices[h.min(slices.len() - 1)].sessions.push(s);
    };
    let expect = |kind: &'static str,
                  severity: &'static str,
                  user: &'static str,
                  ip: &'static str,
                  t: i64,
                  needs: Option<&'static str>,
                  note: &str| Expected {
        kind,
        severity,
        user: Some(user),
        client_ip: Some(ip),
        database: None,
        statement: None,
        first_seen: t,
        count: Some(1),
        note: note.to_string(),
        needs,
    };

    // A known application user from a new AS and country, at 03:00 (an hour it does log in).
    let t = day0 + 3 * SLICE_US + 10 * MIN_US;
    add(Session {
        start: t,
        end: t + 30 * US,
        user: "app_billing",
        host: NEW_AS_SOURCE,
        db: "billing",
        conn: Conn::Ssl,
        body: Body::Script(vec![stmt(t + 2 * US, "SELECT 1")]),
    });
    out.push(expect(
        "anomalous_login",
        "high",
        "app_billing",
        NEW_AS_SOURCE,
        t,
        Some("learn,geoip"),
        "app_billing, which logs in from the VPC only, logs in from AS29518 (SE) at 03:10: new AS and country (with MaxMind's test databases; a new /24, medium, without --geoip)",
    ));
    out.push(expect(
        "unknown_source_ip",
        "high",
        "app_billing",
        NEW_AS_SOURCE,
        t,
        None,
        "app_billing logged in from a public address outside 10.20.0.0/16",
    ));

    // A user never seen, from an application host inside the VPC.
    let t = day0 + 14 * SLICE_US + 10 * MIN_US;
    add(Session {
        start: t,
        end: t + 20 * US,
        user: NEW_USER,
        host: "10.20.1.11",
        db: if pg { "orders" } else { "" },
        conn: Conn::Ssl,
        body: Body::Script(vec![stmt(t + 2 * US, "SELECT 1")]),
    });
    out.push(expect(
        "anomalous_login",
        "medium",
        NEW_USER,
        "10.20.1.11",
        t,
        Some("learn"),
        "svc_backup, never seen before, logs in from an application host",
    ));

    // The master user from the bastion, at 01:10: an hour it never logs in at.
    let t = day0 + SLICE_US + 10 * MIN_US;
    add(Session {
        start: t,
        end: t + 20 * US,
        user: MASTER_USER,
        host: BASTION,
        db: if pg { "postgres" } else { "" },
        conn: Conn::Ssl,
        body: Body::Script(vec![stmt(t + 2 * US, "SELECT 1")]),
    });
    *bastion_logins += 1;
    let mut e = expect(
        "anomalous_login",
        "low",
        MASTER_USER,
        BASTION,
        t,
        Some("learn"),
        "admin logs in from the bastion at 01:10, an hour it never logs in at (with the incidents run from the bastion at other new hours after the learning period, in one finding)",
    );
    // The incidents from the bastion after the learning period join this finding.
    e.count = None;
    out.push(e);
    3
}

/// The threat-list findings the plan's sessions raise: per user and source, the successful
/// logins from a listed source (critical); per source, the failed ones (high).
pub(crate) fn expect_threat_hits(slices: &[SlicePlan], out: &mut Vec<Expected>) {
    let nets: Vec<IpNet> = THREAT_LIST
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            l.parse::<IpNet>()
                .or_else(|_| l.parse::<IpAddr>().map(IpNet::from))
                .expect("the synth threat list is well formed")
        })
        .collect();
    let listed = |host: &str| {
        host.parse::<IpAddr>()
            .is_ok_and(|ip| nets.iter().any(|n| n.contains(&ip)))
    };
    // (first time, count) per (user, source) of logins and per source of failures.
    let mut logins: std::collections::BTreeMap<(&'static str, &'static str), (i64, u64)> =
        Default::default();
    let mut failures: std::collections::BTreeMap<&'static str, (i64, u64)> = Default::default();
    for s in slices.iter().flat_map(|sp| &sp.sessions) {
        if !listed(s.host) {
            continue;
        }
        let slot = match s.body {
            Body::Failed { .. } => failures.entry(s.host).or_insert((i64::MAX, 0)),
            Body::Server(_) => continue,
            _ => logins.entry((s.user, s.host)).or_insert((i64::MAX, 0)),
        };
        slot.0 = slot.0.min(s.start);
        slot.1 += 1;
    }
    for ((user, host), (t, n)) in logins {
        out.push(Expected {
            kind: "threat_list_login",
            severity: "critical",
            user: Some(user),
            client_ip: Some(host),
            database: None,
            statement: None,
            first_seen: t,
            count: Some(n),
            note: format!("{user} logged in from {host}, listed in {THREAT_LIST_NAME}"),
            needs: Some("threat_list"),
        });
    }
    for (host, (t, n)) in failures {
        out.push(Expected {
            kind: "threat_list_attempt",
            severity: "high",
            user: None,
            client_ip: Some(host),
            database: None,
            statement: None,
            first_seen: t,
            count: Some(n),
            note: format!("{n} failed logins from {host}, listed in {THREAT_LIST_NAME}"),
            needs: Some("threat_list"),
        });
    }
}
