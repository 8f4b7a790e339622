//! The plan: every session of every one-hour slice, built sequentially from one RNG.
//!
//! A plan is cheap to build (no text is rendered): [`build_plan`] lays out the background
//! traffic ([`background`](super::background)), plants the incidents
//! ([`incidents`](super::incidents)), sorts each slice's sessions by start and assigns each
//! slice its first connection id and query id, so that ids increase over the whole period
//! although slices render independently and in parallel.

use std::borrow::Cow;

use super::background;
use super::baseline;
use super::estate::{diurnal, App, AURORA_LANES, BASTION};
use super::ground_truth::Expected;
use super::incidents;
use super::rng::rng_for;
use super::time::SLICE_US;
use super::Flavor;

/// First connection / query id of the period: the server has been up for a while.
const CONN_ID0: i64 = 18_342;
const QUERY_ID0: i64 = 4_096_117;
/// The RNG stream of the plan (slices render with the stream of their index).
pub(crate) const PLAN_STREAM: u64 = u64::MAX;

/// The settings every stage reads: flavor, wrapping, seed and period.
#[derive(Clone, Copy)]
pub(crate) struct Env {
    pub(crate) flavor: Flavor,
    /// CloudWatch S3 export objects.
    pub(crate) cw: bool,
    /// CloudWatch JSON deliveries.
    pub(crate) cwj: bool,
    pub(crate) seed: u64,
    pub(crate) days: u32,
    pub(crate) start_us: i64,
}

impl Env {
    pub(crate) fn slices(&self) -> usize {
        self.days as usize * 24
    }
    pub(crate) fn lanes(&self) -> usize {
        if self.flavor == Flavor::Aurora && !self.cw && !self.cwj {
            AURORA_LANES
        } else {
            1
        }
    }
}

/// How a session reached the server, as RDS for MySQL logs it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Conn {
    Ssl,
    Tcp,
    Socket,
}

impl Conn {
    pub(crate) fn text(self) -> &'static [u8] {
        match self {
            Conn::Ssl => b"SSL",
            Conn::Tcp => b"TCP/IP",
            Conn::Socket => b"SOCKET",
        }
    }
}

