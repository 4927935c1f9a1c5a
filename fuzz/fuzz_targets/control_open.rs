//! cargo-fuzz target: `fuzz_control_open` from sealcall-e2ee's testing module (arbitrary bytes
//! opened as a sealed control message; also run over a seed corpus by
//! `crates/sealcall-e2ee/tests/fuzz_seeds.rs` in every `cargo test`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    sealcall_e2ee::testing::fuzz_control_open(data);
});
