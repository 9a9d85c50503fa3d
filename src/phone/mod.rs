//! `touchless phone`: simulated phones, one (`boot`) or thousands (`storm`).
//!
//! The driver follows what a factory-reset phone does: a phone whose vendor
//! touchless's redirection service redirects asks it for its model-wide and
//! per-MAC files (others start from what their vendor's cloud would hand
//! out: a server URL and a pair); it applies where to fetch from and with
//! which credentials, fetches that (expanding `{mac}`, asking for the
//! model-wide and per-MAC files when the URL names a folder), answers 401
//! challenges with Digest (MD5 or SHA-256) or Basic as offered, and follows
//! new servers until one points at itself. It keeps what it learned, so the
//! next boot goes straight to its server, as a real phone does. What differs
//! per vendor (the file format, which settings name the server and the pair,
//! the identity to report) is a module each, listed in `SIMULATED`; the
//! User-Agent and file names come from the vendor seam.

mod fanvil;
mod firmware;
mod gigaset;
mod poly;
mod report;
mod snom;
mod yealink;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{anyhow, bail, Context as _};
use serde::{Deserialize, Serialize};
use touchless_domain::Mac;
use touchless_phones::{ConfigFile, PhoneModel};

pub use report::{print_report, stage_times, Report, Step};

/// What differs between vendors' phones in the simulator.
trait Simulated: Sync {
    fn vendor(&self) -> &'static str;
    /// The settings of a file, with the server and the pair under the names
    /// `setting_server`, `http_client_user` and `http_client_pass`, others as
    /// `name` or `name[idx]`.
    fn parse_settings(&self, body: &str) -> Vec<(String, String)>;
    /// The first SIP identity the settings give, `user@host`.
    fn identity(&self, settings: &HashMap<String, String>) -> Option<String>;
    /// The files it asks for in a provisioning folder, in order, each with
    /// whether a 404 is fine (it moves on, as the phone does): by default
    /// its model-wide file (where the model has one), then its own.
    fn folder_files(&self, model: PhoneModel, mac: Mac) -> Vec<(String, bool)> {
        let mut out = Vec::new();
        if model.vendor().has_common_file(model) {
            out.push((ConfigFile::common(model).to_string(), true));
        }
        out.push((ConfigFile::device(model, mac).to_string(), false));
        out
    }
    /// What it uploads (`PUT`) into its folder once provisioned: file name
    /// and body.
    fn uploads(&self, mac: Mac) -> Vec<(String, Vec<u8>)> {
        let _ = mac;
        Vec::new()
    }
    /// What a fetched file (its body, and its settings as parsed) says
    /// about firmware to install, in its vendor's way.
    fn firmware_hint(&self, body: &str, settings: &[(String, String)]) -> Option<firmware::Hint>;
}

/// The vendors the simulator boots; one line a vendor.
const SIMULATED: &[&dyn Simulated] = &[
    &snom::SIM,
    &yealink::SIM,
    &fanvil::SIM,
    &gigaset::SIM,
    &poly::SIM,
];

fn simulated(model: PhoneModel) -> anyhow::Result<&'static dyn Simulated> {
    SIMULATED
        .iter()
        .copied()
        .find(|s| s.vendor() == model.vendor().name())
        .ok_or_else(|| anyhow!("the simulator cannot boot {} phones yet", model.vendor()))
}

/// What a phone keeps across reboots.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct PhoneState {
    /// The firmware it installed (its User-Agent says it from then on).
    pub firmware: Option<String>,
    pub setting_server: Option<String>,
    pub http_client_user: Option<String>,
    pub http_client_pass: Option<String>,
    /// Settings of the last provisioning file (`name` or `name[idx]` → value).
    pub settings: HashMap<String, String>,
}

impl PhoneState {
    pub fn load(path: &Path) -> anyhow::Result<PhoneState> {
        match std::fs::read(path) {
            Ok(b) => serde_json::from_slice(&b)
                .with_context(|| format!("reading phone state {}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(PhoneState::default()),
            Err(e) => Err(e).with_context(|| format!("reading phone state {}", path.display())),
        }
    }

    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(path, serde_json::to_vec_pretty(self)?)
            .with_context(|| format!("writing {}", path.display()))
    }
}

pub struct Phone {
    pub mac: Mac,
    pub model: PhoneModel,
    pub firmware: String,
}

impl Phone {
    pub fn user_agent(&self) -> String {
        self.model
            .vendor()
            .user_agent(self.model, &self.firmware, self.mac)
    }

