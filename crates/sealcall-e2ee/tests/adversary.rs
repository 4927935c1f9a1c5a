//! An adversarial handshake harness, in the spirit of libsignal's interaction fuzzer: an
//! attacker sits between caller and callee and, driven by proptest, drops, duplicates, reorders
//! and replays messages (also from two other calls between the same devices, one of them with
//! the same call id), substitutes its own X25519 or ML-KEM keys and ciphertexts, strips or raises
//! the post-quantum offer, flips an intent, flips bytes, or reflects a message to its sender.
//!
//! After every sequence:
//! - a side that derived keys (or completed a standard call) accepted only messages the honest
//!   peer sent in this call, unchanged: no change to any key, offer or intent survives;
//! - keys are derived only on a transcript both sides signed: a completed callee means the
//!   caller signed the same transcript, a completed caller means the callee completed on it;
//! - when both complete, their transcripts, security codes and key agreement are equal, their
//!   media keys interoperate, and the agreement is the hybrid whenever both devices can do it;
//! - no state machine panics, and one that fails stays failed (it never accepts a message out
//!   of order).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::OnceLock;

use common::*;
use proptest::prelude::*;
use sealcall_e2ee::testing::TestRng;
use sealcall_e2ee::*;

const CALL: &[u8] = b"call-7";

/// Who sent a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum From {
    Caller,
    Callee,
}

#[derive(Debug, Clone)]
struct Msg {
    bytes: Vec<u8>,
    from: From,
}

/// What the attacker does to the message it delivers.
#[derive(Debug, Clone)]
enum Mutation {
    None,
    /// Its own X25519 key in a Response or Reveal.
    SubstituteEphemeral,
    /// Its own ML-KEM encapsulation key in a Commit.
    SubstituteKemKey,
    /// Its own encapsulation (to the key in this call's Commit) in a Response.
    SubstituteCiphertext,
    /// Removes the post-quantum offer (and the key or ciphertext) from a Commit or Response.
    StripOffer,
    /// Turns an offer into a requirement.
    RaiseOffer,
    /// Flips the intent of a Commit or Response.
    FlipIntent,
    /// Flips one byte anywhere.
    FlipByte(usize, u8),
}

/// Which message the attacker takes from everything it has seen.
#[derive(Debug, Clone)]
enum Pick {
    Latest,
    Any(usize),
}

#[derive(Debug, Clone)]
struct Action {
    pick: Pick,
    reflect: bool,
    mutation: Mutation,
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        12 => Just(Mutation::None),
        1 => Just(Mutation::SubstituteEphemeral),
        1 => Just(Mutation::SubstituteKemKey),
        1 => Just(Mutation::SubstituteCiphertext),
        1 => Just(Mutation::StripOffer),
        1 => Just(Mutation::RaiseOffer),
        1 => Just(Mutation::FlipIntent),
        1 => (any::<usize>(), 1u8..=255).prop_map(|(at, x)| Mutation::FlipByte(at, x)),
    ]
}

fn action() -> impl Strategy<Value = Action> {
    (
        prop_oneof![4 => Just(Pick::Latest), 1 => any::<usize>().prop_map(Pick::Any)],
        proptest::bool::weighted(0.08),
        mutation(),
    )
        .prop_map(|(pick, reflect, mutation)| Action {
            pick,
            reflect,
            mutation,
        })
}

fn post_quantum() -> impl Strategy<Value = PostQuantum> {
    prop_oneof![
        Just(PostQuantum::Unavailable),
        Just(PostQuantum::Offered),
        Just(PostQuantum::Required),
    ]
}

fn intent() -> impl Strategy<Value = Intent> {
    prop_oneof![4 => Just(Intent::EndToEnd), 1 => Just(Intent::Standard)]
}

struct Devices {
    alice: Party,
    bob: Party,
    /// The attacker's own keys.
    x25519: [u8; 32],
    kem: KemDecapsulationKey,
    /// Every message of two earlier honest calls between the same devices: one with the same
    /// call id, one with another.
    old: Vec<Msg>,
}

