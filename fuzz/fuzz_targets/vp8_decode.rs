//! cargo-fuzz target: `fuzz_decode` from sealcall-vpx's fuzzing module (also run over a seed corpus
//! by `crates/sealcall-vpx/tests/fuzz_seeds.rs` in every `cargo test`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    sealcall_vpx::fuzzing::fuzz_decode(data);
});
