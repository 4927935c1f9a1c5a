//! Whole operations: the handshake (both sides, to keys and security code) with X25519 alone and
//! with the X25519 + ML-KEM-768 hybrid; ML-KEM-768 keygen, encapsulate and decapsulate; one
//! rekey; and Opus encode + protect of a 20 ms audio frame (with Opus encode alone for
//! reference).
//!
//! `cargo bench -p sealcall-benches --bench session`.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use sealcall_benches::Routine;
use sealcall_benches::extras::{
    HandshakeRoutine, KemOp, MlKemRoutine, RekeyRoutine, agreement_for, key_agreement_name,
};
use sealcall_benches::report::{HANDSHAKE_POST_QUANTUM, suite_name};
use sealcall_e2ee::{AeadBackend, CipherSuite};

fn session(c: &mut Criterion) {
    let mut group = c.benchmark_group("handshake");
    for suite in [CipherSuite::Aes128GcmSha256, CipherSuite::Aes256GcmSha512] {
        for pq in HANDSHAKE_POST_QUANTUM {
            let mut r = HandshakeRoutine::new(suite, pq);
            let id = format!(
                "{}/{}",
                suite_name(suite),
                key_agreement_name(agreement_for(pq))
            );
            group.bench_function(id, |b| {
                b.iter_custom(|iters| r.run(iters).expect("handshake"));
            });
        }
    }
    group.finish();

    let mut group = c.benchmark_group("ml-kem-768");
    for op in KemOp::ALL {
        let mut r = MlKemRoutine::new(op).expect("ml-kem set-up");
        group.bench_function(op.name(), |b| {
            b.iter_custom(|iters| r.run(iters).expect("ml-kem"));
        });
    }
    group.finish();

    let mut group = c.benchmark_group("rekey");
    for &backend in AeadBackend::available() {
        for suite in [CipherSuite::Aes128GcmSha256, CipherSuite::Aes256GcmSha512] {
            let mut r = RekeyRoutine::new(backend, suite).expect("rekey set-up");
            group.bench_function(format!("{}/{}", backend.name(), suite_name(suite)), |b| {
                b.iter_custom(|iters| r.run(iters).expect("rekey"));
            });
        }
    }
    group.finish();

    #[cfg(feature = "opus")]
    {
        use sealcall_benches::extras::OpusProtectRoutine;
        let mut group = c.benchmark_group("opus-20ms");
        for &backend in AeadBackend::available() {
            for (name, protect) in [("encode", false), ("encode+protect", true)] {
                let mut r = OpusProtectRoutine::new(backend, CipherSuite::Aes128GcmSha256, protect)
                    .expect("opus set-up");
                group.bench_function(format!("{name}/{}/AES-128-GCM", backend.name()), |b| {
                    b.iter_custom(|iters| r.run(iters).expect("opus"));
                });
            }
        }
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = session
}
criterion_main!(benches);
