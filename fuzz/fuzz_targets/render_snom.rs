//! The snom format's property: fuzzed values rendered into a device file
//! (and its firmware file) read back exactly, with no setting added or lost.
#![no_main]

use libfuzzer_sys::fuzz_target;
use touchless_fuzz::{check, exact, xml, Input};

fuzz_target!(|i: Input| {
    check("snomD785", "000413AABBCC", &i, xml, exact);
});
