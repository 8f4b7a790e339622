//! The simulated estate: who connects from where, and the settings a scan of it is given.
//!
//! Four applications ([`App`], [`PROFILES`]) with their users, databases, hosts, share of the
//! traffic and pool sizes; the master user and the bastion it is expected from; the VPC that
//! `ground_truth.json` lists as expected. The daily traffic curve is [`diurnal`].

pub(crate) const ALLOW_CIDR: &str = "10.20.0.0/16";
pub(crate) const MASTER_USER: &str = "admin";
pub(crate) const ADMIN_HOST_CIDR: &str = "10.20.0.10/32";
pub(crate) const BASTION: &str = "10.20.0.10";
/// The SQLSTATE class of a refused privilege (42501), as a PostgreSQL statement's "retcode".
pub(crate) const PG_PERMISSION_DENIED: u32 = 42501;

pub(crate) const AURORA_LANES: usize = 4;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum App {
    Orders,
    Billing,
    Reporting,
    Etl,
}

pub(crate) const APPS: [App; 4] = [App::Orders, App::Billing, App::Reporting, App::Etl];

pub(crate) struct Profile {
    pub(crate) user: &'static str,
    pub(crate) db: &'static str,
    pub(crate) hosts: &'static [&'static str],
    /// Share of background queries.
    pub(crate) share: f64,
    /// Mean queries per pooled session: keeps connection overhead proportional to volume.
    pub(crate) q_target: f64,
    /// Pool size: concurrent sessions per hour at high volume.
    pub(crate) max_slots: usize,
}

pub(crate) const PROFILES: [Profile; 4] = [
    Profile {
        user: "app_orders",
        db: "orders",
        hosts: &["10.20.1.11", "10.20.1.12", "10.20.2.11", "10.20.2.12"],
        share: 0.45,
        q_target: 200.0,
        max_slots: 8,
    },
    Profile {
        user: "app_billing",
        db: "billing",
        hosts: &["10.20.1.21", "10.20.2.21"],
        share: 0.25,
        q_target: 150.0,
        max_slots: 4,
    },
    Profile {
        user: "reporting",
        db: "analytics",
        hosts: &["10.20.4.15", "10.20.4.16"],
        share: 0.15,
        q_target: 60.0,
        max_slots: 3,
    },
    Profile {
        user: "etl",
        db: "warehouse",
        hosts: &["10.20.5.30", "10.20.5.31"],
        share: 0.15,
        q_target: 250.0,
        max_slots: 2,
    },
];

impl App {
    pub(crate) fn profile(self) -> &'static Profile {
        &PROFILES[self as usize]
    }
    /// Statements a driver sends right after connecting (Connector/J vs. PyMySQL; pgJDBC vs.
    /// SQLAlchemy on PostgreSQL).
    pub(crate) fn init_statements(self, pg: bool) -> &'static [&'static str] {
        match (self, pg) {
            (App::Orders | App::Billing, false) => &[
                JDBC_INIT,
                "SET character_set_results = NULL",
                "SET autocommit=1",
            ],
            (App::Reporting | App::Etl, false) => &["SET NAMES utf8mb4", "SET AUTOCOMMIT = 1"],
            (App::Orders | App::Billing, true) => &[
                "SET extra_float_digits = 3",
                "SET application_name = 'PostgreSQL JDBC Driver'",
                "SHOW TRANSACTION ISOLATION LEVEL",
            ],
            (App::Reporting | App::Etl, true) => &[
                "select pg_catalog.version()",
                "select current_schema()",
                "show standard_conforming_strings",
            ],
        }
    }
}

const JDBC_INIT: &str = "/* mysql-connector-j-8.3.0 (Revision: 805f872a57875f311cb82487efcfb070411a3fa0) */SELECT  @@session.auto_increment_increment AS auto_increment_increment, @@character_set_client AS character_set_client, @@character_set_connection AS character_set_connection, @@character_set_results AS character_set_results, @@character_set_server AS character_set_server, @@collation_server AS collation_server, @@collation_connection AS collation_connection, @@init_connect AS init_connect, @@interactive_timeout AS interactive_timeout, @@license AS license, @@lower_case_table_names AS lower_case_table_names, @@max_allowed_packet AS max_allowed_packet, @@net_write_timeout AS net_write_timeout, @@performance_schema AS performance_schema, @@sql_mode AS sql_mode, @@system_time_zone AS system_time_zone, @@time_zone AS time_zone, @@transaction_isolation AS transaction_isolation, @@wait_timeout AS wait_timeout";

/// Traffic shape over the day (UTC): smooth, quietest at 03:00, 3× that at 15:00.
pub(crate) fn diurnal(hour_of_day: usize) -> f64 {
    let h = hour_of_day as f64 + 0.5;
    2.0 - (std::f64::consts::TAU * (h - 3.0) / 24.0).cos()
}
