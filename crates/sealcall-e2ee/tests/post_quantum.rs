//! The hybrid handshake (X25519 + ML-KEM-768): honest runs for both suites, the key schedule's
//! dependence on the ML-KEM secret, malformed keys and ciphertexts, stripped and flipped offers,
//! the signed fallback and a device that requires post-quantum.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use sealcall_e2ee::testing::TestRng;
use sealcall_e2ee::*;

/// What each side brings, and how the network rewrites the two first messages.
struct Run {
    suite: CipherSuite,
    caller: PostQuantum,
    callee: PostQuantum,
    intents: (Intent, Intent),
    seeds: (&'static [u8], &'static [u8]),
}

impl Default for Run {
    fn default() -> Self {
        Self {
            suite: CipherSuite::Aes128GcmSha256,
            caller: PostQuantum::Offered,
            callee: PostQuantum::Offered,
            intents: (Intent::EndToEnd, Intent::EndToEnd),
            seeds: (b"caller", b"callee"),
        }
    }
}

/// Where a run stopped: which side refused, and why.
#[derive(Debug, PartialEq)]
enum Refused {
    Callee(Error),
    Caller(Error),
}

/// The four messages and both completed sides of one run.
struct Done {
    messages: [Vec<u8>; 4],
    caller: Completed,
    callee: Completed,
}

fn rewrite<T>(bytes: &[u8], pick: impl Fn(HandshakeMessage) -> T, edit: impl FnOnce(&mut T)) -> T {
    let mut m = pick(HandshakeMessage::parse(bytes).unwrap());
    edit(&mut m);
    m
}

fn commit_of(m: HandshakeMessage) -> Commit {
    match m {
        HandshakeMessage::Commit(c) => c,
        other => panic!("not a Commit: {other:?}"),
    }
}

fn response_of(m: HandshakeMessage) -> Response {
    match m {
        HandshakeMessage::Response(r) => r,
        other => panic!("not a Response: {other:?}"),
    }
}

impl Run {
    /// Runs the handshake between fixed identities, the caller and the callee each drawing from
    /// their own RNG (so the X25519 ephemerals are the same whatever the post-quantum choice),
    /// with the network applying `on_commit` and `on_response`.
    fn go_with(
        &self,
        on_commit: impl FnOnce(&mut Commit),
        on_response: impl FnOnce(&mut Response),
    ) -> Result<Done, Refused> {
        let mut ids = TestRng::new(b"identities");
        let alice = party(&mut ids, "alice");
        let bob = party(&mut ids, "bob");
        let mut ra = TestRng::new(self.seeds.0);
        let mut rb = TestRng::new(self.seeds.1);
        let mut pa = params(&alice, b"pq-call");
        pa.suite = self.suite;
        pa.post_quantum = self.caller;
        pa.intent = self.intents.0;
        pa.expected_peer = Some(bob.identity.public());
        let mut pb = params(&bob, b"pq-call");
        pb.post_quantum = self.callee;
        pb.intent = self.intents.1;
        pb.expected_peer = Some(alice.identity.public());

        let (caller, commit) = CallerHandshake::start(&mut ra, &alice.identity, pa).unwrap();
        let commit = HandshakeMessage::Commit(rewrite(&commit, commit_of, on_commit))
            .encode()
            .unwrap();
        let (callee, response) = CalleeHandshake::respond(&mut rb, &bob.identity, pb, &commit)
            .map_err(Refused::Callee)?;
        let response = HandshakeMessage::Response(rewrite(&response, response_of, on_response))
            .encode()
            .unwrap();
        let (caller, reveal) = caller
            .on_response(&alice.identity, &response)
            .map_err(Refused::Caller)?;
        let (callee_done, confirm) = callee
            .complete(&bob.identity, &reveal)
            .map_err(Refused::Callee)?;
        let caller_done = caller.complete(&confirm).map_err(Refused::Caller)?;
        Ok(Done {
            messages: [commit, response, reveal, confirm],
            caller: caller_done,
            callee: callee_done,
        })
    }

