//! Provider kinds: the one place that maps a provider record's `kind` to the
//! client that speaks its cloud. A new kind is a module implementing
//! [`ProviderApi`] and one line in [`builtin`]; tests add made-up kinds with
//! [`register`].

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock, RwLock};
use std::time::Duration;

use touchless_store::Provider;

use super::provider::{Account, Factory, ProviderApi};

/// The kinds this build speaks.
fn builtin() -> BTreeMap<&'static str, Factory> {
    BTreeMap::from([("snom", super::sraps::factory as Factory)])
}

fn kinds() -> &'static RwLock<BTreeMap<&'static str, Factory>> {
    static KINDS: OnceLock<RwLock<BTreeMap<&'static str, Factory>>> = OnceLock::new();
    KINDS.get_or_init(|| RwLock::new(builtin()))
}

/// Adds a kind at run time (a test's made-up cloud, or an embedder's).
pub fn register(name: &'static str, factory: Factory) {
    kinds()
        .write()
        .unwrap_or_else(|e| e.into_inner())
        .insert(name, factory);
}

/// The kinds a provider record may name.
pub fn known() -> Vec<&'static str> {
    kinds()
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .keys()
        .copied()
        .collect()
}

/// The client for a provider record, or why there is none.
pub fn client(p: &Provider, timeout: Duration) -> Result<Arc<dyn ProviderApi>, String> {
    let factory = kinds()
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .get(p.kind.as_str())
        .copied()
        .ok_or_else(|| {
            format!(
                "provider {} is of kind {:?}, which this touchless does not speak (it speaks {})",
                p.name,
                p.kind,
                known().join(", ")
            )
        })?;
    Ok(factory(&Account {
        base_url: &p.base_url,
        key_id: &p.access_key_id,
        secret: &p.secret,
        ca_pem: p.ca_pem.as_deref(),
        timeout,
    }))
}
