//! `GET /status`: what this node serves from, and how its render cache does.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// This node's provisioning view and render cache. Per node: behind a load
/// balancer, ask each one.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct NodeStatus {
    /// Devices the provisioning server can serve right now.
    pub devices: u64,
    /// Files rendered since start (cache misses that rendered).
    pub renders: u64,
    /// Tenant and device rows the view has read from the store since start.
    pub rows_read: u64,
    pub render_cache: RenderCache,
}

/// The byte-bounded cache of rendered files (`provisioning.render_cache_mb`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RenderCache {
    pub capacity_bytes: u64,
    pub bytes: u64,
    pub entries: u64,
    pub hits: u64,
    pub misses: u64,
    pub evictions: u64,
}