    fn go(&self) -> Result<Done, Refused> {
        self.go_with(|_| {}, |_| {})
    }
}

fn keys(c: Completed) -> Established {
    c.into_end_to_end().unwrap()
}

/// A protected audio frame from the caller with counter 0: equal only under equal keys.
fn first_audio_frame(e: Established) -> Vec<u8> {
    let mut s = e.into_session(StreamConfig::default()).unwrap();
    protect(
        s.sender(MediaKind::Audio),
        t(0),
        b"twenty milliseconds of audio",
    )
}

#[test]
fn honest_hybrid_handshakes_agree_for_both_suites_and_say_post_quantum() {
    for suite in [CipherSuite::Aes128GcmSha256, CipherSuite::Aes256GcmSha512] {
        let done = Run {
            suite,
            ..Run::default()
        }
        .go()
        .unwrap();
        assert!(done.messages[0].len() > KEM_ENCAPSULATION_KEY_LEN);
        assert!(done.messages[1].len() > KEM_CIPHERTEXT_LEN);
        for side in [done.caller.verified(), done.callee.verified()] {
            assert_eq!(side.key_agreement, KeyAgreement::X25519MlKem768);
            assert!(side.key_agreement.is_post_quantum());
            assert_eq!(side.peer_post_quantum, PostQuantum::Offered);
        }
        let (a, b) = (keys(done.caller), keys(done.callee));
        assert_eq!(a.security_code(), b.security_code(), "{suite:?}");
        assert_eq!(a.suite(), suite);
        // The callee's receiver opens the caller's frame.
        let frame = first_audio_frame(a);
        let mut bob = b.into_session(StreamConfig::default()).unwrap();
        let mut f = frame.clone();
        bob.receiver(MediaKind::Audio)
            .unprotect(t(0), &[], &mut f)
            .unwrap();
    }
}

#[test]
fn the_hybrid_keys_differ_from_x25519_alone_with_the_same_ephemerals() {
    let hybrid = Run::default().go().unwrap();
    let classic = Run {
        caller: PostQuantum::Unavailable,
        callee: PostQuantum::Unavailable,
        ..Run::default()
    }
    .go()
    .unwrap();
    let eph = |d: &Done| -> ([u8; 32], [u8; 32]) {
        let r = response_of(HandshakeMessage::parse(&d.messages[1]).unwrap());
        let HandshakeMessage::Reveal(v) = HandshakeMessage::parse(&d.messages[2]).unwrap() else {
            panic!("not a Reveal")
        };
        (v.caller_ephemeral, r.callee_ephemeral)
    };
    assert_eq!(eph(&hybrid), eph(&classic), "same X25519 ephemerals");
    assert_eq!(
        classic.caller.verified().key_agreement,
        KeyAgreement::X25519
    );
    let (h, c) = (keys(hybrid.caller), keys(classic.caller));
    assert_ne!(h.security_code(), c.security_code());
    assert_ne!(first_audio_frame(h), first_audio_frame(c));
}

#[test]
fn malformed_encapsulation_keys_are_refused_and_no_keys_are_derived() {
    // A coefficient of 4095 (not reduced modulo q = 3329) in the first 12 bits of the key.
    let out = Run::default().go_with(
        |c| {
            let ek = c.encapsulation_key.as_mut().unwrap();
            ek[0] = 0xff;
            ek[1] |= 0x0f;
        },
        |_| {},
    );
    assert_eq!(out.err(), Some(Refused::Callee(Error::InvalidKemKey)));
    // The last coefficient of the last polynomial too: the three polynomials fill bytes
    // 0..1152 (then the 32-byte seed rho); the last coefficient is the high 12 bits of bytes
    // 1149..1152.
    let out = Run::default().go_with(
        |c| {
            let ek = c.encapsulation_key.as_mut().unwrap();
            ek[1151] = 0xff;
            ek[1150] |= 0xf0;
        },
        |_| {},
    );
    assert_eq!(out.err(), Some(Refused::Callee(Error::InvalidKemKey)));
}

