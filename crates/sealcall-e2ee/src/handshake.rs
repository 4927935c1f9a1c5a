//! The call handshake: committed X25519 ephemeral keys and an ML-KEM-768 encapsulation, signed
//! by both device identities.
//!
//! ```text
//! Caller                                              Callee
//! Commit  {suite, call id, device, identity, fp_A, C, intent_A, pq_A, ek_A}  ──►
//!            ◄──  Response {call id, device, identity, fp_B, eph_B, intent_B, pq_B, ct_B}
//! Reveal  {call id, eph_A, Sig_A(transcript)}                     ──►  checks C, Sig_A
//!                        ◄──  Confirm  {call id, Sig_B(transcript)}
//! checks Sig_B
//! ```
//!
//! `C` is the caller's commitment to its X25519 key `eph_A` (and to everything else in the
//! `Commit`): it stops a man in the middle from choosing its key after seeing the other's (as
//! in ZRTP). `ek_A` is a fresh ML-KEM-768 encapsulation key, `ct_B` the callee's encapsulation to
//! it; `pq_A`, `pq_B` say whether each side can do ML-KEM or requires it ([`PostQuantum`]). The
//! transcript hash covers protocol version, suite, call id, both device ids, both identity keys,
//! both DTLS certificate fingerprints (`fp`), both ephemeral keys, the commitment, both intents,
//! both post-quantum statements, `ek_A` and `ct_B`; each side signs it with its identity key
//! under a role-specific label. Both the X25519 and the ML-KEM shared secret feed the key
//! schedule ([`KeyAgreement::X25519MlKem768`]), so breaking either one alone reveals nothing; if
//! one side cannot do ML-KEM, the signed statements say so and the call uses X25519 alone
//! ([`KeyAgreement::X25519`]), unless either side requires post-quantum for an end-to-end call.
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
use zeroize::Zeroizing;

use crate::control::ControlChannel;
use crate::error::{Error, Result};
use crate::identity::{DeviceIdentity, IdentityPublicKey};
use crate::message::{
    Commit, Confirm, HandshakeMessage, PROTOCOL_VERSION, Response, Reveal, check_id,
};
use crate::pq::{
    KEM_CIPHERTEXT_LEN, KEM_ENCAPSULATION_KEY_LEN, KemDecapsulationKey, KemSharedSecret,
    encapsulate,
};
use crate::schedule::{Established, extract_prk};
use crate::suite::{CipherSuite, Intent, KeyAgreement, PostQuantum, Role};

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
    /// What this device says about post-quantum key agreement ([`PostQuantum::Offered`] by
    /// default; [`PostQuantum::Required`] refuses an end-to-end call without it).
    pub post_quantum: PostQuantum,
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
    caller_post_quantum: PostQuantum,
    callee_post_quantum: PostQuantum,
    encapsulation_key: Option<&'a [u8; KEM_ENCAPSULATION_KEY_LEN]>,
    ciphertext: Option<&'a [u8; KEM_CIPHERTEXT_LEN]>,
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
        put(
            &mut h,
            &[
                self.caller_post_quantum.code(),
                self.callee_post_quantum.code(),
            ],
        );
        put(&mut h, self.encapsulation_key.map_or(&[][..], |k| &k[..]));
        put(&mut h, self.ciphertext.map_or(&[][..], |c| &c[..]));
        h.finalize().into()
    }
}

/// The caller's commitment to its ephemeral key and to every other field of its `Commit` (the
/// `commitment` field itself is ignored).
pub fn commitment(commit: &Commit, caller_ephemeral: &[u8; 32]) -> [u8; 32] {
    let mut h = Sha256::new();
    put(&mut h, COMMITMENT_LABEL);
    put(&mut h, &[PROTOCOL_VERSION]);
    put(&mut h, &commit.suite.id().to_be_bytes());
    put(&mut h, &commit.call_id);
    put(&mut h, &commit.caller_device);
    put(&mut h, &commit.caller_identity);
    put(&mut h, &commit.caller_fingerprint);
    put(&mut h, caller_ephemeral);
    put(&mut h, &[commit.caller_intent.code()]);
    put(&mut h, &[commit.caller_post_quantum.code()]);
    put(
        &mut h,
        commit
            .encapsulation_key
            .as_deref()
            .map_or(&[][..], |k| &k[..]),
    );
    h.finalize().into()
}

/// How the keys of a call are agreed, from what both sides signed: the hybrid when there is a
/// ciphertext; X25519 alone when one side cannot do ML-KEM, unless either requires it for an
/// end-to-end call; a refusal when both can and yet there is no ciphertext (stripped in transit).
fn key_agreement(
    local: PostQuantum,
    peer: PostQuantum,
    hybrid: bool,
    both_end_to_end: bool,
) -> Result<KeyAgreement> {
    if hybrid {
        return Ok(KeyAgreement::X25519MlKem768);
    }
    if local.is_capable() && peer.is_capable() {
        return Err(Error::PostQuantumStripped);
    }
    if both_end_to_end && (local == PostQuantum::Required || peer == PostQuantum::Required) {
        return Err(Error::PostQuantumRequired { local, peer });
    }
    Ok(KeyAgreement::X25519)
}

