//! Conformance cases of the queue's batches: outcomes recorded many per
//! transaction, leases renewed many per statement, devices read many per call.

use chrono::Utc;
use touchless_domain::DeviceStatus;

use crate::{Action, EventState, Outcome, Store};

use super::queue::{creds, devices_for_queue, issued};

/// A busy queue records outcomes in batches: each event held by the node is
/// recorded as if alone, the rest are left alone, and what is served changes
/// exactly as it would one event at a time.
pub async fn outcomes_are_recorded_in_batches(s: &dyn Store) {
    let macs = devices_for_queue(s, 5).await;
    let lease = std::time::Duration::from_secs(60);
    let first = s
        .enqueue(
            Action::Register,
            &(0..4u32)
                .map(|i| issued(macs[i as usize], creds(i)))
                .collect::<Vec<_>>(),
        )
        .await
        .unwrap();
    // Device 4 is being removed: it goes once deregistered.
    s.mark_removing(&[macs[4]]).await.unwrap();
    let gone = s
        .enqueue(Action::Deregister, &[issued(macs[4], creds(40))])
        .await
        .unwrap();
    let got = s.claim_events("a", 10, lease).await.unwrap();
    assert_eq!(got.len(), 5);
    // A second register of device 3, while its first is running.
    let newer = s
        .enqueue(Action::Register, &[issued(macs[3], creds(30))])
        .await
        .unwrap();
    let mut ids: Vec<i64> = first.clone();
    ids.extend(&gone);
    assert_eq!(
        s.renew_leases("b", &ids, lease).await.unwrap(),
        0,
        "not b's"
    );
    assert_eq!(s.renew_leases("a", &ids, lease).await.unwrap(), 5);
    assert_eq!(
        s.renew_leases("a", &newer, lease).await.unwrap(),
        0,
        "not running"
    );

    let g = s.generation().await.unwrap();
    let soon = Utc::now() + chrono::Duration::seconds(30);
    let recorded = s
        .finish_events(
            "a",
            &[
                (first[0], Outcome::Done),
                (
                    first[1],
                    Outcome::Failed {
                        message: "403 forbidden".into(),
                    },
                ),
                (
                    first[2],
                    Outcome::Retry {
                        at: soon,
                        message: "503; retrying".into(),
                    },
                ),
                (first[3], Outcome::Done),
                (gone[0], Outcome::Done),
                (newer[0], Outcome::Done),
                (i64::MAX, Outcome::Done),
            ],
        )
        .await
        .unwrap();
    assert_eq!(recorded, 5, "the pending and the unknown event are not a's");
    assert!(s.generation().await.unwrap() > g, "credentials changed");

    let ds = s
        .get_devices(&[macs[4], macs[2], macs[0], macs[1], macs[3]])
        .await
        .unwrap();
    assert_eq!(
        ds.iter().map(|d| d.mac).collect::<Vec<_>>(),
        macs[..4].to_vec(),
        "existing devices in MAC order; the deregistered one is gone"
    );
    let (u0, _) = creds(0);
    assert_eq!(
        (
            ds[0].status,
            ds[0].last_message.as_str(),
            &ds[0].ztprov_user
        ),
        (DeviceStatus::Registered, "-", &u0),
        "done: registered, staged credentials promoted"
    );
    assert!(ds[0].registered_at.is_some() && ds[0].ztprov_next.is_none());
    assert_eq!(
        (ds[1].status, ds[1].last_message.as_str()),
        (DeviceStatus::Failed, "403 forbidden")
    );
    assert_eq!(
        (ds[2].status, ds[2].last_message.as_str()),
        (DeviceStatus::Pending, "503; retrying")
    );
    let (u30, _) = creds(30);
    assert_eq!(
        (ds[3].status, ds[3].ztprov_next.as_ref().map(|n| &n.user)),
        (DeviceStatus::Pending, Some(&u30)),
        "an older event does not overwrite what the newer one staged"
    );
    let ev = s.get_event(first[2]).await.unwrap().unwrap();
    assert_eq!(
        (ev.state, ev.leased_by.as_deref()),
        (EventState::Pending, None)
    );
    assert!(ev.next_attempt_at > Utc::now());
    assert!(
        s.finish_events("a", &[]).await.unwrap() == 0,
        "nothing to record"
    );
    // The summary: open events counted, finished ones from their totals,
    // which follow outcomes and a retry of a failed event.
    assert_eq!(
        summary(s).await,
        [2, 0, 3, 1],
        "pending (a retry, a newer register), running, done, failed"
    );
    s.retry_event(first[1]).await.unwrap();
    assert_eq!(
        summary(s).await,
        [3, 0, 3, 0],
        "the failed event is pending again"
    );
}

/// Events per state, in the order pending, running, done, failed.
async fn summary(s: &dyn Store) -> [u64; 4] {
    let counts = s.event_counts().await.unwrap();
    [
        EventState::Pending,
        EventState::Running,
        EventState::Done,
        EventState::Failed,
    ]
    .map(|st| counts.iter().find(|(c, _)| *c == st).map_or(0, |(_, n)| *n))
}

/// A backlog far larger than a claim (enough that PostgreSQL refreshes the
/// queue's statistics) is claimed oldest first, a batch at a time, and a
/// device's second event waits while its first runs.
pub async fn a_backlog_is_claimed_oldest_first_a_batch_at_a_time(s: &dyn Store) {
    s.create_tenant(&super::new_tenant("acme")).await.unwrap();
    let news: Vec<_> = (0..1500u32)
        .map(|i| super::new_device(&format!("000413{i:06X}"), "acme"))
        .collect();
    let devices = s.create_devices(&news).await.unwrap();
    let issue = |from: u32| -> Vec<_> {
        devices
            .iter()
            .zip(from..)
            .map(|(d, n)| issued(d.mac, creds(n)))
            .collect()
    };
    let first = s.enqueue(Action::Register, &issue(0)).await.unwrap();
    // Each device's second event: a newer register with other credentials.
    let second = s.enqueue(Action::Register, &issue(10_000)).await.unwrap();
    assert_eq!((first.len(), second.len()), (1500, 1500));
    let lease = std::time::Duration::from_secs(60);
    let a = s.claim_events("a", 1000, lease).await.unwrap();
    assert_eq!(
        a.iter().map(|e| e.id).collect::<Vec<_>>(),
        first[..1000],
        "the oldest 1,000, in order"
    );
    let b = s.claim_events("a", 1000, lease).await.unwrap();
    assert_eq!(
        b.iter().map(|e| e.id).collect::<Vec<_>>(),
        first[1000..],
        "then the rest of the first events; no second event while its first runs"
    );
    let done: Vec<(i64, Outcome)> = first[..10].iter().map(|id| (*id, Outcome::Done)).collect();
    assert_eq!(s.finish_events("a", &done).await.unwrap(), 10);
    let c = s.claim_events("a", 1000, lease).await.unwrap();
    assert_eq!(
        c.iter().map(|e| e.id).collect::<Vec<_>>(),
        second[..10],
        "a second event once its first is done"
    );
    assert!(c.iter().all(|e| e.state == EventState::Running));
    // One write of more outcomes than a statement takes: every chunk counts.
    let rest: Vec<(i64, Outcome)> = first[10..].iter().map(|id| (*id, Outcome::Done)).collect();
    assert_eq!(s.finish_events("a", &rest).await.unwrap(), 1490);
    assert_eq!(summary(s).await, [1490, 10, 1500, 0]);
}
