//! Handshake messages: typed, versioned byte encodings with strict parsing.
//!
//! Every message is `version (1 byte) || type (1 byte) || fields`, where variable-length fields are
//! `length (1 byte, 1..=64) || bytes`, keys are 32 bytes and signatures 64 bytes; the ML-KEM-768
//! encapsulation key (1184 bytes) and ciphertext (1088 bytes) have fixed lengths and are present
//! exactly when the post-quantum fields say so. Parsing refuses unknown versions, types and
//! values, empty or over-long fields, a ciphertext from a side that says it cannot do ML-KEM, and
//! trailing bytes. See docs/PROTOCOL.md for the field tables.

use crate::error::{Error, Result};
use crate::pq::{KEM_CIPHERTEXT_LEN, KEM_ENCAPSULATION_KEY_LEN};
use crate::suite::{CipherSuite, Intent, PostQuantum};

/// The handshake protocol version this build speaks.
pub const PROTOCOL_VERSION: u8 = 3;

/// Longest call id or device id, in bytes.
pub const MAX_ID_LEN: usize = 64;

/// Longest encoded handshake message, in bytes: a `Commit` with the longest ids and an ML-KEM-768
/// encapsulation key (1416 bytes).
pub const MAX_MESSAGE_LEN: usize =
    2 + 2 + 2 * (1 + MAX_ID_LEN) + 32 + 32 + 32 + 1 + 1 + KEM_ENCAPSULATION_KEY_LEN;

/// The caller's first message: its identity and a commitment to its ephemeral key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commit {
    /// SFrame cipher suite for the call's media.
    pub suite: CipherSuite,
    /// The call this handshake belongs to.
    pub call_id: Vec<u8>,
    /// The caller's device id.
    pub caller_device: Vec<u8>,
    /// The caller's Ed25519 identity key.
    pub caller_identity: [u8; 32],
    /// SHA-256 fingerprint of the caller's DTLS certificate.
    pub caller_fingerprint: [u8; 32],
    /// SHA-256 commitment to the caller's ephemeral key (see docs/PROTOCOL.md).
    pub commitment: [u8; 32],
    /// The caller's stated end-to-end intent.
    pub caller_intent: Intent,
    /// What the caller says about post-quantum key agreement.
    pub caller_post_quantum: PostQuantum,
    /// The caller's fresh ML-KEM-768 encapsulation key: present exactly when
    /// `caller_post_quantum` is not [`PostQuantum::Unavailable`].
    pub encapsulation_key: Option<Box<[u8; KEM_ENCAPSULATION_KEY_LEN]>>,
}

/// The callee's answer: its identity and its ephemeral key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The call this handshake belongs to.
    pub call_id: Vec<u8>,
    /// The callee's device id.
    pub callee_device: Vec<u8>,
    /// The callee's Ed25519 identity key.
    pub callee_identity: [u8; 32],
    /// SHA-256 fingerprint of the callee's DTLS certificate.
    pub callee_fingerprint: [u8; 32],
    /// The callee's X25519 ephemeral public key.
    pub callee_ephemeral: [u8; 32],
    /// The callee's stated end-to-end intent.
    pub callee_intent: Intent,
    /// What the callee says about post-quantum key agreement.
    pub callee_post_quantum: PostQuantum,
    /// The ML-KEM-768 ciphertext encapsulated to the caller's key: present when both sides can
    /// do ML-KEM, never when `callee_post_quantum` is [`PostQuantum::Unavailable`].
    pub ciphertext: Option<Box<[u8; KEM_CIPHERTEXT_LEN]>>,
}

/// The caller reveals its ephemeral key and signs the transcript.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reveal {
    /// The call this handshake belongs to.
    pub call_id: Vec<u8>,
    /// The caller's X25519 ephemeral public key.
    pub caller_ephemeral: [u8; 32],
    /// The caller's Ed25519 signature over the transcript hash.
    pub signature: [u8; 64],
}

