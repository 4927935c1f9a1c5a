//! The crate's single error type.

use crate::MediaKind;

/// Everything that can go wrong in the crypto core.
///
/// Messages name what failed and never carry key material or frame contents. Every fallible
/// function of this crate returns this type; none of them panics on any input.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// An SFrame header could not be parsed (too short, or a non-minimal encoding).
    #[error("malformed SFrame header: {0}")]
    MalformedHeader(&'static str),
    /// A protected frame is shorter than its header plus the authentication tag.
    #[error("protected frame too short: {len} bytes, at least {min} needed")]
    FrameTooShort {
        /// Length of the frame that was given.
        len: usize,
        /// Minimum length for this header.
        min: usize,
    },
    /// The caller's buffer has no room for the header before, or the tag after, the payload.
    #[error("buffer too small: {needed} bytes needed, {available} available")]
    BufferTooSmall {
        /// Bytes the operation needs.
        needed: usize,
        /// Bytes the buffer offers.
        available: usize,
    },
    /// Caller-supplied metadata is longer than [`crate::MAX_METADATA_LEN`].
    #[error("metadata of {len} bytes exceeds the limit of {max}")]
    MetadataTooLong {
        /// Length given.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The frame names a key id this receiver has no key for (never had, or already erased).
    #[error("unknown key id {kid}")]
    UnknownKeyId {
        /// The key id carried by the frame.
        kid: u64,
    },
    /// The frame's key id belongs to another media kind than this receiver's.
    #[error("frame is for {found:?}, this receiver handles {expected:?}")]
    WrongMediaKind {
        /// Media kind of this receiver.
        expected: MediaKind,
        /// Media kind named by the frame's key id.
        found: MediaKind,
    },
    /// The frame's key id belongs to the other direction (for example a reflected frame).
    #[error("frame was protected for the other direction")]
    WrongDirection,
    /// The authentication tag did not verify: the frame was forged, corrupted or keyed differently.
    #[error("frame failed authentication")]
    AuthenticationFailed,
    /// The frame's counter was already received under this key.
    #[error("replayed frame (counter {ctr})")]
    Replayed {
        /// The repeated counter.
        ctr: u64,
    },
    /// The frame's counter is older than the replay window.
    #[error("frame too old for the replay window (counter {ctr}, newest {newest})")]
    TooOld {
        /// The frame's counter.
        ctr: u64,
        /// Newest counter received so far.
        newest: u64,
    },
    /// The sender's counter reached its limit and no further key epoch is available.
    #[error("frame counter exhausted: no further frame can be protected under this session")]
    CounterExhausted,
    /// The key epoch space is exhausted (the ratchet cannot move further).
    #[error("key epochs exhausted")]
    EpochsExhausted,
    /// The AEAD backend rejected its input (for example a frame longer than AES-GCM allows).
    #[error("AEAD backend error")]
    Aead,
    /// The requested AEAD backend is not compiled into this build.
    #[error("AEAD backend {0} is not available in this build")]
    BackendUnavailable(&'static str),
    /// A handshake message could not be parsed.
    #[error("malformed handshake message: {0}")]
    MalformedMessage(&'static str),
    /// A handshake message carries a protocol version this build does not speak.
    #[error("unsupported protocol version {0}")]
    UnsupportedVersion(u8),
    /// A handshake message names a cipher suite this build does not support.
    #[error("unsupported cipher suite 0x{0:04x}")]
    UnsupportedCipherSuite(u16),
    /// A handshake message arrived that is not the one expected in this state.
    #[error("unexpected handshake message: expected {expected}, got {got}")]
    UnexpectedMessage {
        /// The message type the state machine waits for.
        expected: &'static str,
        /// The message type that arrived.
        got: &'static str,
    },
    /// A handshake message belongs to another call.
    #[error("handshake message belongs to another call")]
    CallIdMismatch,
    /// The revealed ephemeral key does not match the caller's earlier commitment.
    #[error("revealed key does not match the commitment")]
    CommitmentMismatch,
    /// A peer's signature over the transcript did not verify.
    #[error("transcript signature did not verify")]
    BadSignature,
    /// A public key could not be decoded (for example an invalid Ed25519 point).
    #[error("invalid public key")]
    InvalidPublicKey,
    /// The peer's identity key is not the one the caller expected (pinned) for that device.
    #[error("peer identity key does not match the expected key")]
    UnexpectedPeerIdentity,
    /// The X25519 result was all zeros: the peer sent a low-order point.
    #[error("non-contributory key agreement (low-order peer key)")]
    NonContributory,
    /// One of the parties did not state end-to-end intent, so no media keys are derived.
    #[error("end-to-end intent mismatch: local {local:?}, peer {peer:?}")]
    IntentMismatch {
        /// Our own stated intent.
        local: crate::Intent,
        /// The peer's stated intent.
        peer: crate::Intent,
    },
    /// An ML-KEM-768 encapsulation key failed FIPS 203's input check (a coefficient not reduced
    /// modulo q).
    #[error("invalid ML-KEM-768 encapsulation key")]
    InvalidKemKey,
    /// One of the parties requires post-quantum key agreement for an end-to-end call and the
    /// other cannot do it: no keys are derived.
    #[error("post-quantum key agreement required (local {local:?}, peer {peer:?})")]
    PostQuantumRequired {
        /// What this side stated.
        local: crate::PostQuantum,
        /// What the peer stated.
        peer: crate::PostQuantum,
    },
    /// Both parties said they can do post-quantum key agreement, yet the messages carry none:
    /// someone in between stripped it.
    #[error("post-quantum key agreement was stripped in transit")]
    PostQuantumStripped,
    /// A field is longer than the wire format allows.
    #[error("{field} is too long ({len} bytes, at most {max})")]
    FieldTooLong {
        /// Which field.
        field: &'static str,
        /// Length given.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A configuration value is out of range.
    #[error("invalid configuration: {0}")]
    InvalidConfig(&'static str),
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = core::result::Result<T, E>;
