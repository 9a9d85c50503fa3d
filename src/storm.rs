//! `touchless phone storm`: many simulated phones booting at once, through the
//! full flow, on this machine. The boot-storm load generator.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use reqwest::Method;
use serde_json::json;
use touchless_api::daemon::{EventSummary, Queued, Selection};
use touchless_api::devices::{Device, DeviceCredentials, LineIn, NewDevice};
use touchless_api::tenants::{NewTenant, Tenant};
use touchless_domain::{DeviceStatus, DisplayText, Host, Mac, SipPassword, SipUser, TenantId};

use crate::client::Client;
use crate::phone::{stage_times, Phone, PhoneState};
use touchless_phones::PhoneModel;

pub struct StormArgs {
    pub count: usize,
    pub concurrency: usize,
    pub redirect: String,
    pub tenant: String,
    /// Taken in turn: phone `i` is a `models[i % len]`.
    pub models: Vec<PhoneModel>,
    pub first_mac: Mac,
    pub json: bool,
}

fn nth_mac(first: Mac, i: usize) -> Mac {
    let b = first.bytes();
    let base = u64::from_be_bytes([0, 0, b[0], b[1], b[2], b[3], b[4], b[5]]);
    let v = (base + i as u64).to_be_bytes();
    Mac::from_bytes([v[2], v[3], v[4], v[5], v[6], v[7]])
}

