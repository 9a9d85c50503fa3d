//! MACs as they arrive: in paths, CSV cells, API bodies, stored rows. What
//! parses prints back in the one form, which parses to the same MAC.
#![no_main]

use libfuzzer_sys::fuzz_target;
use touchless_domain::Mac;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    // Each reader takes back what it read, printed in the one form (the
    // stored form also takes multicast MACs, which older releases kept).
    let readers: [fn(&str) -> Result<Mac, touchless_domain::Error>; 3] =
        [Mac::parse, Mac::parse_compact, Mac::parse_stored];
    for read in readers {
        if let Ok(m) = read(s) {
            let printed = m.to_string();
            assert_eq!(printed.len(), 12);
            assert_eq!(read(&printed).ok(), Some(m), "{s:?}");
            assert_eq!(Mac::parse_stored(&printed).ok(), Some(m), "{s:?}");
            assert_eq!(Mac::parse(&m.colon()).ok(), Mac::parse(&printed).ok());
        }
    }
});
