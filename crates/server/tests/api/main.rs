//! Integration tests: the real server on port 0, driven by real HTTP clients.

mod admin;
mod helpers;
mod provisioning;
mod redirect;
