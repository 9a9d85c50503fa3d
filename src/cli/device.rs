//! `touchless device …`: the registry, and registering devices at their provider.

use clap::Subcommand;
use reqwest::Method;
use std::io::IsTerminal as _;
use touchless_api::daemon::{Queued, Removed, Selection};
use touchless_api::devices::{Device, DevicePatch, NewDevice};
use touchless_domain::{DeviceStatus, DisplayText, Mac, SerialNumber, TenantId};
use touchless_phones::{PhoneModel, Vendor};

use super::*;
use crate::client::Client;

mod show;

#[derive(Subcommand)]
pub enum DeviceCmd {
    /// Add a device.
    Add {
        /// MAC address, e.g. 000413AABBCC or 00:04:13:AA:BB:CC.
        mac: Mac,
        /// Model, as its provisioning files name it.
        #[arg(long)]
        model: PhoneModel,
        /// The vendor, checked against the model's (optional).
        #[arg(long)]
        vendor: Option<Vendor>,
        #[arg(long)]
        tenant: TenantId,
        #[arg(long)]
        name: Option<DisplayText>,
        /// The serial number on its label, for clouds that register by it.
        #[arg(long)]
        serial: Option<SerialNumber>,
        /// A SIP line: EXTENSION:PASSWORD[:DISPLAY NAME], repeatable (line 1, 2, …).
        #[arg(long = "line")]
        lines: Vec<String>,
        /// A setting for this phone: NAME[IDX]=VALUE, repeatable.
        #[arg(long = "setting")]
        settings: Vec<String>,
    },
    /// Change a device: the flags of `add`. `--line`/`--setting` replace all
    /// lines/settings; `--add-line`/`--add-setting` add to them.
    Edit {
        mac: Mac,
        #[arg(long)]
        model: Option<PhoneModel>,
        #[arg(long)]
        tenant: Option<TenantId>,
        #[arg(long)]
        name: Option<DisplayText>,
        /// The serial number on its label.
        #[arg(long, conflicts_with = "clear_serial")]
        serial: Option<SerialNumber>,
        /// Forget its serial number.
        #[arg(long)]
        clear_serial: bool,
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
        tenant: Option<TenantId>,
        #[arg(long)]
        status: Option<DeviceStatus>,
        #[arg(long)]
        model: Option<PhoneModel>,
        /// Search name, MAC and extensions.
        #[arg(long)]
        search: Option<String>,
        /// `behind`: a firmware policy applies and the phone has not
        /// reported its target; `current`: it has.
        #[arg(long, value_parser = ["behind", "current"])]
        firmware: Option<String>,
        /// At most this many devices (a page).
        #[arg(long)]
        limit: Option<u32>,
        /// Skip this many devices first.
        #[arg(long)]
        offset: Option<u32>,
    },
    /// Show one device.
    Show {
        mac: Mac,
        /// Also show the passwords (ztprov and /prov).
        #[arg(long)]
        secrets: bool,
    },
    /// Remove devices. One registered at a provider is deregistered first and
    /// Import devices from a CSV file (columns mac, model, tenant[, name,
    /// lines, settings]; see the README): every row is checked first, and
    /// with one bad row nothing is written.
    Import {
        file: std::path::PathBuf,
        /// Check every row and report, writing nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Write devices as CSV to stdout, in the import format.
    Export {
        #[arg(long)]
        tenant: Option<TenantId>,
        /// With the lines' SIP passwords.
        #[arg(long)]
        secrets: bool,
    },
    /// removed once that has succeeded (follow with `device list`).
    Remove {
        /// MAC addresses.
        macs: Vec<Mac>,
        /// Every device.
        #[arg(long, conflicts_with_all = ["macs", "tenant"])]
        all: bool,
        /// Every device of a tenant.
        #[arg(long, conflicts_with = "macs")]
        tenant: Option<TenantId>,
        /// Remove at once, even if still registered at a provider (which then
        /// keeps pointing the phone here).
        #[arg(long)]
        force: bool,
    },
    /// Print the exact file the provisioning server serves for the device.
    Preview {
        mac: Mac,
        /// prov (default), ztprov or model.
        #[arg(long, default_value = "prov")]
        file: String,
    },
    /// Register devices at their redirection provider (queued; see `events list`).
    Register {
        /// MAC addresses.
        macs: Vec<Mac>,
        /// Every device.
        #[arg(long, conflicts_with_all = ["macs", "tenant"])]
        all: bool,
        /// Every device of a tenant.
        #[arg(long, conflicts_with = "macs")]
        tenant: Option<TenantId>,
    },
    /// Remove devices from their redirection provider and invalidate their ztprov credentials.
    Deregister {
        macs: Vec<Mac>,
        #[arg(long, conflicts_with_all = ["macs", "tenant"])]
        all: bool,
        #[arg(long, conflicts_with = "macs")]
        tenant: Option<TenantId>,
    },
    /// Show the device's contact log (phone requests).
    Contacts {
        mac: Mac,
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
    /// Ask the device's cloud for the PIN it holds for it (Yealink's YMCS).
    Pin { mac: Mac },
    /// List the files the phone uploaded (Poly phones PUT their logs and
    /// local settings); with `--id`, write that one to stdout.
    Uploads {
        mac: Mac,
        #[arg(long)]
        id: Option<i64>,
    },
}

/// The API's device selection: MACs, a tenant's devices or all of them.
fn selection(macs: Vec<Mac>, all: bool, tenant: Option<TenantId>) -> anyhow::Result<Selection> {
    Ok(if all {
        Selection {
            all: Some(true),
            ..Selection::default()
        }
    } else if let Some(t) = tenant {
        Selection {
            tenant: Some(t),
            ..Selection::default()
        }
    } else if !macs.is_empty() {
        Selection {
            macs: Some(macs),
            ..Selection::default()
        }
    } else {
        anyhow::bail!("name the devices: MAC addresses, --tenant T or --all")
    })
}

async fn queue(c: &Client, action: &str, sel: Selection, as_json: bool) -> anyhow::Result<()> {
    let v: Queued = c
        .send(Method::POST, &format!("/devices/{action}"), &sel)
        .await?;
    if as_json {
        return print_json(&v);
    }
    println!("{} device(s) queued to {action}; follow with `touchless device list` or `touchless events list`", v.queued);
    Ok(())
}

fn first_extension(d: &Device) -> String {
    dash(d.lines.first().map(|l| &l.extension))
}

pub async fn device(c: &Client, cmd: DeviceCmd, as_json: bool) -> anyhow::Result<()> {
    match cmd {
        DeviceCmd::Add {
            mac,
            model,
            vendor,
            tenant,
            name,
            serial,
            lines,
            settings,
        } => {
            let body = NewDevice {
                mac,
                model,
                vendor,
                tenant,
                name,
                serial,
                lines: list_flag(&lines, parse_line)?,
                settings: list_flag(&settings, parse_setting)?,
            };
            let d: Device = c.send(Method::POST, "/devices", &body).await?;
            if as_json {
                return print_json(&d);
            }
            println!(
                "device {} ({}) added to tenant {}",
                d.mac, d.model, d.tenant
            );
            println!(
                "  ztprov user      {}   (one-time: until {})",
                d.ztprov_user,
                when(d.ztprov_expires_at)
            );
            println!("  ztprov password  {}", dash(d.ztprov_pass.as_ref()));
            println!("  prov user        {}", d.prov_user);
            println!("  prov password    {}", dash(d.prov_pass.as_ref()));
        }
        DeviceCmd::Edit {
            mac,
            model,
            tenant,
            name,
            serial,
            clear_serial,
            lines,
            add_lines,
            settings,
            add_settings,
            clear_settings,
        } => {
            let body = DevicePatch {
                model,
                tenant,
                name,
                serial: if clear_serial {
                    Some(None)
                } else {
                    serial.map(Some)
                },
                lines: list_flag(&lines, parse_line)?,
                add_lines: list_flag(&add_lines, parse_line)?,
                settings: settings_flag(&settings, clear_settings)?,
                add_settings: list_flag(&add_settings, parse_setting)?,
            };
            let d: Device = c
                .send(Method::PATCH, &format!("/devices/{mac}"), &body)
                .await?;
            if as_json {
                return print_json(&d);
            }
            println!(
                "device {} changed (revision {}); phones get it on their next fetch",
                d.mac, d.revision
            );
        }
        DeviceCmd::List {
            tenant,
            status,
            model,
            search,
            firmware,
            limit,
            offset,
        } => {
            let mut q = Vec::new();
            for (k, v) in [
                ("tenant", tenant.map(|t| t.to_string())),
                ("status", status.map(|s| s.to_string())),
                ("model", model.map(|m| m.to_string())),
                ("q", search),
                ("firmware", firmware),
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
            let ds: Vec<Device> = c.get(&path).await?;
            if as_json {
                return print_json(&ds);
            }
            table(
                &[
                    "MAC",
                    "NAME",
                    "EXTENSION",
                    "VENDOR",
                    "MODEL",
                    "TENANT",
                    "STATUS",
                    "FIRMWARE",
                    "REGISTERED",
                    "LAST MESSAGE",
                ],
                ds.iter()
                    .map(|d| {
                        vec![
                            d.mac.to_string(),
                            dash(Some(&d.name).filter(|n| !n.as_str().is_empty())),
                            first_extension(d),
                            d.vendor.to_string(),
                            d.model.to_string(),
                            d.tenant.to_string(),
                            d.status.to_string(),
                            firmware_cell(&d.firmware),
                            when(d.registered_at),
                            dash(Some(&d.last_message).filter(|m| !m.is_empty())),
                        ]
                    })
                    .collect(),
            );
        }
        DeviceCmd::Show { mac, secrets } => show::show(c, mac, secrets, as_json).await?,
        DeviceCmd::Import { file, dry_run } => {
            let csv = std::fs::read(&file)
                .map_err(|e| anyhow::anyhow!("reading {}: {e}", file.display()))?;
            let path = format!(
                "/devices/import{}",
                if dry_run { "?dry_run=true" } else { "" }
            );
            // One request, written all or nothing by the server: what a
            // person at a terminal can be shown is that it is under way.
            let rows = csv
                .iter()
                .filter(|&&b| b == b'\n')
                .count()
                .saturating_sub(1);
            let spinner = (rows >= 1_000 && std::io::stderr().is_terminal()).then(|| {
                let s = indicatif::ProgressBar::new_spinner().with_message(format!(
                    "{} {rows} rows from {}",
                    if dry_run { "checking" } else { "importing" },
                    file.display()
                ));
                s.enable_steady_tick(std::time::Duration::from_millis(100));
                s
            });
            let answered = c.post_csv(&path, csv).await;
            if let Some(s) = spinner {
                s.finish_and_clear();
            }
            let (status, text) = answered?;
            let report: touchless_api::devices::ImportReport = match serde_json::from_str(&text) {
                Ok(r) => r,
                Err(_) => anyhow::bail!("{status} {text}"),
            };
            if as_json {
                print_json(&report)?;
            } else if report.problems.is_empty() {
                match report.dry_run {
                    true => println!(
                        "all {} row(s) are good; nothing was written (dry run)",
                        report.rows
                    ),
                    false => println!("{} device(s) imported", report.created),
                }
            } else {
                for p in &report.problems {
                    println!("row {}, column {}: {}", p.row, p.column, p.reason);
                }
            }
            if !report.problems.is_empty() {
                anyhow::bail!(
                    "{} problem(s) in {} row(s); nothing was imported",
                    report.problems.len(),
                    report.rows
                );
            }
        }
        DeviceCmd::Export { tenant, secrets } => {
            let mut q = Vec::new();
            if let Some(t) = &tenant {
                q.push(format!("tenant={}", enc(t.as_str())));
            }
            if secrets {
                q.push("secrets=true".to_owned());
            }
            let path = format!("/devices/export?{}", q.join("&"));
            print!("{}", c.call_text(Method::GET, &path, None::<&()>).await?);
        }
        DeviceCmd::Remove {
            macs,
            all,
            tenant,
            force,
        } => {
            let body = Selection {
                force: Some(force),
                ..selection(macs, all, tenant)?
            };
            let v: Removed = c.send(Method::POST, "/devices/remove", &body).await?;
            if as_json {
                return print_json(&v);
            }
            println!("{} device(s) removed", v.removed.len());
            if !v.deregistering.is_empty() {
                println!(
                    "{} device(s) being deregistered first; they are removed once their provider has let them go (`touchless device list`)",
                    v.deregistering.len()
                );
            }
            if !v.left_at_provider.is_empty() {
                let macs: Vec<String> = v.left_at_provider.iter().map(Mac::to_string).collect();
                println!(
                    "warning: {} device(s) may still be registered at their provider, pointing phones here: {}",
                    macs.len(),
                    macs.join(", ")
                );
            }
        }
        DeviceCmd::Preview { mac, file } => {
            let text = c
                .call_text(
                    Method::GET,
                    &format!("/devices/{mac}/preview?file={}", enc(&file)),
                    None::<&()>,
                )
                .await?;
            print!("{text}");
        }
        DeviceCmd::Register { macs, all, tenant } => {
            queue(c, "register", selection(macs, all, tenant)?, as_json).await?
        }
        DeviceCmd::Deregister { macs, all, tenant } => {
            queue(c, "deregister", selection(macs, all, tenant)?, as_json).await?
        }
        DeviceCmd::Pin { mac } => show::pin(c, mac, as_json).await?,
        DeviceCmd::Uploads { mac, id } => show::uploads(c, mac, id, as_json).await?,
        DeviceCmd::Contacts { mac, limit } => show::contacts(c, mac, limit, as_json).await?,
    }
    Ok(())
}

/// A device's firmware in a list: what it reported, and where it is headed
/// while it is behind its policy.
fn firmware_cell(f: &touchless_api::firmware::DeviceFirmware) -> String {
    let reported = f.reported.as_deref().unwrap_or("?");
    match (f.standing, &f.target) {
        (touchless_api::firmware::Standing::Behind, Some(t)) => format!("{reported} → {t}"),
        (touchless_api::firmware::Standing::None, _) if f.reported.is_none() => "-".to_owned(),
        _ => reported.to_owned(),
    }
}
