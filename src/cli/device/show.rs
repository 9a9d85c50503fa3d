//! `touchless device show`, and what a device said or holds elsewhere: its
//! contact log, the files it uploaded, the PIN its cloud keeps.

use touchless_api::devices::{Contact, Device, DeviceCredentials, DevicePin, Upload};
use touchless_domain::Mac;

use super::super::*;
use crate::client::Client;

/// `device pin`: the PIN the device's cloud holds, asked now.
pub(super) async fn pin(c: &Client, mac: Mac, as_json: bool) -> anyhow::Result<()> {
    let p: DevicePin = c.get(&format!("/devices/{mac}/pin")).await?;
    if as_json {
        return print_json(&p);
    }
    match p.pin {
        Some(pin) => println!("{pin}"),
        None => println!("provider {} holds no PIN for {mac}", p.provider),
    }
    Ok(())
}

/// `device uploads`: the list, or with an id that upload's bytes to stdout.
pub(super) async fn uploads(
    c: &Client,
    mac: Mac,
    id: Option<i64>,
    as_json: bool,
) -> anyhow::Result<()> {
    if let Some(id) = id {
        use std::io::Write as _;
        let bytes = c.get_bytes(&format!("/devices/{mac}/uploads/{id}")).await?;
        std::io::stdout().write_all(&bytes)?;
        return Ok(());
    }
    let list: Vec<Upload> = c.get(&format!("/devices/{mac}/uploads")).await?;
    if as_json {
        return print_json(&list);
    }
    table(
        &["ID", "TIME", "FILE", "BYTES"],
        list.iter()
            .map(|u| {
                vec![
                    u.id.to_string(),
                    when(Some(u.at)),
                    u.kind.clone(),
                    u.size.to_string(),
                ]
            })
            .collect(),
    );
    Ok(())
}

/// `device contacts`: the phone's requests, newest first.
pub(super) async fn contacts(
    c: &Client,
    mac: Mac,
    limit: u32,
    as_json: bool,
) -> anyhow::Result<()> {
    let cs: Vec<Contact> = c
        .get(&format!("/devices/{mac}/contacts?limit={limit}"))
        .await?;
    if as_json {
        return print_json(&cs);
    }
    table(
        &["TIME", "SOURCE", "STATUS", "HITS", "PATH", "USER AGENT"],
        cs.iter()
            .map(|c| {
                vec![
                    when(Some(c.at)),
                    c.ip.clone(),
                    c.status.to_string(),
                    c.hits.to_string(),
                    c.path.clone(),
                    c.user_agent.clone(),
                ]
            })
            .collect(),
    );
    Ok(())
}

/// `device show`: the device, with its credentials when asked for.
pub(super) async fn show(c: &Client, mac: Mac, secrets: bool, as_json: bool) -> anyhow::Result<()> {
    let mut d: Device = c.get(&format!("/devices/{mac}")).await?;
    let cr: Option<DeviceCredentials> = match secrets {
        true => Some(c.get(&format!("/devices/{mac}/credentials")).await?),
        false => None,
    };
    // With --secrets, the credentials the phone is handed: /prov ones are the
    // tenant's when its scope is `tenant`.
    if let Some(cr) = &cr {
        d.ztprov_pass = Some(cr.ztprov_pass.clone());
        d.prov_user = cr.prov_user.clone();
        d.prov_pass = Some(cr.prov_pass.clone());
    }
    if as_json {
        #[derive(serde::Serialize)]
        struct Urls<'a> {
            ztprov_url: &'a str,
            prov_url: &'a str,
            prov_credentials: touchless_domain::ProvScope,
        }
        #[derive(serde::Serialize)]
        struct Shown<'a> {
            #[serde(flatten)]
            device: &'a Device,
            #[serde(flatten)]
            urls: Option<Urls<'a>>,
        }
        return print_json(&Shown {
            device: &d,
            urls: cr.as_ref().map(|cr| Urls {
                ztprov_url: &cr.ztprov_url,
                prov_url: &cr.prov_url,
                prov_credentials: cr.prov_credentials,
            }),
        });
    }
    let mut rows = vec![
        ("mac", d.mac.to_string()),
        ("model", d.model.to_string()),
        ("tenant", d.tenant.to_string()),
        ("name", d.name.to_string()),
        ("serial", dash(d.serial.as_ref())),
        ("status", d.status.to_string()),
        ("registered_at", when(d.registered_at)),
        ("last_message", d.last_message.clone()),
        ("ztprov_user", d.ztprov_user.to_string()),
        ("ztprov_expires_at", when(d.ztprov_expires_at)),
        ("ztprov_used_at", when(d.ztprov_used_at)),
    ];
    if let Some(cr) = &cr {
        rows.extend([
            ("ztprov_pass", cr.ztprov_pass.to_string()),
            ("ztprov_url", cr.ztprov_url.clone()),
            ("prov_credentials", cr.prov_credentials.to_string()),
        ]);
    }
    rows.push(("prov_user", d.prov_user.to_string()));
    if let Some(cr) = &cr {
        rows.extend([
            ("prov_pass", cr.prov_pass.to_string()),
            ("prov_url", cr.prov_url.clone()),
        ]);
    }
    let f = &d.firmware;
    rows.push((
        "firmware",
        match (&f.reported, f.reported_at) {
            (Some(v), at) => format!("{v} (reported {})", when(at)),
            (None, _) => "- (not reported yet)".to_owned(),
        },
    ));
    if let Some(target) = &f.target {
        let scope = f.scope.map(|s| s.to_string()).unwrap_or_default();
        let policy = f.policy.unwrap_or_default();
        rows.push((
            "firmware_policy",
            match &f.next {
                None => format!("{target}: current (policy {policy}, {scope})"),
                Some(n) => {
                    format!("{target}: behind, installs {n} next (policy {policy}, {scope})")
                }
            },
        ));
    }
    rows.extend([
        ("revision", d.revision.to_string()),
        ("created_at", when(Some(d.created_at))),
        ("updated_at", when(Some(d.updated_at))),
    ]);
    for (key, value) in rows {
        println!("{key:<18} {value}");
    }
    if !d.lines.is_empty() {
        println!("lines:");
        for l in &d.lines {
            println!(
                "  {}: {} (auth {}) {}",
                l.idx, l.extension, l.auth_user, l.display_name
            );
        }
    }
    print_settings(&d.settings);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_settings_and_lines() {
        let s = parse_setting("language=Deutsch").unwrap();
        assert_eq!(
            (s.name.as_str(), s.idx, s.value.0.as_str()),
            ("language", None, "Deutsch")
        );
        let s = parse_setting("fkey[3]=blf sip:1@x=y").unwrap();
        assert_eq!(
            (s.name.as_str(), s.idx, s.value.0.as_str()),
            ("fkey", Some(3), "blf sip:1@x=y")
        );
        assert!(parse_setting("novalue").is_err());
        assert!(parse_setting("x[a]=1").is_err());
        assert!(parse_setting("1x=1").is_err());
        let l = parse_line("401:pw:Alice: Front").unwrap();
        assert_eq!(l.extension.as_str(), "401");
        assert_eq!(l.sip_password.as_str(), "pw");
        assert_eq!(l.display_name.unwrap().as_str(), "Alice: Front");
        assert!(parse_line("401").is_err());
        assert!(parse_line("bad ext:pw").is_err());
    }
}
