//! What `register --all` costs before it is accepted, split into its parts:
//! at N devices, the store queues a registration for every device in one
//! call (staging new ztprov credentials on each), then this node's view
//! applies them so that phones are served them. Each round prints the
//! enqueue, this view's update, and the reload of a second view over the
//! same store: what every other node pays (and this one, before the view
//! applied its own queueing unread).
//!
//! `bench/bulk.sh` measures the whole call through the admin API; this
//! tells which part of it a change moved.
//!
//! ```text
//! cargo bench -p touchless-provisioning --bench bulk             # SQLite, 100,000
//! DB=postgres N=10000 cargo bench -p touchless-provisioning --bench bulk
//! ```

use std::time::Instant;

use touchless_domain::{ProvPassword, ProvUser};
use touchless_runtime::metrics::Metrics;
use touchless_store::{Action, Issued};

mod common;
use common::{env, mac};

/// The binary's allocator: the reload's allocations are part of its cost.
#[global_allocator]
static ALLOC: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() {
    let n: usize = env("N", 100_000);
    let rounds: usize = env("ROUNDS", 3);
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let (url, pg) = if std::env::var("DB").as_deref() == Ok("postgres") {
        let (url, guard) = touchless_store::testing::temp_database().await;
        (url, Some(guard))
    } else {
        (
            tmp.path().join("bulk.db").to_string_lossy().into_owned(),
            None,
        )
    };
    let t = Instant::now();
    let store = common::populated(&url, n).await;
    println!(
        "{} with {n} devices, loaded in {:.1} s",
        if pg.is_some() { "PostgreSQL" } else { "SQLite" },
        t.elapsed().as_secs_f64()
    );
    let metrics = Metrics::new(false);
    // This node queues; the other learns of it as another node would.
    let here = common::directory(&store, &metrics);
    let other = common::directory(&store, &metrics);
    let t = Instant::now();
    here.refresh().await.expect("loading the view");
    println!("first load of a view: {:.0} ms", ms(t));
    other.refresh().await.expect("loading the view");
    println!(
        "{:>5} {:>11} {:>13} {:>15}",
        "round", "enqueue ms", "this view ms", "other view ms"
    );
    let pass = ProvPassword::parse("zt-secret-9876543210").expect("a password");
    let expires_at = chrono::Utc::now() + chrono::Duration::days(1);
    for round in 0..rounds {
        let items: Vec<Issued> = (0..n)
            .map(|i| Issued {
                mac: mac(i),
                user: ProvUser::parse(&format!("r{round}x{i}")).expect("a user"),
                pass: pass.clone(),
                expires_at,
            })
            .collect();
        let t = Instant::now();
        let hold = here.hold_reloads().await;
        let ids = store
            .enqueue(Action::Register, &items)
            .await
            .expect("queueing");
        let enqueue = ms(t);
        assert_eq!(ids.len(), n);
        let t = Instant::now();
        assert!(here
            .queued(hold, Action::Register, &items)
            .await
            .expect("applying"));
        let this = ms(t);
        let t = Instant::now();
        assert!(other.refresh().await.expect("reloading"));
        let that = ms(t);
        assert_eq!((here.len(), other.len()), (n, n));
        println!("{round:>5} {enqueue:>11.0} {this:>13.0} {that:>15.0}");
    }
}
