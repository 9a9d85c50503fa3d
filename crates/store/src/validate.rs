//! Checks of a write that no column constraint expresses, done before any
//! SQL runs, the same for every backend.

use touchless_domain::Setting;

use crate::{Line, Result, StoreError};

/// Line indexes are 1..=64 and distinct.
pub(crate) fn check_lines(lines: &[Line]) -> Result<()> {
    let mut seen = std::collections::HashSet::new();
    for l in lines {
        if l.idx == 0 || l.idx > 64 {
            return Err(StoreError::Invalid {
                field: "lines",
                message: format!("line index {} is out of range 1..=64", l.idx),
            });
        }
        if !seen.insert(l.idx) {
            return Err(StoreError::Invalid {
                field: "lines",
                message: format!("line {} is given twice", l.idx),
            });
        }
    }
    Ok(())
}

/// The settings of `items` must have distinct `(name, idx)`.
pub(crate) fn check_unique_settings(items: &[Setting]) -> Result<()> {
    let mut seen = std::collections::HashSet::new();
    for s in items {
        if !seen.insert((s.name.as_str(), s.idx)) {
            return Err(StoreError::Invalid {
                field: "settings",
                message: format!(
                    "setting {}{} is given twice",
                    s.name,
                    s.idx.map(|i| format!("[{i}]")).unwrap_or_default()
                ),
            });
        }
    }
    Ok(())
}
