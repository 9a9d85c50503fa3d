//! The CLI subcommands that mirror the admin API: `tenant …` and `device …`.

use clap::Subcommand;
use reqwest::Method;
use serde_json::{json, Value};

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

#[derive(Subcommand)]
pub enum DeviceCmd {
    /// Add a device.
    Add {
        /// MAC address, e.g. 000413AABBCC or 00:04:13:AA:BB:CC.
        mac: String,
        /// Model, e.g. snomD717.
        #[arg(long)]
        model: String,
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        name: Option<String>,
        /// A SIP line: EXTENSION:PASSWORD[:DISPLAY NAME], repeatable (line 1, 2, …).
        #[arg(long = "line")]
        lines: Vec<String>,
        /// A Snom setting for this phone: NAME[IDX]=VALUE, repeatable.
        #[arg(long = "setting")]
        settings: Vec<String>,
    },
    /// Change a device: the flags of `add`. `--line`/`--setting` replace all
    /// lines/settings; `--add-line`/`--add-setting` add to them.
    Edit {
        mac: String,
        #[arg(long)]
        model: Option<String>,
        #[arg(long)]
        tenant: Option<String>,
        #[arg(long)]
        name: Option<String>,
        /// EXTENSION:PASSWORD[:DISPLAY NAME], repeatable: the lines become exactly these.
        #[arg(long = "line")]
        lines: Vec<String>,
        /// EXTENSION:PASSWORD[:DISPLAY NAME], repeatable: added after the last line.
        #[arg(long = "add-line")]
        add_lines: Vec<String>,
        /// NAME[IDX]=VALUE, repeatable: the settings become exactly these.
        #[arg(long = "setting")]
        settings: Vec<String>,
        /// NAME[IDX]=VALUE, repeatable: added, or replacing the one of the same name and index.
        #[arg(long = "add-setting")]
        add_settings: Vec<String>,
        /// Remove every setting of the device.
        #[arg(long, conflicts_with = "settings")]
        clear_settings: bool,
    },
    /// List devices.
    List {
        #[arg(long)]
        tenant: Option<String>,
        #[arg(long)]
        status: Option<String>,
        #[arg(long)]
        model: Option<String>,
        /// Search name, MAC and extensions.
        #[arg(long)]
        search: Option<String>,
        /// At most this many devices (a page).
        #[arg(long)]
        limit: Option<u32>,
        /// Skip this many devices first.
        #[arg(long)]
        offset: Option<u32>,
    },
    /// Show one device.
    Show {
        mac: String,
        /// Also show the passwords (ztprov and /prov).
        #[arg(long)]
        secrets: bool,
    },
    /// Remove devices. One registered at a provider is deregistered first and
    /// removed once that has succeeded (follow with `device list`).
    Remove {
        /// MAC addresses.
        macs: Vec<String>,
        /// Every device.
        #[arg(long, conflicts_with_all = ["macs", "tenant"])]
        all: bool,
        /// Every device of a tenant.
        #[arg(long, conflicts_with = "macs")]
        tenant: Option<String>,
        /// Remove at once, even if still registered at a provider (which then
        /// keeps pointing the phone here).
        #[arg(long)]
        force: bool,
    },
    /// Print the exact file the provisioning server serves for the device.
    Preview {
        mac: String,
        /// prov (default), ztprov or model.
        #[arg(long, default_value = "prov")]
        file: String,
    },
    /// Register devices at their redirection provider (queued; see `events list`).
    Register {
        /// MAC addresses.
        macs: Vec<String>,
        /// Every device.
        #[arg(long, conflicts_with_all = ["macs", "tenant"])]
        all: bool,
        /// Every device of a tenant.
        #[arg(long, conflicts_with = "macs")]
        tenant: Option<String>,
    },
    /// Remove devices from their redirection provider and invalidate their ztprov credentials.
    Deregister {
        macs: Vec<String>,
        #[arg(long, conflicts_with_all = ["macs", "tenant"])]
        all: bool,
        #[arg(long, conflicts_with = "macs")]
        tenant: Option<String>,
    },
    /// Show the device's contact log (phone requests).
    Contacts {
        mac: String,
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
}

/// The API's device selector: `{"macs": […]}`, `{"tenant": …}` or `{"all": true}`.
fn selection(
    macs: Vec<String>,
    all: bool,
    tenant: Option<String>,
) -> anyhow::Result<serde_json::Value> {
    Ok(if all {
        json!({ "all": true })
    } else if let Some(t) = tenant {
        json!({ "tenant": t })
    } else if !macs.is_empty() {
        json!({ "macs": macs })
    } else {
        anyhow::bail!("name the devices: MAC addresses, --tenant T or --all")
    })
}

async fn queue(
    c: &Client,
    action: &str,
    macs: Vec<String>,
    all: bool,
    tenant: Option<String>,
    as_json: bool,
) -> anyhow::Result<()> {
    let body = selection(macs, all, tenant)?;
    let v = c
        .call(Method::POST, &format!("/devices/{action}"), Some(&body))
        .await?;
    if as_json {
        return print_json(&v);
    }
    println!("{} device(s) queued to {action}; follow with `touchless device list` or `touchless events list`", s(&v, "queued"));
    Ok(())
}

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

/// `language=Deutsch`, `user_idle_text[1]=Hi`, `fkey[0]=blf sip:402@pbx`.
/// A repeatable flag as a JSON list; absent when the flag was not given.
fn list_flag(
    items: &[String],
    parse: fn(&str) -> anyhow::Result<Value>,
) -> anyhow::Result<Option<Value>> {
    if items.is_empty() {
        return Ok(None);
    }
    Ok(Some(Value::Array(
        items
            .iter()
            .map(|i| parse(i))
            .collect::<anyhow::Result<_>>()?,
    )))
}

/// `--setting` (replace with these) or `--clear-settings` (replace with none).
fn settings_flag(items: &[String], clear: bool) -> anyhow::Result<Option<Value>> {
    if clear {
        return Ok(Some(Value::Array(Vec::new())));
    }
    list_flag(items, parse_setting)
}

fn parse_setting(s: &str) -> anyhow::Result<Value> {
    let (key, value) = s.split_once('=').ok_or_else(|| {
        anyhow::anyhow!("setting {s:?} must look like NAME=VALUE or NAME[IDX]=VALUE")
    })?;
    let (name, idx) = match key.split_once('[') {
        Some((n, rest)) => {
            let idx: u32 = rest
                .strip_suffix(']')
                .and_then(|i| i.parse().ok())
                .ok_or_else(|| {
                    anyhow::anyhow!("setting {s:?}: the index must be a number in [ ]")
                })?;
            (n, Some(idx))
        }
        None => (key, None),
    };
    Ok(json!({ "name": name, "idx": idx, "value": value }))
}

fn parse_line(s: &str) -> anyhow::Result<Value> {
    let mut parts = s.splitn(3, ':');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(ext), Some(pass), name) if !ext.is_empty() && !pass.is_empty() => Ok(json!({
            "extension": ext, "sip_password": pass, "display_name": name.unwrap_or(""),
        })),
        _ => anyhow::bail!("line {s:?} must look like EXTENSION:PASSWORD[:DISPLAY NAME]"),
    }
}

