//! The key schedule: from a verified handshake to per-direction, per-media base keys and the
//! security code.
//!
//! ```text
//! IKM                 = X25519 shared secret || ML-KEM-768 shared secret   (the latter only in a
//!                       hybrid agreement; the transcript hash covers both ciphertexts' inputs)
//! PRK                 = HKDF-Extract(salt = transcript hash, IKM)                         (SHA-256)
//! base(dir, media)    = HKDF-Expand(PRK, "Sealcall v1 media key " || dir || " " || media, 32)
//! security code bytes = HKDF-Expand(PRK, "Sealcall v1 security code", 20)
//! control key, salt   = see crate::ControlChannel (every call, standard ones too)
//! ```
//! with `dir` one of `caller-to-callee`, `callee-to-caller` and `media` one of `audio`, `video`,
//! `screen`. Six distinct labels give six independent keys: two directions or two media kinds
//! never share a key.

use core::fmt;

use hkdf::Hkdf;
use sha2::Sha256;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::control::ControlChannel;
use crate::error::{Error, Result};
use crate::handshake::Verified;
use crate::identity::IdentityPublicKey;
use crate::keys::{Secret32, expand32};
use crate::stream::{FrameReceiver, FrameSender, StreamConfig};
use crate::suite::{CipherSuite, Direction, MediaKind, Role};

/// Prefix of the media key labels.
pub const MEDIA_KEY_LABEL: &str = "Sealcall v1 media key ";
/// Label of the security code.
pub const SECURITY_CODE_LABEL: &[u8] = b"Sealcall v1 security code";

/// The full HKDF info for a media base key, e.g. `Sealcall v1 media key caller-to-callee audio`.
pub fn media_key_label(direction: Direction, media: MediaKind) -> String {
    format!("{MEDIA_KEY_LABEL}{} {}", direction.label(), media.label())
}

/// Turns each 5-byte chunk of `bytes` into five decimal digits (its big-endian value modulo
/// 100000), written to `digits` (five per chunk).
pub(crate) fn five_digit_groups(bytes: &[u8], digits: &mut [u8]) {
    for (chunk, out) in bytes.chunks_exact(5).zip(digits.chunks_exact_mut(5)) {
        let mut v = 0u64;
        for &b in chunk {
            v = (v << 8) | u64::from(b);
        }
        let mut n = v % 100_000;
        for d in out.iter_mut().rev() {
            *d = b'0' + (n % 10) as u8;
            n /= 10;
        }
    }
}

/// Whether `typed` (spaces ignored) is exactly `digits`, compared in constant time.
pub(crate) fn typed_digits_match<const N: usize>(typed: &str, digits: &[u8; N]) -> bool {
    let mut buf = [0u8; N];
    let mut n = 0;
    for b in typed.bytes().filter(|b| !b.is_ascii_whitespace()) {
        if n == N {
            return false;
        }
        buf[n] = b;
        n += 1;
    }
    n == N && bool::from(buf.ct_eq(digits))
}

/// The 20-digit security code both people read to each other, shown as four groups of five.
///
/// Equal on both sides of an honest handshake; it differs when either ephemeral key, either
/// identity key or the call id differs. Comparison is constant time.
#[derive(Clone)]
pub struct SecurityCode([u8; 20]);

impl SecurityCode {
    fn from_bytes(bytes: &[u8; 20]) -> Self {
        let mut digits = [b'0'; 20];
        five_digit_groups(bytes, &mut digits);
        Self(digits)
    }

    /// The 20 digits without spaces.
    pub fn digits(&self) -> &str {
        // The array only ever holds ASCII digits.
        core::str::from_utf8(&self.0).unwrap_or("")
    }

    /// The four groups of five digits.
    pub fn groups(&self) -> [&str; 4] {
        let d = self.digits();
        [&d[0..5], &d[5..10], &d[10..15], &d[15..20]]
    }

