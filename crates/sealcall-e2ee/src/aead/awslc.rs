//! The AWS-LC backend (`aws-lc-rs`), behind the `aws-lc` cargo feature.
//!
//! AWS-LC decrypts while it authenticates, in place, and clears its output when the tag does not
//! verify (`aws-lc-rs` documents the buffer as "overwritten in an unspecified way"). Frames are
//! opened in place, with no copy; on failure the buffer is zeroed here as well, so the crate's
//! contract (a refused frame's ciphertext is zeroed) does not rest on that unspecified state.

use aws_lc_rs::aead::{AES_128_GCM, AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};

use super::FrameAead;
use crate::error::{Error, Result};
use crate::suite::CipherSuite;
use crate::{NONCE_LEN, TAG_LEN};

/// An AWS-LC AES-GCM key. AWS-LC keeps and erases the expanded key itself.
pub(crate) struct AwsLcGcm {
    key: LessSafeKey,
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
        let opened = self.key.open_in_place_separate_tag(
            Nonce::assume_unique_for_key(*nonce),
            Aad::from(aad),
            tag,
            buf,
        );
        if opened.is_err() {
            buf.fill(0);
            return Err(Error::AuthenticationFailed);
        }
        Ok(())
    }
}