fn devices() -> &'static Devices {
    static DEVICES: OnceLock<Devices> = OnceLock::new();
    DEVICES.get_or_init(|| {
        let mut rng = TestRng::new(b"adversary devices");
        let alice = party(&mut rng, "alice");
        let bob = party(&mut rng, "bob");
        let mut old = Vec::new();
        for call in [CALL, b"call-6"] {
            let (caller, commit) =
                CallerHandshake::start(&mut rng, &alice.identity, params(&alice, call)).unwrap();
            let (callee, response) =
                CalleeHandshake::respond(&mut rng, &bob.identity, params(&bob, call), &commit)
                    .unwrap();
            let (caller, reveal) = caller.on_response(&alice.identity, &response).unwrap();
            let (_, confirm) = callee.complete(&bob.identity, &reveal).unwrap();
            caller.complete(&confirm).unwrap();
            for (bytes, from) in [
                (commit, From::Caller),
                (response, From::Callee),
                (reveal, From::Caller),
                (confirm, From::Callee),
            ] {
                old.push(Msg { bytes, from });
            }
        }
        Devices {
            alice,
            bob,
            x25519: [9; 32],
            kem: KemDecapsulationKey::generate(&mut rng),
            old,
        }
    })
}

enum Caller {
    AwaitResponse(Box<CallerHandshake>),
    AwaitConfirm(Box<CallerAwaitingConfirm>),
    Done(Box<Completed>),
    Failed,
}

enum Callee {
    AwaitCommit(Box<HandshakeParams>),
    AwaitReveal(Box<CalleeHandshake>),
    Done(Box<Completed>),
    Failed,
}

struct World {
    rng: TestRng,
    caller: Caller,
    callee: Callee,
    pool: Vec<Msg>,
    /// What each honest side sent in this call.
    sent: Vec<Msg>,
    /// What each side accepted (processed without error).
    accepted: Vec<(From, Vec<u8>)>,
    /// The transcript hash the caller signed, once it did.
    caller_signed: Option<[u8; 32]>,
    /// The caller's encapsulation key in this call (for the attacker's ciphertexts).
    this_ek: Option<Box<[u8; KEM_ENCAPSULATION_KEY_LEN]>>,
}

impl World {
    fn new(seed: u64, pq: (PostQuantum, PostQuantum), intents: (Intent, Intent)) -> Self {
        let d = devices();
        let mut rng = TestRng::new(&seed.to_be_bytes());
        let mut pa = params(&d.alice, CALL);
        pa.post_quantum = pq.0;
        pa.intent = intents.0;
        pa.expected_peer = Some(d.bob.identity.public());
        let mut pb = params(&d.bob, CALL);
        pb.post_quantum = pq.1;
        pb.intent = intents.1;
        pb.expected_peer = Some(d.alice.identity.public());
        let (caller, commit) = CallerHandshake::start(&mut rng, &d.alice.identity, pa).unwrap();
        let this_ek = match HandshakeMessage::parse(&commit).unwrap() {
            HandshakeMessage::Commit(c) => c.encapsulation_key,
            _ => unreachable!(),
        };
        let first = Msg {
            bytes: commit,
            from: From::Caller,
        };
        let mut pool = d.old.clone();
        pool.push(first.clone());
        Self {
            rng,
            caller: Caller::AwaitResponse(Box::new(caller)),
            callee: Callee::AwaitCommit(Box::new(pb)),
            pool,
            sent: vec![first],
            accepted: Vec::new(),
            caller_signed: None,
            this_ek,
        }
    }

