//! `touchless device …`: the registry, and registering devices at their provider.

use clap::Subcommand;
use reqwest::Method;
use serde_json::{json, Value};

use super::*;
use crate::client::Client;

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
