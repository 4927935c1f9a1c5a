//! cargo-fuzz target: `fuzz_header` from sealcall-e2ee's testing module (also run over a seed corpus by
//! `crates/sealcall-e2ee/tests/fuzz_seeds.rs` in every `cargo test`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    sealcall_e2ee::testing::fuzz_header(data);
});