fn s(v: &Value, key: &str) -> String {
    match v.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => "-".into(),
        Some(other) => other.to_string(),
    }
}

/// Prints a JSON array as a table, one row per element.
fn table_of(list: &Value, headers: &[&str], row: impl Fn(&Value) -> Vec<String>) {
    table(
        headers,
        list.as_array().into_iter().flatten().map(row).collect(),
    );
}

/// Prints rows as aligned columns.
fn table(headers: &[&str], rows: Vec<Vec<String>>) {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let mut out = String::new();
        for (i, (c, w)) in cells.iter().zip(&widths).enumerate() {
            if i + 1 == cells.len() {
                out.push_str(c);
            } else {
                out.push_str(&format!("{c:<w$}  "));
            }
        }
        println!("{}", out.trim_end());
    };
    line(headers.iter().map(|h| h.to_string()).collect());
    for r in rows {
        line(r);
    }
}

fn print_json(v: &Value) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
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

fn print_settings(v: &Value) {
    let settings = v["settings"].as_array().cloned().unwrap_or_default();
    if settings.is_empty() {
        return;
    }
    println!("settings:");
    for st in settings {
        let idx = st
            .get("idx")
            .and_then(Value::as_u64)
            .map(|i| format!("[{i}]"))
            .unwrap_or_default();
        println!(
            "  {}{idx} = {} (perm {})",
            s(&st, "name"),
            s(&st, "value"),
            s(&st, "perm")
        );
    }
}

