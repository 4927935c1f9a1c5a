//! Fuzzes the cmdlet parser and executor: arbitrary bytes (as lossy UTF-8, one command per line)
//! are parsed and, when they parse, run against an in-memory organisation, first as an ordinary
//! user (must be denied and change nothing), then as an administrator. The invariant checks live
//! in `sealcall_policy::fuzzing::run_cmdlet_line`, which the crate's `tests/fuzz_seeds.rs` also
//! runs on the seed inputs.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    sealcall_policy::fuzzing::run_cmdlet_line(data);
});