/// Table event attached to a statement: (operation, database, table).
pub(crate) type Tab = (&'static str, &'static str, &'static str);

/// One scripted statement: when, what, the retcode it gets, its table events.
pub(crate) struct Stmt {
    pub(crate) at: i64,
    pub(crate) sql: Cow<'static, str>,
    pub(crate) ret: u32,
    pub(crate) tables: Vec<Tab>,
}

pub(crate) fn stmt(at: i64, sql: impl Into<Cow<'static, str>>) -> Stmt {
    Stmt {
        at,
        sql: sql.into(),
        ret: 0,
        tables: Vec::new(),
    }
}

pub(crate) fn stmt_t(at: i64, sql: impl Into<Cow<'static, str>>, tables: &[Tab]) -> Stmt {
    Stmt {
        at,
        sql: sql.into(),
        ret: 0,
        tables: tables.to_vec(),
    }
}

/// What a session does between its connect and its disconnect.
pub(crate) enum Body {
    /// Application traffic generated while rendering; `regular` spaces queries evenly
    /// (a scripted burst) instead of jittering them.
    Pooled { app: App, n: u32, regular: bool },
    /// Explicit statements at explicit times (health checks, humans, incidents).
    Script(Vec<Stmt>),
    /// FAILED_CONNECT with this retcode, immediately followed by DISCONNECT.
    Failed { ret: u32 },
    /// A PostgreSQL server message with no session (checkpoints, autovacuum).
    Server(ServerMsg),
}

/// A PostgreSQL server message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ServerMsg {
    /// `checkpoint starting` at the start, `checkpoint complete` at the end.
    Checkpoint,
    /// A multi-line `automatic vacuum of table` report.
    Vacuum(&'static str),
    /// `automatic analyze of table` with its usage line.
    Analyze(&'static str),
}

/// One connection (or one server message) from `start` to `end`.
pub(crate) struct Session {
    pub(crate) start: i64,
    pub(crate) end: i64,
    pub(crate) user: &'static str,
    pub(crate) host: &'static str,
    pub(crate) db: &'static str,
    pub(crate) conn: Conn,
    pub(crate) body: Body,
}

impl Session {
    pub(crate) fn queries(&self) -> u32 {
        match &self.body {
            Body::Pooled { n, .. } => *n,
            Body::Script(s) => s.len() as u32,
            Body::Failed { .. } | Body::Server(_) => 0,
        }
    }
}

/// One hour `[t0, t1)`: its sessions by start, and the first connection id and query id it
/// uses.
pub(crate) struct SlicePlan {
    pub(crate) t0: i64,
    pub(crate) t1: i64,
    pub(crate) sessions: Vec<Session>,
    pub(crate) conn_base: i64,
    pub(crate) query_base: i64,
}

/// Every slice of the period, and what `ground_truth.json` must list.
pub(crate) struct Plan {
    pub(crate) slices: Vec<SlicePlan>,
    pub(crate) findings: Vec<Expected>,
    pub(crate) incidents: usize,
}

/// Lays out the period at background volume `scale` (queries over the whole period).
pub(crate) fn build_plan(env: &Env, scale: f64) -> Plan {
    let n = env.slices();
    let mut rng = rng_for(env.seed, PLAN_STREAM);
    let mut slices: Vec<SlicePlan> = (0..n)
        .map(|i| {
            let t0 = env.start_us + i as i64 * SLICE_US;
            SlicePlan {
                t0,
                t1: t0 + SLICE_US,
                sessions: Vec::new(),
                conn_base: 0,
                query_base: 0,
            }
        })
        .collect();
    let w_sum: f64 = (0..n).map(|i| diurnal(i % 24)).sum();

    background::add_pools(&mut slices, scale, w_sum, &mut rng);
    let pg = env.flavor == Flavor::Postgres;
    for sp in slices.iter_mut() {
        background::add_health_checks(sp, pg, &mut rng);
        if pg {
            background::add_server_messages(sp, &mut rng);
        }
    }
    let (mut bastion_first, mut bastion_logins) =
        background::add_admin_days(&mut slices, env.days, pg, &mut rng);

    let mut plan_findings = Vec::new();
    let incidents = incidents::plant(
        env,
        &mut slices,
        &mut plan_findings,
        scale,
        w_sum,
        &mut bastion_first,
        &mut bastion_logins,
    );
    let planted =
        baseline::plant_anomalous_logins(env, &mut slices, &mut plan_findings, &mut bastion_logins);
    let incidents = incidents + planted;
    baseline::expect_threat_hits(&slices, &mut plan_findings);
    plan_findings.push(Expected {
        kind: "master_user",
        severity: "low",
        user: None,
        client_ip: Some(BASTION),
        database: None,
        statement: None,
        first_seen: bastion_first,
        count: None,
        note: format!("master user admin logs in from the admin host (bastion), {bastion_logins} logins; expected, reported as low"),
        needs: None,
    });
    plan_findings.sort_by(|a, b| a.first_seen.cmp(&b.first_seen).then(a.kind.cmp(b.kind)));

    // Stable sort keeps plan order for equal starts; ids follow from the exact counts.
    let mut conn = CONN_ID0;
    let mut qid = QUERY_ID0;
    for sp in slices.iter_mut() {
        sp.sessions.sort_by_key(|s| s.start);
        sp.conn_base = conn;
        sp.query_base = qid;
        conn += sp.sessions.len() as i64;
        qid += sp.sessions.iter().map(|s| s.queries() as i64).sum::<i64>();
    }
    Plan {
        slices,
        findings: plan_findings,
        incidents,
    }
}
