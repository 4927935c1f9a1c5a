//! Sealcall's signaling messages: what devices and the calling server exchange over the
//! WebSocket, shared by `sealcall-server` and `sealcall-engine`.
//!
//! - **One JSON object per WebSocket text message**: `{"v":1,"type":"invite",…}`. `v` is the
//!   protocol version ([`PROTOCOL_VERSION`]); `type` selects the message.
//! - **Size first**: [`parse_client_message`] and [`parse_server_message`] refuse anything over
//!   [`MAX_MESSAGE_BYTES`] before looking at a byte of it.
//! - **Strict**: unknown fields, unknown types, a missing or different version, and
//!   out-of-range values are errors ([`SignalingError`]), each with a clear reason.
//! - **Typed**: ids ([`CallId`], [`DeviceId`], [`sealcall_policy::UserId`]) and payloads
//!   ([`SdpText`], [`HandshakeBytes`], …) validate when parsed.
//! - **Opaque handshake**: the end-to-end handshake travels as base64 bytes the server forwards
//!   without being able to read or forge them.
//! - **Sealed control messages**: hold, resume and the other in-call notices between the two
//!   devices ([`PeerMessage`]) travel sealed end to end ([`ControlBytes`], in every call,
//!   standard ones too); the server forwards them and can drop them, nothing more.
//! - The policy decision travels as [`sealcall_policy::DecisionSummary`], which proves nothing
//!   (the engine recomputes nothing from it and can never turn it into a grant).
//!
//! The crate does no I/O. No input makes it panic; [`fuzzing::parse_any`] is the body of the
//! `signaling_message` fuzz target.
//!
//! ```
//! use sealcall_signaling::*;
//!
//! let msg = parse_client_message(br#"{"v":1,"type":"invite","callee":"ana@contoso.com"}"#).unwrap();
//! assert!(matches!(msg, ClientMessage::Invite { .. }));
//! let err = parse_client_message(br#"{"v":1,"type":"teleport"}"#).unwrap_err();
//! assert_eq!(err.code(), ErrorCode::UnknownType);
//! let text = encode_client(&ClientMessage::Ping { nonce: 7 }).unwrap();
//! assert_eq!(parse_client_message(text.as_bytes()).unwrap(), ClientMessage::Ping { nonce: 7 });
//! ```

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod ids;
mod message;
mod peer;

pub mod fuzzing;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

pub use ids::{
    CallId, CandidateText, ControlBytes, DeviceId, HandshakeBytes, IdentityKey, MidText, SdpText,
};
pub use message::{
    ClientMessage, EndReason, ErrorCode, FailReason, IceCandidate, SdpKind, ServerMessage,
    SettingView, TurnCredentials,
};
pub use peer::{MAX_PEER_MESSAGE_BYTES, PEER_TYPES, PeerMessage, encode_peer, parse_peer_message};
pub use sealcall_policy::{DecisionSummary, Side, UserId};

/// The protocol version this build speaks (the `v` field).
pub const PROTOCOL_VERSION: u64 = 1;
/// Largest message, in bytes, checked before parsing.
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;
/// Largest SDP, in bytes.
pub const MAX_SDP_BYTES: usize = 32 * 1024;
/// Largest ICE candidate line, in bytes.
pub const MAX_CANDIDATE_BYTES: usize = 1024;
/// Largest handshake message, in bytes. The longest `sealcall-e2ee` message (protocol 3) is a
/// `Commit` of 1416 bytes, most of it the ML-KEM-768 encapsulation key (1184); 2048 leaves room
/// for longer ids without admitting anything absurd (base64 on the wire: at most 2732 characters).
pub const MAX_HANDSHAKE_BYTES: usize = 2048;
/// Largest sealed control message, in bytes: `sealcall-e2ee`'s `MAX_CONTROL_MESSAGE` (a 9-byte
/// header, at most 1024 bytes of [`PeerMessage`], a 16-byte tag).
pub const MAX_CONTROL_BYTES: usize = 1049;
/// Longest call or device id, in characters.
pub const MAX_ID_CHARS: usize = 64;

/// The `type` of every [`ClientMessage`].
pub const CLIENT_TYPES: &[&str] = &[
    "set_e2ee",
    "invite",
    "ringing",
    "accept",
    "decline",
    "busy",
    "cancel",
    "hangup",
    "sdp",
    "ice",
    "handshake",
    "control",
    "ping",
];

/// The `type` of every [`ServerMessage`].
pub const SERVER_TYPES: &[&str] = &[
    "welcome",
    "setting_changed",
    "device_added",
    "invite_sent",
    "incoming_call",
    "ringing",
    "call_accepted",
    "call_ended",
    "call_failed",
    "sdp",
    "ice",
    "handshake",
    "control",
    "pong",
    "error",
    "reconnect",
];

/// Longest piece of input echoed in an error.
const MAX_ECHO: usize = 64;

fn echo(text: &str) -> String {
    let mut out: String = text
        .chars()
        .take(MAX_ECHO)
        .map(|c| if c.is_control() { '\u{fffd}' } else { c })
        .collect();
    if text.chars().count() > MAX_ECHO {
        out.push('…');
    }
    out
}