    /// Boots once. `redirect` is where a phone without a setting server asks
    /// (the redirection service's address a real phone has built in).
    pub async fn boot(
        &self,
        http: &reqwest::Client,
        redirect: &str,
        state: &mut PhoneState,
    ) -> Report {
        let mut steps = Vec::new();
        let before = state.firmware.clone();
        let result = self.run(http, redirect, state, &mut steps).await;
        let installed = state.firmware.clone().filter(|_| state.firmware != before);
        let (ok, verdict) = match result {
            Ok(v) => (true, v),
            Err(e) => (false, format!("{e:#}")),
        };
        Report {
            mac: self.mac.to_string(),
            model: self.model.to_string(),
            steps,
            ok,
            verdict,
            installed,
        }
    }

    async fn run(
        &self,
        http: &reqwest::Client,
        redirect: &str,
        state: &mut PhoneState,
        steps: &mut Vec<Step>,
    ) -> anyhow::Result<String> {
        let sim = simulated(self.model)?;
        if state.setting_server.is_none() && !self.model.vendor().redirected() {
            bail!(
                "{} phones learn their server from {}'s cloud: give what it would hand out (--server, --user, --pass)",
                self.model.vendor().display_name(),
                self.model.vendor().display_name()
            );
        }
        if state.setting_server.is_none() {
            let base = redirect.trim_end_matches('/');
            for file in [
                ConfigFile::common(self.model).to_string(),
                ConfigFile::device(self.model, self.mac).to_string(),
            ] {
                let url = format!("{base}/{file}");
                let (status, body, note_auth) =
                    self.fetch(http, "redirect", &url, state, steps).await?;
                let learned = if status == 200 {
                    apply(state, &sim.parse_settings(&body))
                } else {
                    Vec::new()
                };
                finish_note(steps, &note_auth, &learned);
            }
            if state.setting_server.is_none() {
                bail!("the redirection service did not redirect this phone (no setting_server for {})", self.mac);
            }
        }
        let mut seen = Vec::new();
        for _ in 0..6 {
            let server = state.setting_server.clone().unwrap_or_default();
            let url = self.expand(&server);
            let stage = if url.contains("/ztprov/") {
                "ztprov"
            } else {
                "prov"
            };
            // In a folder: the files its vendor's phones ask for there.
            let urls: Vec<(String, bool)> = if url.ends_with('/') {
                sim.folder_files(self.model, self.mac)
                    .into_iter()
                    .map(|(f, optional)| (format!("{url}{f}"), optional))
                    .collect()
            } else {
                vec![(url.clone(), false)]
            };
            let mut settings = Vec::new();
            let mut hint = None;
            for (u, optional) in &urls {
                let (status, body, note_auth) = self.fetch(http, stage, u, state, steps).await?;
                if *optional && status == 404 {
                    finish_note(steps, &note_auth, &[]);
                    continue;
                }
                if status != 200 {
                    bail!(
                        "{stage}: {u} answered {status}{}",
                        if status == 401 {
                            " (the credentials were refused)"
                        } else {
                            ""
                        }
                    );
                }
                let parsed = sim.parse_settings(&body);
                hint = sim.firmware_hint(&body, &parsed).or(hint);
                let learned = apply(state, &parsed);
                finish_note(steps, &note_auth, &learned);
                settings.extend(parsed);
            }
            state.settings = settings.into_iter().collect();
            seen.push(server.clone());
            let next = state.setting_server.clone().unwrap_or_default();
            if next == server || seen.contains(&next) {
                let folder = url.rsplit_once('/').map(|(f, _)| f).unwrap_or(&url);
                for (name, body) in sim.uploads(self.mac) {
                    let u = format!("{folder}/{name}");
                    let (status, _, note_auth) = self
                        .request(
                            http,
                            stage,
                            reqwest::Method::PUT,
                            &u,
                            Some(body),
                            state,
                            steps,
                        )
                        .await?;
                    if !(200..300).contains(&status) {
                        bail!("{stage}: uploading {u} answered {status}");
                    }
                    finish_note(steps, &note_auth, &[]);
                }
                let identity = match sim.identity(&state.settings) {
                    Some(id) => format!("SIP identity {id}"),
                    None => "no SIP identity".into(),
                };
                let installed = match hint {
                    Some(h) => self.install(http, sim, h, state, steps).await?,
                    None => None,
                };
                return Ok(format!(
                    "provisioned from {}: {identity}{}",
                    self.expand(&next),
                    installed
                        .map(|v| format!("; installed firmware {v}, reboots"))
                        .unwrap_or_default()
                ));
            }
        }
        bail!("setting servers kept changing after 6 hops")
    }

