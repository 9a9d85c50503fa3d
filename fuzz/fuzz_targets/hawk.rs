//! The Hawk `Authorization` header (SRAPS API) and the normalized string
//! its MAC covers: any header parses or is refused; the MAC of a parsed
//! header over any request is computed without a panic, and changes with
//! the resource.
#![no_main]

use libfuzzer_sys::fuzz_target;
use touchless_runtime::hawk::{parse_header, payload_hash, request_mac, RequestInfo};

fuzz_target!(|input: (&str, &str, &str, u16, &[u8])| {
    let (header, resource, host, port, body) = input;
    let Ok(h) = parse_header(header) else { return };
    let info = RequestInfo {
        method: "POST",
        resource,
        host,
        port,
    };
    let mac = request_mac(b"key", &h, &info);
    let other = RequestInfo {
        method: "POST",
        resource: &format!("{resource}x"),
        host,
        port,
    };
    assert_ne!(
        mac,
        request_mac(b"key", &h, &other),
        "the resource is covered"
    );
    let _ = payload_hash("application/json", body);
});
