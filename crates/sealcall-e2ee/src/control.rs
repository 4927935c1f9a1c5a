//! The call's control channel: short messages between the two devices (hold, resume, transfer,
//! recording notices…), sealed end to end so that the service relaying them can drop them but
//! can neither read, forge, replay nor reorder them.
//!
//! Every call has one, standard calls too: every call runs the signed handshake, and the
//! channel's keys come from its key schedule (the same PRK as the media keys, see
//! [`crate::Established`]), one per direction:
//!
//! ```text
//! key(dir)  = HKDF-Expand(PRK, "Sealcall v1 control key "  || dir, Nk)     (Nk: the suite's key length)
//! salt(dir) = HKDF-Expand(PRK, "Sealcall v1 control salt " || dir, 12)
//! message   = version (1 byte, 1) || seq (8 bytes, big-endian) || AES-GCM(key, nonce, aad, plaintext) || tag
//! nonce     = salt XOR (0^4 || seq)            aad = version || seq
//! ```
//! `dir` is `caller-to-callee` or `callee-to-caller`. `seq` starts at 0 and grows by one per
//! message; the receiver accepts only a sequence number above every one it accepted before
//! (so a replayed or reordered message is refused) and reports how many it never saw (the
//! service may drop messages; it cannot make an old one count again). The PRK is salted with
//! the transcript hash, so a channel belongs to one call and one pair of devices.
//!
//! ```
//! # use sealcall_e2ee::*;
//! # fn main() -> Result<(), Error> {
//! # let (caller, callee) = sealcall_e2ee::testing::completed_pair(b"doc", Intent::Standard)?;
//! // `caller` and `callee` are the two sides' `Completed` handshakes (a standard call here).
//! let (mut caller, mut callee) = (caller, callee);
//! let (mut to_callee, _) = caller.take_control_channel().unwrap().split();
//! let (_, mut from_caller) = callee.take_control_channel().unwrap().split();
//! assert!(caller.take_control_channel().is_none(), "one channel per call");
//! let sealed = to_callee.seal(b"hold")?;
//! let opened = from_caller.open(&sealed)?;
//! assert_eq!(opened.plaintext, b"hold");
//! assert!(from_caller.open(&sealed).is_err(), "a replay is refused");
//! # Ok(()) }
//! ```

use hkdf::Hkdf;
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::aead::{AeadBackend, Cipher};
use crate::error::{Error, Result};
use crate::suite::{CipherSuite, Direction, Role};
use crate::{NONCE_LEN, TAG_LEN};

/// Prefix of the control key labels (then the direction).
pub const CONTROL_KEY_LABEL: &str = "Sealcall v1 control key ";
/// Prefix of the control salt labels (then the direction).
pub const CONTROL_SALT_LABEL: &str = "Sealcall v1 control salt ";
/// The control message format's version byte.
pub const CONTROL_VERSION: u8 = 1;
/// Bytes before the ciphertext: the version and the sequence number.
pub const CONTROL_HEADER_LEN: usize = 9;
/// Longest plaintext of one control message.
pub const MAX_CONTROL_PLAINTEXT: usize = 1024;
/// Longest sealed control message.
pub const MAX_CONTROL_MESSAGE: usize = CONTROL_HEADER_LEN + MAX_CONTROL_PLAINTEXT + TAG_LEN;

/// One direction's key and salt.
struct ControlKey {
    cipher: Cipher,
    salt: Zeroizing<[u8; NONCE_LEN]>,
}

impl ControlKey {
    fn derive(prk: &[u8; 32], suite: CipherSuite, direction: Direction) -> Result<Self> {
        let hk = Hkdf::<Sha256>::from_prk(prk).map_err(|_| Error::Aead)?;
        let mut key = Zeroizing::new([0u8; 32]);
        let key = &mut key[..suite.key_len()];
        hk.expand_multi_info(
            &[CONTROL_KEY_LABEL.as_bytes(), direction.label().as_bytes()],
            key,
        )
        .map_err(|_| Error::Aead)?;
        let mut salt = Zeroizing::new([0u8; NONCE_LEN]);
        hk.expand_multi_info(
            &[CONTROL_SALT_LABEL.as_bytes(), direction.label().as_bytes()],
            &mut salt[..],
        )
        .map_err(|_| Error::Aead)?;
        Ok(Self {
            cipher: Cipher::new(AeadBackend::RustCrypto, suite, key)?,
            salt,
        })
    }

