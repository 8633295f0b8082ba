//! Settings: flags, then `CAIRN_*` environment variables, then `cairn.toml`,
//! then defaults. A wrong value stops the command with exit code 2 and names
//! the key and where it came from; an unknown key is warned about.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;
use figment::Figment;
use figment::providers::{Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One JSON object per line, for log collectors.
    Json,
    /// Human-readable.
    Pretty,
}

/// Every setting, after all sources are merged.
#[derive(Clone, Serialize, Deserialize)]
pub struct Settings {
    pub bind: String,
    pub data_dir: PathBuf,
    /// Empty means SQLite in the data directory.
    pub database_url: String,
    pub log_format: LogFormat,
    pub log_level: String,
    pub body_limit: usize,
    pub hook_body_limit: usize,
    pub job_concurrency: usize,
    /// How long a claimed job stays this process's without a heartbeat:
    /// how soon another instance takes over the jobs of one that died.
    pub job_lease_secs: u64,
    /// Requests per second each sync connection's client may send.
    pub sync_requests_per_second: f64,
    pub shutdown_grace_secs: u64,
    pub db_connect_timeout_secs: u64,
    pub refresh_interval_secs: u64,
    pub full_refresh_interval_secs: u64,
    /// Empty means the address a request came in on.
    pub public_url: String,
    /// Internal addresses notifications may reach anyway: comma-separated
    /// IP addresses or CIDRs. Empty: every internal address is refused.
    pub outbound_allow: String,
    /// Bearer token `/metrics` asks for. Empty: `/metrics` is open. A
    /// secret: never logged (see the `Debug` implementation).
    pub metrics_token: String,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let redacted = if self.metrics_token.is_empty() {
            ""
        } else {
            "[redacted]"
        };
        f.debug_struct("Settings")
            .field("bind", &self.bind)
            .field("data_dir", &self.data_dir)
            .field("database_url", &self.database_url)
            .field("log_format", &self.log_format)
            .field("log_level", &self.log_level)
            .field("body_limit", &self.body_limit)
            .field("hook_body_limit", &self.hook_body_limit)
            .field("job_concurrency", &self.job_concurrency)
            .field("shutdown_grace_secs", &self.shutdown_grace_secs)
            .field("db_connect_timeout_secs", &self.db_connect_timeout_secs)
            .field("refresh_interval_secs", &self.refresh_interval_secs)
            .field(
                "full_refresh_interval_secs",
                &self.full_refresh_interval_secs,
            )
            .field("public_url", &self.public_url)
            .field("outbound_allow", &self.outbound_allow)
            .field("metrics_token", &redacted)
            .finish()
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            bind: "127.0.0.1:8080".to_owned(),
            data_dir: PathBuf::from("./cairn-data"),
            database_url: String::new(),
            log_format: LogFormat::Pretty,
            log_level: "info".to_owned(),
            body_limit: 1024 * 1024,
            hook_body_limit: 4 * 1024 * 1024,
            job_concurrency: 16,
            job_lease_secs: 60,
            sync_requests_per_second: 10.0,
            shutdown_grace_secs: 10,
            db_connect_timeout_secs: 10,
            refresh_interval_secs: 3600,
            full_refresh_interval_secs: 86_400,
            public_url: String::new(),
            outbound_allow: String::new(),
            metrics_token: String::new(),
        }
    }
}

/// The keys settings are known by, in `cairn.toml` and as `CAIRN_<KEY>`.
pub const KEYS: &[&str] = &[
    "bind",
    "data_dir",
    "database_url",
    "log_format",
    "log_level",
    "body_limit",
    "hook_body_limit",
    "job_concurrency",
    "job_lease_secs",
    "sync_requests_per_second",
    "shutdown_grace_secs",
    "db_connect_timeout_secs",
    "refresh_interval_secs",
    "full_refresh_interval_secs",
    "public_url",
    "outbound_allow",
    "metrics_token",
];

/// `CAIRN_*` variables that are read elsewhere and are not settings keys.
const OTHER_VARIABLES: &[&str] = &[
    "CONFIG",
    "TEST_POSTGRES_URL",
    "ADMIN_EMAIL",
    "ADMIN_PASSWORD",
    "MASTER_KEY",
];

