//! Messages from one device of a call to the other ([`PeerMessage`]: hold, resume, the
//! recording notice and its acknowledgement): the plaintext of the
//! call's end-to-end control channel (`sealcall_e2ee::ControlChannel`). The server only ever
//! sees them sealed, as [`crate::ControlBytes`] in [`crate::ClientMessage::Control`] and
//! [`crate::ServerMessage::Control`].
//!
//! Same shape as the signaling messages, one JSON object `{"v":1,"type":"hold"}`, as strict
//! (unknown fields and types are errors), and at most [`MAX_PEER_MESSAGE_BYTES`].
//!
//! ```
//! use sealcall_signaling::*;
//! let text = encode_peer(&PeerMessage::Hold {}).unwrap();
//! assert_eq!(text, r#"{"v":1,"type":"hold"}"#);
//! assert_eq!(parse_peer_message(text.as_bytes()).unwrap(), PeerMessage::Hold {});
//! assert!(parse_peer_message(br#"{"v":1,"type":"hold","music":true}"#).is_err());
//! ```

use serde::{Deserialize, Serialize};

use crate::SignalingError;

/// Largest peer message, in bytes (the control channel's largest plaintext).
pub const MAX_PEER_MESSAGE_BYTES: usize = 1024;

/// The `type` of every [`PeerMessage`].
pub const PEER_TYPES: &[&str] = &[
    "hold",
    "resume",
    "recording_started",
    "recording_acknowledged",
    "recording_stopped",
];

/// A message from one device of a call to the other, sealed end to end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum PeerMessage {
    /// The sender put the call on hold: it sends no media and plays none until it resumes;
    /// the receiver stops sending too and shows that it is on hold.
    Hold {},
    /// The sender took the call off hold.
    Resume {},
    /// The sender asks to record the call: it records nothing until the receiver answers
    /// [`PeerMessage::RecordingAcknowledged`], which it sends once it shows that the call is
    /// being recorded.
    RecordingStarted {},
    /// The receiver of [`PeerMessage::RecordingStarted`] shows the notice: recording may begin.
    RecordingAcknowledged {},
    /// The sender stopped recording (or gave up before it began).
    RecordingStopped {},
}

/// Parses a peer message (opened from the control channel). Checks the size first.
pub fn parse_peer_message(bytes: &[u8]) -> Result<PeerMessage, SignalingError> {
    crate::parse_limited(bytes, PEER_TYPES, MAX_PEER_MESSAGE_BYTES)
}

/// Encodes a peer message as one JSON text (at most [`MAX_PEER_MESSAGE_BYTES`]).
pub fn encode_peer(msg: &PeerMessage) -> Result<String, SignalingError> {
    let text = crate::encode(msg)?;
    if text.len() > MAX_PEER_MESSAGE_BYTES {
        return Err(SignalingError::Encode {
            detail: format!(
                "peer message of {} bytes is over the limit of {MAX_PEER_MESSAGE_BYTES}",
                text.len()
            ),
        });
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_round_trips_and_bad_input_gets_a_clear_error() {
        let all = [
            PeerMessage::Hold {},
            PeerMessage::Resume {},
            PeerMessage::RecordingStarted {},
            PeerMessage::RecordingAcknowledged {},
            PeerMessage::RecordingStopped {},
        ];
        assert_eq!(all.len(), PEER_TYPES.len());
        for msg in all {
            let text = encode_peer(&msg).unwrap();
            assert_eq!(parse_peer_message(text.as_bytes()).unwrap(), msg);
            let kind = text.split('"').nth(5).unwrap();
            assert!(PEER_TYPES.contains(&kind), "{kind} missing from PEER_TYPES");
        }
        let cases: [(&[u8], &str); 5] = [
            (br#"{"v":1,"type":"teleport"}"#, "unknown message type"),
            (br#"{"v":2,"type":"hold"}"#, "unsupported protocol version"),
            (br#"{"type":"hold"}"#, "no protocol version"),
            (
                br#"{"v":1,"type":"resume","x":1}"#,
                "invalid 'resume' message",
            ),
            (b"\xff\xfe", "malformed message"),
        ];
        for (input, want) in cases {
            let e = parse_peer_message(input).unwrap_err().to_string();
            assert!(e.contains(want), "{e}");
        }
        let big = vec![b' '; MAX_PEER_MESSAGE_BYTES + 1];
        assert!(matches!(
            parse_peer_message(&big),
            Err(SignalingError::TooLarge { .. })
        ));
    }
}
