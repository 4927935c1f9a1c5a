//! The `vp8_decode` cargo-fuzz target's body, run over a seed corpus in every `cargo test` so CI
//! exercises it without a nightly toolchain. The same body backs `fuzz/fuzz_targets/vp8_decode.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use sealcall_vpx::fuzzing::{SEED_HEIGHT, SEED_WIDTH, fuzz_decode, seed_stream};
use sealcall_vpx::{Decoder, vp8_frame_info};

/// Real frames, their truncations and bit flips, and hand-made headers.
fn seeds() -> Vec<Vec<u8>> {
    let stream = seed_stream().expect("libvpx encodes the seed stream");
    let mut seeds: Vec<Vec<u8>> = vec![
        vec![],
        vec![0x00],
        vec![0xff; 3],
        vec![
            0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x01, 0x00, 0x01, 0x00, 0x00,
        ],
        vec![0x31, 0x00, 0x00, 0x00],
        vec![
            0x50, 0x00, 0x00, 0x9d, 0x01, 0x2a, 0xff, 0x3f, 0xff, 0x3f, 0xaa, 0xbb,
        ],
        // Found by the fuzz target: libvpx accepts this interframe without a picture.
        vec![
            0xf1, 0x00, 0x00, 0x20, 0x20, 0x00, 0x03, 0x20, 0x00, 0x00, 0x00, 0x00, 0x00, 0x20,
            0x06, 0x00,
        ],
    ];
    for frame in stream {
        seeds.push(frame.clone());
        for len in [3, 10, 11, frame.len() / 2, frame.len() - 1] {
            seeds.push(frame[..len.min(frame.len())].to_vec());
        }
        for bit in (0..frame.len() * 8).step_by(61) {
            let mut flipped = frame.clone();
            flipped[bit / 8] ^= 1 << (bit % 8);
            seeds.push(flipped);
        }
        // Shown flag cleared; key/inter bit flipped.
        let mut hidden = frame.clone();
        hidden[0] &= !0x10;
        seeds.push(hidden);
        let mut other = frame.clone();
        other[0] ^= 1;
        seeds.push(other);
    }
    seeds
}

#[test]
fn the_seed_stream_is_a_clean_key_frame_then_interframes() {
    let stream = seed_stream().unwrap();
    assert!(stream.len() >= 3);
    let mut decoder = Decoder::new().unwrap();
    for (i, frame) in stream.iter().enumerate() {
        let info = vp8_frame_info(frame).unwrap();
        assert_eq!(info.keyframe, i == 0);
        let picture = decoder.decode(frame).unwrap().unwrap();
        assert_eq!(
            (picture.width(), picture.height()),
            (SEED_WIDTH, SEED_HEIGHT)
        );
    }
    // Deterministic: the same bytes every time in a process (and across runs of one libvpx).
    assert_eq!(seed_stream().unwrap().as_ptr(), stream.as_ptr());
}

#[test]
fn fuzz_decode_over_the_seeds() {
    let seeds = seeds();
    assert!(seeds.len() > 50);
    for seed in &seeds {
        fuzz_decode(seed);
    }
}

#[test]
fn fuzz_decode_over_a_pseudo_random_corpus() {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let keyframe = &seed_stream().unwrap()[0];
    for _ in 0..200 {
        let len = (next() % 600) as usize;
        let mut data: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        // Half of them behind the genuine key frame header, to get past libvpx's first checks.
        if next() % 2 == 0 && data.len() > 10 {
            data[3..10].copy_from_slice(&keyframe[3..10]);
            data[0] &= !1;
        }
        fuzz_decode(&data);
    }
}