    fn mutate(&mut self, bytes: &[u8], m: &Mutation) -> Vec<u8> {
        let d = devices();
        if let Mutation::FlipByte(at, x) = m {
            let mut b = bytes.to_vec();
            if !b.is_empty() {
                let at = at % b.len();
                b[at] ^= x;
            }
            return b;
        }
        let Ok(mut msg) = HandshakeMessage::parse(bytes) else {
            return bytes.to_vec();
        };
        match (&mut msg, m) {
            (HandshakeMessage::Response(r), Mutation::SubstituteEphemeral) => {
                r.callee_ephemeral = d.x25519;
            }
            (HandshakeMessage::Reveal(r), Mutation::SubstituteEphemeral) => {
                r.caller_ephemeral = d.x25519;
            }
            (HandshakeMessage::Commit(c), Mutation::SubstituteKemKey)
                if c.encapsulation_key.is_some() =>
            {
                c.encapsulation_key = Some(Box::new(*d.kem.encapsulation_key()));
            }
            (HandshakeMessage::Response(r), Mutation::SubstituteCiphertext) => {
                if let (Some(_), Some(ek)) = (&r.ciphertext, &self.this_ek) {
                    r.ciphertext = Some(kem_encapsulate(&mut self.rng, ek).unwrap().0);
                }
            }
            (HandshakeMessage::Commit(c), Mutation::StripOffer) => {
                c.caller_post_quantum = PostQuantum::Unavailable;
                c.encapsulation_key = None;
            }
            (HandshakeMessage::Response(r), Mutation::StripOffer) => {
                r.callee_post_quantum = PostQuantum::Unavailable;
                r.ciphertext = None;
            }
            (HandshakeMessage::Commit(c), Mutation::RaiseOffer)
                if c.caller_post_quantum == PostQuantum::Offered =>
            {
                c.caller_post_quantum = PostQuantum::Required;
            }
            (HandshakeMessage::Response(r), Mutation::RaiseOffer)
                if r.callee_post_quantum == PostQuantum::Offered =>
            {
                r.callee_post_quantum = PostQuantum::Required;
            }
            (HandshakeMessage::Commit(c), Mutation::FlipIntent) => {
                c.caller_intent = flip(c.caller_intent);
            }
            (HandshakeMessage::Response(r), Mutation::FlipIntent) => {
                r.callee_intent = flip(r.callee_intent);
            }
            _ => {}
        }
        msg.encode().unwrap_or_else(|_| bytes.to_vec())
    }

    fn emit(&mut self, bytes: Vec<u8>, from: From) {
        let m = Msg { bytes, from };
        self.pool.push(m.clone());
        self.sent.push(m);
    }

    fn deliver_to_caller(&mut self, bytes: &[u8]) {
        let d = devices();
        self.caller = match std::mem::replace(&mut self.caller, Caller::Failed) {
            Caller::AwaitResponse(hs) => match hs.on_response(&d.alice.identity, bytes) {
                Ok((next, reveal)) => {
                    self.accepted.push((From::Caller, bytes.to_vec()));
                    self.caller_signed = Some(next.transcript_hash());
                    self.emit(reveal, From::Caller);
                    Caller::AwaitConfirm(Box::new(next))
                }
                Err(_) => Caller::Failed,
            },
            Caller::AwaitConfirm(hs) => match hs.complete(bytes) {
                Ok(done) => {
                    self.accepted.push((From::Caller, bytes.to_vec()));
                    Caller::Done(Box::new(done))
                }
                Err(_) => Caller::Failed,
            },
            // A finished or failed side takes no further handshake message.
            finished => finished,
        };
    }

    fn deliver_to_callee(&mut self, bytes: &[u8]) {
        let d = devices();
        self.callee = match std::mem::replace(&mut self.callee, Callee::Failed) {
            Callee::AwaitCommit(p) => {
                match CalleeHandshake::respond(&mut self.rng, &d.bob.identity, *p, bytes) {
                    Ok((next, response)) => {
                        self.accepted.push((From::Callee, bytes.to_vec()));
                        self.emit(response, From::Callee);
                        Callee::AwaitReveal(Box::new(next))
                    }
                    Err(_) => Callee::Failed,
                }
            }
            Callee::AwaitReveal(hs) => match hs.complete(&d.bob.identity, bytes) {
                Ok((done, confirm)) => {
                    self.accepted.push((From::Callee, bytes.to_vec()));
                    self.emit(confirm, From::Callee);
                    Callee::Done(Box::new(done))
                }
                Err(_) => Callee::Failed,
            },
            finished => finished,
        };
    }

    fn act(&mut self, a: &Action) {
        let i = match a.pick {
            Pick::Latest => self.pool.len() - 1,
            Pick::Any(n) => n % self.pool.len(),
        };
        let Msg { bytes, from } = self.pool[i].clone();
        let bytes = self.mutate(&bytes, &a.mutation);
        let to_caller = (from == From::Callee) != a.reflect;
        if to_caller {
            self.deliver_to_caller(&bytes);
        } else {
            self.deliver_to_callee(&bytes);
        }
    }