/// Settings as flags. Each also comes from `CAIRN_<KEY>` or `cairn.toml`.
#[derive(Clone, Default, Args, Serialize)]
pub struct SettingsArgs {
    /// Configuration file [env: CAIRN_CONFIG] [default: ./cairn.toml if it exists]
    #[arg(long, value_name = "FILE")]
    #[serde(skip)]
    pub config: Option<PathBuf>,
    /// Address to listen on [env: CAIRN_BIND] [toml: bind] [default: 127.0.0.1:8080]
    #[arg(long, value_name = "ADDR")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bind: Option<SocketAddr>,
    /// Directory for the SQLite database and key files [env: CAIRN_DATA_DIR] [toml: data_dir] [default: ./cairn-data]
    #[arg(long, value_name = "DIR")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    /// sqlite://PATH or postgres://USER@HOST:PORT/DB [env: CAIRN_DATABASE_URL] [toml: database_url] [default: SQLite in the data directory]
    #[arg(long, value_name = "URL")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
    /// Log line format [env: CAIRN_LOG_FORMAT] [toml: log_format] [default: pretty]
    #[arg(long, value_name = "FORMAT")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_format: Option<LogFormat>,
    /// Log filter, e.g. `info` or `info,cairn::jobs=debug` [env: CAIRN_LOG_LEVEL] [toml: log_level] [default: info]
    #[arg(long, value_name = "FILTER")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_level: Option<String>,
    /// Largest request body in bytes [env: CAIRN_BODY_LIMIT] [toml: body_limit] [default: 1048576]
    #[arg(long, value_name = "BYTES")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body_limit: Option<usize>,
    /// Largest webhook body in bytes, on /hooks/* [env: CAIRN_HOOK_BODY_LIMIT] [toml: hook_body_limit] [default: 4194304]
    #[arg(long, value_name = "BYTES")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hook_body_limit: Option<usize>,
    /// Background jobs run at once by this process [env: CAIRN_JOB_CONCURRENCY] [toml: job_concurrency] [default: 16]
    #[arg(long, value_name = "N")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_concurrency: Option<usize>,
    /// Seconds a claimed job stays this process's without a heartbeat; a dead instance's jobs are taken over after it [env: CAIRN_JOB_LEASE_SECS] [toml: job_lease_secs] [default: 60]
    #[arg(long, value_name = "SECS")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_lease_secs: Option<u64>,
    /// Requests per second two-way sync may send to each GitLab or Jira connection (bursts of up to ten times that are allowed) [env: CAIRN_SYNC_REQUESTS_PER_SECOND] [toml: sync_requests_per_second] [default: 10]
    #[arg(long, value_name = "N")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sync_requests_per_second: Option<f64>,
    /// Seconds in-flight work may take after SIGTERM [env: CAIRN_SHUTDOWN_GRACE_SECS] [toml: shutdown_grace_secs] [default: 10]
    #[arg(long, value_name = "SECS")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shutdown_grace_secs: Option<u64>,
    /// Seconds to keep retrying an unreachable database [env: CAIRN_DB_CONNECT_TIMEOUT_SECS] [toml: db_connect_timeout_secs] [default: 10]
    #[arg(long, value_name = "SECS")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub db_connect_timeout_secs: Option<u64>,
    /// Seconds between refreshes of a data link that sets none, at least 60 [env: CAIRN_REFRESH_INTERVAL_SECS] [toml: refresh_interval_secs] [default: 3600]
    #[arg(long, value_name = "SECS")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_interval_secs: Option<u64>,
    /// Seconds between full reads of a data link (to notice deleted or moved items) [env: CAIRN_FULL_REFRESH_INTERVAL_SECS] [toml: full_refresh_interval_secs] [default: 86400]
    #[arg(long, value_name = "SECS")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub full_refresh_interval_secs: Option<u64>,
    /// How GitLab and Jira reach Cairn, for registering webhooks [env: CAIRN_PUBLIC_URL] [toml: public_url] [default: the address a request came in on]
    #[arg(long, value_name = "URL")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_url: Option<String>,
    /// Internal networks notifications may reach (loopback, link-local and private ranges are refused otherwise): comma-separated IPs or CIDRs, e.g. `127.0.0.0/8,10.1.2.3` [env: CAIRN_OUTBOUND_ALLOW] [toml: outbound_allow] [default: none]
    #[arg(long, value_name = "CIDRS")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outbound_allow: Option<String>,
    /// Bearer token that `/metrics` requires (for Prometheus' `authorization` setting); prefer the environment or the file to a flag, which other users can see [env: CAIRN_METRICS_TOKEN] [toml: metrics_token] [default: none, /metrics is open]
    #[arg(long, value_name = "TOKEN")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metrics_token: Option<String>,
}

