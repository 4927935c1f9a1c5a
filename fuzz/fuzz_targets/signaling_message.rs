//! Fuzzes the signaling message parser: arbitrary bytes are parsed as a device's and as the
//! server's message; whatever parses must encode and parse back unchanged. The body lives in
//! `sealcall_signaling::fuzzing::parse_any`, which the crate's tests also run on seed inputs.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    sealcall_signaling::fuzzing::parse_any(data);
});
