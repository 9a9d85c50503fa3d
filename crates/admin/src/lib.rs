//! The admin side of touchless: the typed admin JSON API (`admin`) and the
//! web console (`console`), which calls the API's functions and renders its
//! values, so the two cannot drift apart. Above every other part: it writes
//! through the store and tells this node's provisioning view and queue.

pub mod admin;
pub mod console;
