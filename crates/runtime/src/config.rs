//! Configuration: defaults, then a TOML file, then `TOUCHLESS_*` env, then flags.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};

/// The documented example, printed by `touchless config example`. A test checks
/// that it parses to exactly [`Config::default`], so it cannot drift.
pub const EXAMPLE: &str = include_str!("../config.example.toml");

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub data_dir: PathBuf,
    pub database_url: String,
    pub public_url: String,
    pub template_dir: String,
    pub provisioning: ProvisioningConfig,
    pub admin: AdminConfig,
    pub auth: AuthConfig,
    pub redirect: RedirectConfig,
    pub daemon: DaemonConfig,
    pub limits: LimitsConfig,
    pub log: LogConfig,
    pub metrics: MetricsConfig,
}

/// `GET /metrics` on the admin listener, in Prometheus' text format.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsConfig {
    /// Off: nothing is counted and `/metrics` is 404.
    pub enabled: bool,
    /// A bearer token that opens `/metrics` and nothing else, so a scraper
    /// need not hold the admin token (which opens `/metrics` too). Empty:
    /// only the admin token.
    pub token: String,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        MetricsConfig {
            enabled: true,
            token: String::new(),
        }
    }
}

/// How touchless logs (to stderr; the access log is `provisioning.access_log`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// `text` (colours only on a terminal) or `json` (one object a line, for
    /// a log shipper).
    pub format: LogFormat,
    /// A `tracing` filter such as `info` or `info,sqlx=warn`; empty: `info`
    /// for `serve`, `warn` for the CLI. `TOUCHLESS_LOG` or `RUST_LOG`, when
    /// set, win.
    pub level: String,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            format: LogFormat::Text,
            level: String::new(),
        }
    }
}

