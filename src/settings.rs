//! The settings of a scan: command-line flags over config file keys over defaults, resolved
//! once into one [`Settings`] value.
//!
//! Every setting that a flag or a config key can give is one entry of the table in the
//! `settings!` invocation below: its help text, its flag (`#[arg]`), its key (the field
//! name, or `#[serde(rename)]`), its type and its default. From that one entry come the clap
//! flag, the TOML key, the merge and the default, so the three can never drift apart. A
//! setting with no flag is marked `#[arg(skip)]` (the rules, the per-user table); one with no
//! key would be `#[serde(skip)]`.
//!
//! A flag and its key are read by the same parser, the value type's `FromStr` (a TOML string
//! goes through it too, see `from_str_deserialize!`): `--brute-force-window 5m` and
//! `brute_force_window = "5m"` accept the same grammar and fail with the same message. All
//! durations, window settings and `--since 24h` alike, use the one grammar of
//! [`time::parse_duration_secs`](crate::time::parse_duration_secs).
//!
//! The config file is read exactly once per run, by [`Settings::resolve`]; a flag replaces its
//! key's value whole (a repeated flag such as `--allow` does not add to the file's list).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use ipnet::IpNet;

use crate::error::{Error, Result};
use crate::format::pg_prefix::PrefixArg;
use crate::pass::config::{parse_net, RuleConfig, UserConfig};
use crate::pass::AnalysisConfig;
use crate::time::{TimeLayout, UtcOffset};

/// Where a resolved setting came from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum Origin {
    #[default]
    Default,
    ConfigFile,
    Flag,
}