#[test]
fn wrong_lengths_and_inconsistent_post_quantum_fields_are_refused_by_the_parser() {
    let done = Run::default().go().unwrap();
    let [commit, response, ..] = &done.messages;
    for msg in [commit, response] {
        let short = &msg[..msg.len() - 1];
        assert_eq!(
            HandshakeMessage::parse(short).err(),
            Some(Error::MalformedMessage("truncated message"))
        );
        let mut long = msg.clone();
        long.push(0);
        assert!(HandshakeMessage::parse(&long).is_err());
    }
    // A Commit that says "unavailable" but still carries a key: the key becomes trailing bytes.
    let mut c = commit.clone();
    let at = c.len() - KEM_ENCAPSULATION_KEY_LEN - 1;
    c[at] = PostQuantum::Unavailable.code();
    assert_eq!(
        HandshakeMessage::parse(&c).err(),
        Some(Error::MalformedMessage("trailing bytes"))
    );
    // A Response with a ciphertext from a side that says it cannot do ML-KEM.
    let mut r = response.clone();
    let at = r.len() - KEM_CIPHERTEXT_LEN - 2;
    r[at] = PostQuantum::Unavailable.code();
    assert_eq!(
        HandshakeMessage::parse(&r).err(),
        Some(Error::MalformedMessage(
            "a ciphertext from a side without post-quantum support"
        ))
    );
    // An unknown ciphertext flag and an unknown post-quantum value.
    let mut r = response.clone();
    let at = r.len() - KEM_CIPHERTEXT_LEN - 1;
    r[at] = 2;
    assert_eq!(
        HandshakeMessage::parse(&r).err(),
        Some(Error::MalformedMessage("unknown ciphertext flag"))
    );
    let mut r = response.clone();
    r[at - 1] = 3;
    assert_eq!(
        HandshakeMessage::parse(&r).err(),
        Some(Error::MalformedMessage("unknown post-quantum value"))
    );
}

#[test]
fn a_ciphertext_the_caller_never_asked_for_is_refused() {
    let out = Run {
        caller: PostQuantum::Unavailable,
        ..Run::default()
    }
    .go_with(
        |_| {},
        |r| r.ciphertext = Some(Box::new([7; KEM_CIPHERTEXT_LEN])),
    );
    assert_eq!(
        out.err(),
        Some(Refused::Caller(Error::MalformedMessage(
            "a ciphertext although no encapsulation key was sent"
        )))
    );
}

#[test]
fn a_replaced_ciphertext_or_key_fails_the_signatures() {
    let out = Run::default().go_with(|_| {}, |r| r.ciphertext.as_mut().unwrap()[100] ^= 1);
    assert_eq!(out.err(), Some(Refused::Callee(Error::BadSignature)));
    // The attacker's own (valid) encapsulation key instead of the caller's: the callee
    // encapsulates to it, but the commitment covers the key.
    let attacker = KemDecapsulationKey::generate(&mut TestRng::new(b"mallory"));
    let out = Run::default().go_with(
        |c| c.encapsulation_key = Some(Box::new(*attacker.encapsulation_key())),
        |_| {},
    );
    assert_eq!(out.err(), Some(Refused::Callee(Error::CommitmentMismatch)));
}

