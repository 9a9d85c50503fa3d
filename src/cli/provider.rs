//! `touchless provider …` and `touchless events …`: provider accounts and the event queue.

use clap::Subcommand;
use reqwest::Method;
use touchless_api::daemon::{
    Event, EventSummary, NewProvider, Provider, ProviderPatch, ProviderTest,
};
use touchless_domain::TenantId;

use super::*;
use crate::client::Client;

#[derive(Subcommand)]
pub enum ProviderCmd {
    /// Add a redirection provider account: a vendor's cloud (of a kind this
    /// touchless speaks) or a service speaking its API. One per scope and vendor.
    Add {
        /// A name for it, e.g. `cloud`.
        name: String,
        /// The provider kind, which decides whose phones it registers; the
        /// server's default kind without it (an unknown kind is answered with
        /// the kinds there are).
        #[arg(long)]
        kind: Option<String>,
        /// API base URL; the kind's public cloud without it.
        #[arg(long)]
        url: Option<String>,
        /// Access key id.
        #[arg(long)]
        key_id: String,
        /// Access key secret.
        #[arg(long, env = "TOUCHLESS_PROVIDER_SECRET", hide_env_values = true)]
        secret: String,
        /// The tenant whose own account this is (per-tenant mode); without it, the master account.
        #[arg(long)]
        tenant: Option<TenantId>,
        /// PEM certificates to trust for this provider besides the public CAs:
        /// its private CA, or its self-signed server certificate itself.
        #[arg(long)]
        ca_file: Option<std::path::PathBuf>,
    },
    /// Change a provider's URL, access key id or secret (what is not given stays).
    Edit {
        name: String,
        #[arg(long)]
        url: Option<String>,
        #[arg(long)]
        key_id: Option<String>,
        /// The new secret (or TOUCHLESS_PROVIDER_SECRET).
        #[arg(long, env = "TOUCHLESS_PROVIDER_SECRET", hide_env_values = true)]
        secret: Option<String>,
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

fn scope(p: &Provider) -> String {
    p.tenant
        .as_ref()
        .map_or_else(|| "master".into(), |t| format!("tenant {t}"))
}

pub async fn provider(c: &Client, cmd: ProviderCmd, as_json: bool) -> anyhow::Result<()> {
    match cmd {
        ProviderCmd::Add {
            name,
            kind,
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
            let body = NewProvider {
                name,
                kind,
                base_url: url,
                access_key_id: key_id,
                secret,
                tenant,
                ca_pem,
            };
            let p: Provider = c.send(Method::POST, "/providers", &body).await?;
            if as_json {
                return print_json(&p);
            }
            println!("provider {} added ({}): {}", p.name, scope(&p), p.base_url);
        }
        ProviderCmd::Edit {
            name,
            url,
            key_id,
            secret,
        } => {
            let body = ProviderPatch {
                base_url: url,
                access_key_id: key_id,
                secret,
            };
            let p: Provider = c
                .send(Method::PATCH, &format!("/providers/{}", enc(&name)), &body)
                .await?;
            if as_json {
                return print_json(&p);
            }
            println!(
                "provider {} changed ({}): {}",
                p.name,
                scope(&p),
                p.base_url
            );
        }
        ProviderCmd::List => {
            let ps: Vec<Provider> = c.get("/providers").await?;
            if as_json {
                return print_json(&ps);
            }
            table(
                &["NAME", "KIND", "PHONES", "SCOPE", "URL", "ACCESS KEY ID"],
                ps.iter()
                    .map(|p| {
                        vec![
                            p.name.clone(),
                            p.kind.clone(),
                            p.vendor.to_string(),
                            scope(p),
                            p.base_url.clone(),
                            p.access_key_id.clone(),
                        ]
                    })
                    .collect(),
            );
        }
        ProviderCmd::Show { name } => {
            let p: Provider = c.get(&format!("/providers/{}", enc(&name))).await?;
            if as_json {
                return print_json(&p);
            }
            for (key, value) in [
                ("name", p.name.clone()),
                ("kind", p.kind.clone()),
                ("base_url", p.base_url.clone()),
                ("access_key_id", p.access_key_id.clone()),
                ("tenant", dash(p.tenant.as_ref())),
                ("created_at", when(Some(p.created_at))),
            ] {
                println!("{key:<14} {value}");
            }
        }
        ProviderCmd::Test { name } => {
            let v: ProviderTest = c
                .send(
                    Method::POST,
                    &format!("/providers/{}/test", enc(&name)),
                    &(),
                )
                .await?;
            if as_json {
                return print_json(&v);
            }
            println!("{}", v.message);
            if !v.ok {
                anyhow::bail!("provider {name} is not usable");
            }
        }
        ProviderCmd::Remove { name } => {
            c.call_text(
                Method::DELETE,
                &format!("/providers/{}", enc(&name)),
                None::<&()>,
            )
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
            let es: Vec<Event> = c.get(&path).await?;
            if as_json {
                return print_json(&es);
            }
            let sum: EventSummary = c.get("/events/summary").await?;
            println!(
                "queue: {} pending, {} running, {} failed, {} done",
                sum.pending, sum.running, sum.failed, sum.done
            );
            table(
                &[
                    "ID",
                    "ACTION",
                    "MAC",
                    "STATE",
                    "ATTEMPTS",
                    "NEXT ATTEMPT",
                    "LAST ERROR",
                ],
                es.iter()
                    .map(|e| {
                        vec![
                            e.id.to_string(),
                            format!("{:?}", e.action).to_lowercase(),
                            e.mac.to_string(),
                            format!("{:?}", e.state).to_lowercase(),
                            e.attempts.to_string(),
                            when(Some(e.next_attempt_at)),
                            dash(e.last_error.as_ref()),
                        ]
                    })
                    .collect(),
            );
        }
        EventsCmd::Retry { id } => {
            let e: Event = c
                .send(Method::POST, &format!("/events/{id}/retry"), &())
                .await?;
            if as_json {
                return print_json(&e);
            }
            println!("event {id} queued again");
        }
    }
    Ok(())
}
