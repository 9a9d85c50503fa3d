//! What a claim costs as the queue's history grows: N devices are registered
//! round after round through the store's own queue calls (enqueue, claims of
//! 1,000, outcomes recorded as done), so each round finds N more finished
//! events in the table. Prints, per round, the finished events already there
//! and the median and slowest claim, and what the queue's summary
//! (`event_counts`, behind the console, `/metrics` and `phone storm`) took
//! at the round's start, with its backlog queued. A claim that walks the
//! history grows with it; one that reads about what it leases stays flat.
//!
//! ```text
//! cargo bench -p touchless-store --bench claim                # PostgreSQL
//! DB=sqlite N=20000 ROUNDS=6 cargo bench -p touchless-store --bench claim
//! ```
//!
//! PostgreSQL: a throwaway database on `TOUCHLESS_TEST_DATABASE_URL`'s
//! server (default 127.0.0.1:5432 as root), dropped at the end. With
//! `VACUUM=1` the events table is vacuumed before each round, as autovacuum
//! would between rounds this far apart; without it (the server here runs
//! with autovacuum off) every scan also passes the dead index entries that
//! earlier rounds left.

use std::time::{Duration, Instant};

use chrono::Utc;
use touchless_domain::{Mac, ProvPassword, ProvUser};
use touchless_store::conformance::{new_device, new_tenant};
use touchless_store::{Action, Issued, Outcome};

fn env<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

#[tokio::main]
async fn main() {
    let n: u32 = env("N", 20_000);
    let rounds: u32 = env("ROUNDS", 6);
    let batch: u32 = 1000;
    let vacuum = env("VACUUM", 0u8) == 1;
    let dir = tempfile::tempdir().expect("temp dir");
    let (url, pg) = if std::env::var("DB").as_deref() == Ok("sqlite") {
        let path = dir.path().join("claim.db");
        (format!("sqlite://{}", path.display()), None)
    } else {
        let (url, guard) = touchless_store::testing::temp_database().await;
        (url, Some(guard))
    };
    let store = touchless_store::open(&url).await.expect("open the store");
    store
        .create_tenant(&new_tenant("acme"))
        .await
        .expect("tenant");
    let macs: Vec<Mac> = (0..n)
        .map(|i| Mac::parse(&format!("0004{i:08X}")).expect("a MAC"))
        .collect();
    for chunk in macs.chunks(1000) {
        let ds: Vec<_> = chunk
            .iter()
            .map(|m| new_device(&m.to_string(), "acme"))
            .collect();
        store.create_devices(&ds).await.expect("devices");
    }
    println!(
        "{} claim cost as history grows: {n} devices registered per round, claims of {batch}",
        if pg.is_some() { "PostgreSQL" } else { "SQLite" }
    );
    println!(
        "{:>5} {:>9} {:>7} {:>11} {:>9} {:>11}",
        "round", "finished", "claims", "median ms", "max ms", "summary ms"
    );
    let pass = ProvPassword::parse("bench-pass").expect("a password");
    for round in 0..rounds {
        let finished = u64::from(round) * u64::from(n);
        let items: Vec<Issued> = macs
            .iter()
            .map(|m| Issued {
                mac: *m,
                // A fresh user per round: staged users are unique.
                user: ProvUser::parse(&format!("r{round}{m}")).expect("a user"),
                pass: pass.clone(),
                expires_at: Utc::now() + chrono::Duration::days(1),
            })
            .collect();
        for chunk in items.chunks(10_000) {
            store
                .enqueue(Action::Register, chunk)
                .await
                .expect("enqueue");
        }
        if vacuum && pg.is_some() {
            use sqlx::Connection as _;
            let mut c = sqlx::PgConnection::connect(&url).await.expect("connect");
            sqlx::query("VACUUM ANALYZE events")
                .execute(&mut c)
                .await
                .expect("vacuum");
        }
        let t = Instant::now();
        store.event_counts().await.expect("summary");
        let summary = t.elapsed().as_secs_f64() * 1000.0;
        let mut took = Vec::new();
        loop {
            let t = Instant::now();
            let events = store
                .claim_events("bench", batch, Duration::from_secs(60))
                .await
                .expect("claim");
            if events.is_empty() {
                break;
            }
            took.push(t.elapsed().as_secs_f64() * 1000.0);
            let outcomes: Vec<(i64, Outcome)> =
                events.iter().map(|e| (e.id, Outcome::Done)).collect();
            store
                .finish_events("bench", &outcomes)
                .await
                .expect("outcomes");
        }
        let max = took.iter().copied().fold(0.0, f64::max);
        let claims = took.len();
        println!(
            "{round:>5} {finished:>9} {claims:>7} {:>11.1} {max:>9.1} {summary:>11.1}",
            median(&mut took)
        );
    }
    store.close().await;
}
