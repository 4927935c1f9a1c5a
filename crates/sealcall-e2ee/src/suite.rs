//! Cipher suites, media kinds, directions and roles.

use crate::error::{Error, Result};

/// SFrame cipher suites supported by Sealcall (RFC 9605 section 4.5).
///
/// Both use a 12-byte nonce and a 16-byte tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CipherSuite {
    /// `AES_128_GCM_SHA256_128` (0x0004): AES-128-GCM, HKDF-SHA256.
    Aes128GcmSha256,
    /// `AES_256_GCM_SHA512_128` (0x0005): AES-256-GCM, HKDF-SHA512.
    Aes256GcmSha512,
}

impl CipherSuite {
    /// The IANA code point of the suite.
    pub const fn id(self) -> u16 {
        match self {
            Self::Aes128GcmSha256 => 0x0004,
            Self::Aes256GcmSha512 => 0x0005,
        }
    }

    /// The suite for an IANA code point, if Sealcall supports it.
    pub fn from_id(id: u16) -> Result<Self> {
        match id {
            0x0004 => Ok(Self::Aes128GcmSha256),
            0x0005 => Ok(Self::Aes256GcmSha512),
            other => Err(Error::UnsupportedCipherSuite(other)),
        }
    }

    /// AEAD key length in bytes (`Nk`).
    pub const fn key_len(self) -> usize {
        match self {
            Self::Aes128GcmSha256 => 16,
            Self::Aes256GcmSha512 => 32,
        }
    }

    /// AEAD nonce length in bytes (`Nn`).
    pub const fn nonce_len(self) -> usize {
        crate::NONCE_LEN
    }

    /// Authentication tag length in bytes (`Nt`).
    pub const fn tag_len(self) -> usize {
        crate::TAG_LEN
    }
}

/// The kind of media a frame carries. Each kind has its own keys in each direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MediaKind {
    /// Voice.
    Audio,
    /// Camera video.
    Video,
    /// Screen sharing.
    Screen,
}

impl MediaKind {
    /// All media kinds, in key-id order.
    pub const ALL: [MediaKind; 3] = [MediaKind::Audio, MediaKind::Video, MediaKind::Screen];

    /// The two-bit code of the kind inside a key id.
    pub const fn code(self) -> u64 {
        match self {
            Self::Audio => 0,
            Self::Video => 1,
            Self::Screen => 2,
        }
    }

    /// The kind for a two-bit code.
    pub const fn from_code(code: u64) -> Option<Self> {
        match code {
            0 => Some(Self::Audio),
            1 => Some(Self::Video),
            2 => Some(Self::Screen),
            _ => None,
        }
    }

    /// The label used in the key schedule (see docs/PROTOCOL.md).
    pub const fn label(self) -> &'static str {
        match self {
            Self::Audio => "audio",
            Self::Video => "video",
            Self::Screen => "screen",
        }
    }

    pub(crate) const fn index(self) -> usize {
        self.code() as usize
    }
}

/// Which way a frame travels. Each direction has its own keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// From the party that placed the call to the party that answered.
    CallerToCallee,
    /// From the party that answered to the party that placed the call.
    CalleeToCaller,
}

impl Direction {
    /// The one-bit code of the direction inside a key id.
    pub const fn code(self) -> u64 {
        match self {
            Self::CallerToCallee => 0,
            Self::CalleeToCaller => 1,
        }
    }

    /// The label used in the key schedule (see docs/PROTOCOL.md).
    pub const fn label(self) -> &'static str {
        match self {
            Self::CallerToCallee => "caller-to-callee",
            Self::CalleeToCaller => "callee-to-caller",
        }
    }

    /// The other direction.
    pub const fn reverse(self) -> Self {
        match self {
            Self::CallerToCallee => Self::CalleeToCaller,
            Self::CalleeToCaller => Self::CallerToCallee,
        }
    }
}

/// A party's role in the call and the handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Placed the call; sends the commitment first.
    Caller,
    /// Answered the call.
    Callee,
}

impl Role {
    /// The direction this role sends in.
    pub const fn sending(self) -> Direction {
        match self {
            Self::Caller => Direction::CallerToCallee,
            Self::Callee => Direction::CalleeToCaller,
        }
    }

    /// The direction this role receives in.
    pub const fn receiving(self) -> Direction {
        self.sending().reverse()
    }
}

/// A party's stated end-to-end intent, covered by the handshake transcript.
///
/// Media keys are derived only when both parties state [`Intent::EndToEnd`]; a server that edits
/// either side's intent breaks the transcript signatures and is detected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Intent {
    /// The party's policy decision is a standard (hop-by-hop only) call.
    Standard,
    /// The party's policy decision is an end-to-end encrypted call.
    EndToEnd,
}

impl Intent {
    /// Wire encoding.
    pub const fn code(self) -> u8 {
        match self {
            Self::Standard => 0,
            Self::EndToEnd => 1,
        }
    }

    /// Decode from the wire.
    pub fn from_code(code: u8) -> Result<Self> {
        match code {
            0 => Ok(Self::Standard),
            1 => Ok(Self::EndToEnd),
            _ => Err(Error::MalformedMessage("unknown intent value")),
        }
    }
}

/// What a party says about post-quantum key agreement, covered by the handshake transcript.
///
/// With [`PostQuantum::Offered`] or [`PostQuantum::Required`] on both sides the call's keys come
/// from X25519 and ML-KEM-768 together. A side whose build or configuration cannot do ML-KEM says
/// [`PostQuantum::Unavailable`], and the call falls back to X25519 alone, visibly and signed; a
/// side that says [`PostQuantum::Required`] refuses that fallback for an end-to-end call. What
/// each side said is signed, so an attacker who strips or flips an offer is detected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum PostQuantum {
    /// This party cannot take part in ML-KEM (its build or configuration lacks it).
    Unavailable,
    /// This party offers the hybrid and accepts X25519 alone when the peer cannot do it.
    #[default]
    Offered,
    /// This party offers the hybrid and refuses an end-to-end call without it.
    Required,
}

impl PostQuantum {
    /// Wire encoding.
    pub const fn code(self) -> u8 {
        match self {
            Self::Unavailable => 0,
            Self::Offered => 1,
            Self::Required => 2,
        }
    }

    /// Decode from the wire.
    pub fn from_code(code: u8) -> Result<Self> {
        match code {
            0 => Ok(Self::Unavailable),
            1 => Ok(Self::Offered),
            2 => Ok(Self::Required),
            _ => Err(Error::MalformedMessage("unknown post-quantum value")),
        }
    }

    /// Whether this party takes part in ML-KEM.
    pub const fn is_capable(self) -> bool {
        !matches!(self, Self::Unavailable)
    }
}

/// How a call's keys were agreed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyAgreement {
    /// X25519 alone (one side cannot do ML-KEM).
    X25519,
    /// X25519 and ML-KEM-768 together: breaking either one alone reveals nothing.
    X25519MlKem768,
}

impl KeyAgreement {
    /// Whether the agreement resists a future quantum computer ("post-quantum protected").
    pub const fn is_post_quantum(self) -> bool {
        matches!(self, Self::X25519MlKem768)
    }
}
