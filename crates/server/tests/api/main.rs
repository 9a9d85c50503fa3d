//! Integration tests: the real server on port 0, driven by real HTTP clients.

mod admin;
mod clouds;
mod console;
mod console_browser;
mod console_devices;
mod console_firmware;
mod console_pages;
mod credentials;
mod daemon;
#[path = "../support/fake_fdps.rs"]
mod fake_fdps;
#[path = "../support/fake_sraps.rs"]
mod fake_sraps;
#[path = "../support/fake_ymcs.rs"]
mod fake_ymcs;
#[path = "../support/fake_ztp.rs"]
mod fake_ztp;
mod firmware;
mod golden;
mod helpers;
mod invariants;
mod metrics;
mod openapi;
mod operations;
mod provider_kinds;
mod provisioning;
mod redirect;
mod vendors;
#[path = "../support/webdriver.rs"]
mod webdriver;
