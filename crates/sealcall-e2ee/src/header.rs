//! The SFrame header (RFC 9605 section 4.3): a config byte, then the key id and counter.
//!
//! ```text
//!  0 1 2 3 4 5 6 7
//! +-+-+-+-+-+-+-+-+---------------------------+---------------------------+
//! |X|  K  |Y|  C  |   KID (0-8 bytes)         |   CTR (0-8 bytes)         |
//! +-+-+-+-+-+-+-+-+---------------------------+---------------------------+
//! ```
//!
//! Values below 8 sit in the config byte; larger ones follow in the fewest big-endian bytes.
//! Parsing is strict: a non-minimal encoding is refused, so every (KID, CTR) pair has exactly
//! one header and the header (which is authenticated) cannot be re-encoded by an attacker.

use crate::error::{Error, Result};

/// The longest possible header: config byte, 8 KID bytes and 8 CTR bytes.
pub const MAX_HEADER_LEN: usize = 17;

/// A parsed SFrame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Header {
    /// Key id.
    pub kid: u64,
    /// Frame counter.
    pub ctr: u64,
}

/// Bytes needed to hold `v` big-endian (1..=8), for values of 8 or more.
const fn byte_len(v: u64) -> usize {
    let bits = 64 - v.leading_zeros() as usize;
    bits.div_ceil(8)
}

impl Header {
    /// A header for a key id and counter.
    pub const fn new(kid: u64, ctr: u64) -> Self {
        Self { kid, ctr }
    }

    /// Length of the minimal encoding.
    #[inline]
    pub const fn encoded_len(&self) -> usize {
        let k = if self.kid < 8 { 0 } else { byte_len(self.kid) };
        let c = if self.ctr < 8 { 0 } else { byte_len(self.ctr) };
        1 + k + c
    }

    /// Writes the minimal encoding to the start of `out` and returns its length.
    pub fn encode(&self, out: &mut [u8]) -> Result<usize> {
        let len = self.encoded_len();
        let available = out.len();
        let out = out.get_mut(..len).ok_or(Error::BufferTooSmall {
            needed: len,
            available,
        })?;
        self.write(out);
        Ok(len)
    }

    /// Writes the minimal encoding into `out`, which is exactly [`Self::encoded_len`] bytes long
    /// (the caller sized it; a shorter `out` panics on the slice index, never writes past it).
    #[inline]
    pub(crate) fn write(&self, out: &mut [u8]) {
        let mut config = 0u8;
        let mut pos = 1;
        if self.kid < 8 {
            config |= (self.kid as u8) << 4;
        } else {
            let n = byte_len(self.kid);
            config |= 0x80 | (((n - 1) as u8) << 4);
            put_be(&mut out[pos..pos + n], self.kid);
            pos += n;
        }
        if self.ctr < 8 {
            config |= self.ctr as u8;
        } else {
            let n = byte_len(self.ctr);
            config |= 0x08 | ((n - 1) as u8);
            put_be(&mut out[pos..pos + n], self.ctr);
        }
        out[0] = config;
    }

    /// Parses a header from the start of `bytes`; returns it and its length.
    #[inline]
    pub fn parse(bytes: &[u8]) -> Result<(Self, usize)> {
        let (&config, rest) = bytes
            .split_first()
            .ok_or(Error::MalformedHeader("empty frame"))?;
        let mut rest = rest;
        let kid = read_field(&mut rest, config >> 4, "key id")?;
        let ctr = read_field(&mut rest, config & 0x0f, "counter")?;
        let len = bytes.len() - rest.len();
        Ok((Self { kid, ctr }, len))
    }
}

/// Writes the low `out.len()` bytes of `v` big-endian. A byte loop rather than a slice copy:
/// the fields are 1 to 8 bytes, and a variable-length copy costs a `memcpy` call per frame.
#[inline]
fn put_be(out: &mut [u8], v: u64) {
    let n = out.len();
    for (i, b) in out.iter_mut().enumerate() {
        *b = (v >> (8 * (n - 1 - i))) as u8;
    }
}

/// Reads one field from its 4-bit descriptor (extension flag and 3-bit value or length - 1).
#[inline]
fn read_field(rest: &mut &[u8], nibble: u8, what: &'static str) -> Result<u64> {
    if nibble & 0x08 == 0 {
        return Ok(u64::from(nibble & 0x07));
    }
    let n = usize::from(nibble & 0x07) + 1;
    if rest.len() < n {
        return Err(Error::MalformedHeader(match what {
            "key id" => "truncated key id",
            _ => "truncated counter",
        }));
    }
    let (field, tail) = rest.split_at(n);
    *rest = tail;
    let v = field.iter().fold(0u64, |v, &b| (v << 8) | u64::from(b));
    if v < 8 || byte_len(v) != n {
        return Err(Error::MalformedHeader(match what {
            "key id" => "non-minimal key id encoding",
            _ => "non-minimal counter encoding",
        }));
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimal_lengths() {
        assert_eq!(Header::new(0, 0).encoded_len(), 1);
        assert_eq!(Header::new(7, 7).encoded_len(), 1);
        assert_eq!(Header::new(8, 8).encoded_len(), 3);
        assert_eq!(
            Header::new(u64::MAX, u64::MAX).encoded_len(),
            MAX_HEADER_LEN
        );
    }

    #[test]
    fn non_minimal_is_refused() {
        // X=1, KLEN=1, KID=5 (fits in the config byte).
        assert!(Header::parse(&[0x80, 0x05]).is_err());
        // Y=1, CLEN=2, CTR=0x00ff (leading zero byte).
        assert!(Header::parse(&[0x09, 0x00, 0xff]).is_err());
    }
}
