//! SFrame frame protection (RFC 9605 section 4.4) on the caller's buffer.
//!
//! A protected frame is `header || ciphertext || tag`. Protection works in place: the caller puts
//! the payload in a buffer with at least [`MAX_HEADER_LEN`] bytes of headroom before it (or exactly
//! [`Header::encoded_len`]) and [`TAG_LEN`] bytes of tailroom after it; the header is written into
//! the headroom just before the payload and the tag just after it. Nothing is allocated per frame.

use core::ops::Range;

use crate::aead::AeadBackend;
use crate::error::{Error, Result};
use crate::header::{Header, MAX_HEADER_LEN};
use crate::keys::{BaseKey, KeyedEpoch};
use crate::suite::CipherSuite;
use crate::{MAX_METADATA_LEN, TAG_LEN};

/// One SFrame key (one KID) with its AEAD keyed once: the stateless layer below
/// [`crate::FrameSender`] and [`crate::FrameReceiver`].
///
/// It does not track counters or replays; use it to interoperate with other SFrame
/// implementations or to check known-answer vectors. It has no `Debug` or `Clone` and its key
/// material is erased on drop.
pub struct SframeKey {
    suite: CipherSuite,
    epoch: KeyedEpoch,
}

impl SframeKey {
    /// Derives the key and salt for `kid` from `base_key` (RFC 9605 section 4.4.2).
    pub fn new(
        backend: AeadBackend,
        suite: CipherSuite,
        base_key: &BaseKey,
        kid: u64,
    ) -> Result<Self> {
        Ok(Self {
            suite,
            epoch: KeyedEpoch::derive(backend, suite, base_key.as_bytes(), kid)?,
        })
    }

    /// The key id.
    pub fn kid(&self) -> u64 {
        self.epoch.kid
    }

    /// The cipher suite.
    pub fn suite(&self) -> CipherSuite {
        self.suite
    }

    /// Protects `buf[payload]` in place with counter `ctr`: the header goes into the bytes just
    /// before `payload.start` and the tag into the [`TAG_LEN`] bytes just after `payload.end`.
    /// Returns the range of the whole protected frame. The caller must never reuse a counter.
    pub fn protect(
        &mut self,
        ctr: u64,
        metadata: &[u8],
        buf: &mut [u8],
        payload: Range<usize>,
    ) -> Result<Range<usize>> {
        protect_in_place(&mut self.epoch, ctr, metadata, buf, payload)
    }

    /// Authenticates and decrypts a whole protected frame in place. Returns the header and the range
    /// of the plaintext inside `frame`. A frame that fails authentication
    /// ([`Error::AuthenticationFailed`]) has its ciphertext zeroed (header and tag unchanged);
    /// on any other error `frame` is unchanged. It never holds unauthenticated plaintext.
    pub fn unprotect(
        &mut self,
        metadata: &[u8],
        frame: &mut [u8],
    ) -> Result<(Header, Range<usize>)> {
        let parsed = ParsedFrame::parse(frame)?;
        if parsed.header.kid != self.epoch.kid {
            return Err(Error::UnknownKeyId {
                kid: parsed.header.kid,
            });
        }
        let range = open_in_place(&mut self.epoch, &parsed, metadata, frame)?;
        Ok((parsed.header, range))
    }
}

/// A frame whose header parsed and whose length can hold a tag.
pub(crate) struct ParsedFrame {
    pub(crate) header: Header,
    pub(crate) header_len: usize,
}

impl ParsedFrame {
    #[inline]
    pub(crate) fn parse(frame: &[u8]) -> Result<Self> {
        let (header, header_len) = Header::parse(frame)?;
        let min = header_len + TAG_LEN;
        if frame.len() < min {
            return Err(Error::FrameTooShort {
                len: frame.len(),
                min,
            });
        }
        Ok(Self { header, header_len })
    }
}

/// Builds the AAD (`header || metadata`, RFC 9605 section 4.4.3) on the stack and calls `f`.
#[inline]
fn with_aad<T>(header: &[u8], metadata: &[u8], f: impl FnOnce(&[u8]) -> Result<T>) -> Result<T> {
    if metadata.is_empty() {
        return f(header);
    }
    if metadata.len() > MAX_METADATA_LEN {
        return Err(Error::MetadataTooLong {
            len: metadata.len(),
            max: MAX_METADATA_LEN,
        });
    }
    let mut aad = [0u8; MAX_HEADER_LEN + MAX_METADATA_LEN];
    let total = header.len() + metadata.len();
    aad[..header.len()].copy_from_slice(header);
    aad[header.len()..total].copy_from_slice(metadata);
    f(&aad[..total])
}

/// Protects `buf[payload]` in place under `epoch` with counter `ctr`.
///
/// The header goes into the bytes just before `payload.start`, the tag into the `TAG_LEN` bytes
/// just after `payload.end`; returns the range of the whole protected frame.
#[inline]
pub(crate) fn protect_in_place(
    epoch: &mut KeyedEpoch,
    ctr: u64,
    metadata: &[u8],
    buf: &mut [u8],
    payload: Range<usize>,
) -> Result<Range<usize>> {
    if metadata.len() > MAX_METADATA_LEN {
        return Err(Error::MetadataTooLong {
            len: metadata.len(),
            max: MAX_METADATA_LEN,
        });
    }
    let header = Header::new(epoch.kid, ctr);
    let hlen = header.encoded_len();
    if payload.start > payload.end || payload.start < hlen {
        return Err(Error::BufferTooSmall {
            needed: hlen,
            available: payload.start.min(payload.end),
        });
    }
    let end = payload
        .end
        .checked_add(TAG_LEN)
        .ok_or(Error::BufferTooSmall {
            needed: usize::MAX,
            available: buf.len(),
        })?;
    if end > buf.len() {
        return Err(Error::BufferTooSmall {
            needed: end,
            available: buf.len(),
        });
    }
    let start = payload.start - hlen;
    let (head, rest) = buf[start..end].split_at_mut(hlen);
    header.write(head);
    let (body, tag_out) = rest.split_at_mut(payload.len());
    let nonce = epoch.nonce(ctr);
    let tag = with_aad(head, metadata, |aad| epoch.cipher.seal(&nonce, aad, body))?;
    tag_out.copy_from_slice(&tag);
    Ok(start..end)
}

/// Authenticates and decrypts `frame` in place; on failure the ciphertext is zeroed (header and
/// tag unchanged), so no unauthenticated plaintext is ever left in it.
#[inline]
pub(crate) fn open_in_place(
    epoch: &mut KeyedEpoch,
    parsed: &ParsedFrame,
    metadata: &[u8],
    frame: &mut [u8],
) -> Result<Range<usize>> {
    let body_end = frame.len() - TAG_LEN;
    let (head, rest) = frame.split_at_mut(parsed.header_len);
    let (body, tag) = rest.split_at_mut(body_end - parsed.header_len);
    let mut tag_bytes = [0u8; TAG_LEN];
    tag_bytes.copy_from_slice(tag);
    let nonce = epoch.nonce(parsed.header.ctr);
    with_aad(head, metadata, |aad| {
        epoch.cipher.open(&nonce, aad, body, &tag_bytes)
    })?;
    Ok(parsed.header_len..body_end)
}