fn extension(d: &Value) -> String {
    d["lines"]
        .as_array()
        .and_then(|l| l.first())
        .map(|l| s(l, "extension"))
        .unwrap_or_else(|| "-".into())
}

pub async fn device(c: &Client, cmd: DeviceCmd, as_json: bool) -> anyhow::Result<()> {
    match cmd {
        DeviceCmd::Add {
            mac,
            model,
            tenant,
            name,
            lines,
            settings,
        } => {
            let lines = lines
                .iter()
                .map(|l| parse_line(l))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let settings = settings
                .iter()
                .map(|s| parse_setting(s))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let body = json!({
                "mac": mac, "model": model, "tenant": tenant, "name": name,
                "lines": lines, "settings": settings,
            });
            let d = c.call(Method::POST, "/devices", Some(&body)).await?;
            if as_json {
                return print_json(&d);
            }
            println!(
                "device {} ({}) added to tenant {}",
                s(&d, "mac"),
                s(&d, "model"),
                s(&d, "tenant")
            );
            println!(
                "  ztprov user      {}   (one-time: until {})",
                s(&d, "ztprov_user"),
                s(&d, "ztprov_expires_at")
            );
            println!("  ztprov password  {}", s(&d, "ztprov_pass"));
            println!("  prov user        {}", s(&d, "prov_user"));
            println!("  prov password    {}", s(&d, "prov_pass"));
        }
        DeviceCmd::Edit {
            mac,
            model,
            tenant,
            name,
            lines,
            add_lines,
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
            put("model", model.map(Value::from));
            put("tenant", tenant.map(Value::from));
            put("name", name.map(Value::from));
            put("lines", list_flag(&lines, parse_line)?);
            put("add_lines", list_flag(&add_lines, parse_line)?);
            put("settings", settings_flag(&settings, clear_settings)?);
            put("add_settings", list_flag(&add_settings, parse_setting)?);
            let d = c
                .call(
                    Method::PATCH,
                    &format!("/devices/{}", enc(&mac)),
                    Some(&Value::Object(body)),
                )
                .await?;
            if as_json {
                return print_json(&d);
            }
            println!(
                "device {} changed (revision {}); phones get it on their next fetch",
                s(&d, "mac"),
                s(&d, "revision")
            );
        }
        DeviceCmd::List {
            tenant,
            status,
            model,
            search,
            limit,
            offset,
        } => {
            let mut q = Vec::new();
            for (k, v) in [
                ("tenant", tenant),
                ("status", status),
                ("model", model),
                ("q", search),
                ("limit", limit.map(|l| l.to_string())),
                ("offset", offset.map(|o| o.to_string())),
            ] {
                if let Some(v) = v {
                    q.push(format!("{k}={}", enc(&v)));
                }
            }
            let path = if q.is_empty() {
                "/devices".to_owned()
            } else {
                format!("/devices?{}", q.join("&"))
            };
            let ds = c.call(Method::GET, &path, None).await?;
            if as_json {
                return print_json(&ds);
            }
            table_of(
                &ds,
                &[
                    "MAC",
                    "NAME",
                    "EXTENSION",
                    "MODEL",
                    "TENANT",
                    "STATUS",
                    "REGISTERED",
                    "LAST MESSAGE",
                ],
                |d| {
                    vec![
                        s(d, "mac"),
                        s(d, "name"),
                        extension(d),
                        s(d, "model"),
                        s(d, "tenant"),
                        s(d, "status"),
                        s(d, "registered_at"),
                        s(d, "last_message"),
                    ]
                },
            );
        }
        DeviceCmd::Show { mac, secrets } => {
            let mut d = c
                .call(Method::GET, &format!("/devices/{}", enc(&mac)), None)
                .await?;
            if secrets {
                let cr = c
                    .call(
                        Method::GET,
                        &format!("/devices/{}/credentials", enc(&mac)),
                        None,
                    )
                    .await?;
                for k in [
                    "ztprov_pass",
                    "ztprov_url",
                    "prov_credentials",
                    "prov_user",
                    "prov_pass",
                    "prov_url",
                ] {
                    d[k] = cr[k].clone();
                }
            }
            if as_json {
                return print_json(&d);
            }
            for key in [
                "mac",
                "model",
                "tenant",
                "name",
                "status",
                "registered_at",
                "last_message",
                "ztprov_user",
                "ztprov_pass",
                "ztprov_url",
                "ztprov_expires_at",
                "ztprov_used_at",
                "prov_credentials",
                "prov_user",
                "prov_pass",
                "prov_url",
                "revision",
                "created_at",
                "updated_at",
            ] {
                if d.get(key).is_some() {
                    println!("{key:<18} {}", s(&d, key));
                }
            }
            let lines = d["lines"].as_array().cloned().unwrap_or_default();
            if !lines.is_empty() {
                println!("lines:");
                for l in lines {
                    println!(
                        "  {}: {} (auth {}) {}",
                        s(&l, "idx"),
                        s(&l, "extension"),
                        s(&l, "auth_user"),
                        s(&l, "display_name")
                    );
                }
            }
            print_settings(&d);
        }
        DeviceCmd::Remove {
            macs,
            all,
            tenant,
            force,
        } => {
            let mut body = selection(macs, all, tenant)?;
            body["force"] = json!(force);
            let v = c.call(Method::POST, "/devices/remove", Some(&body)).await?;
            if as_json {
                return print_json(&v);
            }
            let count = |k: &str| v[k].as_array().map_or(0, Vec::len);
            println!("{} device(s) removed", count("removed"));
            if count("deregistering") > 0 {
                println!(
                    "{} device(s) being deregistered first; they are removed once their provider has let them go (`touchless device list`)",
                    count("deregistering")
                );
            }
            if count("left_at_provider") > 0 {
                println!(
                    "warning: {} device(s) may still be registered at their provider, pointing phones here: {}",
                    count("left_at_provider"),
                    v["left_at_provider"]
                );
            }
        }
        DeviceCmd::Preview { mac, file } => {
            let text = c
                .call_text(
                    Method::GET,
                    &format!("/devices/{}/preview?file={}", enc(&mac), enc(&file)),
                    None,
                )
                .await?;
            print!("{text}");
        }
        DeviceCmd::Register { macs, all, tenant } | DeviceCmd::Deregister { macs, all, tenant }
            if macs.is_empty() && !all && tenant.is_none() =>
        {
            let _ = (macs, all, tenant);
            anyhow::bail!("name the devices: MAC addresses, --tenant T or --all");
        }
        DeviceCmd::Register { macs, all, tenant } => {
            queue(c, "register", macs, all, tenant, as_json).await?
        }
        DeviceCmd::Deregister { macs, all, tenant } => {
            queue(c, "deregister", macs, all, tenant, as_json).await?
        }
        DeviceCmd::Contacts { mac, limit } => {
            let cs = c
                .call(
                    Method::GET,
                    &format!("/devices/{}/contacts?limit={limit}", enc(&mac)),
                    None,
                )
                .await?;
            if as_json {
                return print_json(&cs);
            }
            table_of(
                &cs,
                &["TIME", "SOURCE", "STATUS", "HITS", "PATH", "USER AGENT"],
                |c| {
                    vec![
                        s(c, "at"),
                        s(c, "ip"),
                        s(c, "status"),
                        s(c, "hits"),
                        s(c, "path"),
                        s(c, "user_agent"),
                    ]
                },
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_settings_and_lines() {
        assert_eq!(
            parse_setting("language=Deutsch").unwrap(),
            json!({"name":"language","idx":null,"value":"Deutsch"})
        );
        assert_eq!(
            parse_setting("fkey[3]=blf sip:1@x=y").unwrap(),
            json!({"name":"fkey","idx":3,"value":"blf sip:1@x=y"})
        );
        assert!(parse_setting("novalue").is_err());
        assert!(parse_setting("x[a]=1").is_err());
        assert_eq!(
            parse_line("401:pw:Alice: Front").unwrap(),
            json!({"extension":"401","sip_password":"pw","display_name":"Alice: Front"})
        );
        assert!(parse_line("401").is_err());
    }
}
