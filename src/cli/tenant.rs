//! `touchless tenant …`: tenants, their SIP registrar, provisioning credentials and settings.

use clap::Subcommand;
use reqwest::Method;
use serde_json::{json, Value};

use super::*;
use crate::client::Client;

#[derive(Subcommand)]
pub enum TenantCmd {
    /// Create a tenant.
    Add {
        /// Tenant id, a slug such as `acme`.
        id: String,
        #[arg(long)]
        name: Option<String>,
        /// SIP registrar host the phones register at.
        #[arg(long)]
        sip_host: String,
        #[arg(long)]
        sip_port: Option<u16>,
        /// Provisioning HTTP user (≤30 chars) [default: prov-<id>].
        #[arg(long)]
        prov_user: Option<String>,
        /// Provisioning HTTP password (≤20 chars) [default: generated].
        #[arg(long)]
        prov_pass: Option<String>,
        /// master or per-tenant.
        #[arg(long)]
        mode: Option<String>,
        /// Which credentials open a phone's /prov files: `device` (each phone
        /// its own, the default) or `tenant` (one pair for every phone).
        #[arg(long)]
        prov_credentials: Option<String>,
        /// A Snom setting for every phone of the tenant: NAME[IDX]=VALUE, repeatable.
        #[arg(long = "setting")]
        settings: Vec<String>,
    },
    /// Change a tenant: the flags of `add`; `--setting` replaces every setting,
    /// `--add-setting` adds one or replaces the one of the same name and index.
    Edit {
        id: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        sip_host: Option<String>,
        #[arg(long)]
        sip_port: Option<u16>,
        #[arg(long)]
        prov_user: Option<String>,
        #[arg(long)]
        prov_pass: Option<String>,
        /// master or per-tenant.
        #[arg(long)]
        mode: Option<String>,
        /// device or tenant.
        #[arg(long)]
        prov_credentials: Option<String>,
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
        id: String,
        /// Also show the provisioning password.
        #[arg(long)]
        secrets: bool,
    },
    /// Remove a tenant (it must have no devices).
    Remove { id: String },
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
            let settings = settings
                .iter()
                .map(|s| parse_setting(s))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let body = json!({
                "id": id, "name": name, "sip_host": sip_host, "sip_port": sip_port,
                "prov_user": prov_user, "prov_pass": prov_pass, "mode": mode,
                "prov_credentials": prov_credentials, "settings": settings,
            });
            let t = c.call(Method::POST, "/tenants", Some(&body)).await?;
            if as_json {
                return print_json(&t);
            }
            println!("tenant {} created", s(&t, "id"));
            if s(&t, "prov_credentials") == "device" {
                println!(
                    "  provisioning credentials  per device (each phone gets its own from /ztprov)"
                );
            } else {
                println!("  provisioning user      {}", s(&t, "prov_user"));
                println!("  provisioning password  {}", s(&t, "prov_pass"));
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
            let mut body = serde_json::Map::new();
            let mut put = |k: &str, v: Option<Value>| {
                if let Some(v) = v {
                    body.insert(k.to_owned(), v);
                }
            };
            put("name", name.map(Value::from));
            put("sip_host", sip_host.map(Value::from));
            put("sip_port", sip_port.map(Value::from));
            put("prov_user", prov_user.map(Value::from));
            put("prov_pass", prov_pass.map(Value::from));
            put("mode", mode.map(Value::from));
            put("prov_credentials", prov_credentials.map(Value::from));
            put("settings", settings_flag(&settings, clear_settings)?);
            put("add_settings", list_flag(&add_settings, parse_setting)?);
            let t = c
                .call(
                    Method::PATCH,
                    &format!("/tenants/{}", enc(&id)),
                    Some(&Value::Object(body)),
                )
                .await?;
            if as_json {
                return print_json(&t);
            }
            println!(
                "tenant {} changed (revision {})",
                s(&t, "id"),
                s(&t, "revision")
            );
        }
        TenantCmd::List => {
            let ts = c.call(Method::GET, "/tenants", None).await?;
            if as_json {
                return print_json(&ts);
            }
            table_of(
                &ts,
                &["ID", "NAME", "REGISTRAR", "PROV CREDENTIALS", "MODE"],
                |t| {
                    vec![
                        s(t, "id"),
                        s(t, "name"),
                        format!("{}:{}", s(t, "sip_host"), s(t, "sip_port")),
                        match s(t, "prov_credentials").as_str() {
                            "device" => "per device".to_owned(),
                            _ => s(t, "prov_user"),
                        },
                        s(t, "mode"),
                    ]
                },
            );
        }
        TenantCmd::Show { id, secrets } => {
            let mut t = c
                .call(Method::GET, &format!("/tenants/{}", enc(&id)), None)
                .await?;
            if secrets {
                let cr = c
                    .call(
                        Method::GET,
                        &format!("/tenants/{}/credentials", enc(&id)),
                        None,
                    )
                    .await?;
                t["prov_pass"] = cr["prov_pass"].clone();
            }
            if as_json {
                return print_json(&t);
            }
            for key in [
                "id",
                "name",
                "sip_host",
                "sip_port",
                "mode",
                "prov_credentials",
                "prov_user",
                "prov_pass",
                "revision",
                "created_at",
                "updated_at",
            ] {
                if t.get(key).is_some() {
                    println!("{key:<12} {}", s(&t, key));
                }
            }
            print_settings(&t);
        }
        TenantCmd::Remove { id } => {
            c.call(Method::DELETE, &format!("/tenants/{}", enc(&id)), None)
                .await?;
            if !as_json {
                println!("tenant {id} removed");
            }
        }
    }
    Ok(())
}