#[test]
fn stripping_or_flipping_the_offer_when_both_offered_is_refused() {
    // Stripped from the Commit: the callee answers without ML-KEM, the caller sees a peer that
    // offered and no ciphertext.
    let out = Run::default().go_with(
        |c| {
            c.caller_post_quantum = PostQuantum::Unavailable;
            c.encapsulation_key = None;
        },
        |_| {},
    );
    assert_eq!(out.err(), Some(Refused::Caller(Error::PostQuantumStripped)));
    // Stripped from the Response, made to look like a callee that cannot: the caller accepts
    // the fallback it was shown, but the callee signed something else.
    let out = Run::default().go_with(
        |_| {},
        |r| {
            r.callee_post_quantum = PostQuantum::Unavailable;
            r.ciphertext = None;
        },
    );
    assert_eq!(out.err(), Some(Refused::Callee(Error::BadSignature)));
    // Flipped to "required" on either side.
    let out = Run::default().go_with(|c| c.caller_post_quantum = PostQuantum::Required, |_| {});
    assert_eq!(out.err(), Some(Refused::Callee(Error::CommitmentMismatch)));
    let out = Run::default().go_with(|_| {}, |r| r.callee_post_quantum = PostQuantum::Required);
    assert_eq!(out.err(), Some(Refused::Callee(Error::BadSignature)));
}

#[test]
fn a_peer_that_cannot_gets_a_signed_visible_fallback() {
    for (caller, callee) in [
        (PostQuantum::Unavailable, PostQuantum::Offered),
        (PostQuantum::Offered, PostQuantum::Unavailable),
    ] {
        let done = Run {
            caller,
            callee,
            ..Run::default()
        }
        .go()
        .unwrap();
        let (a, b) = (done.caller.verified(), done.callee.verified());
        assert_eq!(a.key_agreement, KeyAgreement::X25519);
        assert_eq!(b.key_agreement, KeyAgreement::X25519);
        assert_eq!(
            (a.local_post_quantum, a.peer_post_quantum),
            (caller, callee)
        );
        assert_eq!(
            (b.local_post_quantum, b.peer_post_quantum),
            (callee, caller)
        );
        assert_eq!(
            keys(done.caller).security_code(),
            keys(done.callee).security_code()
        );
    }
}

#[test]
fn a_device_that_requires_post_quantum_refuses_the_fallback() {
    let out = Run {
        caller: PostQuantum::Unavailable,
        callee: PostQuantum::Required,
        ..Run::default()
    }
    .go();
    assert_eq!(
        out.err(),
        Some(Refused::Callee(Error::PostQuantumRequired {
            local: PostQuantum::Required,
            peer: PostQuantum::Unavailable
        }))
    );
    let out = Run {
        caller: PostQuantum::Required,
        callee: PostQuantum::Unavailable,
        ..Run::default()
    }
    .go();
    // The callee that cannot sees the caller's requirement and refuses before answering.
    assert_eq!(
        out.err(),
        Some(Refused::Callee(Error::PostQuantumRequired {
            local: PostQuantum::Unavailable,
            peer: PostQuantum::Required
        }))
    );
    // Even when the network turns the caller's "required" into "offered", the caller refuses
    // the fallback itself (before signing anything).
    let out = Run {
        caller: PostQuantum::Required,
        callee: PostQuantum::Unavailable,
        ..Run::default()
    }
    .go_with(|c| c.caller_post_quantum = PostQuantum::Offered, |_| {});
    assert_eq!(
        out.err(),
        Some(Refused::Caller(Error::PostQuantumRequired {
            local: PostQuantum::Required,
            peer: PostQuantum::Unavailable
        }))
    );
    // Two devices that both require it get the hybrid.
    let done = Run {
        caller: PostQuantum::Required,
        callee: PostQuantum::Required,
        ..Run::default()
    }
    .go()
    .unwrap();
    assert!(done.caller.verified().key_agreement.is_post_quantum());
    // The requirement is about end-to-end keys: a standard call derives none and completes.
    let done = Run {
        caller: PostQuantum::Required,
        callee: PostQuantum::Unavailable,
        intents: (Intent::EndToEnd, Intent::Standard),
        ..Run::default()
    }
    .go()
    .unwrap();
    assert!(matches!(done.caller, Completed::Standard(_)));
}