/// Only the file is shown: the flags may hold the metrics token.
impl std::fmt::Debug for SettingsArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SettingsArgs")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// A setting that cannot be used; the process exits with code 2.
#[derive(Debug, thiserror::Error)]
#[error("configuration error: {0}")]
pub struct ConfigError(pub String);

/// Settings merged from every source, and the warnings found on the way.
pub struct Loaded {
    pub settings: Settings,
    pub warnings: Vec<String>,
}

impl SettingsArgs {
    /// Merges flags, environment, file and defaults, and checks the result.
    pub fn load(&self) -> Result<Loaded, ConfigError> {
        self.load_from(std::env::vars())
    }

    /// As [`SettingsArgs::load`], with the environment given (for tests).
    pub fn load_from(
        &self,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Loaded, ConfigError> {
        let env: Vec<(String, String)> = env.into_iter().collect();
        let mut warnings = Vec::new();
        let config_path = self.config.clone().or_else(|| {
            env.iter()
                .find(|(k, _)| k == "CAIRN_CONFIG")
                .map(|(_, v)| PathBuf::from(v))
        });
        let explicit = config_path.is_some();
        let config_path = config_path.unwrap_or_else(|| PathBuf::from("cairn.toml"));

        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        if config_path.exists() {
            let text = std::fs::read_to_string(&config_path)
                .map_err(|e| ConfigError(format!("cannot read {}: {e}", config_path.display())))?;
            let table: toml::Table = toml::from_str(&text).map_err(|e| {
                ConfigError(format!("{} is not valid TOML: {e}", config_path.display()))
            })?;
            for key in table.keys().filter(|k| !KEYS.contains(&k.as_str())) {
                warnings.push(format!(
                    "unknown key `{key}` in {} ignored (known keys: {})",
                    config_path.display(),
                    KEYS.join(", ")
                ));
            }
            figment = figment.merge(Toml::file_exact(&config_path));
        } else if explicit {
            return Err(ConfigError(format!(
                "config: file {} does not exist",
                config_path.display()
            )));
        }
        for (name, _) in &env {
            if let Some(key) = name.strip_prefix("CAIRN_") {
                let lower = key.to_ascii_lowercase();
                if !KEYS.contains(&lower.as_str()) && !OTHER_VARIABLES.contains(&key) {
                    warnings.push(format!("unknown environment variable {name} ignored"));
                }
            }
        }
        figment = figment.merge(EnvVars(env));
        figment = figment.merge(Flags(self));

        let settings: Settings = figment.extract().map_err(describe)?;
        validate(&settings).map_err(|Invalid { key, problem }| {
            let source = figment
                .find_metadata(key)
                .map(|m| source_of(m, &[key.to_owned()]))
                .unwrap_or_default();
            ConfigError(format!("invalid value for `{key}`{source}: {problem}"))
        })?;
        Ok(Loaded { settings, warnings })
    }
}

/// `CAIRN_<KEY>` variables as a figment source; built from a given list so
/// tests do not depend on the process environment.
struct EnvVars(Vec<(String, String)>);

impl figment::Provider for EnvVars {
    fn metadata(&self) -> figment::Metadata {
        figment::Metadata::named("environment variable")
            .interpolater(|_, path| format!("CAIRN_{}", path.join("_").to_ascii_uppercase()))
    }

    fn data(
        &self,
    ) -> Result<figment::value::Map<figment::Profile, figment::value::Dict>, figment::Error> {
        let mut dict = figment::value::Dict::new();
        for (name, value) in &self.0 {
            let Some(key) = name.strip_prefix("CAIRN_") else {
                continue;
            };
            let key = key.to_ascii_lowercase();
            if KEYS.contains(&key.as_str()) {
                // Parsed like figment's own Env provider: "8080" is a number.
                let parsed: figment::value::Value = value
                    .parse()
                    .unwrap_or_else(|_| figment::value::Value::from(value.clone()));
                dict.insert(key, parsed);
            }
        }
        Ok(figment::Profile::Default.collect(dict))
    }
}

/// Flags as a figment source named after the flag (`--bind`), so errors
/// say where a value came from.
struct Flags<'a>(&'a SettingsArgs);