/// Generates, from one table of settings:
/// - `SettingsLayer`, what one source gives (every field an `Option`, `None` where the
///   source is silent), which is both the clap flags (flattened into `scan`'s arguments) and
///   the TOML config file (unknown keys refused);
/// - `Settings`, the resolved values (a setting with a default is its type, one without is
///   an `Option` of it), and `Origins`, where each came from.
///
/// An entry is `doc and attributes, name: Type = default;`, or `name: Type;` for a setting
/// that is absent unless given.
macro_rules! settings {
    (@resolved $ty:ty) => { Option<$ty> };
    (@resolved $ty:ty, $default:expr) => { $ty };
    (@or_default $value:ident) => { $value };
    (@or_default $value:ident, $default:expr) => { $value.unwrap_or_else(|| $default) };
    ($(
        $(#[$attr:meta])*
        $name:ident: $ty:ty $(= $default:expr)?;
    )*) => {
        /// The settings one source gives, flags or config file; `None` where it is silent.
        #[derive(Clone, Debug, Default, clap::Args, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        pub(crate) struct SettingsLayer {
            $(
                $(#[$attr])*
                pub(crate) $name: Option<$ty>,
            )*
        }

        /// The settings of a run, resolved: see the module documentation.
        #[derive(Clone, Debug)]
        pub(crate) struct Settings {
            $(pub(crate) $name: settings!(@resolved $ty $(, $default)?),)*
            pub(crate) origin: Origins,
        }

        /// Where each of [`Settings`] came from.
        // One field per setting; only the summary's "was this a default" questions read
        // some of them today.
        #[allow(dead_code)]
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
        pub(crate) struct Origins {
            $(pub(crate) $name: Origin,)*
        }

        impl Settings {
            /// Flags over the config file over the defaults, setting by setting.
            fn merge(flags: SettingsLayer, file: SettingsLayer) -> Settings {
                let mut origin = Origins::default();
                $(let $name = pick(flags.$name, file.$name, &mut origin.$name);)*
                Settings {
                    $($name: settings!(@or_default $name $(, $default)?),)*
                    origin,
                }
            }

            /// Every setting as the report lists it: name, value (Rust's debug form, cut),
            /// and where it came from.
            pub(crate) fn listing(&self) -> Vec<crate::sink::report::SettingUsed> {
                vec![$(crate::sink::report::SettingUsed::new(
                    stringify!($name),
                    format!("{:?}", self.$name),
                    self.origin.$name.as_str(),
                ),)*]
            }
        }
    };
}

settings! {
    /// Expected source network (repeatable). Default: the private ranges.
    #[arg(long = "allow", value_name = "CIDR")]
    allow: Vec<Net> = nets(&["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"]);
    /// The RDS master user (repeatable). Default: admin, postgres.
    #[arg(long = "master-user", value_name = "NAME")]
    master_users: Vec<String> = vec!["admin".into(), "postgres".into()];
    /// Where a human administrator may use the master user, e.g. a bastion (repeatable).
    #[arg(long = "admin-host", value_name = "CIDR")]
    admin_hosts: Vec<Net> = Vec::new();
    /// Failed logins from one source within the window that make a brute force [default: 20].
    #[arg(long, value_name = "N")]
    brute_force_threshold: u32 = 20;
    /// Sliding window for brute force and password spray [default: 5m].
    #[arg(long, value_name = "DURATION")]
    brute_force_window: Seconds = Seconds(300);
    /// How long after a burst a successful login is reported [default: 1h].
    #[arg(long, value_name = "DURATION")]
    brute_force_success_delay: Seconds = Seconds(3600);
    /// Failed logins for one user, from many sources, within the distributed window that make
    /// a distributed brute force [default: 30].
    #[arg(long, value_name = "N")]
    distributed_brute_force_threshold: u32 = 30;
    /// Distinct sources those failures must come from [default: 10].
    #[arg(long, value_name = "N")]
    distributed_brute_force_sources: u32 = 10;
    /// Sliding window for distributed brute force [default: 10m].
    #[arg(long, value_name = "DURATION")]
    distributed_brute_force_window: Seconds = Seconds(600);
    /// Low-and-slow brute force: failed logins from one source (outside fast bursts) within
    /// the horizon that make a slow brute force [default: 50].
    #[arg(long, value_name = "N")]
    slow_brute_force_threshold: u32 = 50;
    /// Horizon over which slow failures from one source add up [default: 24h].
    #[arg(long, value_name = "DURATION")]
    slow_brute_force_horizon: Seconds = Seconds(86_400);
    /// Distinct users failed from one source within the window that make a spray [default: 5].
    #[arg(long, value_name = "N")]
    spray_users: u32 = 5;
    /// Rate-spike window [default: 5m].
    #[arg(long, value_name = "DURATION")]
    rate_window: Seconds = Seconds(300);
    /// Events a window needs before it can be a spike [default: 200].
    #[arg(long, value_name = "N")]
    rate_floor: u64 = 200;
    /// A spike exceeds the user's 95th-percentile window by this factor [default: 4].
    #[arg(long, value_name = "X")]
    rate_factor: f64 = 4.0;
    /// strftime layout of MariaDB >= 12 audit timestamps (server_audit_timestamp_format),
    /// e.g. "%Y-%m-%d %H:%M:%S"; files in the standard layout are still read as usual.
    #[arg(long, value_name = "FMT")]
    timestamp_format: TimeLayout;
    /// UTC offset of the zone-less MySQL-family audit timestamps, e.g. +02:00 [default: +00:00,
    /// as on RDS]. Aurora epoch times, PostgreSQL and CloudWatch times carry their zone.
    #[arg(long, value_name = "OFFSET", allow_hyphen_values = true)]
    utc_offset: UtcOffset = UtcOffset(0);
    /// Longest record kept whole, e.g. 16MiB: a longer record stays an event with its fields,
    /// its text cut here and counted as truncated [default: 16MiB].
    #[arg(long, value_name = "SIZE")]
    max_record_bytes: RecordBytes = RecordBytes(crate::format::DEFAULT_MAX_RECORD_BYTES);
    /// PostgreSQL `log_line_prefix` of self-managed servers' stderr logs, e.g. '%m [%p] %q%u@%d '
    /// (as pgBadger's --prefix) [default: RDS's '%t:%r:%u@%d:[%p]:' and the common ones,
    /// recognised per file].
    #[arg(long, value_name = "PREFIX", allow_hyphen_values = true)]
    pg_log_line_prefix: PrefixArg;
    /// Scan only share I of N of the input files (dealt out by size, the same deal in every
    /// run) and publish into OUT/shard=I-of-N/, so N scans (an array job) can share one -o.
    #[arg(long, value_name = "I/N")]
    shard: crate::input::Shard;
    /// Do not write report.html (the self-contained HTML report).
    #[arg(long = "no-report", num_args = 0, default_missing_value = "true")]
    no_report: bool = false;
    /// Write privileges.sql and privileges.md: least-privilege grants per database user from
    /// what it did (see `forensics privileges`).
    #[arg(long = "privileges", num_args = 0, default_missing_value = "true")]
    privileges: bool = false;
    /// The grants users hold now (SHOW GRANTS output; psql \dp, \du or role_table_grants
    /// output), for privileges.md to list what is held but never used.
    #[arg(long, value_name = "FILE")]
    grants: std::path::PathBuf;
    /// An AWS account of yours (repeatable; 12 digits): sharing a snapshot with it is routine,
    /// with any other account an exfiltration.
    #[arg(long = "aws-account", value_name = "ID")]
    aws_accounts: Vec<AwsAccount> = Vec::new();
    /// How long after a control-plane change (a master password reset, an exposure, audit
    /// turned off) the database logs are searched for its effect [default: 1h].
    #[arg(long, value_name = "DURATION")]
    correlation_window: Seconds = Seconds(3600);
    /// `[instances]`: each RDS instance or cluster identifier with the server hosts or path
    /// parts of its database logs, e.g. `prod-db-1 = ["ip-10-0-1-5", "logs/prod-db-1/"]`.
    #[arg(skip)]
    instances: BTreeMap<String, Vec<String>> = BTreeMap::new();
    /// A MaxMind GeoLite2/GeoIP2 database (.mmdb: Country or City, and ASN), repeatable:
    /// events, sessions and findings gain client_country, client_asn and client_as_org.
    #[arg(long = "geoip", value_name = "PATH")]
    geoip: Vec<PathBuf> = Vec::new();
    /// A threat list (one address or CIDR per line, `#` comments; Tor exit lists and FireHOL
    /// sets as they are), repeatable: logins and failed logins from a listed address are
    /// findings naming the list (its file name).
    #[arg(long = "threat-list", value_name = "FILE")]
    threat_lists: Vec<PathBuf> = Vec::new();
    /// An earlier scan's output folder whose profile.parquet is the baseline of usual logins:
    /// logins unlike it are anomalous_login findings.
    #[arg(long, value_name = "DIR")]
    baseline: PathBuf;
    /// Learn the usual logins from the first DURATION of this input (e.g. 7d); later logins
    /// unlike them are anomalous_login findings.
    #[arg(long, value_name = "DURATION")]
    learn: Seconds;
    /// Custom rules, `[[rule]]` tables of the config file.
    #[arg(skip)]
    rule: Vec<RuleConfig> = Vec::new();
    /// `[users.NAME] databases = [...]`.
    #[arg(skip)]
    users: BTreeMap<String, UserConfig> = BTreeMap::new();
}

impl Origin {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Origin::Default => "default",
            Origin::ConfigFile => "config file",
            Origin::Flag => "flag",
        }
    }
}