/// Per listener (provisioning, admin, redirection service each count on their
/// own); 0 turns a limit off.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitsConfig {
    pub connections_per_ip: usize,
    pub max_connections: usize,
    pub requests_per_sec_per_ip: u32,
    pub requests_burst_per_ip: u32,
    pub requests_per_sec: u32,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            connections_per_ip: 1024,
            max_connections: 10_000,
            requests_per_sec_per_ip: 20_000,
            requests_burst_per_ip: 40_000,
            requests_per_sec: 0,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProvisioningConfig {
    pub listen: SocketAddr,
    pub access_log: String,
    /// `combined` (nginx's) or `json` (one object a line).
    pub access_log_format: crate::accesslog::AccessLogFormat,
    pub reload_interval_ms: u64,
    pub contact_flush_ms: u64,
    pub contact_retention_days: u64,
    pub contact_max_rows: u64,
    /// ztprov credentials are accepted for this long after they are issued.
    pub ztprov_window_secs: u64,
    /// … and after their first successful use only for this long.
    pub ztprov_grace_secs: u64,
    /// Bound of the render cache, in MiB.
    pub render_cache_mb: u64,
    /// Where the images `/firmware/<file>` serves live; empty:
    /// `<data_dir>/firmware`.
    pub firmware_dir: String,
    /// `/readyz` on this listener fails once the view has not been checked
    /// against the database for this long.
    pub ready_max_stale_secs: u64,
    pub tls_cert: String,
    pub tls_key: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdminConfig {
    pub listen: SocketAddr,
    pub token: String,
    pub url: String,
    pub tls_cert: String,
    pub tls_key: String,
    /// A console session unused this long is over.
    pub console_idle_minutes: u64,
    /// A console session is over this long after sign-in, used or not.
    pub console_session_hours: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RedirectConfig {
    pub enabled: bool,
    pub listen: SocketAddr,
    pub tls_cert: String,
    pub tls_key: String,
    pub client_ca: String,
    pub trust_forwarded: bool,
    pub rate_limit_per_minute: u32,
    pub max_body_bytes: usize,
    pub timestamp_skew_secs: u64,
    pub nonce_cache_size: usize,
    /// Phone-facing requests per second per source address (0: no limit).
    pub phone_requests_per_sec: u32,
    pub phone_requests_burst: u32,
    /// Misses (404s: unknown MAC, disabled, wrong User-Agent) per minute per
    /// source address; past the budget the source gets 429 for a while.
    pub phone_misses_per_min: u32,
    pub phone_misses_burst: u32,
    pub contact_retention_days: u64,
    pub contact_max_rows: u64,
}

impl Default for RedirectConfig {
    fn default() -> Self {
        RedirectConfig {
            enabled: true,
            listen: ([0, 0, 0, 0], 8081).into(),
            tls_cert: String::new(),
            tls_key: String::new(),
            client_ca: String::new(),
            trust_forwarded: false,
            rate_limit_per_minute: 60_000,
            max_body_bytes: 64 * 1024,
            timestamp_skew_secs: 60,
            nonce_cache_size: 100_000,
            phone_requests_per_sec: 5_000,
            phone_requests_burst: 10_000,
            phone_misses_per_min: 60,
            phone_misses_burst: 100,
            contact_retention_days: 30,
            contact_max_rows: 1_000_000,
        }
    }
}

/// The registration daemon. `queuenum` and `queuecap` keep the names of the
/// seed's `rps.ini`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DaemonConfig {
    pub enabled: bool,
    pub bootstrap_local_provider: bool,
    pub queuenum: usize,
    pub queuecap: usize,
    pub max_attempts: u32,
    pub backoff_base_ms: u64,
    pub backoff_max_ms: u64,
    pub lease_secs: u64,
    pub poll_ms: u64,
    pub request_timeout_ms: u64,
    /// This node's name in the queue's leases. Empty: generated once and kept
    /// in `<data_dir>/node-id`, so a restarted node takes its own leases back.
    pub node_id: String,
}

impl Default for DaemonConfig {
    fn default() -> Self {
        DaemonConfig {
            enabled: true,
            bootstrap_local_provider: true,
            queuenum: 16,
            queuecap: 100,
            max_attempts: 8,
            backoff_base_ms: 2000,
            backoff_max_ms: 300_000,
            lease_secs: 120,
            poll_ms: 1000,
            request_timeout_ms: 15_000,
            node_id: String::new(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scheme {
    Digest,
    Basic,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum DigestAlgorithm {
    #[serde(rename = "SHA-256")]
    Sha256,
    #[serde(rename = "MD5")]
    Md5,
}

impl DigestAlgorithm {
    pub fn as_str(&self) -> &'static str {
        match self {
            DigestAlgorithm::Sha256 => "SHA-256",
            DigestAlgorithm::Md5 => "MD5",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    pub schemes: Vec<Scheme>,
    pub digest_algorithms: Vec<DigestAlgorithm>,
    pub realm: String,
    pub nonce_lifetime_secs: u64,
    pub allow_basic_over_http: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from("./touchless-data"),
            database_url: String::new(),
            public_url: String::new(),
            template_dir: String::new(),
            provisioning: ProvisioningConfig::default(),
            admin: AdminConfig::default(),
            auth: AuthConfig::default(),
            redirect: RedirectConfig::default(),
            daemon: DaemonConfig::default(),
            limits: LimitsConfig::default(),
            log: LogConfig::default(),
            metrics: MetricsConfig::default(),
        }
    }
}

impl Default for ProvisioningConfig {
    fn default() -> Self {
        ProvisioningConfig {
            listen: ([0, 0, 0, 0], 8080).into(),
            access_log: "stdout".into(),
            access_log_format: crate::accesslog::AccessLogFormat::Combined,
            reload_interval_ms: 1000,
            contact_flush_ms: 5000,
            contact_retention_days: 30,
            contact_max_rows: 1_000_000,
            ztprov_window_secs: 86_400,
            ztprov_grace_secs: 600,
            render_cache_mb: 16,
            firmware_dir: String::new(),
            ready_max_stale_secs: 300,
            tls_cert: String::new(),
            tls_key: String::new(),
        }
    }
}

impl Default for AdminConfig {
    fn default() -> Self {
        AdminConfig {
            listen: ([127, 0, 0, 1], 15777).into(),
            token: String::new(),
            url: String::new(),
            tls_cert: String::new(),
            tls_key: String::new(),
            console_idle_minutes: 30,
            console_session_hours: 12,
        }
    }
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            schemes: vec![Scheme::Digest],
            digest_algorithms: vec![DigestAlgorithm::Sha256, DigestAlgorithm::Md5],
            realm: "touchless".into(),
            nonce_lifetime_secs: 300,
            allow_basic_over_http: false,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{0}")]
    Load(#[from] Box<figment::Error>),
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

impl Config {
    /// Loads the layers. `overrides` are `(dotted.key, value)` pairs from flags.
    pub fn load(
        file: Option<&Path>,
        overrides: &[(&str, toml::Value)],
    ) -> Result<Config, ConfigError> {
        let mut fig = Figment::from(Serialized::defaults(Config::default()));
        if let Some(path) = file {
            if !path.exists() {
                return Err(ConfigError::Invalid(format!(
                    "config file {} does not exist",
                    path.display()
                )));
            }
            fig = fig.merge(Toml::file(path));
        }
        // Only variables that name a setting: TOUCHLESS_CONFIG, TOUCHLESS_LOG,
        // TOUCHLESS_PROVIDER_SECRET and the test harness's variables are read
        // elsewhere and must not fail the load. A typo inside a section
        // (TOUCHLESS_AUTH__RELAM) is still reported.
        const SETTINGS: &[&str] = &["data_dir", "database_url", "public_url", "template_dir"];
        const SECTIONS: &[&str] = &[
            "provisioning__",
            "admin__",
            "auth__",
            "redirect__",
            "daemon__",
            "limits__",
            "log__",
            "metrics__",
        ];
        fig = fig.merge(
            Env::prefixed("TOUCHLESS_")
                .filter(|k| {
                    let k = k.as_str().to_ascii_lowercase();
                    SETTINGS.contains(&k.as_str()) || SECTIONS.iter().any(|s| k.starts_with(s))
                })
                .split("__"),
        );
        for (key, value) in overrides {
            fig = fig.merge((*key, value.clone()));
        }
        let cfg: Config = fig.extract().map_err(Box::new)?;
        cfg.validate()?;
        Ok(cfg)
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        let a = &self.auth;
        if a.schemes.is_empty() {
            return Err(ConfigError::Invalid(
                "auth.schemes is empty: offer at least \"digest\" or \"basic\"".into(),
            ));
        }
        if a.schemes.contains(&Scheme::Digest) && a.digest_algorithms.is_empty() {
            return Err(ConfigError::Invalid(
                "auth.digest_algorithms is empty while digest is offered".into(),
            ));
        }
        if a.realm.is_empty()
            || a.realm.contains(['"', '\\'])
            || !touchless_domain::is_xml_text(&a.realm, false)
        {
            return Err(ConfigError::Invalid(
                "auth.realm must be non-empty and contain no quotes, backslashes or control characters".into(),
            ));
        }
        if a.schemes.contains(&Scheme::Basic)
            && !a.allow_basic_over_http
            && self.provisioning.tls_cert.is_empty()
        {
            return Err(ConfigError::Invalid(
                "auth.schemes offers \"basic\" on a plain-HTTP provisioning listener: Basic sends \
                 passwords in clear. Configure provisioning.tls_cert/tls_key, or set \
                 auth.allow_basic_over_http = true if the network is trusted"
                    .into(),
            ));
        }
        for (name, cert, key) in [
            (
                "provisioning",
                &self.provisioning.tls_cert,
                &self.provisioning.tls_key,
            ),
            ("admin", &self.admin.tls_cert, &self.admin.tls_key),
        ] {
            if cert.is_empty() != key.is_empty() {
                return Err(ConfigError::Invalid(format!(
                    "{name}.tls_cert and {name}.tls_key must be set together"
                )));
            }
        }
        let u = &self.public_url;
        if !(u.is_empty() || u.starts_with("http://") || u.starts_with("https://")) {
            return Err(ConfigError::Invalid(format!(
                "public_url {:?} must start with http:// or https://",
                self.public_url
            )));
        }
        let p = &self.provisioning;
        if p.reload_interval_ms == 0 || p.contact_flush_ms == 0 || p.contact_retention_days == 0 {
            return Err(ConfigError::Invalid(
                "provisioning.reload_interval_ms, contact_flush_ms and contact_retention_days must be positive"
                    .into(),
            ));
        }
        if self.auth.nonce_lifetime_secs == 0 {
            return Err(ConfigError::Invalid(
                "auth.nonce_lifetime_secs must be positive".into(),
            ));
        }
        Ok(())
    }

    pub fn database_url(&self) -> String {
        if self.database_url.is_empty() {
            format!("sqlite://{}", self.data_dir.join("touchless.db").display())
        } else {
            self.database_url.clone()
        }
    }

    /// The base URL phones are given, without a trailing slash.
    pub fn public_url(&self, bound: SocketAddr) -> String {
        if !self.public_url.is_empty() {
            return self.public_url.trim_end_matches('/').to_owned();
        }
        let scheme = if self.provisioning.tls_cert.is_empty() {
            "http"
        } else {
            "https"
        };
        format!("{scheme}://{}", loopback_if_unspecified(bound))
    }

    /// Where the CLI reaches the admin API.
    pub fn admin_url(&self) -> String {
        if !self.admin.url.is_empty() {
            return self.admin.url.trim_end_matches('/').to_owned();
        }
        let scheme = if self.admin.tls_cert.is_empty() {
            "http"
        } else {
            "https"
        };
        format!("{scheme}://{}", loopback_if_unspecified(self.admin.listen))
    }

    pub fn admin_token_file(&self) -> PathBuf {
        self.data_dir.join("admin-token")
    }

    /// Where firmware images are served from.
    pub fn firmware_dir(&self) -> PathBuf {
        if self.provisioning.firmware_dir.is_empty() {
            self.data_dir.join("firmware")
        } else {
            PathBuf::from(&self.provisioning.firmware_dir)
        }
    }
}

fn loopback_if_unspecified(mut addr: SocketAddr) -> SocketAddr {
    if addr.ip().is_unspecified() {
        addr.set_ip(if addr.is_ipv4() {
            [127, 0, 0, 1].into()
        } else {
            std::net::Ipv6Addr::LOCALHOST.into()
        });
    }
    addr
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_is_the_defaults() {
        let parsed: Config = toml::from_str(EXAMPLE).unwrap();
        assert_eq!(parsed, Config::default());
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment's Jail API, not ours
    fn layers_apply_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("t.toml");
        std::fs::write(
            &file,
            "public_url = \"http://file\"\n[auth]\nrealm = \"from-file\"\n",
        )
        .unwrap();
        figment::Jail::expect_with(|jail| {
            jail.set_env("TOUCHLESS_AUTH__REALM", "from-env");
            jail.set_env("TOUCHLESS_ADMIN__LISTEN", "127.0.0.1:9999");
            jail.set_env("TOUCHLESS_TEST_DATABASE_URL", "postgres://ignored");
            jail.set_env("TOUCHLESS_PROVIDER_SECRET", "not a setting");
            let c = Config::load(
                Some(&file),
                &[("public_url", toml::Value::String("http://flag".into()))],
            )
            .unwrap();
            assert_eq!(c.public_url, "http://flag");
            assert_eq!(c.auth.realm, "from-env");
            assert_eq!(c.admin.listen.port(), 9999);
            Ok(())
        });
    }

    #[test]
    fn mistakes_are_reported() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("t.toml");
        std::fs::write(&file, "[auth]\nrelam = \"typo\"\n").unwrap();
        let e = Config::load(Some(&file), &[]).unwrap_err().to_string();
        assert!(e.contains("relam"), "{e}");
        let e = Config::load(Some(&dir.path().join("missing.toml")), &[])
            .unwrap_err()
            .to_string();
        assert!(e.contains("does not exist"), "{e}");
        let mut c = Config::default();
        c.auth.schemes = vec![Scheme::Basic];
        assert!(c.validate().unwrap_err().to_string().contains("Basic"));
        c.auth.allow_basic_over_http = true;
        c.validate().unwrap();
    }

    #[test]
    fn derived_urls() {
        let c = Config::default();
        assert_eq!(
            c.public_url(([0, 0, 0, 0], 8080).into()),
            "http://127.0.0.1:8080"
        );
        assert_eq!(c.admin_url(), "http://127.0.0.1:15777");
        assert!(c.database_url().ends_with("touchless-data/touchless.db"));
    }
}
