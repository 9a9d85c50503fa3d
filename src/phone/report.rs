//! What a simulated boot reports: each exchange (stage, method, URL,
//! status, what the phone learned) and the verdict, printed for people or
//! summed per stage for a storm.

use std::collections::HashMap;
use std::time::Duration;

use serde::Serialize;

/// One HTTP exchange of a boot.
#[derive(Clone, Debug, Serialize)]
pub struct Step {
    pub stage: &'static str,
    pub method: &'static str,
    pub url: String,
    pub status: u16,
    pub note: String,
    pub millis: f64,
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub mac: String,
    pub model: String,
    pub steps: Vec<Step>,
    pub ok: bool,
    pub verdict: String,
    /// The firmware this boot installed: the phone reboots with it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub installed: Option<String>,
}

pub fn print_report(r: &Report) {
    for s in &r.steps {
        let note = if s.note.is_empty() {
            String::new()
        } else {
            format!("  {}", s.note)
        };
        println!(
            "[{:<8}] {} {} -> {} ({:.1} ms){note}",
            s.stage, s.method, s.url, s.status, s.millis
        );
    }
    println!("{}: {}", if r.ok { "OK" } else { "FAILED" }, r.verdict);
}

/// The per-stage latencies of one boot (first request to last response).
pub fn stage_times(r: &Report) -> HashMap<&'static str, Duration> {
    let mut out: HashMap<&'static str, Duration> = HashMap::new();
    for s in &r.steps {
        *out.entry(s.stage).or_default() += Duration::from_secs_f64(s.millis / 1000.0);
    }
    out
}
