//! The handshake: honest runs, the security code, and every way a peer or server can cheat.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use sealcall_e2ee::testing::TestRng;
use sealcall_e2ee::*;

#[test]
fn honest_handshake_gives_both_sides_the_same_code_for_both_suites() {
    for suite in [CipherSuite::Aes128GcmSha256, CipherSuite::Aes256GcmSha512] {
        let (a, b) = handshake(3, suite);
        assert_eq!(a.security_code(), b.security_code());
        assert_eq!(a.transcript_hash(), b.transcript_hash());
        assert_eq!(a.suite(), suite);
        assert_eq!(b.suite(), suite);
        assert_eq!(a.role(), Role::Caller);
        assert_eq!(b.role(), Role::Callee);
        assert_eq!(a.peer_device(), b"bob-phone");
        assert_eq!(b.peer_device(), b"alice-laptop");
        let code = a.security_code();
        assert_eq!(code.digits().len(), 20);
        assert!(code.digits().bytes().all(|d| d.is_ascii_digit()));
        assert_eq!(code.to_string().len(), 23);
        assert!(code.matches(&code.to_string()));
        assert!(code.matches(code.digits()));
        assert!(!code.matches("00000 00000 00000 00000"));
        assert!(!code.matches(&code.digits()[..19]));
    }
}

#[test]
fn different_calls_have_different_codes() {
    let (a1, _) = handshake(10, CipherSuite::Aes128GcmSha256);
    let (a2, _) = handshake(11, CipherSuite::Aes128GcmSha256);
    assert_ne!(a1.security_code(), a2.security_code());
}

/// Runs a handshake with everything fixed but one input, to show each input changes the code.
fn code_with(call: &[u8], alice_seed: &[u8], bob_seed: &[u8], eph_seed: &[u8]) -> SecurityCode {
    let alice = DeviceIdentity::generate(&mut TestRng::new(alice_seed));
    let bob = DeviceIdentity::generate(&mut TestRng::new(bob_seed));
    let pa = HandshakeParams {
        suite: CipherSuite::Aes128GcmSha256,
        call_id: call.to_vec(),
        local_device: b"a".to_vec(),
        intent: Intent::EndToEnd,
        dtls_fingerprint: [0x5c; 32],
        post_quantum: sealcall_e2ee::PostQuantum::Offered,
        expected_peer: None,
    };
    let pb = HandshakeParams {
        local_device: b"b".to_vec(),
        ..pa.clone()
    };
    let mut rng = TestRng::new(eph_seed);
    let (caller, commit) = CallerHandshake::start(&mut rng, &alice, pa).unwrap();
    let (callee, response) = CalleeHandshake::respond(&mut rng, &bob, pb, &commit).unwrap();
    let (caller, reveal) = caller.on_response(&alice, &response).unwrap();
    let (b_done, confirm) = callee.on_reveal(&bob, &reveal).unwrap();
    let a_done = caller.on_confirm(&confirm).unwrap();
    assert_eq!(a_done.security_code(), b_done.security_code());
    a_done.security_code().clone()
}

#[test]
fn code_changes_with_call_id_identity_keys_and_ephemeral_keys() {
    let base = code_with(b"call", b"alice", b"bob", b"eph");
    assert_ne!(
        base,
        code_with(b"call2", b"alice", b"bob", b"eph"),
        "call id"
    );
    assert_ne!(
        base,
        code_with(b"call", b"alice2", b"bob", b"eph"),
        "caller identity"
    );
    assert_ne!(
        base,
        code_with(b"call", b"alice", b"bob2", b"eph"),
        "callee identity"
    );
    assert_ne!(
        base,
        code_with(b"call", b"alice", b"bob", b"eph2"),
        "ephemeral keys"
    );
    assert_eq!(
        base,
        code_with(b"call", b"alice", b"bob", b"eph"),
        "deterministic"
    );
}

