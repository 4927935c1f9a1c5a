//! Post-quantum protection of a call as the people in it see it: the status shown next to the
//! lock, this device's requirement (its setting or its organisation's policy), and what a
//! refused hybrid handshake tells the user.

use sealcall_e2ee::{Error as CryptoError, KeyAgreement, PostQuantum, Verified};
use sealcall_policy::LocalState;

// Every handshake message the crypto core can produce fits the signaling field that carries it.
const _: () = assert!(sealcall_e2ee::MAX_MESSAGE_LEN <= sealcall_signaling::MAX_HANDSHAKE_BYTES);

/// Whether an end-to-end encrypted call's keys resist a future quantum computer, from what both
/// devices signed in the handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PostQuantumStatus {
    /// The keys come from X25519 and ML-KEM-768 together.
    Protected,
    /// X25519 alone: the other device said (signed) that it cannot do ML-KEM.
    PeerUnavailable,
    /// X25519 alone: post-quantum key agreement is turned off on this device.
    LocalUnavailable,
}

impl PostQuantumStatus {
    /// The status of a verified handshake.
    pub fn of(verified: &Verified) -> Self {
        match verified.key_agreement {
            KeyAgreement::X25519MlKem768 => Self::Protected,
            KeyAgreement::X25519 if !verified.local_post_quantum.is_capable() => {
                Self::LocalUnavailable
            }
            KeyAgreement::X25519 => Self::PeerUnavailable,
        }
    }

    /// Whether the keys are post-quantum protected.
    pub fn is_protected(self) -> bool {
        self == Self::Protected
    }

    /// The words shown next to the lock.
    pub fn label(self) -> &'static str {
        match self {
            Self::Protected => "post-quantum protected",
            Self::PeerUnavailable => "not post-quantum: the other device cannot do it",
            Self::LocalUnavailable => "not post-quantum: turned off on this device",
        }
    }
}

/// What this device states in the handshake: its own setting, raised to
/// [`PostQuantum::Required`] when its cached policy requires post-quantum protection.
pub(crate) fn local_post_quantum(setting: PostQuantum, local: &LocalState) -> PostQuantum {
    if local.policy.requires_post_quantum() {
        PostQuantum::Required
    } else {
        setting
    }
}

/// The message for a handshake that failed, in words a person can act on where the reason is
/// post-quantum protection.
pub(crate) fn handshake_failure(e: &CryptoError) -> String {
    match e {
        CryptoError::PostQuantumRequired {
            local: PostQuantum::Required,
            ..
        } => {
            "this device requires post-quantum protection for end-to-end encrypted calls, and the \
              other device cannot provide it: the call was ended before any media"
                .into()
        }
        CryptoError::PostQuantumRequired { .. } => {
            "the other device requires post-quantum protection for end-to-end encrypted calls, \
             which this device cannot provide: the call was ended before any media"
                .into()
        }
        CryptoError::PostQuantumStripped => {
            "both devices offered post-quantum protection, but it was removed on the way: \
             someone may be in the middle of this call. The call was ended before any media."
                .into()
        }
        other => format!("handshake: {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_says_which_side_requires_post_quantum() {
        let mine = handshake_failure(&CryptoError::PostQuantumRequired {
            local: PostQuantum::Required,
            peer: PostQuantum::Unavailable,
        });
        assert!(mine.starts_with("this device requires"), "{mine}");
        let theirs = handshake_failure(&CryptoError::PostQuantumRequired {
            local: PostQuantum::Unavailable,
            peer: PostQuantum::Required,
        });
        assert!(theirs.starts_with("the other device requires"), "{theirs}");
        assert!(handshake_failure(&CryptoError::PostQuantumStripped).contains("removed"));
        assert_eq!(
            handshake_failure(&CryptoError::BadSignature),
            "handshake: transcript signature did not verify"
        );
    }
}