    /// Checks every invariant; `pq` is what the two devices were configured with.
    fn check(self, pq: (PostQuantum, PostQuantum)) {
        // 1. A completed side accepted only the honest peer's messages of this call, unchanged.
        for (side, done) in [
            (From::Caller, matches!(self.caller, Caller::Done(_))),
            (From::Callee, matches!(self.callee, Callee::Done(_))),
        ] {
            if !done {
                continue;
            }
            for (to, bytes) in self.accepted.iter().filter(|(to, _)| *to == side) {
                assert!(
                    self.sent.iter().any(|m| m.from != *to && m.bytes == *bytes),
                    "{side:?} completed after accepting a message its peer never sent in this call"
                );
            }
        }
        // 2. Keys only on a transcript both signed.
        if let Callee::Done(c) = &self.callee {
            assert_eq!(
                self.caller_signed,
                Some(c.verified().transcript_hash),
                "the callee completed on a transcript the caller did not sign"
            );
        }
        if let Caller::Done(a) = &self.caller {
            let Callee::Done(b) = &self.callee else {
                panic!("the caller completed although the callee did not");
            };
            assert_eq!(a.verified().transcript_hash, b.verified().transcript_hash);
        }
        // 3. Both completed: the same call, no downgrade.
        if let (Caller::Done(a), Callee::Done(b)) = (self.caller, self.callee) {
            let (a, b) = (*a, *b);
            let agreement = a.verified().key_agreement;
            assert_eq!(agreement, b.verified().key_agreement);
            assert_eq!(
                agreement.is_post_quantum(),
                pq.0.is_capable() && pq.1.is_capable(),
                "post-quantum whenever both devices can do it"
            );
            match (a, b) {
                (Completed::EndToEnd(a), Completed::EndToEnd(b)) => {
                    assert_eq!(a.security_code(), b.security_code());
                    if pq.0 == PostQuantum::Required || pq.1 == PostQuantum::Required {
                        assert!(agreement.is_post_quantum());
                    }
                    let mut a = a.into_session(StreamConfig::default()).unwrap();
                    let mut b = b.into_session(StreamConfig::default()).unwrap();
                    let mut f = protect(a.sender(MediaKind::Audio), t(0), b"audio");
                    b.receiver(MediaKind::Audio)
                        .unprotect(t(0), &[], &mut f)
                        .unwrap();
                    let mut f = protect(b.sender(MediaKind::Screen), t(0), b"screen");
                    a.receiver(MediaKind::Screen)
                        .unprotect(t(0), &[], &mut f)
                        .unwrap();
                }
                (Completed::Standard(mut a), Completed::Standard(mut b)) => {
                    assert!(!a.verified().both_end_to_end() && !b.verified().both_end_to_end());
                    // No media keys, but the control channel works both ways.
                    let (mut a_out, mut a_in) = a.take_control_channel().unwrap().split();
                    let (mut b_out, mut b_in) = b.take_control_channel().unwrap().split();
                    b_in.open(&a_out.seal(b"hold").unwrap()).unwrap();
                    a_in.open(&b_out.seal(b"resume").unwrap()).unwrap();
                }
                _ => panic!("one side derived keys and the other did not"),
            }
        }
    }
}

fn flip(i: Intent) -> Intent {
    match i {
        Intent::EndToEnd => Intent::Standard,
        Intent::Standard => Intent::EndToEnd,
    }
}

/// The honest schedule: every message delivered once, in order, unchanged.
const HONEST: Action = Action {
    pick: Pick::Latest,
    reflect: false,
    mutation: Mutation::None,
};

#[test]
fn the_harness_lets_an_honest_network_complete_every_configuration() {
    let all = [
        PostQuantum::Unavailable,
        PostQuantum::Offered,
        PostQuantum::Required,
    ];
    for a in all {
        for b in all {
            let mut w = World::new(1, (a, b), (Intent::EndToEnd, Intent::EndToEnd));
            for _ in 0..4 {
                w.act(&HONEST);
            }
            let refused = (a == PostQuantum::Required && b == PostQuantum::Unavailable)
                || (b == PostQuantum::Required && a == PostQuantum::Unavailable);
            assert_eq!(
                matches!(w.caller, Caller::Done(_)),
                !refused,
                "caller {a:?}, callee {b:?}"
            );
            w.check((a, b));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn no_attacker_schedule_breaks_an_invariant(
        seed in any::<u64>(),
        pq in (post_quantum(), post_quantum()),
        intents in (intent(), intent()),
        actions in proptest::collection::vec(action(), 1..10),
    ) {
        let mut w = World::new(seed, pq, intents);
        for a in &actions {
            w.act(a);
        }
        // Then the network turns honest for long enough to finish whatever is still possible.
        for _ in 0..4 {
            w.act(&HONEST);
        }
        w.check(pq);
    }
}
