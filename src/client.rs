//! A small client of the admin API for the CLI subcommands.

use anyhow::{anyhow, Context as _};
use serde_json::Value;
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

    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> anyhow::Result<Value> {
        let text = self.call_text(method, path, body).await?;
        if text.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_str(&text)
            .context("the admin API answered with something that is not JSON")
    }

    pub async fn call_text(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> anyhow::Result<String> {
        let url = format!("{}{path}", self.base);
        let mut req = self.http.request(method, &url).bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req.send().await.with_context(|| {
            format!("cannot reach the admin API at {url}; is `touchless serve` running?")
        })?;
        let status = resp.status();
        let text = resp.text().await?;
        if status.is_success() {
            return Ok(text);
        }
        let detail = serde_json::from_str::<Value>(&text)
            .ok()
            .and_then(|v| {
                let e = v.get("error")?.as_str()?.to_owned();
                Some(match v.get("field").and_then(Value::as_str) {
                    Some(f) => format!("{e} (field {f})"),
                    None => e,
                })
            })
            .unwrap_or(text);
        Err(anyhow!("{} {}", status.as_u16(), detail))
    }
}
