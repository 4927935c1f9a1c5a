//! Long-term device identities (Ed25519).

use core::fmt;

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use rand_core::CryptoRng;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// A device's long-term identity: an Ed25519 signing key, created once per device and stored
/// by the application.
///
/// No `Debug`, `Clone` or `Serialize`; the key is erased on drop.
pub struct DeviceIdentity {
    key: SigningKey,
}

impl DeviceIdentity {
    /// Creates a fresh identity from a cryptographically secure RNG.
    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R) -> Self {
        let mut seed = Zeroizing::new([0u8; 32]);
        rng.fill_bytes(&mut seed[..]);
        Self {
            key: SigningKey::from_bytes(&seed),
        }
    }

    /// Restores an identity from its 32-byte secret seed (as returned by
    /// [`to_secret_bytes`](Self::to_secret_bytes)).
    pub fn from_secret_bytes(seed: &[u8; 32]) -> Self {
        Self {
            key: SigningKey::from_bytes(seed),
        }
    }

    /// The secret seed, for the application to store (encrypted at rest where it can).
    pub fn to_secret_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.key.to_bytes())
    }

    /// The public half, which the directory publishes.
    pub fn public(&self) -> IdentityPublicKey {
        IdentityPublicKey(self.key.verifying_key())
    }

    pub(crate) fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.key.sign(message).to_bytes()
    }
}

/// A device's public identity key.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct IdentityPublicKey(VerifyingKey);

impl IdentityPublicKey {
    /// Decodes a 32-byte Ed25519 public key; refuses invalid and weak (small-order) points.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self> {
        let key = VerifyingKey::from_bytes(bytes).map_err(|_| Error::InvalidPublicKey)?;
        if key.is_weak() {
            return Err(Error::InvalidPublicKey);
        }
        Ok(Self(key))
    }

    /// The 32-byte encoding.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    /// A short hexadecimal fingerprint (first 8 bytes of SHA-256 of the key) for display.
    pub fn fingerprint(&self) -> String {
        let digest = Sha256::digest(self.0.as_bytes());
        digest[..8].iter().map(|b| format!("{b:02x}")).collect()
    }

    pub(crate) fn verify(&self, message: &[u8], signature: &[u8; 64]) -> Result<()> {
        let signature = Signature::from_bytes(signature);
        self.0
            .verify_strict(message, &signature)
            .map_err(|_| Error::BadSignature)
    }
}

impl fmt::Debug for IdentityPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdentityPublicKey({})", self.fingerprint())
    }
}
