//! `touchless redirect …`: the redirection service's companies, API keys, endpoints and contacts.

use clap::Subcommand;
use reqwest::Method;
use touchless_api::redirect::{
    ApiKey, Company, EndpointDetail, EndpointList, NewApiKey, NewCompany, RedirectContact,
};
use touchless_domain::{Mac, Role};

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
        mac: Option<Mac>,
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
        role: Role,
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
        mac: Mac,
        /// Also print the passwords the endpoint hands the phone.
        #[arg(long)]
        secrets: bool,
    },
}

pub async fn redirect(c: &Client, cmd: RedirectCmd, as_json: bool) -> anyhow::Result<()> {
    match cmd {
        RedirectCmd::Company(CompanyCmd::Add { name }) => {
            let v: Company = c
                .send(Method::POST, "/redirect/companies", &NewCompany { name })
                .await?;
            if as_json {
                return print_json(&v);
            }
            println!("company {} created: {}", v.name, v.id);
        }
        RedirectCmd::Company(CompanyCmd::List) => {
            let cs: Vec<Company> = c.get("/redirect/companies").await?;
            if as_json {
                return print_json(&cs);
            }
            table(
                &["ID", "NAME", "CREATED"],
                cs.iter()
                    .map(|c| vec![c.id.clone(), c.name.clone(), when(Some(c.created_at))])
                    .collect(),
            );
        }
        RedirectCmd::Key(KeyCmd::Add { company, role }) => {
            let body = NewApiKey {
                company,
                role: Some(role),
            };
            let k: ApiKey = c.send(Method::POST, "/redirect/keys", &body).await?;
            if as_json {
                return print_json(&k);
            }
            println!(
                "API key created for company {} with role {}",
                k.company, k.role
            );
            println!("  access key id      {}", k.id);
            println!("  access key secret  {}", dash(k.secret.as_ref()));
            println!("The secret is shown only now; store it in the PBX's provider settings.");
        }
        RedirectCmd::Key(KeyCmd::List { company }) => {
            let path = match company {
                Some(c) => format!("/redirect/keys?company={}", enc(&c)),
                None => "/redirect/keys".into(),
            };
            let ks: Vec<ApiKey> = c.get(&path).await?;
            if as_json {
                return print_json(&ks);
            }
            table(
                &["ID", "COMPANY", "ROLE", "ENABLED", "LAST USED"],
                ks.iter()
                    .map(|k| {
                        vec![
                            k.id.clone(),
                            k.company.clone(),
                            k.role.to_string(),
                            k.enabled.to_string(),
                            when(k.last_used_at),
                        ]
                    })
                    .collect(),
            );
        }
        RedirectCmd::Key(KeyCmd::Revoke { id }) => {
            let k: ApiKey = c
                .send(Method::DELETE, &format!("/redirect/keys/{}", enc(&id)), &())
                .await?;
            if as_json {
                return print_json(&k);
            }
            println!("API key {id} revoked");
        }
        RedirectCmd::Endpoint(EndpointCmd::List { company }) => {
            let path = match company {
                Some(c) => format!("/redirect/endpoints?company={}", enc(&c)),
                None => "/redirect/endpoints".into(),
            };
            let v: EndpointList = c.get(&path).await?;
            if as_json {
                return print_json(&v);
            }
            table(
                &["MAC", "COMPANY", "NAME", "ENABLED", "UPDATED"],
                v.endpoints
                    .iter()
                    .map(|e| {
                        vec![
                            e.mac.to_string(),
                            e.company.clone(),
                            e.name.clone(),
                            e.autoprovisioning_enabled.to_string(),
                            when(Some(e.updated_at)),
                        ]
                    })
                    .collect(),
            );
            println!("{} endpoint(s)", v.total);
        }
        RedirectCmd::Endpoint(EndpointCmd::Show { mac, secrets }) => {
            let query = if secrets { "?secrets=true" } else { "" };
            let e: EndpointDetail = c.get(&format!("/redirect/endpoints/{mac}{query}")).await?;
            if as_json {
                return print_json(&e);
            }
            for (key, value) in [
                ("mac", e.mac.to_string()),
                ("company", e.company.clone()),
                ("name", e.name.clone()),
                (
                    "autoprovisioning_enabled",
                    e.autoprovisioning_enabled.to_string(),
                ),
                ("profile", dash(e.profile.as_ref())),
                ("created_at", when(Some(e.created_at))),
                ("updated_at", when(Some(e.updated_at))),
            ] {
                println!("{key:<25} {value}");
            }
            println!("settings:");
            for st in &e.settings {
                let idx = st.idx.map(|i| format!("[{i}]")).unwrap_or_default();
                println!(
                    "  {}{idx} = {} (perm {})",
                    dash(st.param_name.as_ref()),
                    st.value,
                    st.perm
                );
            }
        }
        RedirectCmd::Contacts { mac, limit } => {
            let mut path = format!("/redirect/contacts?limit={limit}");
            if let Some(m) = mac {
                path.push_str(&format!("&mac={m}"));
            }
            let cs: Vec<RedirectContact> = c.get(&path).await?;
            if as_json {
                return print_json(&cs);
            }
            table(
                &["TIME", "MAC", "SOURCE", "FIRMWARE", "OUTCOME", "PATH"],
                cs.iter()
                    .map(|c| {
                        vec![
                            when(Some(c.at)),
                            dash(c.mac.as_ref()),
                            c.ip.clone(),
                            dash(c.firmware.as_ref()),
                            c.outcome.clone(),
                            c.path.clone(),
                        ]
                    })
                    .collect(),
            );
        }
    }
    Ok(())
}