/// The callee signs the transcript.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confirm {
    /// The call this handshake belongs to.
    pub call_id: Vec<u8>,
    /// The callee's Ed25519 signature over the transcript hash.
    pub signature: [u8; 64],
}

/// Any handshake message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HandshakeMessage {
    /// Caller to callee, first.
    Commit(Commit),
    /// Callee to caller.
    Response(Response),
    /// Caller to callee, second.
    Reveal(Reveal),
    /// Callee to caller, last.
    Confirm(Confirm),
}

const TYPE_COMMIT: u8 = 1;
const TYPE_RESPONSE: u8 = 2;
const TYPE_REVEAL: u8 = 3;
const TYPE_CONFIRM: u8 = 4;

impl HandshakeMessage {
    /// The message's name, for errors and logs.
    pub const fn name(&self) -> &'static str {
        match self {
            Self::Commit(_) => "Commit",
            Self::Response(_) => "Response",
            Self::Reveal(_) => "Reveal",
            Self::Confirm(_) => "Confirm",
        }
    }

    /// The call id the message names.
    pub fn call_id(&self) -> &[u8] {
        match self {
            Self::Commit(m) => &m.call_id,
            Self::Response(m) => &m.call_id,
            Self::Reveal(m) => &m.call_id,
            Self::Confirm(m) => &m.call_id,
        }
    }

    /// Encodes the message. Fails only if an id field is empty or longer than [`MAX_ID_LEN`].
    pub fn encode(&self) -> Result<Vec<u8>> {
        let mut out = Vec::with_capacity(MAX_MESSAGE_LEN);
        out.push(PROTOCOL_VERSION);
        match self {
            Self::Commit(m) => {
                out.push(TYPE_COMMIT);
                out.extend_from_slice(&m.suite.id().to_be_bytes());
                put_id(&mut out, "call id", &m.call_id)?;
                put_id(&mut out, "device id", &m.caller_device)?;
                out.extend_from_slice(&m.caller_identity);
                out.extend_from_slice(&m.caller_fingerprint);
                out.extend_from_slice(&m.commitment);
                out.push(m.caller_intent.code());
                out.push(m.caller_post_quantum.code());
                match (m.caller_post_quantum.is_capable(), &m.encapsulation_key) {
                    (true, Some(ek)) => out.extend_from_slice(&ek[..]),
                    (false, None) => {}
                    _ => {
                        return Err(Error::MalformedMessage(
                            "an encapsulation key goes with a post-quantum offer, and only with one",
                        ));
                    }
                }
            }
            Self::Response(m) => {
                out.push(TYPE_RESPONSE);
                put_id(&mut out, "call id", &m.call_id)?;
                put_id(&mut out, "device id", &m.callee_device)?;
                out.extend_from_slice(&m.callee_identity);
                out.extend_from_slice(&m.callee_fingerprint);
                out.extend_from_slice(&m.callee_ephemeral);
                out.push(m.callee_intent.code());
                out.push(m.callee_post_quantum.code());
                match (&m.ciphertext, m.callee_post_quantum.is_capable()) {
                    (None, _) => out.push(0),
                    (Some(ct), true) => {
                        out.push(1);
                        out.extend_from_slice(&ct[..]);
                    }
                    (Some(_), false) => {
                        return Err(Error::MalformedMessage(
                            "a ciphertext from a side without post-quantum support",
                        ));
                    }
                }
            }
            Self::Reveal(m) => {
                out.push(TYPE_REVEAL);
                put_id(&mut out, "call id", &m.call_id)?;
                out.extend_from_slice(&m.caller_ephemeral);
                out.extend_from_slice(&m.signature);
            }
            Self::Confirm(m) => {
                out.push(TYPE_CONFIRM);
                put_id(&mut out, "call id", &m.call_id)?;
                out.extend_from_slice(&m.signature);
            }
        }
        Ok(out)
    }

    /// Parses one message; refuses anything that is not exactly one well-formed message.
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        if bytes.len() > MAX_MESSAGE_LEN {
            return Err(Error::MalformedMessage("message too long"));
        }
        let mut r = Reader(bytes);
        let version = r.u8()?;
        if version != PROTOCOL_VERSION {
            return Err(Error::UnsupportedVersion(version));
        }
        let msg = match r.u8()? {
            TYPE_COMMIT => {
                let suite = CipherSuite::from_id(r.u16()?)?;
                let call_id = r.id()?;
                let caller_device = r.id()?;
                let caller_identity = r.array()?;
                let caller_fingerprint = r.array()?;
                let commitment = r.array()?;
                let caller_intent = Intent::from_code(r.u8()?)?;
                let caller_post_quantum = PostQuantum::from_code(r.u8()?)?;
                let encapsulation_key = if caller_post_quantum.is_capable() {
                    Some(r.boxed()?)
                } else {
                    None
                };
                Self::Commit(Commit {
                    suite,
                    call_id,
                    caller_device,
                    caller_identity,
                    caller_fingerprint,
                    commitment,
                    caller_intent,
                    caller_post_quantum,
                    encapsulation_key,
                })
            }
            TYPE_RESPONSE => {
                let call_id = r.id()?;
                let callee_device = r.id()?;
                let callee_identity = r.array()?;
                let callee_fingerprint = r.array()?;
                let callee_ephemeral = r.array()?;
                let callee_intent = Intent::from_code(r.u8()?)?;
                let callee_post_quantum = PostQuantum::from_code(r.u8()?)?;
                let ciphertext = match (r.u8()?, callee_post_quantum.is_capable()) {
                    (0, _) => None,
                    (1, true) => Some(r.boxed()?),
                    (1, false) => {
                        return Err(Error::MalformedMessage(
                            "a ciphertext from a side without post-quantum support",
                        ));
                    }
                    _ => return Err(Error::MalformedMessage("unknown ciphertext flag")),
                };
                Self::Response(Response {
                    call_id,
                    callee_device,
                    callee_identity,
                    callee_fingerprint,
                    callee_ephemeral,
                    callee_intent,
                    callee_post_quantum,
                    ciphertext,
                })
            }
            TYPE_REVEAL => Self::Reveal(Reveal {
                call_id: r.id()?,
                caller_ephemeral: r.array()?,
                signature: r.array()?,
            }),
            TYPE_CONFIRM => Self::Confirm(Confirm {
                call_id: r.id()?,
                signature: r.array()?,
            }),
            _ => return Err(Error::MalformedMessage("unknown message type")),
        };
        if !r.0.is_empty() {
            return Err(Error::MalformedMessage("trailing bytes"));
        }
        Ok(msg)
    }
}

pub(crate) fn check_id(field: &'static str, id: &[u8]) -> Result<()> {
    if id.is_empty() {
        return Err(Error::FieldTooLong {
            field,
            len: 0,
            max: MAX_ID_LEN,
        });
    }
    if id.len() > MAX_ID_LEN {
        return Err(Error::FieldTooLong {
            field,
            len: id.len(),
            max: MAX_ID_LEN,
        });
    }
    Ok(())
}

fn put_id(out: &mut Vec<u8>, field: &'static str, id: &[u8]) -> Result<()> {
    check_id(field, id)?;
    out.push(id.len() as u8);
    out.extend_from_slice(id);
    Ok(())
}

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8]> {
        if self.0.len() < n {
            return Err(Error::MalformedMessage("truncated message"));
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Ok(head)
    }

    fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<u16> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    fn boxed<const N: usize>(&mut self) -> Result<Box<[u8; N]>> {
        let mut out = Box::new([0u8; N]);
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    fn id(&mut self) -> Result<Vec<u8>> {
        let len = usize::from(self.u8()?);
        if len == 0 || len > MAX_ID_LEN {
            return Err(Error::MalformedMessage("id length out of range"));
        }
        Ok(self.take(len)?.to_vec())
    }
}
