//! The phone-facing handler alone, without sockets or hyper: the user-space
//! cost of one `/prov` fetch (lookup, Basic auth, cached body, access and
//! contact logs, metrics) in nanoseconds, at N devices fetched in random
//! order, so that the view's and the render cache's memory misses count.
//!
//! `bench/compare.sh` measures the whole server beside nginx, but on a
//! shared VM its runs swing by ±10%, more than most handler changes gain;
//! this loop moves by about 1% between runs, so it tells two versions of
//! the handler apart.
//!
//! ```text
//! cargo bench -p touchless-provisioning --bench handle
//! N=100000 ROUNDS=7 cargo bench -p touchless-provisioning --bench handle
//! ROUNDS=1 REQUESTS=100000 valgrind --tool=callgrind --toggle-collect='handle::timed*' \
//!     target/release/deps/handle-<hash>     # instructions per request, exactly
//! ```

use std::sync::Arc;
use std::time::{Duration, Instant};

use http::{header, HeaderValue, Request};
use touchless_provisioning::auth::Authenticator;
use touchless_provisioning::handler::{handle, ProvState};
use touchless_runtime::accesslog::{AccessLog, AccessLogFormat};
use touchless_runtime::config::{AuthConfig, Scheme};
use touchless_runtime::metrics::Metrics;
use touchless_runtime::tasks::Tasks;

mod common;
use common::{env, mac};

/// The allocator the binary runs with: the handler's allocations are part
/// of what this measures.
#[global_allocator]
static ALLOC: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// A fixed-seed xorshift: the same order in every run and build.
fn shuffle<T>(v: &mut [T]) {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for i in (1..v.len()).rev() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.swap(i, (x % (i as u64 + 1)) as usize);
    }
}

async fn state(n: usize, dir: &std::path::Path, tasks: &mut Tasks) -> Arc<ProvState> {
    let store = common::populated(&dir.join("bench.db").to_string_lossy(), n).await;
    let metrics = Metrics::new(true);
    let directory = common::directory(&store, &metrics);
    directory.refresh().await.expect("loading the view");
    let (access, writer) = AccessLog::open(
        &dir.join("access.log").to_string_lossy(),
        AccessLogFormat::Combined,
    )
    .expect("opening the access log");
    tasks.spawn(
        "access-log-writer",
        writer.expect("a file log has a writer"),
    );
    let (sink, contacts) = touchless_provisioning::contacts::start(
        Arc::clone(&store),
        Duration::from_secs(5),
        Duration::from_secs(86_400),
        1_000_000,
    );
    tasks.spawn("contact-log-writer", contacts);
    let auth = AuthConfig {
        schemes: vec![Scheme::Digest, Scheme::Basic],
        allow_basic_over_http: true,
        ..AuthConfig::default()
    };
    Arc::new(ProvState::new(
        directory,
        Authenticator::new(&auth, b"bench nonce secret"),
        access,
        sink,
        metrics,
        Duration::from_secs(600),
        Duration::from_secs(60),
    ))
}

/// The measured requests, apart from the setup and the first fetches that
/// render: `valgrind --tool=callgrind --toggle-collect='handle::timed*'`
/// counts the instructions of these alone.
#[inline(never)]
fn timed(
    st: &ProvState,
    req: &mut Request<()>,
    uris: &[http::Uri],
    count: usize,
    peer: std::net::SocketAddr,
) -> usize {
    let mut statuses = 0usize;
    for u in uris.iter().cycle().take(count) {
        *req.uri_mut() = u.clone();
        let resp = handle(st, req, peer);
        statuses += usize::from(resp.status().as_u16());
    }
    statuses
}

fn main() {
    let n: usize = env("N", 10_000);
    let rounds: usize = env("ROUNDS", 5);
    let per_round: usize = env("REQUESTS", 2_000_000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let tmp = std::env::temp_dir().join(format!("touchless-handle-bench-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let mut tasks = Tasks::new();
    let st = rt.block_on(state(n, &tmp, &mut tasks));

    let basic = HeaderValue::from_static("Basic cHJvdjpzM2NyM3QtcHJvdg==");
    let agent = HeaderValue::from_static(
        "Mozilla/4.0 (compatible; snomD785-SIP 10.1.54.13 1.1.5-IFX-05.01.12)",
    );
    // One request whose URI changes, as hyper parses each into a fresh,
    // cache-hot request: a request of its own per device would measure
    // misses on its headers that a server does not have.
    let mut uris: Vec<http::Uri> = (0..n)
        .map(|i| format!("/prov/snomD785-{}.htm", mac(i)).parse().unwrap())
        .collect();
    shuffle(&mut uris);
    let mut req = Request::get("/")
        .header(header::HOST, "127.0.0.1")
        .header(header::USER_AGENT, agent)
        .header(header::AUTHORIZATION, basic)
        .body(())
        .unwrap();
    let peer: std::net::SocketAddr = "192.0.2.7:5060".parse().unwrap();

    let _guard = rt.enter();
    // Every body rendered once, as after the first fetches.
    for u in &uris {
        *req.uri_mut() = u.clone();
        let resp = handle(&st, &req, peer);
        assert_eq!(resp.status(), 200, "{u}");
    }
    let mut results = Vec::new();
    for round in 0..rounds {
        let t = Instant::now();
        std::hint::black_box(timed(&st, &mut req, &uris, per_round, peer));
        let ns = t.elapsed().as_nanos() as f64 / per_round as f64;
        println!("round {}: {ns:.0} ns per request", round + 1);
        results.push(ns);
        // Let the log writers drain, as they do between a server's bursts.
        rt.block_on(tokio::time::sleep(Duration::from_millis(200)));
    }
    results.sort_by(|a, b| a.total_cmp(b));
    println!(
        "handler, {n} devices, Basic, access and contact logs on: median {:.0} ns per request (min {:.0}, max {:.0}, {rounds} rounds of {per_round})",
        results[rounds / 2],
        results[0],
        results[rounds - 1],
    );
    rt.block_on(tasks.stop(&[]));
    let _ = std::fs::remove_dir_all(&tmp);
}