/// Takes the first source that gives a value and records which one it was.
fn pick<T>(flag: Option<T>, file: Option<T>, origin: &mut Origin) -> Option<T> {
    match (flag, file) {
        (Some(v), _) => {
            *origin = Origin::Flag;
            Some(v)
        }
        (None, Some(v)) => {
            *origin = Origin::ConfigFile;
            Some(v)
        }
        (None, None) => None,
    }
}

fn nets(cidrs: &[&str]) -> Vec<Net> {
    cidrs
        .iter()
        .map(|s| s.parse().expect("valid default CIDR"))
        .collect()
}

impl Default for Settings {
    /// Every setting at its default, as with no flag and no config file.
    fn default() -> Self {
        Settings::merge(SettingsLayer::default(), SettingsLayer::default())
    }
}

impl Settings {
    /// Resolves `flags` over the config file at `config` (read here, once) over the
    /// defaults.
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be read; [`Error::Config`] naming the file, the line
    /// and the key for TOML it cannot take: an unknown key, a value of the wrong type, or one
    /// its setting refuses (a bad duration, CIDR, offset or layout).
    pub(crate) fn resolve(flags: SettingsLayer, config: Option<&Path>) -> Result<Settings> {
        Settings::resolve_with(flags, config, |path| std::fs::read_to_string(path))
    }