    fn nonce(&self, seq: u64) -> [u8; NONCE_LEN] {
        let mut nonce = *self.salt;
        for (n, s) in nonce[NONCE_LEN - 8..].iter_mut().zip(seq.to_be_bytes()) {
            *n ^= s;
        }
        nonce
    }
}

fn header(seq: u64) -> [u8; CONTROL_HEADER_LEN] {
    let mut h = [0u8; CONTROL_HEADER_LEN];
    h[0] = CONTROL_VERSION;
    h[1..].copy_from_slice(&seq.to_be_bytes());
    h
}

/// Both directions of a call's control channel. No `Debug` or `Clone`; keys are erased on
/// drop.
pub struct ControlChannel {
    sealer: ControlSealer,
    opener: ControlOpener,
}

impl ControlChannel {
    pub(crate) fn derive(prk: &[u8; 32], suite: CipherSuite, role: Role) -> Result<Self> {
        Ok(Self {
            sealer: ControlSealer {
                key: ControlKey::derive(prk, suite, role.sending())?,
                next: 0,
            },
            opener: ControlOpener {
                key: ControlKey::derive(prk, suite, role.receiving())?,
                next: 0,
            },
        })
    }

    /// The sending half and the receiving half.
    pub fn split(self) -> (ControlSealer, ControlOpener) {
        (self.sealer, self.opener)
    }
}

/// Seals this device's control messages for the other device.
pub struct ControlSealer {
    key: ControlKey,
    next: u64,
}

impl ControlSealer {
    /// Seals one message (at most [`MAX_CONTROL_PLAINTEXT`] bytes) under the next sequence
    /// number.
    pub fn seal(&mut self, plaintext: &[u8]) -> Result<Vec<u8>> {
        if plaintext.len() > MAX_CONTROL_PLAINTEXT {
            return Err(Error::FieldTooLong {
                field: "control message",
                len: plaintext.len(),
                max: MAX_CONTROL_PLAINTEXT,
            });
        }
        let seq = self.next;
        let next = seq.checked_add(1).ok_or(Error::CounterExhausted)?;
        let head = header(seq);
        let mut out = Vec::with_capacity(CONTROL_HEADER_LEN + plaintext.len() + TAG_LEN);
        out.extend_from_slice(&head);
        out.extend_from_slice(plaintext);
        let tag =
            self.key
                .cipher
                .seal(&self.key.nonce(seq), &head, &mut out[CONTROL_HEADER_LEN..])?;
        out.extend_from_slice(&tag);
        self.next = next;
        Ok(out)
    }

    /// The sequence number the next message gets.
    pub fn next_seq(&self) -> u64 {
        self.next
    }
}

/// A control message that opened: authentic, from the other device, newer than every one
/// before it.
#[derive(Debug, PartialEq, Eq)]
pub struct OpenedControl {
    /// Its sequence number.
    pub seq: u64,
    /// How many messages the other device sent since the last one that opened and that never
    /// arrived (dropped on the way).
    pub missed: u64,
    /// The message.
    pub plaintext: Vec<u8>,
}

/// Opens the other device's control messages, in order, each once.
pub struct ControlOpener {
    key: ControlKey,
    /// The lowest sequence number still acceptable.
    next: u64,
}

