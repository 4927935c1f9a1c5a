//! Protect and unprotect allocate nothing per frame after set-up: every size, both suites, every
//! AEAD backend in this build. A counting global allocator (`stats_alloc`) watches the heap.
//!
//! One test function only: the counters are process-wide, so no other test may run alongside.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::alloc::System;
use std::time::Duration;

use sealcall_benches::FRAME_SIZES;
use sealcall_benches::cases::{media_for, sender_receiver};
use sealcall_e2ee::{AeadBackend, CipherSuite, MAX_HEADER_LEN, TAG_LEN};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Frames per size and direction checked after the warm-up.
const FRAMES: usize = 64;

#[test]
fn protect_and_unprotect_allocate_nothing_per_frame() {
    let now = Duration::ZERO;
    let metadata = [7u8; 12];
    let mut checked = 0;
    for &backend in AeadBackend::available() {
        for suite in [CipherSuite::Aes128GcmSha256, CipherSuite::Aes256GcmSha512] {
            for size in FRAME_SIZES {
                // Set-up: handshake, keys, buffers. Allocates, and is not counted.
                let (mut sender, mut receiver) =
                    sender_receiver(backend, suite, media_for(size)).unwrap();
                let stride = MAX_HEADER_LEN + size + TAG_LEN;
                let mut bufs = vec![vec![0x5au8; stride]; FRAMES + 1];
                let payload = MAX_HEADER_LEN..MAX_HEADER_LEN + size;
                // Warm-up: one frame each way (the aws-lc backend grows its scratch buffer once
                // to the largest frame here).
                let out = sender
                    .protect(now, &metadata, &mut bufs[FRAMES], payload.clone())
                    .unwrap();
                receiver
                    .unprotect(now, &metadata, &mut bufs[FRAMES][out])
                    .unwrap();

                let region = Region::new(GLOBAL);
                let mut frames = [const { 0..0 }; FRAMES];
                for (buf, frame) in bufs.iter_mut().zip(frames.iter_mut()) {
                    *frame = sender
                        .protect(now, &metadata, buf, payload.clone())
                        .unwrap();
                }
                let after_protect = region.change();
                for (buf, frame) in bufs.iter_mut().zip(frames.iter()) {
                    let plain = receiver
                        .unprotect(now, &metadata, &mut buf[frame.clone()])
                        .unwrap();
                    assert_eq!(plain.len(), size);
                }
                let after_both = region.change();

                let what = format!("{} {suite:?} {size} B", backend.name());
                assert_eq!(
                    (after_protect.allocations, after_protect.reallocations),
                    (0, 0),
                    "protect allocated: {what}: {after_protect:?}"
                );
                assert_eq!(
                    (after_both.allocations, after_both.reallocations),
                    (0, 0),
                    "unprotect allocated: {what}: {after_both:?}"
                );
                assert_eq!(after_both.bytes_allocated, 0, "{what}");
                checked += 1;
            }
        }
    }
    assert_eq!(
        checked,
        AeadBackend::available().len() * 2 * FRAME_SIZES.len()
    );
}
