//! # sealcall-e2ee
//!
//! The crypto core of Sealcall's end-to-end encrypted calls. It is **sans-IO**: no sockets, no
//! clock reads, no async, no threads. Time comes in as a [`core::time::Duration`] since any origin
//! the caller picks; randomness comes in as a [`rand_core::CryptoRng`]; bytes go in and out.
//!
//! What it provides:
//! - [`DeviceIdentity`]: a device's long-term Ed25519 key.
//! - The handshake ([`CallerHandshake`], [`CalleeHandshake`]): fresh X25519 keys and a fresh
//!   ML-KEM-768 encapsulation per call (a hybrid: [`KeyAgreement::X25519MlKem768`]), a ZRTP-style
//!   commitment, a transcript signed by both identities, refusal of non-contributory results,
//!   and both parties' end-to-end [`Intent`] and [`PostQuantum`] statements bound into the
//!   transcript, so a stripped post-quantum offer is detected.
//! - The key schedule ([`Established`]): HKDF-SHA256 from both shared secrets, salted with the
//!   transcript hash, into one base key per direction and media kind, and the 20-digit
//!   [`SecurityCode`].
//! - [`SafetyNumber`]: a stable 60-digit number per pair of devices, from their identity keys,
//!   for verifying a contact once (key continuity lives in the application).
//! - The control channel ([`ControlChannel`]): short messages between the two devices (hold,
//!   transfer, recording notices), sealed with keys from the same schedule in every call, so
//!   the service can drop them but not read, forge, replay or reorder them.
//! - Frame protection ([`FrameSender`], [`FrameReceiver`], [`SframeKey`]): SFrame (RFC 9605) with
//!   AES-GCM, in place on the caller's buffer, a replay window, key epochs with a one-way ratchet,
//!   and counters that never wrap.
//!
//! ```
//! use core::time::Duration;
//! use sealcall_e2ee::*;
//! # fn main() -> Result<(), Error> {
//! # let mut rng = sealcall_e2ee::__test_rng(7);
//! let alice = DeviceIdentity::generate(&mut rng);
//! let bob = DeviceIdentity::generate(&mut rng);
//! let params = |device: &[u8]| HandshakeParams {
//!     suite: CipherSuite::Aes128GcmSha256,
//!     call_id: b"call-1".to_vec(),
//!     local_device: device.to_vec(),
//!     intent: Intent::EndToEnd,
//!     dtls_fingerprint: [0x5c; 32],
//!     post_quantum: PostQuantum::Offered,
//!     expected_peer: None,
//! };
//! let (caller, commit) = CallerHandshake::start(&mut rng, &alice, params(b"alice-laptop"))?;
//! let (callee, response) = CalleeHandshake::respond(&mut rng, &bob, params(b"bob-phone"), &commit)?;
//! let (caller, reveal) = caller.on_response(&alice, &response)?;
//! let (bob_keys, confirm) = callee.on_reveal(&bob, &reveal)?;
//! let alice_keys = caller.on_confirm(&confirm)?;
//! assert_eq!(alice_keys.security_code(), bob_keys.security_code());
//!
//! let mut alice_call = alice_keys.into_session(StreamConfig::default())?;
//! let mut bob_call = bob_keys.into_session(StreamConfig::default())?;
//!
//! // Headroom for the header, the payload, room for the tag.
//! let mut buf = [0u8; MAX_HEADER_LEN + 5 + TAG_LEN];
//! buf[MAX_HEADER_LEN..MAX_HEADER_LEN + 5].copy_from_slice(b"hello");
//! let now = Duration::ZERO;
//! let frame = alice_call
//!     .sender(MediaKind::Audio)
//!     .protect(now, &[], &mut buf, MAX_HEADER_LEN..MAX_HEADER_LEN + 5)?;
//! let frame = &mut buf[frame];
//! let plain = bob_call.receiver(MediaKind::Audio).unprotect(now, &[], frame)?;
//! assert_eq!(&frame[plain], b"hello");
//! # Ok(()) }
//! ```
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod aead;
mod control;
mod error;
mod handshake;
mod header;
mod identity;
mod keys;
mod message;
mod pq;
mod replay;
mod safety;
mod schedule;
mod sframe;
mod stream;
mod suite;

pub use aead::AeadBackend;
pub use control::{
    CONTROL_HEADER_LEN, CONTROL_KEY_LABEL, CONTROL_SALT_LABEL, CONTROL_VERSION, ControlChannel,
    ControlOpener, ControlSealer, MAX_CONTROL_MESSAGE, MAX_CONTROL_PLAINTEXT, OpenedControl,
};
pub use error::{Error, Result};
pub use handshake::{
    CALLEE_SIGNATURE_LABEL, CALLER_SIGNATURE_LABEL, COMMITMENT_LABEL, CalleeHandshake,
    CallerAwaitingConfirm, CallerHandshake, Completed, HandshakeParams, StandardCall,
    TRANSCRIPT_LABEL, Verified, commitment,
};
pub use header::{Header, MAX_HEADER_LEN};
pub use identity::{DeviceIdentity, IdentityPublicKey};
pub use keys::{__sframe_key_and_salt, BASE_KEY_LEN, BaseKey};
pub use message::{
    Commit, Confirm, HandshakeMessage, MAX_ID_LEN, MAX_MESSAGE_LEN, PROTOCOL_VERSION, Response,
    Reveal,
};
pub use pq::{
    KEM_CIPHERTEXT_LEN, KEM_ENCAPSULATION_KEY_LEN, KEM_SHARED_SECRET_LEN, KemDecapsulationKey,
    KemSharedSecret, encapsulate as kem_encapsulate,
};
pub use rand_core;
pub use replay::{REPLAY_WINDOW, ReplayWindow};
pub use safety::{
    SAFETY_NUMBER_DIGITS, SAFETY_NUMBER_ITERATIONS, SAFETY_NUMBER_LABEL, SafetyNumber,
};
pub use schedule::{
    Established, MEDIA_KEY_LABEL, MediaReceivers, MediaSenders, SECURITY_CODE_LABEL, SecurityCode,
    Session, media_key_label,
};
pub use sframe::SframeKey;
pub use stream::{
    FrameReceiver, FrameSender, KeyLimits, MAX_EPOCH, RATCHET_LABEL, RekeySchedule, StreamConfig,
    StreamStats, kid_for, split_kid,
};
pub use suite::{CipherSuite, Direction, Intent, KeyAgreement, MediaKind, PostQuantum, Role};

/// AES-GCM nonce length in bytes.
pub const NONCE_LEN: usize = 12;
/// Authentication tag length in bytes.
pub const TAG_LEN: usize = 16;
/// Longest caller-supplied metadata (RFC 9605's `metadata`, authenticated but not sent).
pub const MAX_METADATA_LEN: usize = 255;

/// Deterministic helpers for tests, benches, fuzz targets and frozen vectors (not for
/// production use): only with the `testing` feature.
#[cfg(any(test, feature = "testing"))]
pub mod testing;
#[cfg(any(test, feature = "testing"))]
#[doc(hidden)]
pub use testing::__test_rng;
