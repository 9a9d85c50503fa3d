//! `touchless tenant …`: tenants, their SIP registrar, provisioning credentials and settings.

use clap::Subcommand;
use reqwest::Method;
use touchless_api::tenants::{NewTenant, Tenant, TenantCredentials, TenantPatch};
use touchless_api::wire::Port;
use touchless_domain::{
    DisplayText, Host, ProvPassword, ProvScope, ProvUser, TenantId, TouchlessMode,
};

use super::*;
use crate::client::Client;

#[derive(Subcommand)]
pub enum TenantCmd {
    /// Create a tenant.
    Add {
        /// Tenant id, a slug such as `acme`.
        id: TenantId,
        #[arg(long)]
        name: Option<DisplayText>,
        /// SIP registrar host the phones register at.
        #[arg(long)]
        sip_host: Host,
        #[arg(long, value_parser = clap::value_parser!(u16).range(1..))]
        sip_port: Option<u16>,
        /// Provisioning HTTP user (≤30 chars) [default: prov-<id>].
        #[arg(long)]
        prov_user: Option<ProvUser>,
        /// Provisioning HTTP password (≤20 chars) [default: generated].
        #[arg(long)]
        prov_pass: Option<ProvPassword>,
        /// master or per-tenant.
        #[arg(long)]
        mode: Option<TouchlessMode>,
        /// Which credentials open a phone's /prov files: `device` (each phone
        /// its own, the default) or `tenant` (one pair for every phone).
        #[arg(long)]
        prov_credentials: Option<ProvScope>,
        /// A setting for every phone of the tenant: NAME[IDX]=VALUE, repeatable.
        #[arg(long = "setting")]
        settings: Vec<String>,
    },
    /// Change a tenant: the flags of `add`; `--setting` replaces every setting,
    /// `--add-setting` adds one or replaces the one of the same name and index.
    Edit {
        id: TenantId,
        #[arg(long)]
        name: Option<DisplayText>,
        #[arg(long)]
        sip_host: Option<Host>,
        #[arg(long, value_parser = clap::value_parser!(u16).range(1..))]
        sip_port: Option<u16>,
        #[arg(long)]
        prov_user: Option<ProvUser>,
        #[arg(long)]
        prov_pass: Option<ProvPassword>,
        /// master or per-tenant.
        #[arg(long)]
        mode: Option<TouchlessMode>,
        /// device or tenant.
        #[arg(long)]
        prov_credentials: Option<ProvScope>,
        /// NAME[IDX]=VALUE, repeatable: the tenant's settings become exactly these.
        #[arg(long = "setting")]
        settings: Vec<String>,
        /// NAME[IDX]=VALUE, repeatable: added to the tenant's settings.
        #[arg(long = "add-setting")]
        add_settings: Vec<String>,
        /// Remove every setting of the tenant.
        #[arg(long, conflicts_with = "settings")]
        clear_settings: bool,
    },
    /// List tenants.
    List,
    /// Show one tenant.
    Show {
        id: TenantId,
        /// Also show the provisioning password.
        #[arg(long)]
        secrets: bool,
    },
    /// Remove a tenant (it must have no devices).
    Remove { id: TenantId },
}

pub async fn tenant(c: &Client, cmd: TenantCmd, as_json: bool) -> anyhow::Result<()> {
    match cmd {
        TenantCmd::Add {
            id,
            name,
            sip_host,
            sip_port,
            prov_user,
            prov_pass,
            mode,
            prov_credentials,
            settings,
        } => {
            let body = NewTenant {
                id,
                name,
                prov_user,
                prov_pass,
                sip_host,
                sip_port: sip_port.map(Port),
                mode,
                prov_credentials,
                settings: list_flag(&settings, parse_setting)?,
            };
            let t: Tenant = c.send(Method::POST, "/tenants", &body).await?;
            if as_json {
                return print_json(&t);
            }
            println!("tenant {} created", t.id);
            if t.prov_credentials == ProvScope::Device {
                println!(
                    "  provisioning credentials  per device (each phone gets its own from /ztprov)"
                );
            } else {
                println!("  provisioning user      {}", t.prov_user);
                println!("  provisioning password  {}", dash(t.prov_pass.as_ref()));
            }
        }
        TenantCmd::Edit {
            id,
            name,
            sip_host,
            sip_port,
            prov_user,
            prov_pass,
            mode,
            prov_credentials,
            settings,
            add_settings,
            clear_settings,
        } => {
            let body = TenantPatch {
                name,
                prov_user,
                prov_pass,
                sip_host,
                sip_port: sip_port.map(Port),
                mode,
                prov_credentials,
                settings: settings_flag(&settings, clear_settings)?,
                add_settings: list_flag(&add_settings, parse_setting)?,
            };
            let t: Tenant = c
                .send(Method::PATCH, &format!("/tenants/{id}"), &body)
                .await?;
            if as_json {
                return print_json(&t);
            }
            println!("tenant {} changed (revision {})", t.id, t.revision);
        }
        TenantCmd::List => {
            let ts: Vec<Tenant> = c.get("/tenants").await?;
            if as_json {
                return print_json(&ts);
            }
            table(
                &["ID", "NAME", "REGISTRAR", "PROV CREDENTIALS", "MODE"],
                ts.iter()
                    .map(|t| {
                        vec![
                            t.id.to_string(),
                            t.name.to_string(),
                            format!("{}:{}", t.sip_host, t.sip_port),
                            match t.prov_credentials {
                                ProvScope::Device => "per device".to_owned(),
                                ProvScope::Tenant => t.prov_user.to_string(),
                            },
                            t.mode.to_string(),
                        ]
                    })
                    .collect(),
            );
        }
        TenantCmd::Show { id, secrets } => {
            let mut t: Tenant = c.get(&format!("/tenants/{id}")).await?;
            if secrets {
                let cr: TenantCredentials = c.get(&format!("/tenants/{id}/credentials")).await?;
                t.prov_pass = Some(cr.prov_pass);
            }
            if as_json {
                return print_json(&t);
            }
            let rows = [
                ("id", t.id.to_string()),
                ("name", t.name.to_string()),
                ("sip_host", t.sip_host.to_string()),
                ("sip_port", t.sip_port.to_string()),
                ("mode", t.mode.to_string()),
                ("prov_credentials", t.prov_credentials.to_string()),
                ("prov_user", t.prov_user.to_string()),
                ("prov_pass", dash(t.prov_pass.as_ref())),
                ("revision", t.revision.to_string()),
                ("created_at", when(Some(t.created_at))),
                ("updated_at", when(Some(t.updated_at))),
            ];
            for (key, value) in rows {
                if key != "prov_pass" || t.prov_pass.is_some() {
                    println!("{key:<12} {value}");
                }
            }
            print_settings(&t.settings);
        }
        TenantCmd::Remove { id } => {
            c.call_text(Method::DELETE, &format!("/tenants/{id}"), None::<&()>)
                .await?;
            if !as_json {
                println!("tenant {id} removed");
            }
        }
    }
    Ok(())
}
