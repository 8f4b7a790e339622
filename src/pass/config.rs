//! What a run expects (networks, master users, admin hosts) and the thresholds of the passes,
//! as the passes read them. The values, their flags, config keys and defaults are resolved in
//! the settings module, which builds [`AnalysisConfig`] (and its `Default`).

use std::net::IpAddr;

use ipnet::IpNet;

use crate::finding::Severity;

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
    /// Failed logins for one user within `distributed_brute_force_window_secs`, from at least
    /// `distributed_brute_force_sources` sources, that make a distributed brute force.
    pub distributed_brute_force_threshold: u32,
    pub distributed_brute_force_sources: u32,
    pub distributed_brute_force_window_secs: i64,
    /// Failed logins from one source outside its fast bursts, within
    /// `slow_brute_force_horizon_secs`, that make a low-and-slow brute force.
    pub slow_brute_force_threshold: u32,
    pub slow_brute_force_horizon_secs: i64,
    pub rate_window_secs: i64,
    /// A window needs at least this many events to be a spike (quiet users do not alarm).
    pub rate_floor: u64,
    /// A window must exceed the user's 95th-percentile window by this factor.
    pub rate_factor: f64,
    pub rules: Vec<RuleConfig>,
    /// `rules`, compiled by [`AnalysisConfig::compile_rules`].
    pub compiled_rules: std::sync::Arc<Vec<CompiledRule>>,
    pub users: std::collections::BTreeMap<String, UserConfig>,
    /// `--aws-account`: the accounts of the estate (snapshot sharing with them is routine).
    pub aws_accounts: Vec<String>,
    /// `--correlation-window`: how long after a control-plane change its effect is looked for
    /// in the database logs.
    pub correlation_window_secs: i64,
    /// `[instances]`: identifier → server hosts or path parts of its logs.
    pub instances: std::collections::BTreeMap<String, Vec<String>>,
    /// The run reads CloudTrail (set by the pipeline once the files are planned): logins are
    /// then kept per file and server for the joins of the two planes.
    pub control_plane: bool,
    /// `--threat-list`: the lists, loaded (empty without the flag).
    pub threat_lists: std::sync::Arc<crate::intel::ThreatLists>,
    /// `--geoip`: the databases, opened (`None` without the flag).
    pub geoip: Option<std::sync::Arc<crate::intel::GeoIp>>,
    /// `--baseline`: the earlier scan's login profile.
    pub baseline: Option<std::sync::Arc<super::profile::Profile>>,
    /// `--learn`: the first this many seconds of the input are the baseline.
    pub learn_secs: Option<i64>,
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

impl AnalysisConfig {
    /// Compiles the custom rules; an invalid pattern names the rule and the column.
    pub(crate) fn compile_rules(&mut self) -> std::result::Result<(), String> {
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

    pub(crate) fn is_admin_host(&self, ip: Option<IpAddr>) -> bool {
        ip.is_some_and(|ip| self.admin_hosts.iter().any(|n| n.contains(&ip)))
    }

    pub(crate) fn is_master(&self, user: &[u8]) -> bool {
        self.master_users
            .iter()
            .any(|m| crate::bytes::bytes_eq(m.as_bytes(), user))
    }
}
