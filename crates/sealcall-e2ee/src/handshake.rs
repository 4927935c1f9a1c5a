//! The call handshake: committed X25519 ephemeral keys, signed by both device identities.
//!
//! ```text
//! Caller                                              Callee
//! Commit  {suite, call id, device, identity, fp_A, H(eph_A), intent_A}  ──►
//!                   ◄──  Response {call id, device, identity, fp_B, eph_B, intent_B}
//! Reveal  {call id, eph_A, Sig_A(transcript)}                     ──►  checks H(eph_A), Sig_A
//!                        ◄──  Confirm  {call id, Sig_B(transcript)}
//! checks Sig_B
//! ```
//!
//! The commitment stops a man in the middle from choosing its key after seeing the other's (as
//! in ZRTP). The transcript hash covers protocol version, suite, call id, both device ids, both
//! identity keys, both DTLS certificate fingerprints (`fp`), both ephemeral keys, the commitment
//! and both intents; each side signs it with its identity key under a role-specific label.
//!
//! The handshake runs in every call, standard ones too: it ends in a [`Completed`] whose
//! [`Verified`] facts (the peer's identity, device, DTLS fingerprint and intent) both devices
//! signed, so a server that rewrites the fingerprints in the SDP it relays or the intents it
//! reports is caught. Keys are derived only from a handshake whose signatures verified, whose
//! X25519 result is contributory and in which both parties stated [`Intent::EndToEnd`]
//! ([`Completed::EndToEnd`]).

use rand_core::CryptoRng;
use sha2::{Digest, Sha256};
use x25519_dalek::{EphemeralSecret, PublicKey};

use crate::error::{Error, Result};
use crate::identity::{DeviceIdentity, IdentityPublicKey};
use crate::message::{
    Commit, Confirm, HandshakeMessage, PROTOCOL_VERSION, Response, Reveal, check_id,
};
use crate::schedule::Established;
use crate::suite::{CipherSuite, Intent, Role};

/// Domain label of the commitment hash.
pub const COMMITMENT_LABEL: &[u8] = b"Sealcall v1 commitment";
/// Domain label of the transcript hash.
pub const TRANSCRIPT_LABEL: &[u8] = b"Sealcall v1 transcript";
/// Label the caller signs the transcript hash under.
pub const CALLER_SIGNATURE_LABEL: &[u8] = b"Sealcall v1 caller signature";
/// Label the callee signs the transcript hash under.
pub const CALLEE_SIGNATURE_LABEL: &[u8] = b"Sealcall v1 callee signature";

/// What one side brings to a handshake.
#[derive(Debug, Clone)]
pub struct HandshakeParams {
    /// The SFrame cipher suite the caller proposes. The callee accepts any suite this build
    /// supports; the suite is covered by the transcript, so a changed suite is detected.
    pub suite: CipherSuite,
    /// The call id, as the signaling server assigned it (1 to 64 bytes).
    pub call_id: Vec<u8>,
    /// This device's id (1 to 64 bytes).
    pub local_device: Vec<u8>,
    /// This party's end-to-end intent, from its own state (the policy crate's `local_intent`).
    pub intent: Intent,
    /// SHA-256 fingerprint of this device's DTLS certificate, as in its SDP: signed into the
    /// transcript, so the peer can check the certificate its transport actually saw.
    pub dtls_fingerprint: [u8; 32],
    /// The identity key the directory lists for the peer device, when known: a different key in
    /// the handshake is refused.
    pub expected_peer: Option<IdentityPublicKey>,
}

/// The public inputs of the transcript, in transcript order.
struct Transcript<'a> {
    suite: CipherSuite,
    call_id: &'a [u8],
    caller_device: &'a [u8],
    callee_device: &'a [u8],
    caller_identity: &'a [u8; 32],
    callee_identity: &'a [u8; 32],
    caller_fingerprint: &'a [u8; 32],
    callee_fingerprint: &'a [u8; 32],
    caller_ephemeral: &'a [u8; 32],
    callee_ephemeral: &'a [u8; 32],
    commitment: &'a [u8; 32],
    caller_intent: Intent,
    callee_intent: Intent,
}