/// A server that runs its own handshake with each side (its own identity and keys) gets two
/// established sessions, but the two people see different security codes.
#[test]
fn man_in_the_middle_with_its_own_keys_is_shown_by_different_codes() {
    let mut rng = TestRng::new(b"mitm");
    let alice = party(&mut rng, "alice");
    let bob = party(&mut rng, "bob");
    let mallory = party(&mut rng, "bob");
    let mallory_as_caller = party(&mut rng, "alice");

    // Alice <-> Mallory (posing as Bob's device)
    let (a_hs, commit_a) =
        CallerHandshake::start(&mut rng, &alice.identity, params(&alice, b"c")).unwrap();
    let (m_callee, resp_m) = CalleeHandshake::respond(
        &mut rng,
        &mallory.identity,
        params(&mallory, b"c"),
        &commit_a,
    )
    .unwrap();
    let (a_hs, reveal_a) = a_hs.on_response(&alice.identity, &resp_m).unwrap();
    let (_m1, confirm_m) = m_callee.on_reveal(&mallory.identity, &reveal_a).unwrap();
    let alice_done = a_hs.on_confirm(&confirm_m).unwrap();

    // Mallory (posing as Alice's device) <-> Bob
    let (m_caller, commit_m) = CallerHandshake::start(
        &mut rng,
        &mallory_as_caller.identity,
        params(&mallory_as_caller, b"c"),
    )
    .unwrap();
    let (b_hs, resp_b) =
        CalleeHandshake::respond(&mut rng, &bob.identity, params(&bob, b"c"), &commit_m).unwrap();
    let (m_caller, reveal_m) = m_caller
        .on_response(&mallory_as_caller.identity, &resp_b)
        .unwrap();
    let (bob_done, confirm_b) = b_hs.on_reveal(&bob.identity, &reveal_m).unwrap();
    let _m2 = m_caller.on_confirm(&confirm_b).unwrap();

    assert_ne!(alice_done.security_code(), bob_done.security_code());
}

/// A server that swaps only the ephemeral key in transit (keeping the identities) breaks the
/// signatures: the handshake fails.
#[test]
fn swapped_ephemeral_key_in_response_fails_the_handshake() {
    let mut s = started(b"swap");
    let attacker =
        x25519_dalek::PublicKey::from(&x25519_dalek::EphemeralSecret::random_from_rng(&mut s.rng));
    let forged = edit(&s.response, |m| {
        if let HandshakeMessage::Response(r) = m {
            r.callee_ephemeral = attacker.to_bytes();
        }
    });
    let (_caller, reveal) = s.caller.on_response(&s.alice.identity, &forged).unwrap();
    // Bob sees a transcript with his real key: Alice's signature does not verify.
    assert_eq!(
        s.callee.on_reveal(&s.bob.identity, &reveal).err(),
        Some(Error::BadSignature)
    );
}

#[test]
fn swapped_ephemeral_key_in_reveal_breaks_the_commitment() {
    let s = started(b"swap2");
    let (_caller, reveal) = s
        .caller
        .on_response(&s.alice.identity, &s.response)
        .unwrap();
    let forged = edit(&reveal, |m| {
        if let HandshakeMessage::Reveal(r) = m {
            r.caller_ephemeral[0] ^= 1;
        }
    });
    assert_eq!(
        s.callee.on_reveal(&s.bob.identity, &forged).err(),
        Some(Error::CommitmentMismatch)
    );
}

#[test]
fn tampered_commitment_is_refused() {
    let mut s = started(b"commit");
    let forged = edit(&s.commit, |m| {
        if let HandshakeMessage::Commit(c) = m {
            c.commitment[31] ^= 0x80;
        }
    });
    let (callee, response) =
        CalleeHandshake::respond(&mut s.rng, &s.bob.identity, params(&s.bob, b"c"), &forged)
            .unwrap();
    let (_caller, reveal) = s.caller.on_response(&s.alice.identity, &response).unwrap();
    assert_eq!(
        callee.on_reveal(&s.bob.identity, &reveal).err(),
        Some(Error::CommitmentMismatch)
    );
}

