//! Provider kinds: the one place that maps a provider record's `kind` to the
//! client that speaks its cloud and to the vendor whose phones it registers.
//! A new kind is a module implementing [`ProviderApi`] and one line in
//! [`builtin`]; tests add made-up kinds with [`register`].

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock, RwLock};
use std::time::Duration;

use touchless_phones::Vendor;
use touchless_store::Provider;

pub use super::provider::Kind;
use super::provider::{Account, ProviderApi};

/// The kinds this build speaks; the first is the default of `provider add`.
fn builtin() -> Vec<(&'static str, Kind)> {
    vec![
        ("snom", super::snom::KIND),
        ("grape", super::gigaset::KIND),
        ("ztp", super::poly::KIND),
        ("fdps", super::fanvil::KIND),
        ("ymcs", super::yealink::KIND),
    ]
}

struct Kinds {
    by_name: BTreeMap<&'static str, Kind>,
    default: &'static str,
}

fn kinds() -> &'static RwLock<Kinds> {
    static KINDS: OnceLock<RwLock<Kinds>> = OnceLock::new();
    KINDS.get_or_init(|| {
        let list = builtin();
        RwLock::new(Kinds {
            default: list[0].0,
            by_name: list.into_iter().collect(),
        })
    })
}

/// Adds a kind at run time (a test's made-up cloud, or an embedder's).
pub fn register(name: &'static str, kind: Kind) {
    kinds()
        .write()
        .unwrap_or_else(|e| e.into_inner())
        .by_name
        .insert(name, kind);
}

/// The kinds a provider record may name.
pub fn known() -> Vec<&'static str> {
    kinds()
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .by_name
        .keys()
        .copied()
        .collect()
}

/// The kind `provider add` uses when none is named.
pub fn default_kind() -> &'static str {
    kinds().read().unwrap_or_else(|e| e.into_inner()).default
}

/// A kind by name, or words naming the kinds there are.
pub fn kind(name: &str) -> Result<Kind, String> {
    kinds()
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .by_name
        .get(name)
        .copied()
        .ok_or_else(|| format!("the provider kinds are {}", known().join(", ")))
}

/// The vendor whose phones a kind registers.
pub fn vendor(k: &Kind) -> Result<Vendor, String> {
    Vendor::parse(k.vendor).map_err(|e| e.to_string())
}

/// A kind that registers `vendor`'s phones (the default kind when it does).
pub fn kind_for(vendor: Vendor) -> Option<&'static str> {
    let k = kinds().read().unwrap_or_else(|e| e.into_inner());
    let serves = |name: &&'static str| k.by_name[name].vendor == vendor.name();
    Some(k.default)
        .filter(serves)
        .or_else(|| k.by_name.keys().copied().find(serves))
}

/// The client for a provider record, or why there is none.
pub fn client(p: &Provider, timeout: Duration) -> Result<Arc<dyn ProviderApi>, String> {
    let k = kind(&p.kind).map_err(|_| {
        format!(
            "provider {} is of kind {:?}, which this touchless does not speak (it speaks {})",
            p.name,
            p.kind,
            known().join(", ")
        )
    })?;
    Ok((k.factory)(&Account {
        base_url: &p.base_url,
        key_id: &p.access_key_id,
        secret: &p.secret,
        ca_pem: p.ca_pem.as_deref(),
        timeout,
    }))
}
