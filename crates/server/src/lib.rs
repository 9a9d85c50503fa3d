//! touchless as one program: [`app::start`] wires the parts (the
//! provisioning server, the redirection service, the daemon and the admin
//! side, each its own crate) to a store and runs them. The parts are
//! re-exported under their old paths, so the binary and the integration
//! tests name them as `touchless_server::…`.

pub mod app;

pub use app::{start, Running};
pub use touchless_admin::{admin, console};
pub use touchless_daemon as daemon;
pub use touchless_provisioning::handler as provisioning;
pub use touchless_provisioning::{auth, bodies, contacts, directory, facts, reloader, render};
pub use touchless_redirect as redirect;
pub use touchless_runtime::{
    accesslog, certs, config, datadir, json, limits, metrics, secret, serve, tasks,
    without_huge_pages, Config,
};