    /// Whether a code typed or read by a person (spaces ignored) equals this one, in constant time.
    pub fn matches(&self, typed: &str) -> bool {
        typed_digits_match(typed, &self.0)
    }
}

impl PartialEq for SecurityCode {
    fn eq(&self, other: &Self) -> bool {
        bool::from(self.0.ct_eq(&other.0))
    }
}

impl Eq for SecurityCode {}

impl fmt::Display for SecurityCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d] = self.groups();
        write!(f, "{a} {b} {c} {d}")
    }
}

impl fmt::Debug for SecurityCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecurityCode({self})")
    }
}

/// `PRK = HKDF-Extract(salt = transcript hash, IKM)` (SHA-256), the root of the media keys,
/// the security code and the control channel.
pub(crate) fn extract_prk(transcript_hash: &[u8; 32], ikm: &[u8]) -> Secret32 {
    let (prk_bytes, _) = Hkdf::<Sha256>::extract(Some(transcript_hash), ikm);
    let mut prk = Secret32([0u8; 32]);
    prk.0.copy_from_slice(&prk_bytes);
    let mut prk_bytes = prk_bytes;
    zeroize::Zeroize::zeroize(prk_bytes.as_mut_slice());
    prk
}

/// The result of a verified handshake: the call's secrets, ready to become a [`Session`].
///
/// Only the handshake state machines create it, and only after every check passed. No `Debug`
/// or `Clone`; secrets are erased on drop.
pub struct Established {
    role: Role,
    suite: CipherSuite,
    prk: Secret32,
    code: SecurityCode,
    verified: Verified,
    control: Option<ControlChannel>,
}

impl Established {
    pub(crate) fn derive(
        role: Role,
        suite: CipherSuite,
        shared_secret: &[u8],
        verified: Verified,
    ) -> Result<Self> {
        let prk = extract_prk(&verified.transcript_hash, shared_secret);
        let hk = Hkdf::<Sha256>::from_prk(prk.as_bytes()).map_err(|_| Error::Aead)?;
        let mut code_bytes = Zeroizing::new([0u8; 20]);
        hk.expand(SECURITY_CODE_LABEL, &mut code_bytes[..])
            .map_err(|_| Error::Aead)?;
        let control = ControlChannel::derive(prk.as_bytes(), suite, role)?;
        Ok(Self {
            role,
            suite,
            prk,
            code: SecurityCode::from_bytes(&code_bytes),
            verified,
            control: Some(control),
        })
    }

    /// What both devices signed (peer identity, device, DTLS fingerprint, intents).
    pub fn verified(&self) -> &Verified {
        &self.verified
    }

    /// This party's role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The negotiated cipher suite.
    pub fn suite(&self) -> CipherSuite {
        self.suite
    }

    /// The security code to show.
    pub fn security_code(&self) -> &SecurityCode {
        &self.code
    }

    /// The transcript hash (public; both sides hold the same value).
    pub fn transcript_hash(&self) -> [u8; 32] {
        self.verified.transcript_hash
    }

    /// The peer's verified identity key.
    pub fn peer_identity(&self) -> IdentityPublicKey {
        self.verified.peer_identity
    }

    /// The peer's device id.
    pub fn peer_device(&self) -> &[u8] {
        &self.verified.peer_device
    }

    /// The call's end-to-end control channel (see [`crate::ControlChannel`]), once: a second
    /// take is `None` (a second sealer would reuse the first one's nonces). Take it before
    /// [`Established::into_session`].
    pub fn take_control_channel(&mut self) -> Option<ControlChannel> {
        self.control.take()
    }

    fn base_key(&self, direction: Direction, media: MediaKind) -> Result<Secret32> {
        expand32(
            self.prk.as_bytes(),
            &[
                MEDIA_KEY_LABEL.as_bytes(),
                direction.label().as_bytes(),
                b" ",
                media.label().as_bytes(),
            ],
        )
    }

