//! The file names phones ask for, upload and fetch firmware by, with a pair
//! in the path or not. A name that parses names itself again.
#![no_main]

use libfuzzer_sys::fuzz_target;
use touchless_phones::{auth_schemes_for, pair, parse_file, parse_firmware_file, parse_upload};

fuzz_target!(|data: &[u8]| {
    let Ok(path) = std::str::from_utf8(data) else {
        return;
    };
    let name = match pair::split(path) {
        Some((user, pass, name)) => {
            // What is split out is what `insert` writes back.
            let back = pair::insert(&format!("/prov/{name}"), &user, &pass);
            assert_eq!(
                pair::split(back.strip_prefix("/prov/").unwrap()).map(|(u, p, n)| (
                    u,
                    p,
                    n.to_owned()
                )),
                Some((user, pass, name.to_owned()))
            );
            name
        }
        None => path,
    };
    if let Some(f) = parse_file(name) {
        let again = f.to_string();
        assert_eq!(parse_file(&again), Some(f), "{name:?} → {again:?}");
        if f.mac.is_none() || f.model.is_some() {
            // Snom's names take the MAC in either case; the one form is
            // upper case.
            assert!(again.eq_ignore_ascii_case(name), "{name:?} → {again:?}");
        }
    }
    if let Some((vendor, mac)) = parse_firmware_file(name) {
        if let Some(model) = vendor.example_model() {
            if let Some(n) = vendor.firmware_file_name(model, mac) {
                assert_eq!(parse_firmware_file(&n).map(|(_, m)| m), Some(mac));
            }
        }
    }
    let _ = parse_upload(name);
    let _ = auth_schemes_for(name);
});