    /// [`Settings::resolve`] with the file read by `read` (called at most once: it is
    /// `FnOnce`), so tests can supply and count reads.
    pub(crate) fn resolve_with(
        flags: SettingsLayer,
        config: Option<&Path>,
        read: impl FnOnce(&Path) -> std::io::Result<String>,
    ) -> Result<Settings> {
        let file = match config {
            Some(path) => {
                let text = read(path).map_err(|e| Error::io(path, e))?;
                toml::from_str(&text).map_err(|e| Error::Config {
                    path: path.to_path_buf(),
                    message: e.to_string(),
                })?
            }
            None => SettingsLayer::default(),
        };
        Ok(Settings::merge(flags, file))
    }

    /// What the analysis passes read, with the custom rules compiled.
    ///
    /// # Errors
    /// An invalid or duplicate rule, by name.
    pub(crate) fn analysis(&self) -> std::result::Result<AnalysisConfig, String> {
        let nets = |v: &[Net]| v.iter().map(|n| n.0).collect();
        let mut config = AnalysisConfig {
            allow: nets(&self.allow),
            allow_is_default: self.origin.allow == Origin::Default,
            master_users: self.master_users.clone(),
            master_users_are_default: self.origin.master_users == Origin::Default,
            admin_hosts: nets(&self.admin_hosts),
            // Floors that keep a careless value from reporting every failed login.
            brute_force_threshold: self.brute_force_threshold.max(1),
            brute_force_window_secs: self.brute_force_window.0,
            brute_force_success_delay_secs: self.brute_force_success_delay.0,
            spray_users: self.spray_users.max(2),
            distributed_brute_force_threshold: self.distributed_brute_force_threshold.max(2),
            distributed_brute_force_sources: self.distributed_brute_force_sources.max(2),
            distributed_brute_force_window_secs: self.distributed_brute_force_window.0,
            slow_brute_force_threshold: self.slow_brute_force_threshold.max(2),
            slow_brute_force_horizon_secs: self.slow_brute_force_horizon.0,
            rate_window_secs: self.rate_window.0,
            rate_floor: self.rate_floor,
            rate_factor: self.rate_factor,
            rules: self.rule.clone(),
            compiled_rules: Default::default(),
            users: self.users.clone(),
            aws_accounts: self.aws_accounts.iter().map(|a| a.0.clone()).collect(),
            correlation_window_secs: self.correlation_window.0,
            instances: self.instances.clone(),
            control_plane: false,
            // The files are read by the command line, which fills these in.
            threat_lists: Default::default(),
            geoip: None,
            baseline: None,
            learn_secs: self.learn.map(|s| s.0),
        };
        config.compile_rules()?;
        Ok(config)
    }
}

/// The defaults live in the settings table above; this is them, as the passes see them.
impl Default for AnalysisConfig {
    fn default() -> Self {
        Settings::default()
            .analysis()
            .expect("the defaults have no rules to fail")
    }
}

/// A network: a CIDR, or a bare address as a single-host network.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Net(pub(crate) IpNet);

impl FromStr for Net {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Net, String> {
        parse_net(s).map(Net)
    }
}

