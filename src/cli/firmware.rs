//! `touchless firmware …`: firmware policies (per model, for the
//! installation, a tenant or one device) and which phones are behind.

use clap::Subcommand;
use reqwest::Method;
use touchless_api::firmware::{Policy, PutPolicy, Stage};
use touchless_domain::{FirmwareVersion, Mac, PolicyScope, TenantId};
use touchless_phones::PhoneModel;

use super::*;
use crate::client::Client;

#[derive(Subcommand)]
pub enum FirmwareCmd {
    /// Pin a model's firmware (for the installation, or --tenant, or
    /// --device): phones install the target, passing through each --step
    /// first; one reporting the target gets no firmware instruction.
    /// Setting it again for the same scope and model replaces it.
    Set {
        #[arg(long)]
        model: PhoneModel,
        /// The version the phones end on, as their User-Agent reports it.
        #[arg(long)]
        version: FirmwareVersion,
        /// Where the target's image is: an http(s) URL …
        #[arg(long, conflicts_with = "file", required_unless_present = "file")]
        url: Option<String>,
        /// … or a file in provisioning.firmware_dir, served under /firmware/.
        #[arg(long)]
        file: Option<String>,
        /// An intermediate version: VERSION=URL or VERSION=FILE, repeatable,
        /// oldest first.
        #[arg(long = "step")]
        steps: Vec<String>,
        /// For this tenant's phones only.
        #[arg(long, conflicts_with = "device")]
        tenant: Option<TenantId>,
        /// For this one phone only (a beta on one desk, say).
        #[arg(long)]
        device: Option<Mac>,
    },
    /// List the firmware policies.
    List,
    /// Remove a policy (its id from `list`): its phones get no firmware
    /// instruction from it any more.
    Remove { id: i64 },
}

/// `VERSION=URL|FILE`.
fn step(s: &str) -> anyhow::Result<Stage> {
    let (v, image) = s
        .split_once('=')
        .ok_or_else(|| anyhow::anyhow!("step {s:?} must look like VERSION=URL or VERSION=FILE"))?;
    Ok(Stage::of(FirmwareVersion::parse(v)?, image))
}

fn image(s: &Stage) -> &str {
    s.url.as_deref().or(s.file.as_deref()).unwrap_or("")
}

pub async fn firmware(c: &Client, cmd: FirmwareCmd, as_json: bool) -> anyhow::Result<()> {
    match cmd {
        FirmwareCmd::Set {
            model,
            version,
            url,
            file,
            steps,
            tenant,
            device,
        } => {
            let scope = match (&tenant, &device) {
                (Some(_), _) => PolicyScope::Tenant,
                (_, Some(_)) => PolicyScope::Device,
                _ => PolicyScope::Installation,
            };
            let body = PutPolicy {
                scope,
                tenant,
                mac: device,
                model,
                target: Stage { version, url, file },
                steps: steps
                    .iter()
                    .map(|s| step(s))
                    .collect::<anyhow::Result<_>>()?,
            };
            let p: Policy = c.send(Method::PUT, "/firmware/policies", &body).await?;
            if as_json {
                return print_json(&p);
            }
            println!(
                "firmware policy {} set: {} phones of {} go to {}{}",
                p.id,
                p.model,
                whom(&p),
                p.target.version,
                if p.steps.is_empty() {
                    String::new()
                } else {
                    format!(
                        " through {}",
                        p.steps
                            .iter()
                            .map(|s| s.version.to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                }
            );
        }
        FirmwareCmd::List => {
            let ps: Vec<Policy> = c.get("/firmware/policies").await?;
            if as_json {
                return print_json(&ps);
            }
            table(
                &["ID", "MODEL", "FOR", "TARGET", "IMAGE", "STEPS"],
                ps.iter()
                    .map(|p| {
                        vec![
                            p.id.to_string(),
                            p.model.to_string(),
                            whom(p),
                            p.target.version.to_string(),
                            image(&p.target).to_owned(),
                            dash(
                                Some(
                                    p.steps
                                        .iter()
                                        .map(|s| s.version.to_string())
                                        .collect::<Vec<_>>()
                                        .join(" → "),
                                )
                                .filter(|s| !s.is_empty())
                                .as_ref(),
                            ),
                        ]
                    })
                    .collect(),
            );
        }
        FirmwareCmd::Remove { id } => {
            c.call_text(
                Method::DELETE,
                &format!("/firmware/policies/{id}"),
                None::<&()>,
            )
            .await?;
            if !as_json {
                println!("firmware policy {id} removed");
            }
        }
    }
    Ok(())
}

/// Whom a policy is for, in words.
fn whom(p: &Policy) -> String {
    match (&p.tenant, &p.mac) {
        (Some(t), _) => format!("tenant {t}"),
        (_, Some(m)) => format!("device {m}"),
        _ => "the installation".to_owned(),
    }
}