    fn expand(&self, url: &str) -> String {
        url.replace("{mac}", &self.mac.to_string())
            .replace("{MAC}", &self.mac.to_string())
            .replace("{phone_type}", self.model.as_str())
    }

    /// GET, answering a 401 challenge with the phone's credentials. Returns
    /// status, body and how it authenticated.
    async fn fetch(
        &self,
        http: &reqwest::Client,
        stage: &'static str,
        url: &str,
        state: &PhoneState,
        steps: &mut Vec<Step>,
    ) -> anyhow::Result<(u16, String, String)> {
        self.request(http, stage, reqwest::Method::GET, url, None, state, steps)
            .await
    }

    /// `method` (with `body`), answering a 401 challenge as [`Self::fetch`].
    #[allow(clippy::too_many_arguments)]
    async fn request(
        &self,
        http: &reqwest::Client,
        stage: &'static str,
        method: reqwest::Method,
        url: &str,
        body: Option<Vec<u8>>,
        state: &PhoneState,
        steps: &mut Vec<Step>,
    ) -> anyhow::Result<(u16, String, String)> {
        let from = steps.len();
        let name = if method == reqwest::Method::PUT {
            "PUT"
        } else {
            "GET"
        };
        let r = self
            .exchange(http, stage, method, url, body, state, steps)
            .await;
        for s in &mut steps[from..] {
            s.method = name;
        }
        r
    }

    #[allow(clippy::too_many_arguments)]
    async fn exchange(
        &self,
        http: &reqwest::Client,
        stage: &'static str,
        method: reqwest::Method,
        url: &str,
        body: Option<Vec<u8>>,
        state: &PhoneState,
        steps: &mut Vec<Step>,
    ) -> anyhow::Result<(u16, String, String)> {
        let send = |extra: Option<String>| {
            let mut r = http
                .request(method.clone(), url_clean(url))
                .header("user-agent", self.user_agent());
            if let Some(b) = &body {
                r = r.body(b.clone());
            }
            if let Some(h) = extra {
                r = r.header("authorization", h);
            }
            r
        };
        // Credentials in the URL (user:pass@host) win over http_client_*, as on the phone.
        let parsed = reqwest::Url::parse(url).with_context(|| format!("{stage}: bad URL {url}"))?;
        let (user, pass) = if !parsed.username().is_empty() {
            (
                Some(parsed.username().to_owned()),
                parsed.password().map(str::to_owned),
            )
        } else {
            (
                state.http_client_user.clone(),
                state.http_client_pass.clone(),
            )
        };
        let mut clean = parsed.clone();
        let _ = clean.set_username("");
        let _ = clean.set_password(None);
        let started = Instant::now();
        let first = patiently(stage, &clean, steps, || send(None)).await?;
        let status = first.status().as_u16();
        if status != 401 {
            let body = first.text().await.unwrap_or_default();
            steps.push(step(stage, &clean, status, started, ""));
            return Ok((status, body, String::new()));
        }
        let challenges: Vec<String> = first
            .headers()
            .get_all("www-authenticate")
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_owned))
            .collect();
        let _ = first.bytes().await;
        steps.push(step(
            stage,
            &clean,
            401,
            started,
            &format!("challenge: {}", summarize(&challenges)),
        ));
        let (Some(user), Some(pass)) = (user, pass) else {
            bail!("{stage}: {clean} wants credentials and the phone has none");
        };
        let path = match clean.query() {
            Some(q) => format!("{}?{q}", clean.path()),
            None => clean.path().to_owned(),
        };
        let (header, how) = answer(&challenges, &user, &pass, &path, &method)?;
        let started = Instant::now();
        let second = patiently(stage, &clean, steps, || send(Some(header.clone()))).await?;
        let status = second.status().as_u16();
        let body = second.text().await.unwrap_or_default();
        steps.push(step(stage, &clean, status, started, ""));
        Ok((status, body, format!("as {user} ({how})")))
    }
}