impl figment::Provider for Flags<'_> {
    fn metadata(&self) -> figment::Metadata {
        figment::Metadata::named("command-line flag")
            .interpolater(|_, path| format!("--{}", path.join("-").replace('_', "-")))
    }

    fn data(
        &self,
    ) -> Result<figment::value::Map<figment::Profile, figment::value::Dict>, figment::Error> {
        Serialized::globals(self.0).data()
    }
}

/// ` (from X)`: the variable, flag, file or default a value came from.
fn source_of(metadata: &figment::Metadata, path: &[String]) -> String {
    let name = metadata.interpolate(&figment::Profile::Default, path);
    if name.starts_with("CAIRN_") || name.starts_with("--") {
        return format!(" (from {name})");
    }
    match &metadata.source {
        Some(source) => format!(" (from {source})"),
        None => format!(" (from {})", metadata.name),
    }
}

/// One line per problem, each naming the key and where its value came from.
fn describe(error: figment::Error) -> ConfigError {
    let lines: Vec<String> = error
        .into_iter()
        .map(|e| {
            let key = e.path.join(".");
            let source = e
                .metadata
                .as_ref()
                .map(|m| source_of(m, &e.path))
                .unwrap_or_default();
            if key.is_empty() {
                format!("{}{source}", e.kind)
            } else {
                format!("invalid value for `{key}`{source}: {}", e.kind)
            }
        })
        .collect();
    ConfigError(lines.join("; "))
}

/// A setting whose value cannot be used: the key and what is wrong (the
/// caller adds where the value came from).
struct Invalid {
    key: &'static str,
    problem: String,
}

fn invalid(key: &'static str, problem: String) -> Result<(), Invalid> {
    Err(Invalid { key, problem })
}

fn validate(settings: &Settings) -> Result<(), Invalid> {
    if let Err(e) = settings.bind.parse::<SocketAddr>() {
        return invalid(
            "bind",
            format!(
                "`{}` is not an address like 127.0.0.1:8080 ({e})",
                settings.bind
            ),
        );
    }
    if !settings.database_url.is_empty()
        && let Err(e) = cairn_store::backend_of(&settings.database_url)
    {
        return invalid("database_url", e.to_string());
    }
    if let Err(e) = tracing_subscriber::EnvFilter::try_new(&settings.log_level) {
        return invalid(
            "log_level",
            format!("`{}` is not a log filter ({e})", settings.log_level),
        );
    }
    if settings.body_limit < 1024 {
        return invalid(
            "body_limit",
            format!("{} bytes is below the minimum of 1024", settings.body_limit),
        );
    }
    if settings.hook_body_limit < 1024 {
        return invalid(
            "hook_body_limit",
            format!(
                "{} bytes is below the minimum of 1024",
                settings.hook_body_limit
            ),
        );
    }
    if settings.refresh_interval_secs < 60 {
        return invalid(
            "refresh_interval_secs",
            format!(
                "{} is below the minimum of 60",
                settings.refresh_interval_secs
            ),
        );
    }
    if settings.full_refresh_interval_secs < settings.refresh_interval_secs {
        return invalid(
            "full_refresh_interval_secs",
            format!(
                "{} is below refresh_interval_secs ({})",
                settings.full_refresh_interval_secs, settings.refresh_interval_secs
            ),
        );
    }
    if !settings.public_url.is_empty() {
        match reqwest::Url::parse(&settings.public_url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {}
            _ => {
                return invalid(
                    "public_url",
                    format!(
                        "`{}` is not an http(s) URL such as https://cairn.example.com",
                        settings.public_url
                    ),
                );
            }
        }
    }
    if let Err(error) = settings.outbound_policy() {
        return invalid("outbound_allow", error.to_string());
    }
    if settings.job_concurrency == 0 || settings.job_concurrency > 1024 {
        return invalid(
            "job_concurrency",
            format!("{} is outside 1..=1024", settings.job_concurrency),
        );
    }
    if settings
        .metrics_token
        .chars()
        .any(|c| c.is_control() || c == ' ')
    {
        // Not echoed: the value is a secret.
        return invalid(
            "metrics_token",
            "must not contain spaces or control characters".to_owned(),
        );
    }
    if !(settings.sync_requests_per_second.is_finite()
        && (0.1..=10_000.0).contains(&settings.sync_requests_per_second))
    {
        return invalid(
            "sync_requests_per_second",
            format!(
                "{} is outside 0.1..=10000",
                settings.sync_requests_per_second
            ),
        );
    }
    if !(2..=3600).contains(&settings.job_lease_secs) {
        return invalid(
            "job_lease_secs",
            format!("{} is outside 2..=3600", settings.job_lease_secs),
        );
    }
    Ok(())
}

