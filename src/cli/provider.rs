//! `touchless provider …` and `touchless events …`: provider accounts and the event queue.

use clap::Subcommand;
use reqwest::Method;
use serde_json::{json, Value};

use super::*;
use crate::client::Client;

#[derive(Subcommand)]
pub enum ProviderCmd {
    /// Add a redirection provider account (Snom SRAPS or a compatible service).
    Add {
        /// A name for it, e.g. `snom`.
        name: String,
        /// API base URL.
        #[arg(long, default_value = "https://secure-provisioning.snom.com/api/v1/")]
        url: String,
        /// Access key id.
        #[arg(long)]
        key_id: String,
        /// Access key secret.
        #[arg(long, env = "TOUCHLESS_PROVIDER_SECRET", hide_env_values = true)]
        secret: String,
        /// The tenant whose own account this is (per-tenant mode); without it, the master account.
        #[arg(long)]
        tenant: Option<String>,
        /// PEM certificates to trust for this provider besides the public CAs:
        /// its private CA, or its self-signed server certificate itself.
        #[arg(long)]
        ca_file: Option<std::path::PathBuf>,
    },
    /// List providers.
    List,
    /// Show one provider.
    Show { name: String },
    /// Run the discovery chain and report what the provider says.
    Test { name: String },
    /// Remove a provider.
    Remove { name: String },
}

pub async fn provider(c: &Client, cmd: ProviderCmd, as_json: bool) -> anyhow::Result<()> {
    match cmd {
        ProviderCmd::Add {
            name,
            url,
            key_id,
            secret,
            tenant,
            ca_file,
        } => {
            let ca_pem = ca_file
                .map(|f| {
                    std::fs::read_to_string(&f)
                        .map_err(|e| anyhow::anyhow!("reading the CA bundle {}: {e}", f.display()))
                })
                .transpose()?;
            let body = json!({ "name": name, "base_url": url, "access_key_id": key_id, "secret": secret,
                               "tenant": tenant, "ca_pem": ca_pem });
            let v = c.call(Method::POST, "/providers", Some(&body)).await?;
            if as_json {
                return print_json(&v);
            }
            let scope = v
                .get("tenant")
                .and_then(Value::as_str)
                .map(|t| format!("tenant {t}"))
                .unwrap_or_else(|| "master".into());
            println!(
                "provider {} added ({scope}): {}",
                s(&v, "name"),
                s(&v, "base_url")
            );
        }
        ProviderCmd::List => {
            let v = c.call(Method::GET, "/providers", None).await?;
            if as_json {
                return print_json(&v);
            }
            table_of(
                &v,
                &["NAME", "KIND", "SCOPE", "URL", "ACCESS KEY ID"],
                |p| {
                    let scope = p
                        .get("tenant")
                        .and_then(Value::as_str)
                        .map(|t| format!("tenant {t}"))
                        .unwrap_or_else(|| "master".into());
                    vec![
                        s(p, "name"),
                        s(p, "kind"),
                        scope,
                        s(p, "base_url"),
                        s(p, "access_key_id"),
                    ]
                },
            );
        }
        ProviderCmd::Show { name } => {
            let v = c
                .call(Method::GET, &format!("/providers/{}", enc(&name)), None)
                .await?;
            if as_json {
                return print_json(&v);
            }
            for key in [
                "name",
                "kind",
                "base_url",
                "access_key_id",
                "tenant",
                "created_at",
            ] {
                println!("{key:<14} {}", s(&v, key));
            }
        }
        ProviderCmd::Test { name } => {
            let v = c
                .call(
                    Method::POST,
                    &format!("/providers/{}/test", enc(&name)),
                    None,
                )
                .await?;
            if as_json {
                return print_json(&v);
            }
            println!("{}", s(&v, "message"));
            if v["ok"] != json!(true) {
                anyhow::bail!("provider {name} is not usable");
            }
        }
        ProviderCmd::Remove { name } => {
            c.call(Method::DELETE, &format!("/providers/{}", enc(&name)), None)
                .await?;
            if !as_json {
                println!("provider {name} removed");
            }
        }
    }
    Ok(())
}

#[derive(Subcommand)]
pub enum EventsCmd {
    /// List events, newest first.
    List {
        /// pending, running, done or failed.
        #[arg(long)]
        state: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// Put a failed event back in the queue.
    Retry { id: i64 },
}

pub async fn events(c: &Client, cmd: EventsCmd, as_json: bool) -> anyhow::Result<()> {
    match cmd {
        EventsCmd::List { state, limit } => {
            let mut path = format!("/events?limit={limit}");
            if let Some(st) = state {
                path.push_str(&format!("&state={}", enc(&st)));
            }
            let v = c.call(Method::GET, &path, None).await?;
            if as_json {
                return print_json(&v);
            }
            let sum = c.call(Method::GET, "/events/summary", None).await?;
            println!(
                "queue: {} pending, {} running, {} failed, {} done",
                s(&sum, "pending"),
                s(&sum, "running"),
                s(&sum, "failed"),
                s(&sum, "done")
            );
            table_of(
                &v,
                &[
                    "ID",
                    "ACTION",
                    "MAC",
                    "STATE",
                    "ATTEMPTS",
                    "NEXT ATTEMPT",
                    "LAST ERROR",
                ],
                |e| {
                    vec![
                        s(e, "id"),
                        s(e, "action"),
                        s(e, "mac"),
                        s(e, "state"),
                        s(e, "attempts"),
                        s(e, "next_attempt_at"),
                        s(e, "last_error"),
                    ]
                },
            );
        }
        EventsCmd::Retry { id } => {
            let v = c
                .call(Method::POST, &format!("/events/{id}/retry"), None)
                .await?;
            if as_json {
                return print_json(&v);
            }
            println!("event {id} queued again");
        }
    }
    Ok(())
}
