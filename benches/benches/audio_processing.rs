//! The audio processing on the microphone, per 10 ms frame at 48 kHz mono: echo cancellation,
//! noise suppression, gain control and the high-pass filter alone, and the whole chain (goal:
//! at most 1 ms per 10 ms frame, 10% of one core).
//!
//! `cargo bench -p sealcall-benches --bench audio_processing`.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use criterion::{Criterion, criterion_group, criterion_main};
use sealcall_benches::Routine;
use sealcall_benches::audio::{ApmPart, ApmRoutine};

fn audio_processing(c: &mut Criterion) {
    let mut group = c.benchmark_group("audio-processing-10ms");
    for part in ApmPart::ALL {
        let mut r = ApmRoutine::new(part).expect("audio processing set-up");
        group.bench_function(part.name(), |b| {
            b.iter_custom(|iters| r.run(iters).expect("audio processing"));
        });
    }
    group.finish();
}

criterion_group!(benches, audio_processing);
criterion_main!(benches);