/// Why a message was refused. Messages name the problem, never carry secrets, and echo at most
/// 64 characters of input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignalingError {
    /// Over [`MAX_MESSAGE_BYTES`]; nothing was parsed.
    #[error("message of {len} bytes is larger than the limit of {max} bytes")]
    TooLarge {
        /// The message's length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Not JSON, or not a JSON object.
    #[error("malformed message: {detail}")]
    Malformed {
        /// What is wrong.
        detail: String,
    },
    /// No `v` field.
    #[error(
        "message has no protocol version field \"v\" (this server speaks version {PROTOCOL_VERSION})"
    )]
    MissingVersion,
    /// A `v` other than [`PROTOCOL_VERSION`].
    #[error("unsupported protocol version {got} (this server speaks version {PROTOCOL_VERSION})")]
    UnsupportedVersion {
        /// The version as sent (shortened).
        got: String,
    },
    /// No `type` field, or not a string.
    #[error("message has no \"type\" field")]
    MissingType,
    /// A `type` this side does not know.
    #[error("unknown message type '{kind}'")]
    UnknownType {
        /// The type as sent (shortened).
        kind: String,
    },
    /// The fields of a known type are wrong: missing, unknown, of the wrong type or out of range.
    #[error("invalid '{kind}' message: {detail}")]
    InvalidMessage {
        /// The message type.
        kind: String,
        /// What is wrong.
        detail: String,
    },
    /// A message could not be encoded (a bug: every message is encodable).
    #[error("could not encode message: {detail}")]
    Encode {
        /// What failed.
        detail: String,
    },
}

impl SignalingError {
    /// The [`ErrorCode`] to send back for this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            SignalingError::TooLarge { .. } => ErrorCode::TooLarge,
            SignalingError::Malformed { .. } => ErrorCode::Malformed,
            SignalingError::MissingVersion | SignalingError::UnsupportedVersion { .. } => {
                ErrorCode::UnsupportedVersion
            }
            SignalingError::MissingType | SignalingError::UnknownType { .. } => {
                ErrorCode::UnknownType
            }
            SignalingError::InvalidMessage { .. } => ErrorCode::InvalidMessage,
            SignalingError::Encode { .. } => ErrorCode::Internal,
        }
    }
}

fn parse<T: DeserializeOwned>(bytes: &[u8], known: &[&str]) -> Result<T, SignalingError> {
    parse_limited(bytes, known, MAX_MESSAGE_BYTES)
}

fn parse_limited<T: DeserializeOwned>(
    bytes: &[u8],
    known: &[&str],
    max: usize,
) -> Result<T, SignalingError> {
    if bytes.len() > max {
        return Err(SignalingError::TooLarge {
            len: bytes.len(),
            max,
        });
    }
    let value: Value = serde_json::from_slice(bytes).map_err(|e| SignalingError::Malformed {
        // serde_json's syntax errors carry a category and a position, not the input.
        detail: format!(
            "not valid JSON ({:?} error at line {}, column {})",
            e.classify(),
            e.line(),
            e.column()
        ),
    })?;
    let Value::Object(mut map) = value else {
        return Err(SignalingError::Malformed {
            detail: "expected a JSON object".to_owned(),
        });
    };
    match map.remove("v") {
        None => return Err(SignalingError::MissingVersion),
        Some(Value::Number(n)) if n.as_u64() == Some(PROTOCOL_VERSION) => {}
        Some(other) => {
            return Err(SignalingError::UnsupportedVersion {
                got: echo(&other.to_string()),
            });
        }
    }
    let kind = match map.get("type") {
        Some(Value::String(kind)) => kind.clone(),
        _ => return Err(SignalingError::MissingType),
    };
    if !known.contains(&kind.as_str()) {
        return Err(SignalingError::UnknownType { kind: echo(&kind) });
    }
    serde_json::from_value(Value::Object(map)).map_err(|e| SignalingError::InvalidMessage {
        kind,
        detail: echo_detail(&e.to_string()),
    })
}

/// serde's messages can quote a value; keep them short.
fn echo_detail(text: &str) -> String {
    let mut out: String = text
        .chars()
        .take(200)
        .map(|c| if c.is_control() { '\u{fffd}' } else { c })
        .collect();
    if text.chars().count() > 200 {
        out.push('…');
    }
    out
}

fn encode<T: Serialize>(msg: &T) -> Result<String, SignalingError> {
    let text = serde_json::to_string(msg).map_err(|e| SignalingError::Encode {
        detail: e.to_string(),
    })?;
    // An internally tagged enum serialises as `{"type":…,…}`: put the version first.
    match text.strip_prefix('{') {
        Some(rest) => Ok(format!("{{\"v\":{PROTOCOL_VERSION},{rest}")),
        None => Err(SignalingError::Encode {
            detail: "message is not an object".to_owned(),
        }),
    }
}

/// Parses a message a device sent (the server's side). Checks the size first.
pub fn parse_client_message(bytes: &[u8]) -> Result<ClientMessage, SignalingError> {
    parse(bytes, CLIENT_TYPES)
}

/// Parses a message the server sent (the engine's side). Checks the size first.
pub fn parse_server_message(bytes: &[u8]) -> Result<ServerMessage, SignalingError> {
    parse(bytes, SERVER_TYPES)
}

/// Encodes a device's message as one JSON text.
pub fn encode_client(msg: &ClientMessage) -> Result<String, SignalingError> {
    encode(msg)
}

/// Encodes a server message as one JSON text.
pub fn encode_server(msg: &ServerMessage) -> Result<String, SignalingError> {
    encode(msg)
}
