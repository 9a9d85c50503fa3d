//! Conformance cases of what the provisioning view reads: the generation,
//! snapshots, changes since a generation, and removals in bulk.

use touchless_domain::Mac;

use crate::{DevicePatch, Store, StoreError, TenantPatch};

use super::registry::contact;

use super::*;

pub async fn generation_tracks_writes(s: &dyn Store) {
    let g0 = s.generation().await.unwrap();
    s.create_tenant(&new_tenant("acme")).await.unwrap();
    let g1 = s.generation().await.unwrap();
    assert!(g1 > g0);
    s.create_device(&new_device("000413000001", "acme"))
        .await
        .unwrap();
    let g2 = s.generation().await.unwrap();
    assert!(g2 > g1);
    s.record_contacts(&[contact("000413000001", 200, 0)])
        .await
        .unwrap();
    assert_eq!(
        s.generation().await.unwrap(),
        g2,
        "contacts do not change what is provisioned"
    );
}

pub async fn snapshot_is_complete(s: &dyn Store) {
    s.create_tenant(&new_tenant("acme")).await.unwrap();
    for i in 0..50u32 {
        let mut d = new_device(&format!("0004130000{i:02X}"), "acme");
        d.lines = (1..=(i % 3) + 1)
            .map(|n| line(n, &format!("{i}{n}")))
            .collect();
        s.create_device(&d).await.unwrap();
    }
    let snap = s.snapshot().await.unwrap();
    assert_eq!(snap.generation, s.generation().await.unwrap());
    assert_eq!(snap.tenants.len(), 1);
    assert_eq!(snap.tenants[0].settings.len(), 1);
    assert_eq!(snap.devices.len(), 50);
    for d in &snap.devices {
        let i = u32::from(d.mac.bytes()[5]);
        assert_eq!(d.lines.len() as u32, i % 3 + 1, "{}", d.mac);
        assert_eq!(d.settings.len(), 1);
    }
}

/// A paged snapshot hands over tenants first, then every device once, in
/// MAC order, no page larger than asked, each with its own children.
pub async fn snapshot_pages_cover_everything_once(s: &dyn Store) {
    s.create_tenant(&new_tenant("acme")).await.unwrap();
    for i in 0..23u32 {
        let mut d = new_device(&format!("0004130000{:02X}", 22 - i), "acme");
        d.lines = (1..=(i % 3) + 1)
            .map(|n| line(n, &format!("{i}{n}")))
            .collect();
        s.create_device(&d).await.unwrap();
    }
    for page in [1, 5, 23, 1000] {
        let mut parts = Vec::new();
        let g = s
            .snapshot_pages(page, &mut |p| parts.push(p))
            .await
            .unwrap();
        assert_eq!(g, s.generation().await.unwrap());
        let mut macs = Vec::new();
        for (i, p) in parts.into_iter().enumerate() {
            match p {
                crate::SnapshotPart::Firmware(f) => {
                    assert_eq!(i, 0, "firmware policies come first");
                    assert!(f.is_empty());
                }
                crate::SnapshotPart::Tenants(t) => {
                    assert_eq!(i, 1, "tenants come next");
                    assert_eq!(t.len(), 1);
                }
                crate::SnapshotPart::Devices(ds) => {
                    assert!(
                        !ds.is_empty() && ds.len() <= page,
                        "page {page}: {}",
                        ds.len()
                    );
                    for d in ds {
                        let i = 22 - u32::from(d.mac.bytes()[5]);
                        assert_eq!(d.lines.len() as u32, i % 3 + 1, "{}", d.mac);
                        assert_eq!(d.lines[0].extension.as_str(), format!("{i}1"));
                        macs.push(d.mac);
                    }
                }
            }
        }
        assert_eq!(macs.len(), 23, "page {page}");
        assert!(macs.windows(2).all(|w| w[0].to_string() < w[1].to_string()));
    }
}

