//! A devices CSV file as uploaded: every row becomes a device or a problem
//! that names its row and column; never more problems than the cap.
#![no_main]

use libfuzzer_sys::fuzz_target;
use touchless_api::csv;

fuzz_target!(|data: &[u8]| {
    match csv::parse(data) {
        Ok(rows) => {
            for (row, _) in rows {
                assert!(row >= 2, "data rows start after the header");
            }
        }
        Err(problems) => {
            assert!(!problems.is_empty());
            assert!(problems.len() <= csv::MAX_PROBLEMS + 8);
        }
    }
});