/// An AWS account id: 12 digits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct AwsAccount(pub(crate) String);

impl FromStr for AwsAccount {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<AwsAccount, String> {
        let s = s.trim();
        if s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit()) {
            Ok(AwsAccount(s.to_string()))
        } else {
            Err(format!("not an AWS account id: {s:?} (12 digits)"))
        }
    }
}

/// A span of time in whole seconds, more than zero, in the one duration grammar.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Seconds(pub(crate) i64);

impl FromStr for Seconds {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Seconds, String> {
        crate::time::parse_duration_secs(s)
            .filter(|&secs| secs > 0)
            .map(Seconds)
            .ok_or_else(|| format!("not a duration: {:?} (use 30s, 5m, 1h, 2d)", s.trim()))
    }
}

/// `--max-record-bytes`: a size (`16MiB`, `4096`, the grammar of `synth --size`), kept
/// within [`MAX_RECORD_BYTES_FLOOR`](crate::format::MAX_RECORD_BYTES_FLOOR) and
/// [`MAX_RECORD_BYTES_CEILING`](crate::format::MAX_RECORD_BYTES_CEILING).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RecordBytes(pub(crate) usize);

impl FromStr for RecordBytes {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<RecordBytes, String> {
        let n = crate::bytes::parse_size(s)?;
        let n = usize::try_from(n).unwrap_or(usize::MAX);
        Ok(RecordBytes(n.clamp(
            crate::format::MAX_RECORD_BYTES_FLOOR,
            crate::format::MAX_RECORD_BYTES_CEILING,
        )))
    }
}

impl<'de> serde::Deserialize<'de> for RecordBytes {
    /// A TOML integer (bytes) or a string in the flag's grammar.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        #[derive(serde::Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Bytes(u64),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Bytes(n) => n.to_string(),
            Raw::Text(t) => t,
        }
        .parse()
        .map_err(serde::de::Error::custom)
    }
}

/// A config value written as a TOML string is read by its type's `FromStr`, the parser its
/// flag uses, so a key and its flag take the same text and fail with the same message.
macro_rules! from_str_deserialize {
    ($($ty:ty),*) => {$(
        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
                let text = String::deserialize(d)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    )*};
}

