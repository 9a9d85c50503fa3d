//! What the provisioning benchmarks share: a store (SQLite, or PostgreSQL
//! by URL) holding one tenant and N devices with one line each, and a
//! directory over it.

use std::sync::Arc;

use touchless_domain::{DisplayText, Host, Mac, ProvPassword, ProvScope, ProvUser, TenantId};
use touchless_domain::{SipPassword, SipUser, TouchlessMode};
use touchless_phones::PhoneModel;
use touchless_provisioning::directory::Directory;
use touchless_provisioning::render::Renderer;
use touchless_runtime::metrics::Metrics;
use touchless_store::{Line, NewDevice, NewTenant, Store};

pub fn env<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

pub fn mac(i: usize) -> Mac {
    Mac::parse(&format!("000413{i:06X}")).expect("a valid MAC")
}

/// A store at `url` (a SQLite path or a PostgreSQL URL) holding the tenant
/// `bench` (provisioning user `prov`, password `s3cr3t-prov`) and `n`
/// devices `mac(0..n)`, model snomD785, created 1,000 at a time.
pub async fn populated(url: &str, n: usize) -> Arc<dyn Store> {
    let store = touchless_store::open(url).await.expect("opening the store");
    let text = |s: &str| DisplayText::parse(s).unwrap();
    let tenant = TenantId::parse("bench").unwrap();
    store
        .create_tenant(&NewTenant {
            id: tenant.clone(),
            name: text("Benchmark"),
            prov_user: ProvUser::parse("prov").unwrap(),
            prov_pass: ProvPassword::parse("s3cr3t-prov").unwrap(),
            sip_host: Host::parse("pbx.example.com").unwrap(),
            sip_port: 5060,
            mode: TouchlessMode::default(),
            prov_scope: ProvScope::Tenant,
            settings: Vec::new(),
        })
        .await
        .expect("creating the tenant");
    let model = PhoneModel::parse("snomD785").unwrap();
    for start in (0..n).step_by(1000) {
        let batch: Vec<NewDevice> = (start..n.min(start + 1000))
            .map(|i| NewDevice {
                mac: mac(i),
                model,
                tenant: tenant.clone(),
                name: text(&format!("Phone {i}")),
                serial: None,
                ztprov_user: ProvUser::parse(&format!("zt{i}")).unwrap(),
                ztprov_pass: ProvPassword::parse("zt-secret-0123456789").unwrap(),
                ztprov_expires_at: chrono::Utc::now() + chrono::Duration::days(1),
                prov_user: ProvUser::parse(&format!("pv{i}")).unwrap(),
                prov_pass: ProvPassword::parse("pv-secret-0123456789").unwrap(),
                lines: vec![Line {
                    idx: 1,
                    extension: SipUser::parse(&format!("{}", 1000 + i)).unwrap(),
                    auth_user: SipUser::parse(&format!("{}", 1000 + i)).unwrap(),
                    sip_password: SipPassword::parse("sip-secret-0123").unwrap(),
                    display_name: text(&format!("Phone {i}")),
                }],
                settings: Vec::new(),
            })
            .collect();
        store
            .create_devices(&batch)
            .await
            .expect("creating devices");
    }
    store
}

/// A directory over `store` with the built-in templates and a 16 MiB
/// render cache, not yet loaded.
pub fn directory(store: &Arc<dyn Store>, metrics: &Metrics) -> Arc<Directory> {
    let renderer = Arc::new(Renderer::new(None).expect("the built-in templates"));
    Arc::new(Directory::new(
        Arc::clone(store),
        renderer,
        "touchless",
        "http://prov.example.com",
        16 << 20,
        metrics.view.clone(),
    ))
}
