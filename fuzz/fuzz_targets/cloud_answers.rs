//! What vendors' clouds answer (SRAPS/GRAPE JSON, YMCS codes and batches,
//! Poly ZTP, Fanvil's XML-RPC), with any status and `Retry-After`: read or
//! worded, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (u16, &[u8], &[u8])| {
    let (status, retry_after, body) = input;
    let said = touchless_daemon::fuzzing::cloud_answers(status, retry_after, body);
    assert!(!said.is_empty());
});