    /// Builds the call's senders and receivers for every media kind. `config.suite` is replaced
    /// by the negotiated suite.
    pub fn into_session(self, config: StreamConfig) -> Result<Session> {
        let config = StreamConfig {
            suite: self.suite,
            ..config
        };
        let send = self.role.sending();
        let recv = self.role.receiving();
        let senders = [
            FrameSender::new(
                config,
                send,
                MediaKind::Audio,
                self.base_key(send, MediaKind::Audio)?,
            )?,
            FrameSender::new(
                config,
                send,
                MediaKind::Video,
                self.base_key(send, MediaKind::Video)?,
            )?,
            FrameSender::new(
                config,
                send,
                MediaKind::Screen,
                self.base_key(send, MediaKind::Screen)?,
            )?,
        ];
        let receivers = [
            FrameReceiver::new(
                config,
                recv,
                MediaKind::Audio,
                self.base_key(recv, MediaKind::Audio)?,
            )?,
            FrameReceiver::new(
                config,
                recv,
                MediaKind::Video,
                self.base_key(recv, MediaKind::Video)?,
            )?,
            FrameReceiver::new(
                config,
                recv,
                MediaKind::Screen,
                self.base_key(recv, MediaKind::Screen)?,
            )?,
        ];
        Ok(Session {
            role: self.role,
            code: self.code.clone(),
            peer_identity: self.verified.peer_identity,
            senders: MediaSenders(senders),
            receivers: MediaReceivers(receivers),
        })
    }
}

/// The frame senders of one call, one per media kind.
pub struct MediaSenders([FrameSender; 3]);

impl MediaSenders {
    /// The sender of a media kind.
    pub fn get_mut(&mut self, media: MediaKind) -> &mut FrameSender {
        &mut self.0[media.index()]
    }

    /// The sender of a media kind, read-only.
    pub fn get(&self, media: MediaKind) -> &FrameSender {
        &self.0[media.index()]
    }

    /// The three senders, in [`MediaKind::ALL`] order (audio, video, screen).
    pub fn into_inner(self) -> [FrameSender; 3] {
        self.0
    }
}

/// The frame receivers of one call, one per media kind.
pub struct MediaReceivers([FrameReceiver; 3]);

impl MediaReceivers {
    /// The receiver of a media kind.
    pub fn get_mut(&mut self, media: MediaKind) -> &mut FrameReceiver {
        &mut self.0[media.index()]
    }

    /// The receiver of a media kind, read-only.
    pub fn get(&self, media: MediaKind) -> &FrameReceiver {
        &self.0[media.index()]
    }

    /// The three receivers, in [`MediaKind::ALL`] order (audio, video, screen).
    pub fn into_inner(self) -> [FrameReceiver; 3] {
        self.0
    }
}

/// An end-to-end encrypted call's frame protection: a sender and a receiver per media kind.
///
/// No `Debug` or `Clone`; all keys are erased on drop.
pub struct Session {
    role: Role,
    code: SecurityCode,
    peer_identity: IdentityPublicKey,
    senders: MediaSenders,
    receivers: MediaReceivers,
}

impl Session {
    /// This party's role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The security code.
    pub fn security_code(&self) -> &SecurityCode {
        &self.code
    }

    /// The peer's verified identity key.
    pub fn peer_identity(&self) -> IdentityPublicKey {
        self.peer_identity
    }

    /// The sender of a media kind.
    pub fn sender(&mut self, media: MediaKind) -> &mut FrameSender {
        self.senders.get_mut(media)
    }

    /// The receiver of a media kind.
    pub fn receiver(&mut self, media: MediaKind) -> &mut FrameReceiver {
        self.receivers.get_mut(media)
    }

    /// Splits the session so sending and receiving can live on different tasks.
    pub fn split(self) -> (MediaSenders, MediaReceivers) {
        (self.senders, self.receivers)
    }
}
