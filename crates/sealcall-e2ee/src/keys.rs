//! Secret containers and the SFrame per-key derivation (RFC 9605 section 4.4.2).

use hkdf::Hkdf;
use sha2::{Sha256, Sha512};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::NONCE_LEN;
use crate::aead::{AeadBackend, Cipher};
use crate::error::{Error, Result};
use crate::suite::CipherSuite;

/// Length of Sealcall's base keys and epoch secrets (HKDF-SHA256 output).
pub const BASE_KEY_LEN: usize = 32;

/// A 32-byte secret: no `Debug`, `Clone` or `Serialize`; erased on drop.
#[derive(Zeroize, ZeroizeOnDrop)]
pub(crate) struct Secret32(pub(crate) [u8; BASE_KEY_LEN]);

impl Secret32 {
    pub(crate) fn as_bytes(&self) -> &[u8; BASE_KEY_LEN] {
        &self.0
    }
}

/// An SFrame base key (RFC 9605's `base_key`) that callers bring themselves, for example from
/// another key-management scheme or for known-answer tests.
///
/// It has no `Debug`, `Clone` or `Serialize` and is erased on drop.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct BaseKey(Vec<u8>);

impl BaseKey {
    /// Wraps key bytes (1 to 64 bytes). The input is copied; erase your copy.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        if bytes.is_empty() || bytes.len() > 64 {
            return Err(Error::InvalidConfig("base key must be 1 to 64 bytes"));
        }
        Ok(Self(bytes.to_vec()))
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

/// The AEAD key and salt for one KID, derived from a base key as RFC 9605 section 4.4.2 says:
///
/// ```text
/// sframe_secret = HKDF-Extract("", base_key)
/// sframe_key    = HKDF-Expand(sframe_secret, "SFrame 1.0 Secret key "  || KID || suite, Nk)
/// sframe_salt   = HKDF-Expand(sframe_secret, "SFrame 1.0 Secret salt " || KID || suite, Nn)
/// ```
/// with KID as 8 big-endian bytes and the suite as 2 big-endian bytes.
pub(crate) struct KeyedEpoch {
    pub(crate) kid: u64,
    pub(crate) cipher: Cipher,
    pub(crate) salt: Zeroizing<[u8; NONCE_LEN]>,
}

impl KeyedEpoch {
    pub(crate) fn derive(
        backend: AeadBackend,
        suite: CipherSuite,
        base_key: &[u8],
        kid: u64,
    ) -> Result<Self> {
        let mut key = Zeroizing::new([0u8; 32]);
        let mut salt = Zeroizing::new([0u8; NONCE_LEN]);
        let key_out = &mut key[..suite.key_len()];
        sframe_kdf(suite, base_key, kid, key_out, &mut salt[..])?;
        let cipher = Cipher::new(backend, suite, key_out)?;
        Ok(Self { kid, cipher, salt })
    }

    /// `salt XOR ctr`, the counter left-padded to the nonce length (RFC 9605 section 4.4.3).
    #[inline]
    pub(crate) fn nonce(&self, ctr: u64) -> [u8; NONCE_LEN] {
        let mut nonce = *self.salt;
        for (n, c) in nonce[NONCE_LEN - 8..].iter_mut().zip(ctr.to_be_bytes()) {
            *n ^= c;
        }
        nonce
    }
}

fn labels(kid: u64, suite: CipherSuite) -> ([u8; 32], [u8; 33]) {
    const KEY: &[u8; 22] = b"SFrame 1.0 Secret key ";
    const SALT: &[u8; 23] = b"SFrame 1.0 Secret salt ";
    let mut key_label = [0u8; 32];
    let mut salt_label = [0u8; 33];
    key_label[..22].copy_from_slice(KEY);
    key_label[22..30].copy_from_slice(&kid.to_be_bytes());
    key_label[30..].copy_from_slice(&suite.id().to_be_bytes());
    salt_label[..23].copy_from_slice(SALT);
    salt_label[23..31].copy_from_slice(&kid.to_be_bytes());
    salt_label[31..].copy_from_slice(&suite.id().to_be_bytes());
    (key_label, salt_label)
}

/// RFC 9605 section 4.4.2 key and salt derivation for one KID.
pub(crate) fn sframe_kdf(
    suite: CipherSuite,
    base_key: &[u8],
    kid: u64,
    key_out: &mut [u8],
    salt_out: &mut [u8],
) -> Result<()> {
    let (key_label, salt_label) = labels(kid, suite);
    match suite {
        CipherSuite::Aes128GcmSha256 => {
            let hk = Hkdf::<Sha256>::new(Some(&[]), base_key);
            hk.expand(&key_label, key_out).map_err(|_| Error::Aead)?;
            hk.expand(&salt_label, salt_out).map_err(|_| Error::Aead)?;
        }
        CipherSuite::Aes256GcmSha512 => {
            let hk = Hkdf::<Sha512>::new(Some(&[]), base_key);
            hk.expand(&key_label, key_out).map_err(|_| Error::Aead)?;
            hk.expand(&salt_label, salt_out).map_err(|_| Error::Aead)?;
        }
    }
    Ok(())
}

/// HKDF-SHA256 expand of a 32-byte PRK into a 32-byte secret under `info`.
pub(crate) fn expand32(prk: &[u8; 32], info: &[&[u8]]) -> Result<Secret32> {
    let hk = Hkdf::<Sha256>::from_prk(prk).map_err(|_| Error::Aead)?;
    let mut out = Secret32([0u8; BASE_KEY_LEN]);
    hk.expand_multi_info(info, &mut out.0)
        .map_err(|_| Error::Aead)?;
    Ok(out)
}

/// An SFrame key and salt, as returned by [`__sframe_key_and_salt`].
pub type KeyAndSalt = (Zeroizing<Vec<u8>>, Zeroizing<[u8; NONCE_LEN]>);

#[doc(hidden)]
/// Known-answer hook: the SFrame key and salt for a base key and KID, for test vectors only.
/// Returns `(key, salt)` in fresh zeroizing buffers.
pub fn __sframe_key_and_salt(
    suite: CipherSuite,
    base_key: &BaseKey,
    kid: u64,
) -> Result<KeyAndSalt> {
    let mut key = Zeroizing::new(vec![0u8; suite.key_len()]);
    let mut salt = Zeroizing::new([0u8; NONCE_LEN]);
    sframe_kdf(suite, base_key.as_bytes(), kid, &mut key, &mut salt[..])?;
    Ok((key, salt))
}