/// Sends, and when turned away with 429 or 503 waits as `Retry-After` says
/// (at most 30 s a time, a few minutes in all) and asks again, as a phone in a
/// boot storm should.
async fn patiently(
    stage: &'static str,
    url: &reqwest::Url,
    steps: &mut Vec<Step>,
    make: impl Fn() -> reqwest::RequestBuilder,
) -> anyhow::Result<reqwest::Response> {
    const MAX_WAITS: u32 = 20;
    let mut waits = 0;
    loop {
        let started = Instant::now();
        let r = make()
            .send()
            .await
            .with_context(|| format!("{stage}: cannot reach {url}"))?;
        let status = r.status().as_u16();
        if !matches!(status, 429 | 503) || waits == MAX_WAITS {
            return Ok(r);
        }
        let secs = r
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .unwrap_or(1)
            .clamp(1, 30);
        steps.push(step(
            stage,
            url,
            status,
            started,
            &format!("turned away; waiting {secs} s as told"),
        ));
        tokio::time::sleep(std::time::Duration::from_secs(secs)).await;
        waits += 1;
    }
}

fn step(
    stage: &'static str,
    url: &reqwest::Url,
    status: u16,
    started: Instant,
    note: &str,
) -> Step {
    Step {
        stage,
        method: "GET",
        url: url.to_string(),
        status,
        note: note.to_owned(),
        millis: started.elapsed().as_secs_f64() * 1000.0,
    }
}

fn summarize(challenges: &[String]) -> String {
    challenges
        .iter()
        .map(|c| {
            let scheme = c.split_whitespace().next().unwrap_or("?");
            match c.split("algorithm=").nth(1) {
                Some(a) => format!("{scheme} {}", a.split([',', ' ']).next().unwrap_or("")),
                None => scheme.to_owned(),
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn finish_note(steps: &mut [Step], auth: &str, learned: &[String]) {
    if let Some(last) = steps.last_mut() {
        let mut parts = Vec::new();
        if !auth.is_empty() {
            parts.push(auth.to_owned());
        }
        if learned.is_empty() {
            parts.push("nothing new".into());
        } else {
            parts.push(format!("learned {}", learned.join(", ")));
        }
        last.note = parts.join("; ");
    }
}

/// `url` without credentials in it (they are the phone's to present).
fn url_clean(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut u) => {
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.to_string()
        }
        Err(_) => url.to_owned(),
    }
}

/// The first offered scheme the phone supports: Digest MD5 (what most phones
/// use), then Digest SHA-256, then Basic.
fn answer(
    challenges: &[String],
    user: &str,
    pass: &str,
    path: &str,
    method: &reqwest::Method,
) -> anyhow::Result<(String, String)> {
    let digest = |alg: &str| {
        challenges
            .iter()
            .find(|c| c.starts_with("Digest") && c.contains(&format!("algorithm={alg}")))
    };
    if let Some(c) = digest("MD5")
        .or_else(|| digest("SHA-256"))
        .or_else(|| challenges.iter().find(|c| c.starts_with("Digest")))
    {
        let mut prompt =
            digest_auth::parse(c).map_err(|e| anyhow!("unusable Digest challenge {c:?}: {e}"))?;
        let alg = prompt.algorithm.to_string();
        let a = prompt
            .respond(&digest_auth::AuthContext::new_with_method(
                user,
                pass,
                path,
                None::<&[u8]>,
                digest_auth::HttpMethod::from(method.as_str()),
            ))
            .map_err(|e| anyhow!("cannot answer the Digest challenge: {e}"))?;
        return Ok((a.to_header_string(), format!("Digest {alg}")));
    }
    if challenges.iter().any(|c| c.starts_with("Basic")) {
        use base64::Engine as _;
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
        return Ok((format!("Basic {token}"), "Basic".into()));
    }
    bail!("no authentication scheme the phone supports was offered ({challenges:?})")
}

/// Applies the settings the phone acts on; returns what changed.
fn apply(state: &mut PhoneState, settings: &[(String, String)]) -> Vec<String> {
    let mut learned = Vec::new();
    for (k, v) in settings {
        let slot = match k.as_str() {
            "setting_server" => &mut state.setting_server,
            "http_client_user" => &mut state.http_client_user,
            "http_client_pass" => &mut state.http_client_pass,
            _ => continue,
        };
        if slot.as_deref() != Some(v) {
            *slot = Some(v.clone());
            learned.push(if k == "http_client_pass" {
                format!("{k}=***")
            } else {
                format!("{k}={v}")
            });
        }
    }
    learned
}

pub fn state_path(dir: &Path, mac: Mac) -> PathBuf {
    dir.join(format!("{mac}.json"))
}