/// A reader at generation `g` gets exactly the rows written after it.
pub async fn changes_since_reads_only_what_changed(s: &dyn Store) {
    s.create_tenant(&new_tenant("acme")).await.unwrap();
    s.create_tenant(&new_tenant("other")).await.unwrap();
    for i in 0..20u32 {
        s.create_device(&new_device(&format!("0004130000{i:02X}"), "acme"))
            .await
            .unwrap();
    }
    let g = s.snapshot().await.unwrap().generation;
    let none = s.changes_since(g).await.unwrap();
    assert_eq!(none.generation, g);
    assert!(none.tenants.is_empty() && none.devices.is_empty());

    let mac = Mac::parse("000413000005").unwrap();
    s.update_device(
        mac,
        &DevicePatch {
            lines: Some(vec![line(1, "555")]),
            ..DevicePatch::default()
        },
    )
    .await
    .unwrap();
    let c = s.changes_since(g).await.unwrap();
    assert!(c.generation > g);
    assert!(c.tenants.is_empty());
    assert_eq!(c.devices.len(), 1, "only the edited device is read");
    assert_eq!(c.devices[0].mac, mac);
    assert_eq!(c.devices[0].lines[0].extension.as_str(), "555");
    assert_eq!(c.devices[0].settings.len(), 1, "with its children");

    let g2 = c.generation;
    s.update_tenant(
        &tid("acme"),
        &TenantPatch {
            sip_host: Some(touchless_domain::Host::parse("pbx2.example.com").unwrap()),
            ..TenantPatch::default()
        },
    )
    .await
    .unwrap();
    let gone = Mac::parse("000413000007").unwrap();
    s.delete_device(gone).await.unwrap();
    let c = s.changes_since(g2).await.unwrap();
    assert_eq!(c.tenants.len(), 1);
    assert_eq!(c.tenants[0].sip_host.as_str(), "pbx2.example.com");
    assert!(
        c.devices.is_empty(),
        "a tenant change reads the tenant only"
    );
    assert_eq!(c.gone_devices, vec![gone]);

    // A status change (an event outcome) is no change of what is served.
    let g3 = c.generation;
    let q = s
        .enqueue(
            crate::Action::Register,
            &[super::queue::issued(
                Mac::parse("000413000003").unwrap(),
                super::queue::creds(901),
            )],
        )
        .await
        .unwrap();
    let after_enqueue = s.changes_since(g3).await.unwrap();
    assert_eq!(
        after_enqueue.devices.len(),
        1,
        "staged credentials are served"
    );
    let g4 = after_enqueue.generation;
    let ev = s
        .claim_events("n1", 10, std::time::Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0].id, q[0]);
    s.finish_event(ev[0].id, "n1", &crate::Outcome::Done)
        .await
        .unwrap();
    // The promotion of the staged credentials is served, and read.
    let c = s.changes_since(g4).await.unwrap();
    assert!(c.generation > g4);
    assert_eq!(c.devices.len(), 1);
    assert!(c.devices[0].ztprov_next.is_none());

    s.delete_tenant(&tid("other")).await.unwrap();
    let c = s.changes_since(c.generation).await.unwrap();
    assert_eq!(c.gone_tenants, vec![tid("other")]);
    assert!(!c.stale);

    // Pruned tombstones: a reader from before them must read a snapshot.
    let before = c.generation;
    for m in ["000413000001", "000413000002"] {
        s.delete_device(Mac::parse(m).unwrap()).await.unwrap();
    }
    assert_eq!(s.prune_tombstones(1).await.unwrap(), 3);
    let c = s.changes_since(before).await.unwrap();
    assert!(c.stale, "deletions after {before} may be gone");
    let now = s.changes_since(c.generation).await.unwrap();
    assert!(!now.stale);
    assert_eq!(s.prune_tombstones(1).await.unwrap(), 0);

    // Past a bound, nothing is read: the reader takes a snapshot in pages.
    let g5 = now.generation;
    for m in ["000413000003", "000413000004", "000413000006"] {
        s.update_device(
            Mac::parse(m).unwrap(),
            &DevicePatch {
                lines: Some(vec![line(1, "777")]),
                ..DevicePatch::default()
            },
        )
        .await
        .unwrap();
    }
    let over = s.changes_since_at_most(g5, 2).await.unwrap();
    assert!(over.too_many && !over.stale);
    assert!(over.devices.is_empty() && over.tenants.is_empty());
    assert_eq!(over.generation, s.snapshot().await.unwrap().generation);
    let within = s.changes_since_at_most(g5, 3).await.unwrap();
    assert!(!within.too_many);
    assert_eq!(within.devices.len(), 3);
}

/// Removing many devices is one statement per 10,000, and still all or
/// nothing, naming the MAC that is not there.
pub async fn bulk_removal_is_all_or_nothing(s: &dyn Store) {
    s.create_tenant(&new_tenant("acme")).await.unwrap();
    let macs: Vec<Mac> = (0..30u32)
        .map(|i| Mac::parse(&format!("0004130000{i:02X}")).unwrap())
        .collect();
    let news: Vec<_> = macs
        .iter()
        .map(|m| new_device(&m.to_string(), "acme"))
        .collect();
    s.create_devices(&news).await.unwrap();
    // Nothing to remove is no write: views have nothing to reload.
    let g = s.generation().await.unwrap();
    s.delete_devices(&[]).await.unwrap();
    assert_eq!(s.generation().await.unwrap(), g);
    let states = s.may_be_registered(&macs[..3]).await.unwrap();
    assert_eq!(
        states,
        vec![(macs[0], false), (macs[1], false), (macs[2], false)]
    );
    s.enqueue(
        crate::Action::Register,
        &[super::queue::issued(macs[1], super::queue::creds(902))],
    )
    .await
    .unwrap();
    assert_eq!(
        s.may_be_registered(&macs[..2]).await.unwrap(),
        vec![(macs[0], false), (macs[1], true)]
    );
    let ghost = Mac::parse("0004130000FF").unwrap();
    assert!(matches!(
        s.may_be_registered(&[macs[0], ghost]).await,
        Err(StoreError::NotFound { .. })
    ));
    let mut with_ghost = macs[..10].to_vec();
    with_ghost.insert(5, ghost);
    match s.delete_devices(&with_ghost).await {
        Err(StoreError::NotFound { key, .. }) => assert_eq!(key, ghost.to_string()),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        s.device_macs(None).await.unwrap().len(),
        30,
        "nothing removed"
    );
    s.mark_removing(&macs[10..20]).await.unwrap();
    s.delete_devices(&[macs[0], macs[0], macs[1]])
        .await
        .unwrap();
    let left = s.device_macs(Some(&tid("acme"))).await.unwrap();
    assert_eq!(left.len(), 28);
    assert!(s.get_device(macs[12]).await.unwrap().unwrap().removing);
}