#[test]
fn tampered_intent_is_refused_in_either_message() {
    // The server downgrades the caller's intent in the Commit: the commitment covers it.
    let mut s = started(b"intent");
    let forged = edit(&s.commit, |m| {
        if let HandshakeMessage::Commit(c) = m {
            c.caller_intent = Intent::Standard;
        }
    });
    let (callee, response) =
        CalleeHandshake::respond(&mut s.rng, &s.bob.identity, params(&s.bob, b"c"), &forged)
            .unwrap();
    let (_caller, reveal) = s.caller.on_response(&s.alice.identity, &response).unwrap();
    assert_eq!(
        callee.complete(&s.bob.identity, &reveal).err(),
        Some(Error::CommitmentMismatch)
    );

    // The server downgrades the callee's intent in the Response: the caller signs what it saw,
    // which is not what the callee said.
    let s = started(b"intent2");
    let forged = edit(&s.response, |m| {
        if let HandshakeMessage::Response(r) = m {
            r.callee_intent = Intent::Standard;
        }
    });
    let (_caller, reveal) = s.caller.on_response(&s.alice.identity, &forged).unwrap();
    assert_eq!(
        s.callee.complete(&s.bob.identity, &reveal).err(),
        Some(Error::BadSignature)
    );
}

#[test]
fn a_standard_handshake_completes_signed_but_derives_no_keys() {
    let mut rng = TestRng::new(b"standard");
    let alice = party(&mut rng, "alice-laptop");
    let bob = party(&mut rng, "bob-phone");
    let mut pa = params(&alice, b"c");
    pa.intent = Intent::Standard;
    pa.dtls_fingerprint = [0xaa; 32];
    let mut pb = params(&bob, b"c");
    pb.dtls_fingerprint = [0xbb; 32];
    let (caller, commit) = CallerHandshake::start(&mut rng, &alice.identity, pa).unwrap();
    let (callee, response) =
        CalleeHandshake::respond(&mut rng, &bob.identity, pb, &commit).unwrap();
    let (caller, reveal) = caller.on_response(&alice.identity, &response).unwrap();
    let (bob_done, confirm) = callee.complete(&bob.identity, &reveal).unwrap();
    let alice_done = caller.complete(&confirm).unwrap();
    for done in [&alice_done, &bob_done] {
        assert!(
            matches!(done, Completed::Standard(_)),
            "no keys in a standard call"
        );
        assert!(!done.verified().both_end_to_end());
    }
    let (a, b) = (alice_done.verified(), bob_done.verified());
    assert_eq!(a.peer_fingerprint, [0xbb; 32]);
    assert_eq!(b.peer_fingerprint, [0xaa; 32]);
    assert_eq!(
        (a.local_intent, a.peer_intent),
        (Intent::Standard, Intent::EndToEnd)
    );
    assert_eq!(
        (b.local_intent, b.peer_intent),
        (Intent::EndToEnd, Intent::Standard)
    );
    assert_eq!(a.transcript_hash, b.transcript_hash);
    assert_eq!(a.peer_identity, bob.identity.public());
    assert_eq!(b.peer_identity, alice.identity.public());
    // The strict entry points refuse to hand out keys that were never derived.
    assert!(matches!(
        alice_done.into_end_to_end().err(),
        Some(Error::IntentMismatch {
            local: Intent::Standard,
            peer: Intent::EndToEnd
        })
    ));
}

#[test]
fn a_rewritten_dtls_fingerprint_is_refused_in_either_message() {
    // A server that rewrites the fingerprint in the SDP must also rewrite it here to pass the
    // engine's check, and that breaks the handshake.
    let mut s = started(b"fingerprint");
    let forged = edit(&s.commit, |m| {
        if let HandshakeMessage::Commit(c) = m {
            c.caller_fingerprint[0] ^= 1;
        }
    });
    let (callee, response) =
        CalleeHandshake::respond(&mut s.rng, &s.bob.identity, params(&s.bob, b"c"), &forged)
            .unwrap();
    let (_caller, reveal) = s.caller.on_response(&s.alice.identity, &response).unwrap();
    assert_eq!(
        callee.complete(&s.bob.identity, &reveal).err(),
        Some(Error::CommitmentMismatch)
    );

    let s = started(b"fingerprint2");
    let forged = edit(&s.response, |m| {
        if let HandshakeMessage::Response(r) = m {
            r.callee_fingerprint[31] ^= 0x80;
        }
    });
    let (_caller, reveal) = s.caller.on_response(&s.alice.identity, &forged).unwrap();
    assert_eq!(
        s.callee.complete(&s.bob.identity, &reveal).err(),
        Some(Error::BadSignature)
    );
}

