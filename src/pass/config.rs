//! What a run expects (networks, master users, admin hosts) and the thresholds of the passes:
//! read from the TOML config file, then overridden by command-line flags.

use std::net::IpAddr;
use std::path::Path;

use ipnet::IpNet;

use crate::error::{Error, Result};
use crate::finding::Severity;

/// The private ranges expected when no `--allow` is given (RFC 1918 and RFC 4193).
pub const DEFAULT_ALLOW: [&str; 4] = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"];
/// The RDS default master user names, assumed when none is given.
pub const DEFAULT_MASTER_USERS: [&str; 2] = ["admin", "postgres"];

/// A custom rule: a CloudWatch filter pattern evaluated on each event's original message.
#[derive(Clone, Debug, serde::Deserialize, serde::Serialize)]
pub struct RuleConfig {
    pub name: String,
    pub pattern: String,
    #[serde(default = "default_rule_severity")]
    pub severity: Severity,
}

fn default_rule_severity() -> Severity {
    Severity::Medium
}

/// A rule ready to run: its pattern compiled once per run, with a literal prefilter.
#[derive(Clone, Debug)]
pub struct CompiledRule {
    pub name: String,
    pub severity: Severity,
    pub pattern: crate::filter::FilterPattern,
    pub prefilter: Option<memchr::memmem::Finder<'static>>,
}

/// Per-user settings: `[users.NAME] databases = [...]`.
#[derive(Clone, Debug, Default, serde::Deserialize, serde::Serialize)]
pub struct UserConfig {
    #[serde(default)]
    pub databases: Vec<String>,
}

/// The config file (CONTRACT.md): the same settings as the flags, plus rules.
#[derive(Clone, Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    pub allow: Option<Vec<String>>,
    pub master_users: Option<Vec<String>>,
    pub admin_hosts: Option<Vec<String>>,
    pub brute_force_threshold: Option<u32>,
    pub brute_force_window: Option<String>,
    pub brute_force_success_delay: Option<String>,
    pub spray_users: Option<u32>,
    pub rate_window: Option<String>,
    pub rate_floor: Option<u64>,
    pub rate_factor: Option<f64>,
    /// strftime layout of MariaDB ≥ 12 plugin timestamps (`--timestamp-format`).
    pub timestamp_format: Option<String>,
    /// UTC offset of zone-less plugin timestamps (`--utc-offset`).
    pub utc_offset: Option<String>,
    #[serde(default)]
    pub rule: Vec<RuleConfig>,
    #[serde(default)]
    pub users: std::collections::BTreeMap<String, UserConfig>,
}

impl ConfigFile {
    pub fn load(path: &Path) -> Result<ConfigFile> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        toml::from_str(&text).map_err(|e| Error::Config {
            path: path.to_path_buf(),
            message: e.to_string(),
        })
    }
}

/// Everything the passes need, resolved.
#[derive(Clone, Debug)]
pub struct AnalysisConfig {
    pub allow: Vec<IpNet>,
    pub allow_is_default: bool,
    pub master_users: Vec<String>,
    pub master_users_are_default: bool,
    pub admin_hosts: Vec<IpNet>,
    /// Failed logins from one source within `brute_force_window_secs` that make a burst.
    pub brute_force_threshold: u32,
    pub brute_force_window_secs: i64,
    pub brute_force_success_delay_secs: i64,
    /// Distinct users failed from one source within the window that make a spray.
    pub spray_users: u32,
    pub rate_window_secs: i64,
    /// A window needs at least this many events to be a spike (quiet users do not alarm).
    pub rate_floor: u64,
    /// A window must exceed the user's 95th-percentile window by this factor.
    pub rate_factor: f64,
    pub rules: Vec<RuleConfig>,
    /// `rules`, compiled by [`AnalysisConfig::compile_rules`].
    pub compiled_rules: std::sync::Arc<Vec<CompiledRule>>,
    pub users: std::collections::BTreeMap<String, UserConfig>,
}

impl Default for AnalysisConfig {
    fn default() -> Self {
        AnalysisConfig {
            allow: DEFAULT_ALLOW
                .iter()
                .map(|s| s.parse().expect("valid default CIDR"))
                .collect(),
            allow_is_default: true,
            master_users: DEFAULT_MASTER_USERS.iter().map(|s| s.to_string()).collect(),
            master_users_are_default: true,
            admin_hosts: Vec::new(),
            brute_force_threshold: 20,
            brute_force_window_secs: 300,
            brute_force_success_delay_secs: 3600,
            spray_users: 5,
            rate_window_secs: 300,
            rate_floor: 200,
            rate_factor: 4.0,
            rules: Vec::new(),
            compiled_rules: Default::default(),
            users: Default::default(),
        }
    }
}