fn put(h: &mut Sha256, field: &[u8]) {
    h.update((field.len() as u16).to_be_bytes());
    h.update(field);
}

impl Transcript<'_> {
    fn hash(&self) -> [u8; 32] {
        let mut h = Sha256::new();
        put(&mut h, TRANSCRIPT_LABEL);
        put(&mut h, &[PROTOCOL_VERSION]);
        put(&mut h, &self.suite.id().to_be_bytes());
        put(&mut h, self.call_id);
        put(&mut h, self.caller_device);
        put(&mut h, self.callee_device);
        put(&mut h, self.caller_identity);
        put(&mut h, self.callee_identity);
        put(&mut h, self.caller_fingerprint);
        put(&mut h, self.callee_fingerprint);
        put(&mut h, self.caller_ephemeral);
        put(&mut h, self.callee_ephemeral);
        put(&mut h, self.commitment);
        put(
            &mut h,
            &[self.caller_intent.code(), self.callee_intent.code()],
        );
        h.finalize().into()
    }
}

/// The caller's commitment to its ephemeral key.
pub fn commitment(
    suite: CipherSuite,
    call_id: &[u8],
    caller_device: &[u8],
    caller_identity: &[u8; 32],
    caller_fingerprint: &[u8; 32],
    caller_ephemeral: &[u8; 32],
    caller_intent: Intent,
) -> [u8; 32] {
    let mut h = Sha256::new();
    put(&mut h, COMMITMENT_LABEL);
    put(&mut h, &[PROTOCOL_VERSION]);
    put(&mut h, &suite.id().to_be_bytes());
    put(&mut h, call_id);
    put(&mut h, caller_device);
    put(&mut h, caller_identity);
    put(&mut h, caller_fingerprint);
    put(&mut h, caller_ephemeral);
    put(&mut h, &[caller_intent.code()]);
    h.finalize().into()
}

fn signed_message(label: &[u8], transcript_hash: &[u8; 32]) -> [u8; 60] {
    let mut m = [0u8; 60];
    m[..label.len()].copy_from_slice(label);
    m[label.len()..label.len() + 32].copy_from_slice(transcript_hash);
    m
}

fn sign(identity: &DeviceIdentity, label: &[u8], transcript_hash: &[u8; 32]) -> [u8; 64] {
    let m = signed_message(label, transcript_hash);
    identity.sign(&m[..label.len() + 32])
}

fn verify(
    key: &IdentityPublicKey,
    label: &[u8],
    transcript_hash: &[u8; 32],
    sig: &[u8; 64],
) -> Result<()> {
    let m = signed_message(label, transcript_hash);
    key.verify(&m[..label.len() + 32], sig)
}

fn expect_peer(expected: Option<&IdentityPublicKey>, got: &IdentityPublicKey) -> Result<()> {
    match expected {
        Some(e) if e != got => Err(Error::UnexpectedPeerIdentity),
        _ => Ok(()),
    }
}

/// What both devices signed about each other in a verified handshake: the facts a call's
/// security rests on whether or not it is end-to-end encrypted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The peer's identity key (checked against the expected one, when given).
    pub peer_identity: IdentityPublicKey,
    /// The peer's device id.
    pub peer_device: Vec<u8>,
    /// The SHA-256 fingerprint of the peer's DTLS certificate, as the peer signed it: the
    /// transport must have seen exactly this certificate.
    pub peer_fingerprint: [u8; 32],
    /// This side's intent, as signed.
    pub local_intent: Intent,
    /// The peer's intent, as signed.
    pub peer_intent: Intent,
    /// The transcript hash both signatures cover.
    pub transcript_hash: [u8; 32],
}

impl Verified {
    /// Whether both signed intents are end-to-end.
    pub fn both_end_to_end(&self) -> bool {
        self.local_intent == Intent::EndToEnd && self.peer_intent == Intent::EndToEnd
    }
}

/// A verified handshake: end-to-end keys when both intended end-to-end encryption, else the
/// signed facts of a standard call.
pub enum Completed {
    /// Both stated [`Intent::EndToEnd`]: the call's keys.
    EndToEnd(Established),
    /// At least one stated [`Intent::Standard`]: no keys, only the signed facts.
    Standard(Verified),
}

