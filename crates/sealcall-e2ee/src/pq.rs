//! ML-KEM-768 (FIPS 203), the post-quantum half of the hybrid handshake, through RustCrypto's
//! `ml-kem` crate (pure Rust, so every build has it; see ARCHITECTURE.md for the choice).
//!
//! The caller draws a fresh [`KemDecapsulationKey`] per call and sends its encapsulation key in
//! the `Commit`; the callee [`encapsulate`]s to it and sends the ciphertext in the `Response`; the
//! caller [decapsulates](KemDecapsulationKey::decapsulate) it. Both shared secrets (X25519 and
//! ML-KEM) then feed the key schedule.

use ml_kem::array::Array;
use ml_kem::kem::{Decapsulate, Encapsulate, Generate, KeyExport};
use ml_kem::{MlKem768, ml_kem_768};
use rand_core::CryptoRng;
use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// Length of an ML-KEM-768 encapsulation key, in bytes.
pub const KEM_ENCAPSULATION_KEY_LEN: usize = 1184;
/// Length of an ML-KEM-768 ciphertext, in bytes.
pub const KEM_CIPHERTEXT_LEN: usize = 1088;
/// Length of an ML-KEM shared secret, in bytes.
pub const KEM_SHARED_SECRET_LEN: usize = 32;

/// An ML-KEM shared secret. No `Debug` or `Clone`; erased on drop.
pub struct KemSharedSecret(Zeroizing<[u8; KEM_SHARED_SECRET_LEN]>);

impl KemSharedSecret {
    fn from_array(key: &Array<u8, ml_kem::array::sizes::U32>) -> Self {
        let mut out = Zeroizing::new([0u8; KEM_SHARED_SECRET_LEN]);
        out.copy_from_slice(key.as_slice());
        Self(out)
    }

    /// The secret's bytes (for the key schedule, and for known-answer tests).
    pub fn as_bytes(&self) -> &[u8; KEM_SHARED_SECRET_LEN] {
        &self.0
    }
}

/// A one-call ML-KEM-768 decapsulation key. No `Debug` or `Clone`; the `ml-kem` crate erases it
/// on drop.
pub struct KemDecapsulationKey {
    key: ml_kem_768::DecapsulationKey,
    public: Box<[u8; KEM_ENCAPSULATION_KEY_LEN]>,
}

impl KemDecapsulationKey {
    /// Draws a fresh key pair (FIPS 203 `ML-KEM.KeyGen`: 32 bytes `d`, then 32 bytes `z`).
    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R) -> Self {
        let key = ml_kem_768::DecapsulationKey::generate_from_rng(rng);
        let mut public = Box::new([0u8; KEM_ENCAPSULATION_KEY_LEN]);
        public.copy_from_slice(key.encapsulation_key().to_bytes().as_slice());
        Self { key, public }
    }

    /// The encapsulation key to send.
    pub fn encapsulation_key(&self) -> &[u8; KEM_ENCAPSULATION_KEY_LEN] {
        &self.public
    }

    /// Decapsulates a ciphertext. ML-KEM rejects implicitly: a forged or altered ciphertext gives
    /// an unrelated secret (so the transcript signatures, which cover the ciphertext, fail).
    pub fn decapsulate(&self, ciphertext: &[u8; KEM_CIPHERTEXT_LEN]) -> KemSharedSecret {
        let ct: ml_kem::Ciphertext<MlKem768> = Array::from(*ciphertext);
        KemSharedSecret::from_array(&self.key.decapsulate(&ct))
    }
}

/// Encapsulates a fresh secret to a peer's encapsulation key (FIPS 203 `ML-KEM.Encaps`, 32
/// random bytes `m`). A key that fails FIPS 203's input check (a coefficient not reduced modulo
/// q) is refused with [`Error::InvalidKemKey`].
pub fn encapsulate<R: CryptoRng + ?Sized>(
    rng: &mut R,
    encapsulation_key: &[u8; KEM_ENCAPSULATION_KEY_LEN],
) -> Result<(Box<[u8; KEM_CIPHERTEXT_LEN]>, KemSharedSecret)> {
    let ek = ml_kem_768::EncapsulationKey::new(&Array::from(*encapsulation_key))
        .map_err(|_| Error::InvalidKemKey)?;
    let (ct, key) = ek.encapsulate_with_rng(rng);
    let mut out = Box::new([0u8; KEM_CIPHERTEXT_LEN]);
    out.copy_from_slice(ct.as_slice());
    Ok((out, KemSharedSecret::from_array(&key)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::TestRng;

    #[test]
    fn a_round_trip_agrees_and_a_changed_ciphertext_does_not() {
        let mut rng = TestRng::new(b"pq");
        let dk = KemDecapsulationKey::generate(&mut rng);
        let (mut ct, sent) = encapsulate(&mut rng, dk.encapsulation_key()).unwrap();
        assert_eq!(dk.decapsulate(&ct).as_bytes(), sent.as_bytes());
        ct[0] ^= 1;
        assert_ne!(dk.decapsulate(&ct).as_bytes(), sent.as_bytes());
    }

    #[test]
    fn an_unreduced_coefficient_in_the_key_is_refused() {
        let mut rng = TestRng::new(b"pq");
        let dk = KemDecapsulationKey::generate(&mut rng);
        let mut ek = *dk.encapsulation_key();
        // The first 12-bit coefficient set to 4095 (q = 3329).
        ek[0] = 0xff;
        ek[1] |= 0x0f;
        assert_eq!(encapsulate(&mut rng, &ek).err(), Some(Error::InvalidKemKey));
    }
}
