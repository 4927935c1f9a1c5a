//! Protect and unprotect of every media shape, both suites, every implementation side by side:
//! Sealcall on each AEAD backend, the raw AEAD call (the floor), the `sframe` crate and SRTP.
//!
//! `cargo bench -p sealcall-benches --bench frames` (filter with e.g. `-- "protect/AES-128-GCM"`).
//! The timing loops are the library's (`FrameCase::time_protect` / `time_unprotect`), the ones
//! `sealcall bench` uses; unprotect times only the unprotect calls on fresh frames (see the
//! crate docs).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use sealcall_benches::report::suite_name;
use sealcall_benches::{FRAME_SIZES, Implementation, Op, new_case, size_label};
use sealcall_e2ee::CipherSuite;

fn frames(c: &mut Criterion) {
    for suite in [CipherSuite::Aes128GcmSha256, CipherSuite::Aes256GcmSha512] {
        for size in FRAME_SIZES {
            for op in Op::ALL {
                let mut group = c.benchmark_group(format!(
                    "{}/{}/{}",
                    op.name(),
                    suite_name(suite),
                    size_label(size).replace(' ', "")
                ));
                group.throughput(Throughput::Bytes(size as u64));
                for implementation in Implementation::all() {
                    // A fresh case per benchmark, so protect's counters never meet the ring.
                    let mut case = new_case(implementation, suite, size)
                        .unwrap_or_else(|e| panic!("{}: {e}", implementation.label()));
                    group.bench_function(
                        BenchmarkId::from_parameter(implementation.label()),
                        |b| {
                            b.iter_custom(|iters| match op {
                                Op::Protect => case.time_protect(iters).expect("protect"),
                                Op::Unprotect => case.time_unprotect(iters).expect("unprotect"),
                            });
                        },
                    );
                }
                group.finish();
            }
        }
    }
}

criterion_group! {
    name = benches;
    // Two shared cores are noisy: many short samples, medians reported.
    config = Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_millis(400))
        .measurement_time(Duration::from_millis(1200))
        .noise_threshold(0.03);
    targets = frames
}
criterion_main!(benches);
