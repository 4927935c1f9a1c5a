//! The AEAD behind SFrame, as a small internal trait with one implementation per backend.
//!
//! A cipher is keyed once per SFrame key (per KID) and then used for every frame under that key;
//! frames are sealed and opened in place on the caller's buffer with a detached tag. A failed open
//! leaves the ciphertext zeroed on every backend: AWS-LC decrypts while it authenticates, so no
//! backend can promise the bytes unchanged without a copy of every frame (see docs/SECURITY.md),
//! and zeroed bytes are the one state that holds no unauthenticated plaintext on both.

use crate::error::{Error, Result};
use crate::suite::CipherSuite;
use crate::{NONCE_LEN, TAG_LEN};

/// Which AEAD implementation protects frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum AeadBackend {
    /// RustCrypto's `aes-gcm` (pure Rust, constant time, uses AES-NI and CLMUL when present).
    #[default]
    RustCrypto,
    /// AWS-LC through `aws-lc-rs` (assembly, stitched AES-GCM). Needs the `aws-lc` cargo feature.
    AwsLc,
}

impl AeadBackend {
    /// Every backend compiled into this build.
    pub fn available() -> &'static [AeadBackend] {
        #[cfg(feature = "aws-lc")]
        {
            &[AeadBackend::RustCrypto, AeadBackend::AwsLc]
        }
        #[cfg(not(feature = "aws-lc"))]
        {
            &[AeadBackend::RustCrypto]
        }
    }

    /// A short name for tables and logs.
    pub const fn name(self) -> &'static str {
        match self {
            Self::RustCrypto => "aes-gcm",
            Self::AwsLc => "aws-lc-rs",
        }
    }
}

/// One keyed AEAD instance: seal and open in place with a detached 16-byte tag.
pub(crate) trait FrameAead {
    /// Encrypts `buf` in place and returns the tag.
    fn seal(
        &mut self,
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        buf: &mut [u8],
    ) -> Result<[u8; TAG_LEN]>;
    /// Verifies `tag` over `aad` and `buf` and decrypts `buf` in place. On failure `buf` is
    /// zeroed.
    fn open(
        &mut self,
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        buf: &mut [u8],
        tag: &[u8; TAG_LEN],
    ) -> Result<()>;
}

mod rustcrypto {
    use super::*;
    use aes_gcm::aead::{AeadInOut, KeyInit};

    impl<A> FrameAead for A
    where
        A: AeadInOut<NonceSize = aes_gcm::aead::consts::U12, TagSize = aes_gcm::aead::consts::U16>,
    {
        fn seal(
            &mut self,
            nonce: &[u8; NONCE_LEN],
            aad: &[u8],
            buf: &mut [u8],
        ) -> Result<[u8; TAG_LEN]> {
            let tag = self
                .encrypt_inout_detached(&(*nonce).into(), aad, buf.into())
                .map_err(|_| Error::Aead)?;
            Ok(tag.into())
        }

        fn open(
            &mut self,
            nonce: &[u8; NONCE_LEN],
            aad: &[u8],
            buf: &mut [u8],
            tag: &[u8; TAG_LEN],
        ) -> Result<()> {
            // RustCrypto checks the tag before it decrypts, so `buf` still holds the
            // ciphertext on failure; zeroing it keeps one contract for every backend.
            self.decrypt_inout_detached(&(*nonce).into(), aad, buf.into(), &(*tag).into())
                .map_err(|_| {
                    buf.fill(0);
                    Error::AuthenticationFailed
                })
        }
    }

    pub(super) fn aes128(key: &[u8]) -> Result<aes_gcm::Aes128Gcm> {
        aes_gcm::Aes128Gcm::new_from_slice(key).map_err(|_| Error::Aead)
    }

    pub(super) fn aes256(key: &[u8]) -> Result<aes_gcm::Aes256Gcm> {
        aes_gcm::Aes256Gcm::new_from_slice(key).map_err(|_| Error::Aead)
    }
}

#[cfg(feature = "aws-lc")]
mod awslc;

/// A keyed AEAD of the chosen backend and suite. Dispatch is a `match`, not a virtual call, and
/// nothing is allocated per frame.
// The variants differ by the AES-256 key schedule (256 bytes); boxing would add a pointer chase to
// every frame for no gain, since a cipher is built once per key and never moved per frame.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Cipher {
    Aes128(aes_gcm::Aes128Gcm),
    Aes256(aes_gcm::Aes256Gcm),
    #[cfg(feature = "aws-lc")]
    AwsLc(awslc::AwsLcGcm),
}

