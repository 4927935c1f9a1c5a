//! Shared helpers for the integration tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use core::ops::Range;
use core::time::Duration;

use sealcall_e2ee::testing::TestRng;
use sealcall_e2ee::*;

pub struct Party {
    pub identity: DeviceIdentity,
    pub device: Vec<u8>,
}

pub fn party(rng: &mut TestRng, device: &str) -> Party {
    Party {
        identity: DeviceIdentity::generate(rng),
        device: device.as_bytes().to_vec(),
    }
}

pub fn params(p: &Party, call: &[u8]) -> HandshakeParams {
    HandshakeParams {
        suite: CipherSuite::Aes128GcmSha256,
        call_id: call.to_vec(),
        local_device: p.device.clone(),
        intent: Intent::EndToEnd,
        dtls_fingerprint: [0x5c; 32],
        post_quantum: PostQuantum::Offered,
        expected_peer: None,
    }
}

/// Runs a full honest handshake; returns (caller, callee) results.
pub fn handshake(seed: u64, suite: CipherSuite) -> (Established, Established) {
    let mut rng = TestRng::new(&seed.to_be_bytes());
    let alice = party(&mut rng, "alice-laptop");
    let bob = party(&mut rng, "bob-phone");
    let mut pa = params(&alice, b"call-42");
    pa.suite = suite;
    let (caller, commit) = CallerHandshake::start(&mut rng, &alice.identity, pa).unwrap();
    let (callee, response) =
        CalleeHandshake::respond(&mut rng, &bob.identity, params(&bob, b"call-42"), &commit)
            .unwrap();
    let (caller, reveal) = caller.on_response(&alice.identity, &response).unwrap();
    let (bob_done, confirm) = callee.on_reveal(&bob.identity, &reveal).unwrap();
    let alice_done = caller.on_confirm(&confirm).unwrap();
    (alice_done, bob_done)
}

pub fn sessions(config: StreamConfig) -> (Session, Session) {
    let (a, b) = handshake(1, config.suite);
    (
        a.into_session(config).unwrap(),
        b.into_session(config).unwrap(),
    )
}

/// A buffer holding `payload` with headroom and tailroom; returns it and the payload range.
pub fn framed(payload: &[u8]) -> (Vec<u8>, Range<usize>) {
    let mut buf = vec![0u8; MAX_HEADER_LEN + payload.len() + TAG_LEN];
    buf[MAX_HEADER_LEN..MAX_HEADER_LEN + payload.len()].copy_from_slice(payload);
    (buf, MAX_HEADER_LEN..MAX_HEADER_LEN + payload.len())
}

/// Protects `payload` and returns the protected frame as its own vector.
pub fn protect(sender: &mut FrameSender, now: Duration, payload: &[u8]) -> Vec<u8> {
    let (mut buf, range) = framed(payload);
    let out = sender.protect(now, &[], &mut buf, range).unwrap();
    buf[out].to_vec()
}

pub fn t(ms: u64) -> Duration {
    Duration::from_millis(ms)
}

/// Alice (caller) and Bob (callee) after Commit and Response, for tests that tamper with what
/// follows.
pub struct Started {
    pub rng: TestRng,
    pub alice: Party,
    pub bob: Party,
    pub caller: CallerHandshake,
    pub callee: CalleeHandshake,
    pub commit: Vec<u8>,
    pub response: Vec<u8>,
}

/// Runs Commit and Response with call id `c` between fresh identities drawn from `seed`.
pub fn started(seed: &[u8]) -> Started {
    let mut rng = TestRng::new(seed);
    let alice = party(&mut rng, "alice");
    let bob = party(&mut rng, "bob");
    let (caller, commit) =
        CallerHandshake::start(&mut rng, &alice.identity, params(&alice, b"c")).unwrap();
    let (callee, response) =
        CalleeHandshake::respond(&mut rng, &bob.identity, params(&bob, b"c"), &commit).unwrap();
    Started {
        rng,
        alice,
        bob,
        caller,
        callee,
        commit,
        response,
    }
}

/// Parses a handshake message, lets `f` change it, and encodes it again (a tampering server).
pub fn edit(bytes: &[u8], f: impl FnOnce(&mut HandshakeMessage)) -> Vec<u8> {
    let mut msg = HandshakeMessage::parse(bytes).unwrap();
    f(&mut msg);
    msg.encode().unwrap()
}