impl Settings {
    /// The SSRF guard's allowlist from `outbound_allow`.
    pub fn outbound_policy(
        &self,
    ) -> Result<cairn_connect::outbound::DestinationPolicy, cairn_connect::outbound::OutboundError>
    {
        cairn_connect::outbound::DestinationPolicy::parse(self.outbound_allow.split(','))
    }

    pub fn bind_addr(&self) -> SocketAddr {
        self.bind
            .parse()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 8080)))
    }

    /// The database URL in force: SQLite in the data directory by default.
    pub fn database_url(&self) -> String {
        if self.database_url.is_empty() {
            format!("sqlite://{}", self.data_dir.join("cairn.db").display())
        } else {
            self.database_url.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn args_with_file(text: &str) -> (tempfile::TempDir, SettingsArgs) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("cairn.toml");
        std::fs::write(&path, text).expect("write config");
        let args = SettingsArgs {
            config: Some(path),
            ..SettingsArgs::default()
        };
        (dir, args)
    }

    #[test]
    fn defaults_need_no_configuration() {
        let args = SettingsArgs {
            config: None,
            ..SettingsArgs::default()
        };
        let loaded = args.load_from(vars(&[])).expect("defaults load");
        let s = loaded.settings;
        assert_eq!(s.bind, "127.0.0.1:8080");
        assert_eq!(s.data_dir, PathBuf::from("./cairn-data"));
        assert_eq!(s.database_url(), "sqlite://./cairn-data/cairn.db");
        assert_eq!(s.log_format, LogFormat::Pretty);
    }

    #[test]
    fn flags_beat_environment_beats_file() {
        let (_dir, mut args) =
            args_with_file("bind = \"127.0.0.1:7000\"\nlog_level = \"debug\"\nbody_limit = 4096\n");
        let env = vars(&[
            ("CAIRN_BIND", "127.0.0.1:7001"),
            ("CAIRN_BODY_LIMIT", "8192"),
        ]);
        let s = args.load_from(env.clone()).expect("load").settings;
        assert_eq!(s.bind, "127.0.0.1:7001", "environment beats the file");
        assert_eq!(s.body_limit, 8192);
        assert_eq!(s.log_level, "debug", "the file beats defaults");
        args.bind = Some("127.0.0.1:7002".parse().expect("addr"));
        let s = args.load_from(env).expect("load").settings;
        assert_eq!(s.bind, "127.0.0.1:7002", "flags beat the environment");
        assert_eq!(s.body_limit, 8192);
    }

    #[test]
    fn wrong_types_name_the_key_and_the_source() {
        let (_dir, args) = args_with_file("");
        let err = args
            .load_from(vars(&[("CAIRN_BODY_LIMIT", "lots")]))
            .err()
            .expect("a word is not a size");
        assert!(err.0.contains("`body_limit`"), "{}", err.0);
        assert!(err.0.contains("CAIRN_BODY_LIMIT"), "{}", err.0);

        let (_dir, args) = args_with_file("job_concurrency = \"many\"\n");
        let err = args
            .load_from(vars(&[]))
            .err()
            .expect("a word is not a count");
        assert!(err.0.contains("`job_concurrency`"), "{}", err.0);
        assert!(err.0.contains("cairn.toml"), "{}", err.0);

        let (_dir, args) = args_with_file("log_format = \"xml\"\n");
        let err = args.load_from(vars(&[])).err().expect("xml is no format");
        assert!(
            err.0.contains("`log_format`") && err.0.contains("json"),
            "{}",
            err.0
        );
    }

    #[test]
    fn bad_values_are_refused_with_the_key() {
        let (_dir, args) = args_with_file("");
        for (var, value, key) in [
            ("CAIRN_BIND", "localhost", "`bind`"),
            ("CAIRN_BIND", "nope", "`bind`"),
            ("CAIRN_DATABASE_URL", "mysql://x/y", "`database_url`"),
            ("CAIRN_JOB_CONCURRENCY", "0", "`job_concurrency`"),
            ("CAIRN_JOB_LEASE_SECS", "1", "`job_lease_secs`"),
            (
                "CAIRN_SYNC_REQUESTS_PER_SECOND",
                "0",
                "`sync_requests_per_second`",
            ),
            ("CAIRN_LOG_LEVEL", "info,[", "`log_level`"),
            ("CAIRN_BODY_LIMIT", "10", "`body_limit`"),
            ("CAIRN_HOOK_BODY_LIMIT", "10", "`hook_body_limit`"),
            (
                "CAIRN_REFRESH_INTERVAL_SECS",
                "5",
                "`refresh_interval_secs`",
            ),
            (
                "CAIRN_FULL_REFRESH_INTERVAL_SECS",
                "61",
                "`full_refresh_interval_secs`",
            ),
            ("CAIRN_PUBLIC_URL", "ftp://x", "`public_url`"),
            (
                "CAIRN_OUTBOUND_ALLOW",
                "127.0.0.0/8,intranet",
                "`outbound_allow`",
            ),
            ("CAIRN_METRICS_TOKEN", "a b", "`metrics_token`"),
        ] {
            let err = args.load_from(vars(&[(var, value)])).err().expect(var);
            assert!(err.0.contains(key), "{var}: {}", err.0);
            assert!(
                err.0.contains(&format!("(from {var})")),
                "{var}: the message names where the value came from: {}",
                err.0
            );
        }
    }

    #[test]
    fn checked_values_name_the_file_or_the_flag_they_came_from() {
        let (dir, mut args) = args_with_file("job_concurrency = 0\n");
        let err = args.load_from(vars(&[])).err().expect("zero jobs");
        let file = dir.path().join("cairn.toml");
        assert!(
            err.0.contains(&format!("(from {})", file.display())),
            "{}",
            err.0
        );
        args.job_concurrency = Some(2000);
        let err = args.load_from(vars(&[])).err().expect("too many jobs");
        assert!(err.0.contains("(from --job-concurrency)"), "{}", err.0);
    }

    #[test]
    fn the_metrics_token_is_never_shown() {
        let (_dir, args) = args_with_file("");
        let s = args
            .load_from(vars(&[("CAIRN_METRICS_TOKEN", "s3cret-token")]))
            .expect("load")
            .settings;
        assert_eq!(s.metrics_token, "s3cret-token");
        assert!(!format!("{s:?}").contains("s3cret"), "{s:?}");
        let err = args
            .load_from(vars(&[("CAIRN_METRICS_TOKEN", "s3cret token")]))
            .err()
            .expect("a space");
        assert!(!err.0.contains("s3cret"), "{}", err.0);
    }

    #[test]
    fn outbound_allow_is_a_list_of_addresses_and_networks() {
        let (_dir, args) = args_with_file("outbound_allow = \"10.1.2.3, 192.168.0.0/16\"\n");
        let s = args.load_from(vars(&[])).expect("load").settings;
        let policy = s.outbound_policy().expect("policy");
        assert!(policy.allows("10.1.2.3".parse().expect("ip")));
        assert!(policy.allows("192.168.7.7".parse().expect("ip")));
        assert!(!policy.allows("10.1.2.4".parse().expect("ip")));
        let s = args
            .load_from(vars(&[("CAIRN_OUTBOUND_ALLOW", "127.0.0.0/8")]))
            .expect("load")
            .settings;
        assert!(
            s.outbound_policy()
                .expect("policy")
                .allows("127.0.0.1".parse().expect("ip"))
        );
        let none = Settings::default().outbound_policy().expect("policy");
        assert!(none.allow.is_empty(), "nothing internal by default");
    }

    #[test]
    fn unknown_keys_warn() {
        let (_dir, args) = args_with_file("bnid = \"127.0.0.1:1\"\n");
        let loaded = args
            .load_from(vars(&[("CAIRN_PROT", "1"), ("CAIRN_MASTER_KEY", "x")]))
            .expect("unknown keys are not fatal");
        assert_eq!(loaded.warnings.len(), 2, "{:?}", loaded.warnings);
        assert!(loaded.warnings[0].contains("`bnid`"));
        assert!(loaded.warnings[1].contains("CAIRN_PROT"));
    }

    #[test]
    fn a_named_config_file_must_exist() {
        let args = SettingsArgs {
            config: Some(PathBuf::from("/nonexistent/cairn.toml")),
            ..SettingsArgs::default()
        };
        let err = args.load_from(vars(&[])).err().expect("missing file");
        assert!(err.0.contains("/nonexistent/cairn.toml"));
    }
}
