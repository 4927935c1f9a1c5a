//! Frozen vectors of Sealcall's own handshake, key schedule and frame format. The values are
//! printed in docs/PROTOCOL.md; this test recomputes them so the document and the code cannot
//! drift. A change to either must be deliberate: it breaks interoperability with older builds.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use core::time::Duration;

use sealcall_e2ee::testing::TestRng;
use sealcall_e2ee::*;
use sha2::{Digest, Sha256};

fn frame(sender: &mut FrameSender, payload: &[u8]) -> Vec<u8> {
    let mut buf = vec![0u8; MAX_HEADER_LEN + payload.len() + TAG_LEN];
    let body = MAX_HEADER_LEN..MAX_HEADER_LEN + payload.len();
    buf[body.clone()].copy_from_slice(payload);
    let out = sender.protect(Duration::ZERO, &[], &mut buf, body).unwrap();
    buf[out].to_vec()
}

fn params(device: &str, post_quantum: PostQuantum) -> HandshakeParams {
    HandshakeParams {
        suite: CipherSuite::Aes128GcmSha256,
        call_id: b"frozen-call".to_vec(),
        local_device: device.as_bytes().to_vec(),
        intent: Intent::EndToEnd,
        dtls_fingerprint: Sha256::digest(device.as_bytes()).into(),
        post_quantum,
        expected_peer: None,
    }
}

/// One handshake from `rng`: the four messages and both sides' keys.
fn run(
    rng: &mut TestRng,
    alice: &DeviceIdentity,
    bob: &DeviceIdentity,
    callee_post_quantum: PostQuantum,
) -> ([Vec<u8>; 4], Established, Established) {
    let (caller, commit) =
        CallerHandshake::start(rng, alice, params("alice-laptop", PostQuantum::Offered)).unwrap();
    let (callee, response) = CalleeHandshake::respond(
        rng,
        bob,
        params("bob-desktop", callee_post_quantum),
        &commit,
    )
    .unwrap();
    let (caller, reveal) = caller.on_response(alice, &response).unwrap();
    let (bob_keys, confirm) = callee.on_reveal(bob, &reveal).unwrap();
    let alice_keys = caller.on_confirm(&confirm).unwrap();
    assert_eq!(alice_keys.security_code(), bob_keys.security_code());
    ([commit, response, reveal, confirm], alice_keys, bob_keys)
}

fn compute() -> Vec<(&'static str, String)> {
    let mut rng = TestRng::new(b"Sealcall frozen vector v3");
    let alice = DeviceIdentity::generate(&mut rng);
    let bob = DeviceIdentity::generate(&mut rng);
    let ([commit, response, reveal, confirm], mut alice_keys, mut bob_keys) =
        run(&mut rng, &alice, &bob, PostQuantum::Offered);
    let agreement = format!("{:?}", alice_keys.verified().key_agreement);
    let transcript = hex::encode(alice_keys.transcript_hash());
    let code = alice_keys.security_code().to_string();
    // The control channel of the same call: the caller's first message, a hold.
    let hold = br#"{"v":1,"type":"hold"}"#;
    let control0 = alice_keys
        .take_control_channel()
        .unwrap()
        .split()
        .0
        .seal(hold)
        .unwrap();
    let opened = bob_keys
        .take_control_channel()
        .unwrap()
        .split()
        .1
        .open(&control0)
        .unwrap();
    assert_eq!(opened.plaintext, hold);
    let mut a = alice_keys.into_session(StreamConfig::default()).unwrap();
    let mut b = bob_keys.into_session(StreamConfig::default()).unwrap();
    let audio0 = frame(a.sender(MediaKind::Audio), b"Sealcall frozen audio frame");
    let video0 = frame(b.sender(MediaKind::Video), b"Sealcall frozen video frame");
    a.sender(MediaKind::Audio).rekey(Duration::ZERO).unwrap();
    let audio_epoch1 = frame(a.sender(MediaKind::Audio), b"Sealcall frozen audio frame");
    // Each frozen frame must also open on the other side.
    for (rx, f) in [
        (b.receiver(MediaKind::Audio), &audio0),
        (a.receiver(MediaKind::Video), &video0),
    ] {
        let mut f = f.clone();
        rx.unprotect(Duration::ZERO, &[], &mut f).unwrap();
    }
    let mut f = audio_epoch1.clone();
    b.receiver(MediaKind::Audio)
        .unprotect(Duration::ZERO, &[], &mut f)
        .unwrap();
    // The same RNG stream continues into a second call whose callee cannot do ML-KEM.
    let (fallback, fallback_keys, _) = run(&mut rng, &alice, &bob, PostQuantum::Unavailable);
    vec![
        (
            "rng_seed",
            "\"Sealcall frozen vector v3\" (TestRng)".to_string(),
        ),
        ("caller_identity", hex::encode(alice.public().to_bytes())),
        ("callee_identity", hex::encode(bob.public().to_bytes())),
        ("commit", hex::encode(&commit)),
        ("response", hex::encode(&response)),
        ("reveal", hex::encode(&reveal)),
        ("confirm", hex::encode(&confirm)),
        ("key_agreement", agreement),
        ("transcript_hash", transcript),
        ("security_code", code),
        ("audio_caller_to_callee_epoch0_ctr0", hex::encode(audio0)),
        ("video_callee_to_caller_epoch0_ctr0", hex::encode(video0)),
        (
            "audio_caller_to_callee_epoch1_ctr0",
            hex::encode(audio_epoch1),
        ),
        ("control_caller_to_callee_seq0", hex::encode(control0)),
        (
            "fallback_commit_sha256",
            hex::encode(Sha256::digest(&fallback[0])),
        ),
        ("fallback_response", hex::encode(&fallback[1])),
        (
            "fallback_key_agreement",
            format!("{:?}", fallback_keys.verified().key_agreement),
        ),
        (
            "fallback_transcript_hash",
            hex::encode(fallback_keys.transcript_hash()),
        ),
        (
            "fallback_security_code",
            fallback_keys.security_code().to_string(),
        ),
    ]
}

#[test]
fn protocol_md_frozen_vectors_match_the_code() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/PROTOCOL.md");
    let doc = std::fs::read_to_string(path).expect("docs/PROTOCOL.md");
    let block = doc
        .split("<!-- frozen-vectors:begin -->")
        .nth(1)
        .and_then(|rest| rest.split("<!-- frozen-vectors:end -->").next())
        .expect("frozen-vectors markers in docs/PROTOCOL.md");
    let expected = compute();
    let rendered: String = expected
        .iter()
        .map(|(k, v)| format!("{k} = {v}\n"))
        .collect();
    let in_doc: Vec<(String, String)> = block
        .lines()
        .filter_map(|l| l.split_once(" = "))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let computed: Vec<(String, String)> = expected
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    assert_eq!(
        in_doc, computed,
        "docs/PROTOCOL.md frozen vectors differ from the code; the code computes:\n{rendered}"
    );
}