/// Every low-order point of Curve25519 (and its twin with the ignored top bit set).
const LOW_ORDER: [&str; 12] = [
    "0000000000000000000000000000000000000000000000000000000000000000",
    "0100000000000000000000000000000000000000000000000000000000000000",
    "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
    "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "0000000000000000000000000000000000000000000000000000000000000080",
    "0100000000000000000000000000000000000000000000000000000000000080",
    "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b880",
    "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f11d7",
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
];

#[test]
fn low_order_and_all_zero_callee_keys_are_refused_by_the_caller() {
    for point in LOW_ORDER {
        let s = started(point.as_bytes());
        let forged = edit(&s.response, |m| {
            if let HandshakeMessage::Response(r) = m {
                r.callee_ephemeral = hex::decode(point).unwrap().try_into().unwrap();
            }
        });
        assert_eq!(
            s.caller.on_response(&s.alice.identity, &forged).err(),
            Some(Error::NonContributory),
            "{point}"
        );
    }
}

#[test]
fn low_order_and_all_zero_caller_keys_are_refused_by_the_callee() {
    for point in LOW_ORDER {
        let mut rng = TestRng::new(point.as_bytes());
        let mallory = party(&mut rng, "mallory");
        let bob = party(&mut rng, "bob");
        // A malicious caller commits honestly to a low-order key.
        let eph: [u8; 32] = hex::decode(point).unwrap().try_into().unwrap();
        let identity = mallory.identity.public().to_bytes();
        let mut commit = Commit {
            suite: CipherSuite::Aes128GcmSha256,
            call_id: b"c".to_vec(),
            caller_device: b"mallory".to_vec(),
            caller_identity: identity,
            caller_fingerprint: [0x5c; 32],
            commitment: [0; 32],
            caller_intent: Intent::EndToEnd,
            caller_post_quantum: PostQuantum::Unavailable,
            encapsulation_key: None,
        };
        commit.commitment = commitment(&commit, &eph);
        let commit = HandshakeMessage::Commit(commit).encode().unwrap();
        let (b_hs, _) =
            CalleeHandshake::respond(&mut rng, &bob.identity, params(&bob, b"c"), &commit).unwrap();
        let reveal = HandshakeMessage::Reveal(Reveal {
            call_id: b"c".to_vec(),
            caller_ephemeral: eph,
            signature: [0u8; 64],
        })
        .encode()
        .unwrap();
        assert_eq!(
            b_hs.on_reveal(&bob.identity, &reveal).err(),
            Some(Error::NonContributory),
            "{point}"
        );
    }
}

#[test]
fn forged_signatures_are_refused() {
    // A Reveal whose signature was altered.
    let s = started(b"sig");
    let (_caller, reveal) = s
        .caller
        .on_response(&s.alice.identity, &s.response)
        .unwrap();
    let forged = edit(&reveal, |m| {
        if let HandshakeMessage::Reveal(r) = m {
            r.signature[5] ^= 4;
        }
    });
    assert_eq!(
        s.callee.on_reveal(&s.bob.identity, &forged).err(),
        Some(Error::BadSignature)
    );

    // A Confirm whose signature was altered.
    let s = started(b"sig2");
    let (caller, reveal) = s
        .caller
        .on_response(&s.alice.identity, &s.response)
        .unwrap();
    let (_bob_done, confirm) = s.callee.on_reveal(&s.bob.identity, &reveal).unwrap();
    let forged = edit(&confirm, |m| {
        if let HandshakeMessage::Confirm(c) = m {
            c.signature[63] ^= 1;
        }
    });
    assert_eq!(caller.on_confirm(&forged).err(), Some(Error::BadSignature));
}

