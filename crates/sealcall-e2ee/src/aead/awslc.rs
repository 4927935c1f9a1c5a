//! The AWS-LC backend (`aws-lc-rs`), behind the `aws-lc` cargo feature.
//!
//! AWS-LC decrypts while it authenticates and wipes its output when the tag does not verify.
//! To keep the crate's guarantee that a refused frame leaves the caller's buffer unchanged, a
//! frame is opened into a scratch buffer owned by the key (grown once to the largest frame seen,
//! erased on drop) and copied back only after the tag verified.

use aws_lc_rs::aead::{AES_128_GCM, AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use zeroize::Zeroizing;

use super::FrameAead;
use crate::error::{Error, Result};
use crate::suite::CipherSuite;
use crate::{NONCE_LEN, TAG_LEN};

/// An AWS-LC AES-GCM key. AWS-LC keeps and erases the expanded key itself.
pub(crate) struct AwsLcGcm {
    key: LessSafeKey,
    scratch: Zeroizing<Vec<u8>>,
}

impl AwsLcGcm {
    pub(super) fn new(suite: CipherSuite, key: &[u8]) -> Result<Self> {
        let alg = match suite {
            CipherSuite::Aes128GcmSha256 => &AES_128_GCM,
            CipherSuite::Aes256GcmSha512 => &AES_256_GCM,
        };
        let key = UnboundKey::new(alg, key).map_err(|_| Error::Aead)?;
        Ok(Self {
            key: LessSafeKey::new(key),
            scratch: Zeroizing::new(Vec::new()),
        })
    }
}

impl FrameAead for AwsLcGcm {
    fn seal(
        &mut self,
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        buf: &mut [u8],
    ) -> Result<[u8; TAG_LEN]> {
        let tag = self
            .key
            .seal_in_place_separate_tag(Nonce::assume_unique_for_key(*nonce), Aad::from(aad), buf)
            .map_err(|_| Error::Aead)?;
        let mut out = [0u8; TAG_LEN];
        out.copy_from_slice(tag.as_ref());
        Ok(out)
    }

    fn open(
        &mut self,
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        buf: &mut [u8],
        tag: &[u8; TAG_LEN],
    ) -> Result<()> {
        if self.scratch.len() < buf.len() {
            self.scratch.resize(buf.len(), 0);
        }
        let out = &mut self.scratch[..buf.len()];
        self.key
            .open_separate_gather(
                Nonce::assume_unique_for_key(*nonce),
                Aad::from(aad),
                buf,
                tag,
                out,
            )
            .map_err(|_| Error::AuthenticationFailed)?;
        buf.copy_from_slice(out);
        Ok(())
    }
}
