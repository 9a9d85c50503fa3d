//! `NAME[IDX]=VALUE`, as CSV cells, the console's forms and the CLI's
//! `--setting` write it: a setting read prints back to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use touchless_api::csv;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(set) = csv::setting(s) {
        let d = touchless_domain::Setting::new(
            set.name.as_str(),
            set.idx,
            &set.value.0,
            touchless_domain::Perm::R,
        );
        if let Ok(d) = d {
            let printed = csv::setting_text(&d);
            let back = csv::setting(&printed).expect("prints back");
            assert_eq!(
                (back.name, back.idx, back.value.0),
                (set.name, set.idx, set.value.0)
            );
        }
    }
    let _ = csv::settings(s);
    let _ = csv::settings_of_lines(s);
    let _ = csv::lines(s);
});