impl Completed {
    /// Keys when both signed intents are end-to-end, else only the signed facts.
    fn new(role: Role, suite: CipherSuite, shared: &[u8; 32], verified: Verified) -> Result<Self> {
        Ok(if verified.both_end_to_end() {
            Completed::EndToEnd(Established::derive(role, suite, shared, verified)?)
        } else {
            Completed::Standard(verified)
        })
    }

    /// The signed facts.
    pub fn verified(&self) -> &Verified {
        match self {
            Completed::EndToEnd(e) => e.verified(),
            Completed::Standard(v) => v,
        }
    }

    /// The keys, or [`Error::IntentMismatch`] when the call is standard.
    pub fn into_end_to_end(self) -> Result<Established> {
        match self {
            Completed::EndToEnd(e) => Ok(e),
            Completed::Standard(v) => Err(Error::IntentMismatch {
                local: v.local_intent,
                peer: v.peer_intent,
            }),
        }
    }
}

fn parse_as<T>(
    bytes: &[u8],
    expected: &'static str,
    pick: impl FnOnce(HandshakeMessage) -> Option<T>,
) -> Result<T> {
    let msg = HandshakeMessage::parse(bytes)?;
    let got = msg.name();
    pick(msg).ok_or(Error::UnexpectedMessage { expected, got })
}

fn check_call(expected: &[u8], got: &[u8]) -> Result<()> {
    if expected == got {
        Ok(())
    } else {
        Err(Error::CallIdMismatch)
    }
}

/// The caller after sending [`Commit`], waiting for the callee's [`Response`].
///
/// Holds the ephemeral secret; no `Debug` or `Clone`.
pub struct CallerHandshake {
    params: HandshakeParams,
    identity: IdentityPublicKey,
    ephemeral: EphemeralSecret,
    ephemeral_public: [u8; 32],
    commitment: [u8; 32],
}

impl CallerHandshake {
    /// Starts a handshake: draws an ephemeral key and returns the encoded [`Commit`] to send.
    pub fn start<R: CryptoRng + ?Sized>(
        rng: &mut R,
        identity: &DeviceIdentity,
        params: HandshakeParams,
    ) -> Result<(Self, Vec<u8>)> {
        check_id("call id", &params.call_id)?;
        check_id("device id", &params.local_device)?;
        let ephemeral = EphemeralSecret::random_from_rng(rng);
        let ephemeral_public = PublicKey::from(&ephemeral).to_bytes();
        let public = identity.public();
        let commitment = commitment(
            params.suite,
            &params.call_id,
            &params.local_device,
            &public.to_bytes(),
            &params.dtls_fingerprint,
            &ephemeral_public,
            params.intent,
        );
        let msg = HandshakeMessage::Commit(Commit {
            suite: params.suite,
            call_id: params.call_id.clone(),
            caller_device: params.local_device.clone(),
            caller_identity: public.to_bytes(),
            caller_fingerprint: params.dtls_fingerprint,
            commitment,
            caller_intent: params.intent,
        })
        .encode()?;
        Ok((
            Self {
                params,
                identity: public,
                ephemeral,
                ephemeral_public,
                commitment,
            },
            msg,
        ))
    }

