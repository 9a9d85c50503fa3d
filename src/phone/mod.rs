//! `touchless phone`: simulated phones, one (`boot`) or thousands (`storm`).
//!
//! Each vendor's phone is a module of its own, because what a factory-reset
//! phone does first (whom it asks, which settings it applies) is its maker's;
//! the vendor seam (`touchless_phones`) supplies its User-Agent and file names.

mod snom;

pub use snom::*;
