//! Queue throughput against a slow cloud: a real touchless (SQLite in a temp
//! dir, or with `DB=postgres` a throwaway PostgreSQL database) registers N devices through its
//! event queue at the fault-injecting SRAPS fake, which answers every request
//! after `LATENCY_MS` (default 20). For each concurrency (`queuenum`) it prints
//! events/s beside the ideal `concurrency ÷ latency` and the ratio.
//!
//! ```text
//! cargo bench -p touchless-server --bench queue_latency
//! CONCURRENCY=16,64 N=5000 LATENCY_MS=20 cargo bench -p touchless-server --bench queue_latency
//! DB=postgres cargo bench -p touchless-server --bench queue_latency
//! ```

#[path = "../tests/support/fake_sraps.rs"]
mod fake_sraps;

use std::time::{Duration, Instant};

/// The allocator `touchless` runs with (`src/memory.rs`, whose options this
/// bench leaves at jemalloc's defaults; `main` here turns transparent huge
/// pages off, as the binary's does): the server runs in this process, and
/// glibc's malloc alone cost a sixth of its CPU here.
#[global_allocator]
static ALLOC: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

use fake_sraps::FakeSraps;
use serde_json::{json, Value};

const TOKEN: &str = "bench-token";

fn env<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

struct Admin {
    http: reqwest::Client,
    base: String,
}

impl Admin {
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(TOKEN);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("admin API");
        let status = resp.status();
        let text = resp.text().await.expect("admin API body");
        assert!(status.is_success(), "{path}: {status} {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }
}

/// CPU seconds this process has used (user + system), from /proc.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which may hold spaces) start at ")".
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<f64> = rest
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0.0))
        .collect();
    // utime and stime are fields 14 and 15 of the line: 12 and 13 here.
    (f.get(11).unwrap_or(&0.0) + f.get(12).unwrap_or(&0.0)) / 100.0
}

/// One run: a fresh server with `queuenum = concurrency`, N devices, one
/// `register` of them all; the time until the last outcome is written, failed
/// events, the cores this process (server and fake) used meanwhile, and
/// how long the register call took to answer.
async fn run(concurrency: usize, n: usize, latency: Duration) -> (f64, u64, f64, f64) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut cfg = touchless_server::Config {
        data_dir: dir.path().join("data"),
        ..Default::default()
    };
    cfg.provisioning.listen = "127.0.0.1:0".parse().unwrap();
    cfg.admin.listen = "127.0.0.1:0".parse().unwrap();
    cfg.redirect.listen = "127.0.0.1:0".parse().unwrap();
    cfg.daemon.bootstrap_local_provider = false;
    cfg.daemon.queuenum = concurrency;
    cfg.admin.token = TOKEN.into();
    cfg.provisioning.access_log = String::new();
    // A throwaway database per run, dropped with `_pg`.
    let _pg = match std::env::var("DB").as_deref() {
        Ok("postgres") => {
            let (url, guard) = touchless_store::testing::temp_database().await;
            cfg.database_url = url;
            Some(guard)
        }
        _ => None,
    };
    cfg.validate().expect("config");
    let running = touchless_server::start(cfg).await.expect("start");
    let fake = fake_cloud(latency);
    let admin = Admin {
        http: reqwest::Client::new(),
        base: format!("http://{}/api/v1", running.admin_addr),
    };
    use reqwest::Method;
    let tenant = format!("bench{concurrency}");
    admin
        .call(
            Method::POST,
            "/tenants",
            Some(json!({"id": tenant, "sip_host": "pbx.example.com"})),
        )
        .await;
    for chunk in (0..n).collect::<Vec<_>>().chunks(1000) {
        let items: Vec<Value> = chunk
            .iter()
            .map(
                |i| json!({"mac": format!("000413{i:06X}"), "model": "snomD717", "tenant": tenant}),
            )
            .collect();
        admin
            .call(Method::POST, "/devices", Some(Value::Array(items)))
            .await;
    }
    admin
        .call(
            Method::POST,
            "/providers",
            Some(json!({"name": "fake", "base_url": fake, "access_key_id": "key", "secret": "secret"})),
        )
        .await;
    let asked = Instant::now();
    admin
        .call(
            Method::POST,
            "/devices/register",
            Some(json!({"tenant": tenant})),
        )
        .await;
    // The queue's rate is timed from here: the events are queued (and the
    // workers started on them while the call ran, which favours nobody).
    let accepted = asked.elapsed().as_secs_f64();
    let started = Instant::now();
    let started_at = chrono::Utc::now();
    let cpu = cpu_seconds();
    let failed = loop {
        let s = admin.call(Method::GET, "/events/summary", None).await;
        let open = s["pending"].as_u64().unwrap_or(0) + s["running"].as_u64().unwrap_or(0);
        if open == 0 {
            break s["failed"].as_u64().unwrap_or(0);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let polled = started.elapsed().as_secs_f64();
    let cores = (cpu_seconds() - cpu) / polled;
    // The queue ended when its last outcome was written, not at the poll
    // that saw it empty (up to 100 ms later, 5% of a 2 s run): the newest
    // events' `updated_at` says when (same machine, same clock).
    let newest = admin.call(Method::GET, "/events?limit=10000", None).await;
    let last = newest
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| {
            e["updated_at"]
                .as_str()?
                .parse::<chrono::DateTime<chrono::Utc>>()
                .ok()
        })
        .max();
    let took = match last {
        Some(at) if at > started_at => ((at - started_at).as_seconds_f64()).min(polled),
        _ => polled,
    };
    stages(&admin, &format!("http://{}/metrics", running.admin_addr)).await;
    running.shutdown().await;
    (took, failed, cores, accepted)
}

