//! A VP8 video frame stage by stage — encode, protect, packetize, reassemble, unprotect, decode —
//! for the camera stream at 640x480 and the screen share at 1280x720, through the same loops as
//! `sealcall bench` (criterion's sampling instead of the CLI's).
//!
//! `cargo bench -p sealcall-benches --bench video`.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use sealcall_benches::measure::Settings;
use sealcall_benches::video::{VIDEO_SHAPES, measure};
use sealcall_e2ee::AeadBackend;

fn video(c: &mut Criterion) {
    // Criterion times the whole measured stage set per stream; the per-stage medians are printed
    // from the same run for the record.
    let mut group = c.benchmark_group("video-frame");
    group.sample_size(10);
    let backend = *AeadBackend::available().last().expect("a backend");
    for shape in VIDEO_SHAPES {
        group.bench_function(
            format!("{}-{}x{}", shape.name, shape.width, shape.height),
            |b| {
                b.iter_custom(|iters| {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        let r = measure(&shape, backend, &Settings::QUICK, |_| {}).expect("video");
                        total += Duration::from_nanos((r.send_ns + r.receive_ns) as u64);
                    }
                    total
                });
            },
        );
        let r = measure(&shape, backend, &Settings::QUICK, |_| {}).expect("video");
        for (stage, s) in &r.stages {
            println!("{} {stage}: median {:.1} us", shape.name, s.median_ns / 1e3);
        }
        println!(
            "{}: mean frame {} B, e2ee share {:.3}%",
            shape.name, r.mean_frame_bytes, r.e2ee_share_percent
        );
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(100))
        .measurement_time(Duration::from_secs(5));
    targets = video
}
criterion_main!(benches);