impl StormArgs {
    /// Phone `i`: its model, and its MAC counted up from `first_mac` in its
    /// vendor's first OUI (so no first contact looks like another vendor's).
    fn phone(&self, i: usize) -> (PhoneModel, Mac) {
        let model = self.models[i % self.models.len()];
        let b = nth_mac(self.first_mac, i).bytes();
        let mac = match model.vendor().ouis().first() {
            Some(o) if self.models.len() > 1 => {
                Mac::from_bytes([o[0], o[1], o[2], b[3], b[4], b[5]])
            }
            _ => Mac::from_bytes(b),
        };
        (model, mac)
    }
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

/// Makes sure `count` devices exist in the storm tenant and are registered.
async fn prepare(c: &Client, a: &StormArgs) -> anyhow::Result<()> {
    let loopback = reqwest::Url::parse(&a.redirect)
        .ok()
        .and_then(|u| {
            u.host_str()
                .map(|h| h == "127.0.0.1" || h == "localhost" || h == "[::1]")
        })
        .unwrap_or(false);
    if !loopback {
        bail!("phone storm only targets a redirection service on this machine (127.0.0.1 or localhost)");
    }
    let tenant = TenantId::parse(&a.tenant)?;
    if c.get::<Tenant>(&format!("/tenants/{tenant}"))
        .await
        .is_err()
    {
        let new = NewTenant {
            id: tenant.clone(),
            name: Some(DisplayText::parse("Boot storm")?),
            prov_user: None,
            prov_pass: None,
            sip_host: Host::parse("pbx.example.com")?,
            sip_port: None,
            mode: None,
            prov_credentials: None,
            settings: None,
        };
        c.send::<_, Tenant>(Method::POST, "/tenants", &new)
            .await
            .context("creating the storm tenant")?;
    }
    let existing: Vec<Device> = c.get(&format!("/devices?tenant={tenant}")).await?;
    let have: std::collections::HashSet<Mac> = existing.iter().map(|d| d.mac).collect();
    let missing: Vec<NewDevice> = (0..a.count)
        .map(|i| a.phone(i))
        .filter(|(_, m)| !have.contains(m))
        .enumerate()
        .map(|(i, (model, mac))| {
            Ok(NewDevice {
                vendor: None,
                mac,
                model,
                tenant: tenant.clone(),
                name: None,
                serial: None,
                lines: Some(vec![LineIn {
                    idx: None,
                    extension: SipUser::parse(&format!("{}", 20000 + i))?,
                    auth_user: None,
                    sip_password: SipPassword::parse(&format!("pw{i}"))?,
                    display_name: None,
                }]),
                settings: None,
            })
        })
        .collect::<anyhow::Result<_>>()?;
    for chunk in missing.chunks(1000) {
        c.send::<_, Vec<Device>>(Method::POST, "/devices", &chunk)
            .await?;
    }
    eprintln!(
        "{} devices in tenant {} ({} new); registering…",
        a.count,
        a.tenant,
        missing.len()
    );
    // Phones whose vendor touchless's redirection service redirects are
    // registered there; the others start from what their vendor's cloud
    // would hand out (the device's first-contact URL and pair), which they
    // have from the moment they exist.
    let macs: Vec<Mac> = (0..a.count)
        .map(|i| a.phone(i))
        .filter(|(m, _)| m.vendor().redirected())
        .map(|(_, mac)| mac)
        .collect();
    for chunk in macs.chunks(5000) {
        let sel = Selection {
            macs: Some(chunk.to_vec()),
            ..Selection::default()
        };
        c.send::<_, Queued>(Method::POST, "/devices/register", &sel)
            .await?;
    }
    // Watch the queue's counts (cheap), then check the devices once.
    let started = Instant::now();
    loop {
        let sum: EventSummary = c.get("/events/summary").await?;
        let open = sum.pending + sum.running;
        eprint!("\rregistering: {open} event(s) queued   ");
        if open == 0 {
            break;
        }
        if started.elapsed() > Duration::from_secs(600) {
            bail!("registration did not finish in 10 minutes");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let want: std::collections::HashSet<Mac> = macs.iter().copied().collect();
    let list: Vec<Device> = c.get(&format!("/devices?tenant={tenant}")).await?;
    let not_ready: Vec<&Device> = list
        .iter()
        .filter(|d| want.contains(&d.mac) && d.status != DeviceStatus::Registered)
        .collect();
    if let Some(f) = not_ready.first() {
        bail!(
            "registration failed for {} device(s), e.g. {}: {}",
            not_ready.len(),
            f.mac,
            f.last_message
        );
    }
    eprintln!(
        "\r{} devices registered in {:.1} s",
        macs.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

pub async fn run(c: Client, a: StormArgs) -> anyhow::Result<()> {
    prepare(&c, &a).await?;
    let c = Arc::new(c);
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(a.concurrency)
        .timeout(Duration::from_secs(30))
        .build()?;
    let sem = Arc::new(tokio::sync::Semaphore::new(a.concurrency.max(1)));
    let done = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let progress = {
        let done = Arc::clone(&done);
        let total = a.count;
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(250)).await;
                let n = done.load(Ordering::Relaxed);
                eprint!(
                    "\rbooted {n}/{total} ({:.0} phones/s)   ",
                    n as f64 / started.elapsed().as_secs_f64()
                );
                if n >= total {
                    break;
                }
            }
        })
    };
    let mut tasks = Vec::with_capacity(a.count);
    for i in 0..a.count {
        let permit = Arc::clone(&sem).acquire_owned().await?;
        let (http, redirect, done) = (http.clone(), a.redirect.clone(), Arc::clone(&done));
        let (model, mac) = a.phone(i);
        let phone = Phone {
            mac,
            model,
            firmware: "10.1.198.19".into(),
        };
        let c = Arc::clone(&c);
        tasks.push(tokio::spawn(async move {
            let mut state = PhoneState::default();
            if !model.vendor().redirected() {
                // What its vendor's cloud would hand it; not timed.
                match c
                    .get::<DeviceCredentials>(&format!("/devices/{mac}/credentials"))
                    .await
                {
                    Ok(cr) => {
                        state.setting_server = Some(cr.ztprov_url);
                        state.http_client_user = Some(cr.ztprov_user.to_string());
                        state.http_client_pass = Some(cr.ztprov_pass.to_string());
                    }
                    Err(e) => {
                        drop(permit);
                        done.fetch_add(1, Ordering::Relaxed);
                        let r = crate::phone::Report {
                            mac: mac.to_string(),
                            model: model.to_string(),
                            steps: Vec::new(),
                            ok: false,
                            verdict: format!("reading its credentials failed: {e:#}"),
                            installed: None,
                        };
                        return (r, Duration::ZERO);
                    }
                }
            }
            let t = Instant::now();
            let r = phone.boot(&http, &redirect, &mut state).await;
            drop(permit);
            done.fetch_add(1, Ordering::Relaxed);
            (r, t.elapsed())
        }));
    }
    let mut per_stage: HashMap<&'static str, Vec<Duration>> = HashMap::new();
    let mut totals = Vec::with_capacity(a.count);
    let mut failures: HashMap<String, usize> = HashMap::new();
    let mut by_vendor: std::collections::BTreeMap<String, usize> = Default::default();
    for t in tasks {
        let (r, total) = t.await?;
        if r.ok {
            let vendor = PhoneModel::parse(&r.model).map(|m| m.vendor().name());
            *by_vendor
                .entry(vendor.unwrap_or("?").to_owned())
                .or_default() += 1;
            for (stage, d) in stage_times(&r) {
                per_stage.entry(stage).or_default().push(d);
            }
            totals.push(total);
        } else {
            // Group by reason without the MAC-specific parts.
            let reason = r
                .verdict
                .split(" (")
                .next()
                .unwrap_or(&r.verdict)
                .replace(&r.mac, "<MAC>");
            *failures.entry(reason).or_default() += 1;
        }
    }
    let elapsed = started.elapsed();
    let _ = progress.await;
    eprintln!();
    let ok = totals.len();
    let mut stages = serde_json::Map::new();
    for stage in ["redirect", "ztprov", "prov"] {
        let mut v = per_stage.remove(stage).unwrap_or_default();
        v.sort();
        stages.insert(
            stage.into(),
            json!({"p50_ms": percentile(&v, 0.5), "p90_ms": percentile(&v, 0.9), "p99_ms": percentile(&v, 0.99), "max_ms": percentile(&v, 1.0)}),
        );
    }
    totals.sort();
    let summary = json!({
        "phones": a.count,
        "ok": ok,
        "failed": a.count - ok,
        "seconds": elapsed.as_secs_f64(),
        "phones_per_second": ok as f64 / elapsed.as_secs_f64(),
        "concurrency": a.concurrency,
        "stages": stages,
        "boot": {"p50_ms": percentile(&totals, 0.5), "p99_ms": percentile(&totals, 0.99)},
        "failures": failures,
        "ok_by_vendor": by_vendor,
    });
    if a.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        println!(
            "{ok}/{} phones provisioned in {:.1} s: {:.0} phones/s (concurrency {})",
            a.count,
            elapsed.as_secs_f64(),
            ok as f64 / elapsed.as_secs_f64(),
            a.concurrency
        );
        println!("stage      p50 ms   p90 ms   p99 ms   max ms");
        for stage in ["redirect", "ztprov", "prov"] {
            let s = &summary["stages"][stage];
            println!(
                "{stage:<9} {:>7.1}  {:>7.1}  {:>7.1}  {:>7.1}",
                s["p50_ms"].as_f64().unwrap_or(0.0),
                s["p90_ms"].as_f64().unwrap_or(0.0),
                s["p99_ms"].as_f64().unwrap_or(0.0),
                s["max_ms"].as_f64().unwrap_or(0.0)
            );
        }
        println!(
            "whole boot p50 {:.1} ms, p99 {:.1} ms",
            percentile(&totals, 0.5),
            percentile(&totals, 0.99)
        );
        if by_vendor.len() > 1 {
            let parts: Vec<String> = by_vendor.iter().map(|(v, n)| format!("{v} {n}")).collect();
            println!("provisioned by vendor: {}", parts.join(", "));
        }
        for (reason, n) in &failures {
            println!("failed: {n} × {reason}");
        }
    }
    if ok < a.count {
        bail!("{} phone(s) failed", a.count - ok);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macs_count_up() {
        let m = Mac::parse("000413F0FFFF").unwrap();
        assert_eq!(nth_mac(m, 1).to_string(), "000413F10000");
        assert_eq!(nth_mac(m, 0), m);
    }
}