    /// Takes the callee's [`Response`], computes the shared secret, signs the transcript and
    /// returns the encoded [`Reveal`] to send. Keys are not usable until the callee's
    /// [`Confirm`] verified.
    pub fn on_response(
        self,
        identity: &DeviceIdentity,
        bytes: &[u8],
    ) -> Result<(CallerAwaitingConfirm, Vec<u8>)> {
        let response = parse_as(bytes, "Response", |m| match m {
            HandshakeMessage::Response(r) => Some(r),
            _ => None,
        })?;
        check_call(&self.params.call_id, &response.call_id)?;
        if identity.public() != self.identity {
            return Err(Error::InvalidConfig(
                "identity differs from the one the handshake started with",
            ));
        }
        let peer = IdentityPublicKey::from_bytes(&response.callee_identity)?;
        expect_peer(self.params.expected_peer.as_ref(), &peer)?;

        let shared = self
            .ephemeral
            .diffie_hellman(&PublicKey::from(response.callee_ephemeral));
        if !shared.was_contributory() {
            return Err(Error::NonContributory);
        }
        let transcript_hash = Transcript {
            suite: self.params.suite,
            call_id: &self.params.call_id,
            caller_device: &self.params.local_device,
            callee_device: &response.callee_device,
            caller_identity: &self.identity.to_bytes(),
            callee_identity: &response.callee_identity,
            caller_fingerprint: &self.params.dtls_fingerprint,
            callee_fingerprint: &response.callee_fingerprint,
            caller_ephemeral: &self.ephemeral_public,
            callee_ephemeral: &response.callee_ephemeral,
            commitment: &self.commitment,
            caller_intent: self.params.intent,
            callee_intent: response.callee_intent,
        }
        .hash();
        let signature = sign(identity, CALLER_SIGNATURE_LABEL, &transcript_hash);
        let msg = HandshakeMessage::Reveal(Reveal {
            call_id: self.params.call_id.clone(),
            caller_ephemeral: self.ephemeral_public,
            signature,
        })
        .encode()?;
        let verified = Verified {
            peer_identity: peer,
            peer_device: response.callee_device,
            peer_fingerprint: response.callee_fingerprint,
            local_intent: self.params.intent,
            peer_intent: response.callee_intent,
            transcript_hash,
        };
        let completed =
            Completed::new(Role::Caller, self.params.suite, shared.as_bytes(), verified)?;
        Ok((
            CallerAwaitingConfirm {
                call_id: self.params.call_id,
                peer,
                transcript_hash,
                completed,
            },
            msg,
        ))
    }
}

/// The caller after sending [`Reveal`], waiting for the callee's [`Confirm`].
///
/// No `Debug` or `Clone`.
pub struct CallerAwaitingConfirm {
    call_id: Vec<u8>,
    peer: IdentityPublicKey,
    transcript_hash: [u8; 32],
    completed: Completed,
}

impl CallerAwaitingConfirm {
    /// Verifies the callee's signature and returns the keys of an end-to-end call; a verified
    /// standard handshake is refused with [`Error::IntentMismatch`] (see [`Self::complete`]).
    pub fn on_confirm(self, bytes: &[u8]) -> Result<Established> {
        self.complete(bytes)?.into_end_to_end()
    }

    /// Verifies the callee's signature; only then is the outcome (keys, or the signed facts of
    /// a standard call) released.
    pub fn complete(self, bytes: &[u8]) -> Result<Completed> {
        let confirm = parse_as(bytes, "Confirm", |m| match m {
            HandshakeMessage::Confirm(c) => Some(c),
            _ => None,
        })?;
        check_call(&self.call_id, &confirm.call_id)?;
        verify(
            &self.peer,
            CALLEE_SIGNATURE_LABEL,
            &self.transcript_hash,
            &confirm.signature,
        )?;
        Ok(self.completed)
    }
}

/// The callee after sending [`Response`], waiting for the caller's [`Reveal`].
///
/// Holds the ephemeral secret; no `Debug` or `Clone`.
pub struct CalleeHandshake {
    params: HandshakeParams,
    commit: Commit,
    peer: IdentityPublicKey,
    identity: IdentityPublicKey,
    ephemeral: EphemeralSecret,
    ephemeral_public: [u8; 32],
}