#[test]
fn pinned_peer_identity_is_enforced() {
    let mut rng = TestRng::new(b"pin");
    let alice = party(&mut rng, "alice");
    let bob = party(&mut rng, "bob");
    let someone = party(&mut rng, "eve");
    let mut pa = params(&alice, b"c");
    pa.expected_peer = Some(someone.identity.public());
    let (a_hs, commit) = CallerHandshake::start(&mut rng, &alice.identity, pa).unwrap();
    let mut pb = params(&bob, b"c");
    pb.expected_peer = Some(alice.identity.public());
    let (_b, response) = CalleeHandshake::respond(&mut rng, &bob.identity, pb, &commit).unwrap();
    assert_eq!(
        a_hs.on_response(&alice.identity, &response).err(),
        Some(Error::UnexpectedPeerIdentity)
    );
    let mut pb = params(&bob, b"c");
    pb.expected_peer = Some(someone.identity.public());
    assert_eq!(
        CalleeHandshake::respond(&mut rng, &bob.identity, pb, &commit).err(),
        Some(Error::UnexpectedPeerIdentity)
    );
}

#[test]
fn messages_out_of_order_or_for_another_call_are_refused() {
    let mut s = started(b"order");
    assert_eq!(
        CalleeHandshake::respond(
            &mut s.rng,
            &s.bob.identity,
            params(&s.bob, b"other"),
            &s.commit
        )
        .err(),
        Some(Error::CallIdMismatch)
    );
    assert!(matches!(
        s.caller.on_response(&s.alice.identity, &s.commit).err(),
        Some(Error::UnexpectedMessage {
            expected: "Response",
            got: "Commit"
        })
    ));
    assert!(matches!(
        s.callee.on_reveal(&s.bob.identity, &s.response).err(),
        Some(Error::UnexpectedMessage {
            expected: "Reveal",
            got: "Response"
        })
    ));
}

#[test]
fn malformed_messages_are_refused_without_panic() {
    let (a, _) = handshake(5, CipherSuite::Aes128GcmSha256);
    drop(a);
    let mut rng = TestRng::new(b"malformed");
    let alice = party(&mut rng, "alice");
    let (_a, commit) =
        CallerHandshake::start(&mut rng, &alice.identity, params(&alice, b"c")).unwrap();
    for len in 0..commit.len() {
        assert!(
            HandshakeMessage::parse(&commit[..len]).is_err(),
            "truncated to {len}"
        );
    }
    let mut long = commit.clone();
    long.push(0);
    assert_eq!(
        HandshakeMessage::parse(&long).err(),
        Some(Error::MalformedMessage("trailing bytes"))
    );
    // Versions 1 (without DTLS fingerprints) and 2 (without post-quantum) and unknown versions
    // are refused.
    for version in [1u8, 2, 4] {
        let mut v = commit.clone();
        v[0] = version;
        assert_eq!(
            HandshakeMessage::parse(&v).err(),
            Some(Error::UnsupportedVersion(version))
        );
    }
    let mut t = commit.clone();
    t[1] = 9;
    assert!(HandshakeMessage::parse(&t).is_err());
    let mut s = commit.clone();
    s[3] = 1; // suite 0x0001 (AES-CTR-HMAC) is not supported
    assert_eq!(
        HandshakeMessage::parse(&s).err(),
        Some(Error::UnsupportedCipherSuite(1))
    );
    // The intent and the post-quantum byte sit just before the encapsulation key.
    for from_end in [KEM_ENCAPSULATION_KEY_LEN + 2, KEM_ENCAPSULATION_KEY_LEN + 1] {
        let mut i = commit.clone();
        let at = i.len() - from_end;
        i[at] = 7;
        assert!(HandshakeMessage::parse(&i).is_err(), "{from_end}");
    }
    assert!(HandshakeMessage::parse(&vec![1u8; 10_000]).is_err());
}

#[test]
fn identities_round_trip_through_their_secret_bytes() {
    let mut rng = TestRng::new(b"id");
    let id = DeviceIdentity::generate(&mut rng);
    let restored = DeviceIdentity::from_secret_bytes(&id.to_secret_bytes());
    assert_eq!(id.public(), restored.public());
    let public = IdentityPublicKey::from_bytes(&id.public().to_bytes()).unwrap();
    assert_eq!(public, id.public());
    assert_eq!(public.fingerprint().len(), 16);
    // The identity (neutral) point is weak and refused.
    let mut identity_point = [0u8; 32];
    identity_point[0] = 1;
    assert_eq!(
        IdentityPublicKey::from_bytes(&identity_point).err(),
        Some(Error::InvalidPublicKey)
    );
}