impl Cipher {
    /// Keys a cipher once; used for every frame under that key.
    pub(crate) fn new(backend: AeadBackend, suite: CipherSuite, key: &[u8]) -> Result<Self> {
        if key.len() != suite.key_len() {
            return Err(Error::Aead);
        }
        match backend {
            AeadBackend::RustCrypto => match suite {
                CipherSuite::Aes128GcmSha256 => Ok(Self::Aes128(rustcrypto::aes128(key)?)),
                CipherSuite::Aes256GcmSha512 => Ok(Self::Aes256(rustcrypto::aes256(key)?)),
            },
            #[cfg(feature = "aws-lc")]
            AeadBackend::AwsLc => Ok(Self::AwsLc(awslc::AwsLcGcm::new(suite, key)?)),
            #[cfg(not(feature = "aws-lc"))]
            AeadBackend::AwsLc => Err(Error::BackendUnavailable("aws-lc-rs")),
        }
    }

    #[inline]
    pub(crate) fn seal(
        &mut self,
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        buf: &mut [u8],
    ) -> Result<[u8; TAG_LEN]> {
        match self {
            Self::Aes128(c) => c.seal(nonce, aad, buf),
            Self::Aes256(c) => c.seal(nonce, aad, buf),
            #[cfg(feature = "aws-lc")]
            Self::AwsLc(c) => c.seal(nonce, aad, buf),
        }
    }

    #[inline]
    pub(crate) fn open(
        &mut self,
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        buf: &mut [u8],
        tag: &[u8; TAG_LEN],
    ) -> Result<()> {
        match self {
            Self::Aes128(c) => c.open(nonce, aad, buf, tag),
            Self::Aes256(c) => c.open(nonce, aad, buf, tag),
            #[cfg(feature = "aws-lc")]
            Self::AwsLc(c) => c.open(nonce, aad, buf, tag),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// RFC 7714 section 16.1.1 through every backend: the SRTP IV (`salt XOR (00 00 || SSRC ||
    /// ROC || SEQ)`), the RTP header as AAD, ciphertext and tag byte for byte; then opening it,
    /// and refusing it with a flipped tag bit, which leaves the buffer zeroed.
    #[test]
    fn rfc7714_aes_gcm_srtp_packet_on_every_backend() {
        let v: std::collections::HashMap<String, serde_json::Value> =
            serde_json::from_str(include_str!("../tests/vectors/rfc7714.json")).unwrap();
        let s = |k: &str| h(v[k].as_str().unwrap());
        let mut iv_in = [0u8; NONCE_LEN];
        iv_in[2..6].copy_from_slice(&s("ssrc"));
        iv_in[6..10].copy_from_slice(&(v["roc"].as_u64().unwrap() as u32).to_be_bytes());
        iv_in[10..12].copy_from_slice(&s("seq"));
        let mut nonce = [0u8; NONCE_LEN];
        for (n, (a, b)) in nonce.iter_mut().zip(iv_in.iter().zip(s("salt"))) {
            *n = a ^ b;
        }
        assert_eq!(nonce.to_vec(), s("iv"));
        let header = s("rtp_header");
        let expected = s("protected");
        for backend in AeadBackend::available() {
            let mut cipher =
                Cipher::new(*backend, CipherSuite::Aes128GcmSha256, &s("key")).unwrap();
            let mut buf = s("plaintext");
            let tag = cipher.seal(&nonce, &header, &mut buf).unwrap();
            assert_eq!([&header[..], &buf, &tag].concat(), expected, "{backend:?}");
            let mut bad = tag;
            bad[0] ^= 1;
            let sealed = buf.clone();
            assert_eq!(
                cipher.open(&nonce, &header, &mut buf, &bad),
                Err(Error::AuthenticationFailed)
            );
            assert!(
                buf.iter().all(|&b| b == 0),
                "{backend:?}: refused packet not zeroed"
            );
            buf.copy_from_slice(&sealed);
            cipher.open(&nonce, &header, &mut buf, &tag).unwrap();
            assert_eq!(buf, s("plaintext"));
        }
    }
}