impl ControlOpener {
    /// Opens one sealed message. Refuses (and changes nothing) anything malformed, forged,
    /// altered, from the other direction, replayed or older than a message already opened.
    pub fn open(&mut self, message: &[u8]) -> Result<OpenedControl> {
        if message.len() > MAX_CONTROL_MESSAGE {
            return Err(Error::FieldTooLong {
                field: "control message",
                len: message.len(),
                max: MAX_CONTROL_MESSAGE,
            });
        }
        if message.len() < CONTROL_HEADER_LEN + TAG_LEN {
            return Err(Error::FrameTooShort {
                len: message.len(),
                min: CONTROL_HEADER_LEN + TAG_LEN,
            });
        }
        if message[0] != CONTROL_VERSION {
            return Err(Error::UnsupportedVersion(message[0]));
        }
        let mut seq_bytes = [0u8; 8];
        seq_bytes.copy_from_slice(&message[1..CONTROL_HEADER_LEN]);
        let seq = u64::from_be_bytes(seq_bytes);
        if seq < self.next {
            return Err(Error::Replayed { ctr: seq });
        }
        // The sealer stops before it: no message carries the last sequence number.
        if seq == u64::MAX {
            return Err(Error::CounterExhausted);
        }
        let (head, rest) = message.split_at(CONTROL_HEADER_LEN);
        let (body, tag_bytes) = rest.split_at(rest.len() - TAG_LEN);
        let mut tag = [0u8; TAG_LEN];
        tag.copy_from_slice(tag_bytes);
        let mut plaintext = body.to_vec();
        self.key
            .cipher
            .open(&self.key.nonce(seq), head, &mut plaintext, &tag)?;
        let missed = seq - self.next;
        // Below u64::MAX (checked above), so this cannot overflow.
        self.next = seq + 1;
        Ok(OpenedControl {
            seq,
            missed,
            plaintext,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::completed_pair;
    use crate::{Completed, Intent};

    fn channels(seed: &[u8], intent: Intent) -> (ControlChannel, ControlChannel) {
        let (mut a, mut b) = completed_pair(seed, intent).unwrap();
        (
            a.take_control_channel().unwrap(),
            b.take_control_channel().unwrap(),
        )
    }

    #[test]
    fn every_call_has_a_channel_both_ways_standard_and_end_to_end() {
        for intent in [Intent::Standard, Intent::EndToEnd] {
            let (mut a, mut b) = completed_pair(b"both", intent).unwrap();
            assert_eq!(
                matches!(a, Completed::Standard(_)),
                intent == Intent::Standard
            );
            let (mut a_out, mut a_in) = a.take_control_channel().unwrap().split();
            let (mut b_out, mut b_in) = b.take_control_channel().unwrap().split();
            assert!(a.take_control_channel().is_none() && b.take_control_channel().is_none());
            let m = a_out.seal(b"hold").unwrap();
            assert_eq!(m.len(), CONTROL_HEADER_LEN + 4 + TAG_LEN);
            assert_ne!(&m[CONTROL_HEADER_LEN..CONTROL_HEADER_LEN + 4], b"hold");
            assert_eq!(
                b_in.open(&m).unwrap(),
                OpenedControl {
                    seq: 0,
                    missed: 0,
                    plaintext: b"hold".to_vec()
                }
            );
            // A message reflected back to its sender does not open there.
            assert_eq!(a_in.open(&m), Err(Error::AuthenticationFailed));
            let r = b_out.seal(b"").unwrap();
            assert_eq!(a_in.open(&r).unwrap().plaintext, b"");
        }
    }

    #[test]
    fn replays_and_reordering_are_refused_and_drops_are_counted() {
        let (a, b) = channels(b"order", Intent::Standard);
        let (mut out, _) = a.split();
        let (_, mut inn) = b.split();
        let m: Vec<Vec<u8>> = (0..4).map(|i| out.seal(&[i]).unwrap()).collect();
        assert_eq!(out.next_seq(), 4);
        assert_eq!(inn.open(&m[1]).unwrap().missed, 1, "message 0 was dropped");
        assert_eq!(inn.open(&m[0]), Err(Error::Replayed { ctr: 0 }));
        assert_eq!(inn.open(&m[1]), Err(Error::Replayed { ctr: 1 }));
        let opened = inn.open(&m[3]).unwrap();
        assert_eq!((opened.seq, opened.missed), (3, 1));
        assert_eq!(inn.open(&m[2]), Err(Error::Replayed { ctr: 2 }));
    }

    #[test]
    fn any_altered_byte_is_refused_and_changes_nothing() {
        let (a, b) = channels(b"tamper", Intent::EndToEnd);
        let (mut out, _) = a.split();
        let (_, mut inn) = b.split();
        let m = out.seal(b"recording started").unwrap();
        for i in 0..m.len() {
            let mut bad = m.clone();
            bad[i] ^= 0x01;
            assert!(inn.open(&bad).is_err(), "byte {i} altered and accepted");
        }
        // A forged high sequence number did not move the window: the honest message opens.
        let mut forged = m.clone();
        forged[1..9].copy_from_slice(&1000u64.to_be_bytes());
        assert_eq!(inn.open(&forged), Err(Error::AuthenticationFailed));
        assert_eq!(
            inn.open(&m[..m.len() - 1]),
            Err(Error::AuthenticationFailed)
        );
        assert_eq!(inn.open(&m).unwrap().plaintext, b"recording started");
    }

    #[test]
    fn another_call_cannot_open_it() {
        let (a, _) = channels(b"call one", Intent::Standard);
        let (_, b2) = channels(b"call two", Intent::Standard);
        let (mut out, _) = a.split();
        let (_, mut other) = b2.split();
        assert_eq!(
            other.open(&out.seal(b"hold").unwrap()),
            Err(Error::AuthenticationFailed)
        );
    }

    #[test]
    fn malformed_and_oversized_messages_get_clear_errors() {
        let (a, b) = channels(b"sizes", Intent::Standard);
        let (mut out, _) = a.split();
        let (_, mut inn) = b.split();
        assert!(matches!(
            out.seal(&[0u8; MAX_CONTROL_PLAINTEXT + 1]),
            Err(Error::FieldTooLong { .. })
        ));
        assert_eq!(out.next_seq(), 0, "a refused seal uses no sequence number");
        let big = out.seal(&[7u8; MAX_CONTROL_PLAINTEXT]).unwrap();
        assert_eq!(big.len(), MAX_CONTROL_MESSAGE);
        assert!(matches!(
            inn.open(&[0u8; MAX_CONTROL_MESSAGE + 1]),
            Err(Error::FieldTooLong { .. })
        ));
        assert!(matches!(
            inn.open(&big[..CONTROL_HEADER_LEN + TAG_LEN - 1]),
            Err(Error::FrameTooShort { .. })
        ));
        let mut v2 = big.clone();
        v2[0] = 2;
        assert_eq!(inn.open(&v2), Err(Error::UnsupportedVersion(2)));
        let mut last = big.clone();
        last[1..9].copy_from_slice(&u64::MAX.to_be_bytes());
        assert_eq!(inn.open(&last), Err(Error::CounterExhausted));
        assert_eq!(
            inn.open(&big).unwrap().plaintext.len(),
            MAX_CONTROL_PLAINTEXT
        );
    }

    #[test]
    fn the_sealer_stops_before_the_last_sequence_number() {
        let (a, _) = channels(b"end", Intent::Standard);
        let (mut out, _) = a.split();
        out.next = u64::MAX - 1;
        let m = out.seal(b"x").unwrap();
        assert_eq!(&m[1..9], &(u64::MAX - 1).to_be_bytes());
        assert_eq!(out.seal(b"x"), Err(Error::CounterExhausted));
    }

    #[test]
    fn fuzz_body_holds_on_seeds() {
        let sealed = crate::testing::sealed_control_seed(b"resume").unwrap();
        for seed in [&b""[..], b"\x01", &sealed, &[1u8; 40], &[0xff; 2000]] {
            crate::testing::fuzz_control_open(seed);
        }
    }
}
