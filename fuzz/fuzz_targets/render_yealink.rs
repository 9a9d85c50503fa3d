//! The yealink format's property: fuzzed values rendered into a device file
//! (and its firmware file) read back exactly, with no setting added or lost.
#![no_main]

use libfuzzer_sys::fuzz_target;
use touchless_fuzz::{check, one_line, yealink, Input};

fuzz_target!(|i: Input| {
    check("yealinkT46S", "805EC0123456", &i, yealink, one_line);
});