from_str_deserialize!(
    Net,
    Seconds,
    UtcOffset,
    TimeLayout,
    PrefixArg,
    AwsAccount,
    crate::input::Shard
);

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    /// `forensics scan` flags alone, as clap reads them.
    #[derive(Parser)]
    struct Flags {
        #[command(flatten)]
        layer: SettingsLayer,
    }

    fn flags(args: &[&str]) -> SettingsLayer {
        Flags::try_parse_from(std::iter::once("scan").chain(args.iter().copied()))
            .expect("flags parse")
            .layer
    }

    fn resolve(args: &[&str], file: Option<&str>) -> Result<Settings> {
        let path = file.map(|_| Path::new("forensics.toml"));
        Settings::resolve_with(flags(args), path, |_| Ok(file.unwrap().to_string()))
    }

    #[test]
    fn a_shard_is_a_flag_or_a_key_and_a_bad_one_names_the_grammar() {
        use crate::input::Shard;
        let s = resolve(&[], Some("shard = \"2/3\"\n")).unwrap();
        assert_eq!(s.shard, Some(Shard { index: 2, count: 3 }));
        let s = resolve(&["--shard", "1/3"], Some("shard = \"2/3\"\n")).unwrap();
        assert_eq!(s.shard, Some(Shard { index: 1, count: 3 }));
        assert_eq!(resolve(&[], None).unwrap().shard, None);
        let e = resolve(&[], Some("shard = \"4/3\"\n"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("use I/N"), "{e}");
    }

    #[test]
    fn a_flag_overrides_its_config_key_which_overrides_the_default() {
        let file = "brute_force_window = \"10m\"\nrate_window = \"1h\"\nspray_users = 7\n\
                    allow = [\"172.31.0.0/16\"]\n";
        let s = resolve(
            &["--brute-force-window", "2m", "--allow", "10.1.0.0/16"],
            Some(file),
        )
        .unwrap();
        // Flag over key.
        assert_eq!(s.brute_force_window, Seconds(120));
        assert_eq!(s.origin.brute_force_window, Origin::Flag);
        assert_eq!(s.allow, vec![Net("10.1.0.0/16".parse().unwrap())]);
        assert_eq!(s.origin.allow, Origin::Flag);
        // Key over default.
        assert_eq!(s.rate_window, Seconds(3600));
        assert_eq!(s.origin.rate_window, Origin::ConfigFile);
        assert_eq!(s.spray_users, 7);
        // Neither: the default.
        assert_eq!(s.brute_force_success_delay, Seconds(3600));
        assert_eq!(s.origin.brute_force_success_delay, Origin::Default);
        assert_eq!(s.master_users, ["admin", "postgres"]);
        assert_eq!(s.origin.master_users, Origin::Default);

        let a = s.analysis().unwrap();
        assert_eq!(a.brute_force_window_secs, 120);
        assert_eq!(a.rate_window_secs, 3600);
        assert!(!a.allow_is_default);
        assert!(a.master_users_are_default);
    }

    #[test]
    fn without_flags_or_file_every_setting_is_its_default() {
        let s = resolve(&[], None).unwrap();
        assert_eq!(s.origin, Origins::default());
        let a = s.analysis().unwrap();
        let allow: Vec<String> = a.allow.iter().map(|n| n.to_string()).collect();
        assert_eq!(
            allow,
            ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"]
        );
        assert!(a.allow_is_default && a.master_users_are_default);
        assert_eq!(
            (a.brute_force_threshold, a.brute_force_window_secs),
            (20, 300)
        );
        assert_eq!((a.spray_users, a.rate_floor, a.rate_factor), (5, 200, 4.0));
        assert_eq!(s.timestamp_format, None);
        assert_eq!(s.utc_offset, UtcOffset(0));
        // AnalysisConfig's Default is the same table.
        assert_eq!(format!("{:?}", AnalysisConfig::default()), format!("{a:?}"));
    }

    /// `--max-record-bytes` and `max_record_bytes` take a size (or, in the file, a number of
    /// bytes); values out of range are brought within it; the default is 16 MiB.
    #[test]
    fn the_record_limit_is_a_size_from_flag_or_key() {
        let d = crate::format::DEFAULT_MAX_RECORD_BYTES;
        assert_eq!(resolve(&[], None).unwrap().max_record_bytes, RecordBytes(d));
        assert_eq!(d, 16 << 20);
        let s = resolve(
            &["--max-record-bytes", "4096"],
            Some("max_record_bytes = \"1MiB\"\n"),
        );
        assert_eq!(s.unwrap().max_record_bytes, RecordBytes(4096));
        let s = resolve(&[], Some("max_record_bytes = \"64MiB\"\n")).unwrap();
        assert_eq!(s.max_record_bytes, RecordBytes(64 << 20));
        let s = resolve(&[], Some("max_record_bytes = 100000\n")).unwrap();
        assert_eq!(s.max_record_bytes, RecordBytes(100_000));
        assert_eq!(
            "1".parse(),
            Ok(RecordBytes(crate::format::MAX_RECORD_BYTES_FLOOR))
        );
        assert_eq!(
            "1TiB".parse(),
            Ok(RecordBytes(crate::format::MAX_RECORD_BYTES_CEILING))
        );
        assert!("lots".parse::<RecordBytes>().is_err());
        assert!(resolve(&[], Some("max_record_bytes = \"lots\"\n")).is_err());
    }

    #[test]
    fn an_empty_list_in_the_file_still_overrides_the_default() {
        let s = resolve(&[], Some("allow = []\n")).unwrap();
        assert!(s.allow.is_empty());
        assert!(!s.analysis().unwrap().allow_is_default);
    }

    #[test]
    fn the_config_file_is_read_once_and_only_when_named() {
        let reads = std::cell::Cell::new(0);
        let read = |_: &Path| {
            reads.set(reads.get() + 1);
            Ok("utc_offset = \"+02:00\"\n[[rule]]\nname = \"r\"\npattern = \"CONNECT\"\n".into())
        };
        let s = Settings::resolve_with(
            flags(&["--rate-floor", "9"]),
            Some(Path::new("f.toml")),
            read,
        )
        .unwrap();
        assert_eq!(reads.get(), 1);
        assert_eq!(s.utc_offset, UtcOffset(7_200_000_000));
        assert_eq!(s.rule.len(), 1);
        assert_eq!(s.rate_floor, 9);

        Settings::resolve_with(flags(&[]), None, |_| {
            reads.set(reads.get() + 1);
            Ok(String::new())
        })
        .unwrap();
        assert_eq!(reads.get(), 1, "no config file, no read");
    }

    /// A window flag, its key and `--since` read a span the same way.
    #[test]
    fn windows_and_since_share_one_duration_grammar() {
        use crate::time::TimeArg;
        for (text, secs) in [("90s", 90), ("90m", 5400), ("24h", 86_400), ("7d", 604_800)] {
            assert_eq!(text.parse::<Seconds>(), Ok(Seconds(secs)), "{text}");
            let file = format!("rate_window = \"{text}\"\n");
            assert_eq!(
                resolve(&[], Some(&file)).unwrap().rate_window,
                Seconds(secs)
            );
            assert_eq!(text.parse::<TimeArg>(), Ok(TimeArg::Ago(secs)), "{text}");
        }
        assert_eq!("2w".parse::<Seconds>(), Ok(Seconds(1_209_600)));
        // Bare seconds are a window, but not a time: `--since 2026` would silently mean the
        // last half hour.
        assert_eq!("300".parse::<Seconds>(), Ok(Seconds(300)));
        assert!("2026".parse::<TimeArg>().is_err());
        // A window must be longer than nothing; "0s" back from now is now.
        assert!("0m".parse::<Seconds>().is_err());
        assert_eq!("0s".parse::<TimeArg>(), Ok(TimeArg::Ago(0)));
    }

    #[test]
    fn bad_values_in_the_file_name_the_file_and_the_problem() {
        let message = |file: &str| match resolve(&[], Some(file)) {
            Err(Error::Config { path, message }) => {
                assert_eq!(path, Path::new("forensics.toml"));
                message
            }
            other => panic!("{file}: {other:?}"),
        };
        assert!(message("bogus = 1\n").contains("unknown field `bogus`"));
        assert!(message("rate_window = \"5x\"\n").contains("not a duration: \"5x\""));
        assert!(message("rate_window = 300\n").contains("invalid type"));
        assert!(message("allow = [\"10.0.0.300/8\"]\n")
            .contains("not a CIDR or address: \"10.0.0.300/8\""));
        assert!(message("utc_offset = \"2\"\n").contains("UTC offset \"2\""));
        assert!(message("timestamp_format = \"%Y\"\n").contains("to the second"));
        // An unreadable file is an I/O error naming it.
        let err = Settings::resolve_with(flags(&[]), Some(Path::new("gone.toml")), |_| {
            Err(std::io::ErrorKind::NotFound.into())
        })
        .unwrap_err();
        assert!(err.to_string().starts_with("gone.toml: "), "{err}");
    }

    #[test]
    fn bad_flag_values_are_usage_errors_with_the_same_message() {
        for (args, want) in [
            (["--brute-force-window", "5x"], "not a duration: \"5x\""),
            (["--rate-window", "0m"], "not a duration: \"0m\""),
            (["--allow", "10.0.0.300/8"], "not a CIDR or address"),
            (["--admin-host", "nope"], "not a CIDR or address: \"nope\""),
            (["--utc-offset", "2"], "UTC offset \"2\""),
            (["--timestamp-format", "%Y"], "to the second"),
        ] {
            let err = Flags::try_parse_from(std::iter::once("scan").chain(args))
                .err()
                .unwrap_or_else(|| panic!("{args:?} parsed"));
            assert_eq!(err.exit_code(), 2, "{args:?}");
            assert!(err.to_string().contains(want), "{args:?}: {err}");
        }
    }

    #[test]
    fn the_pg_log_line_prefix_is_a_flag_and_a_key() {
        let file = "pg_log_line_prefix = \"%m [%p] %q%u@%d \"\n";
        let s = resolve(&[], Some(file)).unwrap();
        let p = s.pg_log_line_prefix.unwrap();
        assert_eq!(p.compiled.unwrap().text(), "%m [%p] %q%u@%d ");
        assert_eq!(s.origin.pg_log_line_prefix, Origin::ConfigFile);
        let s = resolve(&["--pg-log-line-prefix", "%t [%p]: "], Some(file)).unwrap();
        assert_eq!(s.pg_log_line_prefix.unwrap().text, "%t [%p]: ");
        // RDS's own prefix is read by the fast parser.
        let s = resolve(&["--pg-log-line-prefix", "%t:%r:%u@%d:[%p]:"], None).unwrap();
        assert_eq!(s.pg_log_line_prefix.unwrap().compiled, None);
        match resolve(&[], Some("pg_log_line_prefix = \"[%p] \"\n")) {
            Err(Error::Config { message, .. }) => assert!(message.contains("no time"), "{message}"),
            other => panic!("{other:?}"),
        }
    }

    /// Issue #22's settings: repeatable paths, a folder and a duration, as flags and keys.
    #[test]
    fn geoip_threat_lists_baseline_and_learn_are_flags_and_keys() {
        let file = "geoip = [\"a.mmdb\", \"b.mmdb\"]\nthreat_lists = [\"tor.txt\"]\n\
                    baseline = \"old-out\"\nlearn = \"7d\"\n";
        let s = resolve(&[], Some(file)).unwrap();
        assert_eq!(s.geoip, [PathBuf::from("a.mmdb"), PathBuf::from("b.mmdb")]);
        assert_eq!(s.threat_lists, [PathBuf::from("tor.txt")]);
        assert_eq!(s.baseline, Some(PathBuf::from("old-out")));
        assert_eq!(s.learn, Some(Seconds(604_800)));
        assert_eq!(s.analysis().unwrap().learn_secs, Some(604_800));
        let s = resolve(
            &[
                "--threat-list",
                "x.netset",
                "--threat-list",
                "y.netset",
                "--learn",
                "2d",
            ],
            Some(file),
        )
        .unwrap();
        assert_eq!(
            s.threat_lists,
            [PathBuf::from("x.netset"), PathBuf::from("y.netset")]
        );
        assert_eq!(s.origin.threat_lists, Origin::Flag);
        assert_eq!(s.learn, Some(Seconds(172_800)));
        assert_eq!(s.geoip.len(), 2);
        let s = resolve(&[], None).unwrap();
        assert!(s.geoip.is_empty() && s.threat_lists.is_empty());
        assert_eq!((s.baseline, s.learn), (None, None));
        assert!(flags_fail(&["--learn", "soon"]));
    }

    fn flags_fail(args: &[&str]) -> bool {
        Flags::try_parse_from(std::iter::once("scan").chain(args.iter().copied())).is_err()
    }

    #[test]
    fn repeated_flags_replace_the_file_list_whole() {
        let s = resolve(
            &["--master-user", "root", "--master-user", "dba"],
            Some("master_users = [\"admin\"]\nadmin_hosts = [\"10.0.0.10\"]\n"),
        )
        .unwrap();
        assert_eq!(s.master_users, ["root", "dba"]);
        assert_eq!(s.admin_hosts, vec![Net("10.0.0.10/32".parse().unwrap())]);
    }
}