/// Parses a CIDR, or a bare address as a single-host network.
pub fn parse_net(s: &str) -> std::result::Result<IpNet, String> {
    let s = s.trim();
    if let Ok(n) = s.parse::<IpNet>() {
        return Ok(n.trunc());
    }
    s.parse::<IpAddr>()
        .map(IpNet::from)
        .map_err(|_| format!("not a CIDR or address: {s:?}"))
}

/// The longest duration setting (100 years), so that it fits event times in microseconds.
const MAX_DURATION_SECS: i64 = 100 * 366 * 86_400;

/// `30s`, `5m`, `1h`, `2d`, or plain seconds.
pub fn parse_duration_secs(s: &str) -> std::result::Result<i64, String> {
    let s = s.trim();
    let (num, mult) = match s.chars().last() {
        Some('s') => (&s[..s.len() - 1], 1),
        Some('m') => (&s[..s.len() - 1], 60),
        Some('h') => (&s[..s.len() - 1], 3600),
        Some('d') => (&s[..s.len() - 1], 86_400),
        _ => (s, 1),
    };
    num.parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .and_then(|n| n.checked_mul(mult))
        // Windows and delays are added to event times in microseconds: a century is plenty.
        .filter(|secs| *secs <= MAX_DURATION_SECS)
        .ok_or_else(|| format!("not a duration: {s:?} (use 30s, 5m, 1h, 2d)"))
}

impl AnalysisConfig {
    /// Applies a config file over the defaults.
    pub fn apply_file(&mut self, f: &ConfigFile) -> std::result::Result<(), String> {
        if let Some(a) = &f.allow {
            self.allow = a.iter().map(|s| parse_net(s)).collect::<Result<_, _>>()?;
            self.allow_is_default = false;
        }
        if let Some(m) = &f.master_users {
            self.master_users = m.clone();
            self.master_users_are_default = false;
        }
        if let Some(h) = &f.admin_hosts {
            self.admin_hosts = h.iter().map(|s| parse_net(s)).collect::<Result<_, _>>()?;
        }
        if let Some(v) = f.brute_force_threshold {
            self.brute_force_threshold = v.max(1);
        }
        if let Some(v) = &f.brute_force_window {
            self.brute_force_window_secs = parse_duration_secs(v)?;
        }
        if let Some(v) = &f.brute_force_success_delay {
            self.brute_force_success_delay_secs = parse_duration_secs(v)?;
        }
        if let Some(v) = f.spray_users {
            self.spray_users = v.max(2);
        }
        if let Some(v) = &f.rate_window {
            self.rate_window_secs = parse_duration_secs(v)?;
        }
        if let Some(v) = f.rate_floor {
            self.rate_floor = v;
        }
        if let Some(v) = f.rate_factor {
            self.rate_factor = v;
        }
        self.rules.extend(f.rule.iter().cloned());
        self.users
            .extend(f.users.iter().map(|(k, v)| (k.clone(), v.clone())));
        Ok(())
    }

    /// Compiles the custom rules; an invalid pattern names the rule and the column.
    pub fn compile_rules(&mut self) -> std::result::Result<(), String> {
        let mut out = Vec::new();
        let mut names = std::collections::BTreeSet::new();
        for r in &self.rules {
            if !names.insert(r.name.clone()) {
                return Err(format!("rule {:?} is defined twice", r.name));
            }
            let pattern = crate::filter::FilterPattern::parse(&r.pattern)
                .map_err(|e| format!("rule {:?}: {e}", r.name))?;
            let prefilter = pattern
                .required_literal()
                .map(|l| memchr::memmem::Finder::new(l).into_owned());
            out.push(CompiledRule {
                name: r.name.clone(),
                severity: r.severity,
                pattern,
                prefilter,
            });
        }
        self.compiled_rules = std::sync::Arc::new(out);
        Ok(())
    }

    /// Is `ip` inside the expected networks (loopback always is)?
    pub fn is_expected(&self, ip: IpAddr) -> bool {
        ip.is_loopback() || self.allow.iter().any(|n| n.contains(&ip))
    }

    pub fn is_admin_host(&self, ip: Option<IpAddr>) -> bool {
        ip.is_some_and(|ip| self.admin_hosts.iter().any(|n| n.contains(&ip)))
    }

    pub fn is_master(&self, user: &[u8]) -> bool {
        self.master_users.iter().any(|m| m.as_bytes() == user)
    }
}
