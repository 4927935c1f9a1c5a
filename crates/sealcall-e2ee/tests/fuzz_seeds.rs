//! The cargo-fuzz targets' bodies, run over a fixed seed corpus in every `cargo test` so CI
//! exercises them without a nightly toolchain. The same bodies back `fuzz/fuzz_targets/*`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use sealcall_e2ee::testing::{
    TestRng, fuzz_control_open, fuzz_handshake_message, fuzz_header, fuzz_unprotect,
    sealed_control_seed,
};
use sealcall_e2ee::*;

fn seeds() -> Vec<Vec<u8>> {
    let mut seeds: Vec<Vec<u8>> = vec![
        vec![],
        vec![0x00],
        vec![0xff],
        vec![0x80],
        vec![0x08],
        vec![0x88, 0x00, 0x00],
        vec![0xff; 17],
        vec![0xff; 40],
        vec![0x0f; 33],
        vec![1, 1],
        vec![1, 2, 0],
        vec![1, 3, 64],
        vec![1, 4, 65],
    ];
    // Real messages and frames, plus every truncation of them.
    let mut rng = TestRng::new(b"seeds");
    let alice = DeviceIdentity::generate(&mut rng);
    let bob = DeviceIdentity::generate(&mut rng);
    let p = |d: &[u8]| HandshakeParams {
        suite: CipherSuite::Aes128GcmSha256,
        call_id: b"call".to_vec(),
        local_device: d.to_vec(),
        intent: Intent::EndToEnd,
        dtls_fingerprint: [0x5c; 32],
        post_quantum: sealcall_e2ee::PostQuantum::Offered,
        expected_peer: None,
    };
    let (a, commit) = CallerHandshake::start(&mut rng, &alice, p(b"a")).unwrap();
    let (b, response) = CalleeHandshake::respond(&mut rng, &bob, p(b"b"), &commit).unwrap();
    let (_a, reveal) = a.on_response(&alice, &response).unwrap();
    let (_b, confirm) = b.on_reveal(&bob, &reveal).unwrap();
    for msg in [commit, response, reveal, confirm] {
        for len in 0..=msg.len() {
            seeds.push(msg[..len].to_vec());
        }
    }
    // Every combination of the post-quantum fields: a Commit without a key, a Response without
    // a ciphertext, and requirements on either side.
    for (pa, pb) in [
        (PostQuantum::Unavailable, PostQuantum::Offered),
        (PostQuantum::Offered, PostQuantum::Unavailable),
        (PostQuantum::Required, PostQuantum::Required),
    ] {
        let pa = HandshakeParams {
            post_quantum: pa,
            ..p(b"a")
        };
        let pb = HandshakeParams {
            post_quantum: pb,
            ..p(b"b")
        };
        let (_, commit) = CallerHandshake::start(&mut rng, &alice, pa).unwrap();
        seeds.push(commit.clone());
        if let Ok((_, response)) = CalleeHandshake::respond(&mut rng, &bob, pb, &commit) {
            seeds.push(response);
        }
    }
    let base = BaseKey::from_bytes(b"sealcall fuzz base key").unwrap();
    let mut key = SframeKey::new(
        AeadBackend::RustCrypto,
        CipherSuite::Aes128GcmSha256,
        &base,
        0,
    )
    .unwrap();
    for ctr in [0u64, 7, 8, 255, 65536, u64::MAX] {
        let (mut buf, range) = common::framed(b"seed payload");
        let out = key.protect(ctr, &[], &mut buf, range).unwrap();
        seeds.push(buf[out].to_vec());
    }
    // Genuine control messages (hold, an empty one, the largest) and every truncation.
    for plain in [
        &br#"{"v":1,"type":"hold"}"#[..],
        b"",
        &[b'x'; MAX_CONTROL_PLAINTEXT],
    ] {
        let sealed = sealed_control_seed(plain).unwrap();
        for len in (0..=sealed.len()).step_by(7).chain([sealed.len()]) {
            seeds.push(sealed[..len].to_vec());
        }
    }
    seeds
}

#[test]
fn fuzz_bodies_accept_the_seed_corpus() {
    for seed in seeds() {
        fuzz_header(&seed);
        fuzz_unprotect(&seed);
        fuzz_handshake_message(&seed);
        fuzz_control_open(&seed);
    }
}

#[test]
fn valid_seed_frames_really_decrypt() {
    // The seed frames are genuine: the fuzz key opens them (so the fuzzer starts from real frames).
    let base = BaseKey::from_bytes(b"sealcall fuzz base key").unwrap();
    let mut key = SframeKey::new(
        AeadBackend::RustCrypto,
        CipherSuite::Aes128GcmSha256,
        &base,
        0,
    )
    .unwrap();
    let (mut buf, range) = common::framed(b"seed payload");
    let out = key.protect(3, &[], &mut buf, range).unwrap();
    let mut frame = buf[out].to_vec();
    let (_, plain) = key.unprotect(&[], &mut frame).unwrap();
    assert_eq!(&frame[plain], b"seed payload");
}
