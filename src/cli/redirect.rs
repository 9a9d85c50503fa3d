//! `touchless redirect …`: the redirection service's companies, API keys, endpoints and contacts.

use clap::Subcommand;
use reqwest::Method;
use serde_json::{json, Value};

use super::*;
use crate::client::Client;

#[derive(Subcommand)]
pub enum RedirectCmd {
    /// Companies (accounts) of the redirection service.
    #[command(subcommand)]
    Company(CompanyCmd),
    /// API keys (Hawk credentials) of a company.
    #[command(subcommand)]
    Key(KeyCmd),
    /// Endpoints (MACs) registered at the redirection service.
    #[command(subcommand)]
    Endpoint(EndpointCmd),
    /// Phones that asked the redirection service where to go.
    Contacts {
        #[arg(long)]
        mac: Option<String>,
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
}

#[derive(Subcommand)]
pub enum CompanyCmd {
    /// Create a company.
    Add { name: String },
    /// List companies.
    List,
}

#[derive(Subcommand)]
pub enum KeyCmd {
    /// Create an API key; prints its id and secret once.
    Add {
        /// Company id.
        #[arg(long)]
        company: String,
        /// none, read, write or admin.
        #[arg(long, default_value = "write")]
        role: String,
    },
    /// List API keys.
    List {
        #[arg(long)]
        company: Option<String>,
    },
    /// Disable an API key.
    Revoke { id: String },
}

#[derive(Subcommand)]
pub enum EndpointCmd {
    /// List endpoints.
    List {
        #[arg(long)]
        company: Option<String>,
    },
    /// Show one endpoint and the settings it hands the phone (passwords masked).
    Show {
        mac: String,
        /// Also print the passwords the endpoint hands the phone.
        #[arg(long)]
        secrets: bool,
    },
}

pub async fn redirect(c: &Client, cmd: RedirectCmd, as_json: bool) -> anyhow::Result<()> {
    match cmd {
        RedirectCmd::Company(CompanyCmd::Add { name }) => {
            let v = c
                .call(
                    Method::POST,
                    "/redirect/companies",
                    Some(&json!({ "name": name })),
                )
                .await?;
            if as_json {
                return print_json(&v);
            }
            println!("company {} created: {}", s(&v, "name"), s(&v, "id"));
        }
        RedirectCmd::Company(CompanyCmd::List) => {
            let v = c.call(Method::GET, "/redirect/companies", None).await?;
            if as_json {
                return print_json(&v);
            }
            table_of(&v, &["ID", "NAME", "CREATED"], |c| {
                vec![s(c, "id"), s(c, "name"), s(c, "created_at")]
            });
        }
        RedirectCmd::Key(KeyCmd::Add { company, role }) => {
            let v = c
                .call(
                    Method::POST,
                    "/redirect/keys",
                    Some(&json!({ "company": company, "role": role })),
                )
                .await?;
            if as_json {
                return print_json(&v);
            }
            println!(
                "API key created for company {} with role {}",
                s(&v, "company"),
                s(&v, "role")
            );
            println!("  access key id      {}", s(&v, "id"));
            println!("  access key secret  {}", s(&v, "secret"));
            println!("The secret is shown only now; store it in the PBX's provider settings.");
        }
        RedirectCmd::Key(KeyCmd::List { company }) => {
            let path = match company {
                Some(c) => format!("/redirect/keys?company={}", enc(&c)),
                None => "/redirect/keys".into(),
            };
            let v = c.call(Method::GET, &path, None).await?;
            if as_json {
                return print_json(&v);
            }
            table_of(
                &v,
                &["ID", "COMPANY", "ROLE", "ENABLED", "LAST USED"],
                |k| {
                    vec![
                        s(k, "id"),
                        s(k, "company"),
                        s(k, "role"),
                        s(k, "enabled"),
                        s(k, "last_used_at"),
                    ]
                },
            );
        }
        RedirectCmd::Key(KeyCmd::Revoke { id }) => {
            let v = c
                .call(
                    Method::DELETE,
                    &format!("/redirect/keys/{}", enc(&id)),
                    None,
                )
                .await?;
            if as_json {
                return print_json(&v);
            }
            println!("API key {id} revoked");
        }
        RedirectCmd::Endpoint(EndpointCmd::List { company }) => {
            let path = match company {
                Some(c) => format!("/redirect/endpoints?company={}", enc(&c)),
                None => "/redirect/endpoints".into(),
            };
            let v = c.call(Method::GET, &path, None).await?;
            if as_json {
                return print_json(&v);
            }
            table_of(
                &v["endpoints"],
                &["MAC", "COMPANY", "NAME", "ENABLED", "UPDATED"],
                |e| {
                    vec![
                        s(e, "mac"),
                        s(e, "company"),
                        s(e, "name"),
                        s(e, "autoprovisioning_enabled"),
                        s(e, "updated_at"),
                    ]
                },
            );
            println!("{} endpoint(s)", s(&v, "total"));
        }
        RedirectCmd::Endpoint(EndpointCmd::Show { mac, secrets }) => {
            let v = c
                .call(
                    Method::GET,
                    &format!(
                        "/redirect/endpoints/{}{}",
                        enc(&mac),
                        if secrets { "?secrets=true" } else { "" }
                    ),
                    None,
                )
                .await?;
            if as_json {
                return print_json(&v);
            }
            for key in [
                "mac",
                "company",
                "name",
                "autoprovisioning_enabled",
                "profile",
                "created_at",
                "updated_at",
            ] {
                println!("{key:<25} {}", s(&v, key));
            }
            println!("settings:");
            for st in v["settings"].as_array().into_iter().flatten() {
                let idx = st
                    .get("idx")
                    .and_then(Value::as_u64)
                    .map(|i| format!("[{i}]"))
                    .unwrap_or_default();
                println!(
                    "  {}{idx} = {} (perm {})",
                    s(st, "param_name"),
                    s(st, "value"),
                    s(st, "perm")
                );
            }
        }
        RedirectCmd::Contacts { mac, limit } => {
            let mut path = format!("/redirect/contacts?limit={limit}");
            if let Some(m) = mac {
                path.push_str(&format!("&mac={}", enc(&m)));
            }
            let v = c.call(Method::GET, &path, None).await?;
            if as_json {
                return print_json(&v);
            }
            table_of(
                &v,
                &["TIME", "MAC", "SOURCE", "FIRMWARE", "OUTCOME", "PATH"],
                |c| {
                    vec![
                        s(c, "at"),
                        s(c, "mac"),
                        s(c, "ip"),
                        s(c, "firmware"),
                        s(c, "outcome"),
                        s(c, "path"),
                    ]
                },
            );
        }
    }
    Ok(())
}
