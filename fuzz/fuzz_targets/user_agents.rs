//! User-Agents of every vendor's phones. One that parses says a model, a
//! firmware and maybe a MAC; the vendor's own form of those parses back to
//! the same model and MAC.
#![no_main]

use libfuzzer_sys::fuzz_target;
use touchless_phones::parse_user_agent;

fuzz_target!(|data: &[u8]| {
    let Ok(ua) = std::str::from_utf8(data) else {
        return;
    };
    let Some(u) = parse_user_agent(ua) else {
        return;
    };
    let Some(mac) = u.mac else { return };
    if touchless_domain::FirmwareVersion::parse(&u.firmware).is_err() {
        return;
    }
    let again = u.model.vendor().user_agent(u.model, &u.firmware, mac);
    let back = parse_user_agent(&again).unwrap_or_else(|| panic!("{again:?} does not parse"));
    assert_eq!(back.model, u.model, "{again:?}");
    assert_eq!(back.mac, Some(mac), "{again:?}");
    assert_eq!(back.firmware, u.firmware, "{again:?}");
});
