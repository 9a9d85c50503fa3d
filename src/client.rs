//! A typed client of the admin API for the CLI subcommands: the request and
//! response bodies are the `touchless_api` types the server uses.

use anyhow::{anyhow, Context as _};
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::Serialize;
use touchless_api::ErrorBody;
use touchless_server::Config;

pub struct Client {
    base: String,
    token: String,
    http: reqwest::Client,
}

impl Client {
    pub fn new(cfg: &Config) -> anyhow::Result<Self> {
        let token = if !cfg.admin.token.is_empty() {
            cfg.admin.token.clone()
        } else {
            let file = cfg.admin_token_file();
            std::fs::read_to_string(&file)
                .map(|s| s.trim().to_owned())
                .map_err(|_| {
                    anyhow!(
                        "no admin token: pass --token, set TOUCHLESS_ADMIN__TOKEN, or run on the server \
                         machine where {} exists",
                        file.display()
                    )
                })?
        };
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(60))
            .build()?;
        Ok(Client {
            base: format!("{}/api/v1", cfg.admin_url()),
            token,
            http,
        })
    }

    /// `GET path`, answered with an `R`.
    pub async fn get<R: DeserializeOwned>(&self, path: &str) -> anyhow::Result<R> {
        let text = self.call_text(Method::GET, path, None::<&()>).await?;
        parse(&text)
    }

    /// `method path` with a JSON body, answered with an `R`.
    pub async fn send<B: Serialize, R: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: &B,
    ) -> anyhow::Result<R> {
        let text = self.call_text(method, path, Some(body)).await?;
        parse(&text)
    }

    /// A request whose answer has no body (`204`), or is not JSON (a preview).
    pub async fn call_text<B: Serialize>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> anyhow::Result<String> {
        let resp = self.exchange(method, path, body).await?;
        Ok(resp.text().await?)
    }

    /// `GET path`, its answer's bytes as they are (a phone's upload).
    pub async fn get_bytes(&self, path: &str) -> anyhow::Result<Vec<u8>> {
        let resp = self.exchange(Method::GET, path, None::<&()>).await?;
        Ok(resp.bytes().await?.to_vec())
    }

    /// Sends with the admin token; a refusal becomes its error.
    async fn exchange<B: Serialize>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> anyhow::Result<reqwest::Response> {
        let url = format!("{}{path}", self.base);
        let mut req = self.http.request(method, &url).bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req.send().await.with_context(|| {
            format!("cannot reach the admin API at {url}; is `touchless serve` running?")
        })?;
        let status = resp.status();
        if status.is_success() {
            return Ok(resp);
        }
        Err(refusal(status, resp.text().await?))
    }

    /// `POST path`, its answer's bytes streamed into `to` (created 0600 as
    /// `to.partial`, renamed when whole); the bytes written.
    pub async fn download(&self, path: &str, to: &std::path::Path) -> anyhow::Result<u64> {
        use std::io::Write as _;
        let url = format!("{}{path}", self.base);
        let mut resp = self
            .http
            .post(&url)
            .bearer_auth(&self.token)
            // A large database takes longer than the usual minute.
            .timeout(std::time::Duration::from_secs(3600))
            .send()
            .await
            .with_context(|| {
                format!("cannot reach the admin API at {url}; is `touchless serve` running?")
            })?;
        let status = resp.status();
        if !status.is_success() {
            return Err(refusal(status, resp.text().await?));
        }
        let mut partial = to.as_os_str().to_owned();
        partial.push(".partial");
        let partial = std::path::PathBuf::from(partial);
        touchless_store::private::write(&partial, b"")
            .with_context(|| format!("cannot write {}", partial.display()))?;
        let mut out = std::fs::OpenOptions::new().write(true).open(&partial)?;
        let mut written = 0u64;
        let copied: anyhow::Result<()> = async {
            while let Some(chunk) = resp.chunk().await? {
                out.write_all(&chunk)?;
                written += chunk.len() as u64;
            }
            out.sync_all()?;
            Ok(())
        }
        .await;
        if let Err(e) = copied {
            let _ = std::fs::remove_file(&partial);
            return Err(e.context(format!("the download into {} broke off", to.display())));
        }
        std::fs::rename(&partial, to).with_context(|| format!("cannot write {}", to.display()))?;
        Ok(written)
    }
}

/// An admin API refusal as the CLI shows it: the status and the server's words.
fn refusal(status: reqwest::StatusCode, text: String) -> anyhow::Error {
    let detail = match serde_json::from_str::<ErrorBody>(&text) {
        Ok(ErrorBody {
            error,
            field: Some(f),
            ..
        }) => format!("{error} (field {f})"),
        Ok(e) => e.error,
        Err(_) => text,
    };
    anyhow!("{} {}", status.as_u16(), detail)
}

impl Client {
    /// `POST path` with a CSV body; the status and the answer's text, so a
    /// refusal that reports (an import's problems) can be shown whole.
    pub async fn post_csv(&self, path: &str, csv: Vec<u8>) -> anyhow::Result<(u16, String)> {
        let url = format!("{}{path}", self.base);
        let resp = self
            .http
            .post(&url)
            .bearer_auth(&self.token)
            .header(reqwest::header::CONTENT_TYPE, "text/csv")
            .body(csv)
            .send()
            .await
            .with_context(|| {
                format!("cannot reach the admin API at {url}; is `touchless serve` running?")
            })?;
        Ok((resp.status().as_u16(), resp.text().await?))
    }
}

fn parse<R: DeserializeOwned>(text: &str) -> anyhow::Result<R> {
    serde_json::from_str(text).context("the admin API answered with something this CLI cannot read")
}