/// The key schedule's input keying material: the X25519 secret, then the ML-KEM secret when
/// the agreement is hybrid.
fn input_key(x25519: &[u8; 32], kem: Option<&KemSharedSecret>) -> Zeroizing<Vec<u8>> {
    let mut ikm = Zeroizing::new(Vec::with_capacity(64));
    ikm.extend_from_slice(x25519);
    if let Some(k) = kem {
        ikm.extend_from_slice(k.as_bytes());
    }
    ikm
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
    /// What this side said about post-quantum key agreement, as signed.
    pub local_post_quantum: PostQuantum,
    /// What the peer said about post-quantum key agreement, as signed: [`PostQuantum::Unavailable`]
    /// explains an X25519-only call.
    pub peer_post_quantum: PostQuantum,
    /// How the call's keys were agreed (for an end-to-end call: whether it is post-quantum
    /// protected).
    pub key_agreement: KeyAgreement,
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
/// signed facts of a standard call. Either way the call's [`ControlChannel`].
pub enum Completed {
    /// Both stated [`Intent::EndToEnd`]: the call's keys.
    EndToEnd(Established),
    /// At least one stated [`Intent::Standard`]: no media keys, the signed facts and the
    /// control channel.
    Standard(StandardCall),
}

/// A verified standard call: what both devices signed, and the control channel's keys (no
/// media keys: media is protected hop by hop). No `Debug` or `Clone`; keys are erased on drop.
pub struct StandardCall {
    verified: Verified,
    control: Option<ControlChannel>,
}

impl StandardCall {
    /// What both devices signed.
    pub fn verified(&self) -> &Verified {
        &self.verified
    }

    /// The call's end-to-end control channel, once: a second take is `None` (a second sealer
    /// would reuse the first one's nonces).
    pub fn take_control_channel(&mut self) -> Option<ControlChannel> {
        self.control.take()
    }
}

impl Completed {
    /// Keys when both signed intents are end-to-end, else only the signed facts; the control
    /// channel either way.
    fn new(role: Role, suite: CipherSuite, shared: &[u8], verified: Verified) -> Result<Self> {
        Ok(if verified.both_end_to_end() {
            Completed::EndToEnd(Established::derive(role, suite, shared, verified)?)
        } else {
            let prk = extract_prk(&verified.transcript_hash, shared);
            Completed::Standard(StandardCall {
                control: Some(ControlChannel::derive(prk.as_bytes(), suite, role)?),
                verified,
            })
        })
    }

    /// The signed facts.
    pub fn verified(&self) -> &Verified {
        match self {
            Completed::EndToEnd(e) => e.verified(),
            Completed::Standard(s) => &s.verified,
        }
    }

    /// The call's end-to-end control channel (in every call: see [`crate::ControlChannel`]),
    /// once: a second take is `None`.
    pub fn take_control_channel(&mut self) -> Option<ControlChannel> {
        match self {
            Completed::EndToEnd(e) => e.take_control_channel(),
            Completed::Standard(s) => s.take_control_channel(),
        }
    }

    /// The keys, or [`Error::IntentMismatch`] when the call is standard.
    pub fn into_end_to_end(self) -> Result<Established> {
        match self {
            Completed::EndToEnd(e) => Ok(e),
            Completed::Standard(s) => Err(Error::IntentMismatch {
                local: s.verified.local_intent,
                peer: s.verified.peer_intent,
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
    kem: Option<KemDecapsulationKey>,
    commit: Commit,
}

impl CallerHandshake {
    /// Starts a handshake: draws an X25519 ephemeral key (and, unless `params.post_quantum` is
    /// [`PostQuantum::Unavailable`], an ML-KEM-768 key pair, in that order) and returns the
    /// encoded [`Commit`] to send.
    pub fn start<R: CryptoRng + ?Sized>(
        rng: &mut R,
        identity: &DeviceIdentity,
        params: HandshakeParams,
    ) -> Result<(Self, Vec<u8>)> {
        check_id("call id", &params.call_id)?;
        check_id("device id", &params.local_device)?;
        let ephemeral = EphemeralSecret::random_from_rng(rng);
        let ephemeral_public = PublicKey::from(&ephemeral).to_bytes();
        let kem = params
            .post_quantum
            .is_capable()
            .then(|| KemDecapsulationKey::generate(rng));
        let public = identity.public();
        let mut commit = Commit {
            suite: params.suite,
            call_id: params.call_id.clone(),
            caller_device: params.local_device.clone(),
            caller_identity: public.to_bytes(),
            caller_fingerprint: params.dtls_fingerprint,
            commitment: [0; 32],
            caller_intent: params.intent,
            caller_post_quantum: params.post_quantum,
            encapsulation_key: kem.as_ref().map(|k| Box::new(*k.encapsulation_key())),
        };
        commit.commitment = commitment(&commit, &ephemeral_public);
        let msg = HandshakeMessage::Commit(commit.clone()).encode()?;
        Ok((
            Self {
                params,
                identity: public,
                ephemeral,
                ephemeral_public,
                kem,
                commit,
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
        let kem_secret = match (&self.kem, response.ciphertext.as_deref()) {
            (Some(kem), Some(ct)) => Some(kem.decapsulate(ct)),
            (None, Some(_)) => {
                return Err(Error::MalformedMessage(
                    "a ciphertext although no encapsulation key was sent",
                ));
            }
            (_, None) => None,
        };
        let agreement = key_agreement(
            self.params.post_quantum,
            response.callee_post_quantum,
            kem_secret.is_some(),
            self.params.intent == Intent::EndToEnd && response.callee_intent == Intent::EndToEnd,
        )?;

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
            commitment: &self.commit.commitment,
            caller_intent: self.params.intent,
            callee_intent: response.callee_intent,
            caller_post_quantum: self.params.post_quantum,
            callee_post_quantum: response.callee_post_quantum,
            encapsulation_key: self.commit.encapsulation_key.as_deref(),
            ciphertext: response.ciphertext.as_deref(),
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
            local_post_quantum: self.params.post_quantum,
            peer_post_quantum: response.callee_post_quantum,
            key_agreement: agreement,
            transcript_hash,
        };
        let ikm = input_key(shared.as_bytes(), kem_secret.as_ref());
        let completed = Completed::new(Role::Caller, self.params.suite, &ikm, verified)?;
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
    /// The transcript hash this side signed (public): the callee's `Confirm` must cover the same.
    pub fn transcript_hash(&self) -> [u8; 32] {
        self.transcript_hash
    }

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
    agreement: KeyAgreement,
    kem: Option<(Box<[u8; KEM_CIPHERTEXT_LEN]>, KemSharedSecret)>,
}

impl CalleeHandshake {
    /// Takes the caller's [`Commit`], draws an X25519 ephemeral key (and, when both sides can do
    /// ML-KEM, encapsulates to the caller's key, in that order) and returns the encoded
    /// [`Response`] to send. Refuses before answering when either side requires post-quantum
    /// for an end-to-end call that cannot have it.
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
        let hybrid = params.post_quantum.is_capable() && commit.encapsulation_key.is_some();
        let agreement = key_agreement(
            params.post_quantum,
            commit.caller_post_quantum,
            hybrid,
            params.intent == Intent::EndToEnd && commit.caller_intent == Intent::EndToEnd,
        )?;
        let ephemeral = EphemeralSecret::random_from_rng(rng);
        let ephemeral_public = PublicKey::from(&ephemeral).to_bytes();
        let kem = match commit.encapsulation_key.as_deref() {
            Some(ek) if hybrid => Some(encapsulate(rng, ek)?),
            _ => None,
        };
        let public = identity.public();
        let msg = HandshakeMessage::Response(Response {
            call_id: params.call_id.clone(),
            callee_device: params.local_device.clone(),
            callee_identity: public.to_bytes(),
            callee_fingerprint: params.dtls_fingerprint,
            callee_ephemeral: ephemeral_public,
            callee_intent: params.intent,
            callee_post_quantum: params.post_quantum,
            ciphertext: kem.as_ref().map(|(ct, _)| ct.clone()),
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
                agreement,
                kem,
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
        let expected = commitment(c, &reveal.caller_ephemeral);
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
            caller_post_quantum: c.caller_post_quantum,
            callee_post_quantum: self.params.post_quantum,
            encapsulation_key: c.encapsulation_key.as_deref(),
            ciphertext: self.kem.as_ref().map(|(ct, _)| &**ct),
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
            local_post_quantum: self.params.post_quantum,
            peer_post_quantum: c.caller_post_quantum,
            key_agreement: self.agreement,
            transcript_hash,
        };
        let ikm = input_key(shared.as_bytes(), self.kem.as_ref().map(|(_, k)| k));
        let completed = Completed::new(Role::Callee, c.suite, &ikm, verified)?;
        let signature = sign(identity, CALLEE_SIGNATURE_LABEL, &transcript_hash);
        let msg = HandshakeMessage::Confirm(Confirm {
            call_id: self.params.call_id.clone(),
            signature,
        })
        .encode()?;
        Ok((completed, msg))
    }
}