/// The fake cloud on a runtime (and thread) of its own, as a cloud is not
/// in our process: sharing the server's two worker threads, its 256
/// request handlers queued up beside the server's own tasks. Returns its
/// URL; it runs until the bench ends.
fn fake_cloud(latency: Duration) -> String {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("the fake's runtime");
        rt.block_on(async move {
            let fake = FakeSraps::start(latency).await;
            tx.send(fake.url()).expect("the bench waits for the URL");
            std::future::pending::<()>().await
        })
    });
    rx.recv().expect("the fake's URL")
}

/// Where the queue spent its time (`touchless_queue_stage_duration_seconds`),
/// printed to stderr: count, mean and total per stage.
async fn stages(admin: &Admin, url: &str) {
    let Ok(r) = admin.http.get(url).bearer_auth(TOKEN).send().await else {
        return;
    };
    let text = r.text().await.unwrap_or_default();
    // Every sample line starting with `prefix`, summed (over labels too).
    let total = |prefix: &str| -> f64 {
        text.lines()
            .filter_map(|l| l.strip_prefix(prefix))
            .filter_map(|rest| rest.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    };
    let mut line = String::from("  stages:");
    for stage in ["claim", "prepare", "write", "wait_for_write"] {
        let key = |suffix: &str| {
            format!("touchless_queue_stage_duration_seconds_{suffix}{{stage=\"{stage}\"}}")
        };
        let (n, sum) = (total(&key("count")), total(&key("sum")));
        if n > 0.0 {
            line += &format!(
                " {stage} {n:.0}× {:.1} ms (total {sum:.2} s);",
                1000.0 * sum / n
            );
        }
    }
    // The provider calls themselves: above the fake's latency is the
    // client's and the fake's own time.
    let calls = "touchless_provider_call_duration_seconds";
    let (n, sum) = (
        total(&format!("{calls}_count")),
        total(&format!("{calls}_sum")),
    );
    if n > 0.0 {
        line += &format!(" provider call {n:.0}× {:.1} ms;", 1000.0 * sum / n);
    }
    eprintln!("{line}");
}

#[tokio::main]
async fn main() {
    touchless_server::without_huge_pages();
    let n: usize = env("N", 10_000);
    let latency = Duration::from_millis(env("LATENCY_MS", 20));
    let list: String = env("CONCURRENCY", "16,64,256".to_owned());
    println!(
        "queue against the fake cloud at {} ms latency, {n} registrations per run",
        latency.as_millis()
    );
    println!(
        "{:>11} {:>9} {:>8} {:>10} {:>10} {:>7} {:>6}",
        "concurrency", "accepted", "seconds", "events/s", "ideal/s", "ratio", "cores"
    );
    for c in list
        .split(',')
        .filter_map(|c| c.trim().parse::<usize>().ok())
    {
        let (took, failed, cores, accepted) = run(c, n, latency).await;
        let rate = n as f64 / took;
        let ideal = c as f64 / latency.as_secs_f64().max(1e-6);
        println!(
            "{c:>11} {accepted:>8.2}s {took:>8.2} {rate:>10.0} {ideal:>10.0} {:>7.2} {cores:>6.2}{}",
            rate / ideal,
            if failed > 0 {
                format!("  ({failed} failed)")
            } else {
                String::new()
            }
        );
    }
}