impl CalleeHandshake {
    /// Takes the caller's [`Commit`], draws an ephemeral key and returns the encoded
    /// [`Response`] to send.
    pub fn respond<R: CryptoRng + ?Sized>(
        rng: &mut R,
        identity: &DeviceIdentity,
        params: HandshakeParams,
        commit_bytes: &[u8],
    ) -> Result<(Self, Vec<u8>)> {
        check_id("call id", &params.call_id)?;
        check_id("device id", &params.local_device)?;
        let commit = parse_as(commit_bytes, "Commit", |m| match m {
            HandshakeMessage::Commit(c) => Some(c),
            _ => None,
        })?;
        check_call(&params.call_id, &commit.call_id)?;
        let peer = IdentityPublicKey::from_bytes(&commit.caller_identity)?;
        expect_peer(params.expected_peer.as_ref(), &peer)?;
        let ephemeral = EphemeralSecret::random_from_rng(rng);
        let ephemeral_public = PublicKey::from(&ephemeral).to_bytes();
        let public = identity.public();
        let msg = HandshakeMessage::Response(Response {
            call_id: params.call_id.clone(),
            callee_device: params.local_device.clone(),
            callee_identity: public.to_bytes(),
            callee_fingerprint: params.dtls_fingerprint,
            callee_ephemeral: ephemeral_public,
            callee_intent: params.intent,
        })
        .encode()?;
        Ok((
            Self {
                params,
                commit,
                peer,
                identity: public,
                ephemeral,
                ephemeral_public,
            },
            msg,
        ))
    }

    /// Takes the caller's [`Reveal`] of an end-to-end call and returns its keys and the encoded
    /// [`Confirm`] to send; a verified standard handshake is refused with
    /// [`Error::IntentMismatch`] (see [`Self::complete`]).
    pub fn on_reveal(
        self,
        identity: &DeviceIdentity,
        bytes: &[u8],
    ) -> Result<(Established, Vec<u8>)> {
        let (completed, confirm) = self.complete(identity, bytes)?;
        Ok((completed.into_end_to_end()?, confirm))
    }

    /// Takes the caller's [`Reveal`]: checks it against the commitment, verifies the caller's
    /// signature, and returns the outcome (keys, or the signed facts of a standard call) and the
    /// encoded [`Confirm`] to send.
    pub fn complete(self, identity: &DeviceIdentity, bytes: &[u8]) -> Result<(Completed, Vec<u8>)> {
        let reveal = parse_as(bytes, "Reveal", |m| match m {
            HandshakeMessage::Reveal(r) => Some(r),
            _ => None,
        })?;
        check_call(&self.params.call_id, &reveal.call_id)?;
        if identity.public() != self.identity {
            return Err(Error::InvalidConfig(
                "identity differs from the one the handshake started with",
            ));
        }
        let c = &self.commit;
        let expected = commitment(
            c.suite,
            &c.call_id,
            &c.caller_device,
            &c.caller_identity,
            &c.caller_fingerprint,
            &reveal.caller_ephemeral,
            c.caller_intent,
        );
        if !bool::from(subtle::ConstantTimeEq::ct_eq(
            &expected[..],
            &c.commitment[..],
        )) {
            return Err(Error::CommitmentMismatch);
        }
        let transcript_hash = Transcript {
            suite: c.suite,
            call_id: &c.call_id,
            caller_device: &c.caller_device,
            callee_device: &self.params.local_device,
            caller_identity: &c.caller_identity,
            callee_identity: &self.identity.to_bytes(),
            caller_fingerprint: &c.caller_fingerprint,
            callee_fingerprint: &self.params.dtls_fingerprint,
            caller_ephemeral: &reveal.caller_ephemeral,
            callee_ephemeral: &self.ephemeral_public,
            commitment: &c.commitment,
            caller_intent: c.caller_intent,
            callee_intent: self.params.intent,
        }
        .hash();
        let shared = self
            .ephemeral
            .diffie_hellman(&PublicKey::from(reveal.caller_ephemeral));
        if !shared.was_contributory() {
            return Err(Error::NonContributory);
        }
        verify(
            &self.peer,
            CALLER_SIGNATURE_LABEL,
            &transcript_hash,
            &reveal.signature,
        )?;
        let verified = Verified {
            peer_identity: self.peer,
            peer_device: c.caller_device.clone(),
            peer_fingerprint: c.caller_fingerprint,
            local_intent: self.params.intent,
            peer_intent: c.caller_intent,
            transcript_hash,
        };
        let completed = Completed::new(Role::Callee, c.suite, shared.as_bytes(), verified)?;
        let signature = sign(identity, CALLEE_SIGNATURE_LABEL, &transcript_hash);
        let msg = HandshakeMessage::Confirm(Confirm {
            call_id: self.params.call_id.clone(),
            signature,
        })
        .encode()?;
        Ok((completed, msg))
    }
}
