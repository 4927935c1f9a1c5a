//! The messages: what a device sends ([`ClientMessage`]) and what the server sends
//! ([`ServerMessage`]). On the wire each is one JSON object `{"v":1,"type":"…",…fields}`.

use serde::{Deserialize, Serialize};

use sealcall_policy::{CallingEncryptionType, DecisionSummary, SettingLock, Side, UserId};

use crate::ids::{
    CallId, CandidateText, ControlBytes, DeviceId, HandshakeBytes, IdentityKey, MidText, SdpText,
};

/// Whether a session description is an offer or an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SdpKind {
    /// The caller's offer (or a renegotiation offer from either side).
    Offer,
    /// The answer to an offer.
    Answer,
}

/// An ICE candidate as WebRTC's `RTCIceCandidateInit` has it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IceCandidate {
    /// The `candidate:…` line; empty for end of candidates.
    pub candidate: CandidateText,
    /// The media stream the candidate belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sdp_mid: Option<MidText>,
    /// The index of that media section.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sdp_mline_index: Option<u16>,
}

/// A message from a device to the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientMessage {
    /// Turn the user's "End-to-end encrypted calls" setting on or off. Every connected device of
    /// the user gets [`ServerMessage::SettingChanged`]; a refusal is an
    /// [`ErrorCode::SettingRefused`] error.
    SetE2ee {
        /// The new choice.
        enabled: bool,
    },
    /// Call a user. The server answers [`ServerMessage::InviteSent`] or
    /// [`ServerMessage::CallFailed`].
    Invite {
        /// Who to call.
        callee: UserId,
    },
    /// A callee device reports that it is ringing (forwarded to the caller).
    Ringing {
        /// The call.
        call_id: CallId,
    },
    /// A callee device answers. The first accept wins.
    Accept {
        /// The call.
        call_id: CallId,
    },
    /// A callee device declines: the call ends for everyone.
    Decline {
        /// The call.
        call_id: CallId,
    },
    /// A callee device is busy: it stops ringing; if no device rings any more the call ends
    /// with [`EndReason::Busy`].
    Busy {
        /// The call.
        call_id: CallId,
    },
    /// The caller gives up before an answer.
    Cancel {
        /// The call.
        call_id: CallId,
    },
    /// Either party ends an answered call.
    Hangup {
        /// The call.
        call_id: CallId,
    },
    /// A session description for the peer (after accept).
    Sdp {
        /// The call.
        call_id: CallId,
        /// Offer or answer.
        kind: SdpKind,
        /// The SDP.
        sdp: SdpText,
    },
    /// An ICE candidate for the peer (after accept).
    Ice {
        /// The call.
        call_id: CallId,
        /// The candidate.
        candidate: IceCandidate,
    },
    /// An end-to-end handshake message for the peer (after accept), opaque to the server.
    Handshake {
        /// The call.
        call_id: CallId,
        /// The encoded handshake message.
        data: HandshakeBytes,
    },
    /// A sealed control message for the peer device of a connected call (hold, resume…),
    /// opaque to the server: it forwards it to that device only.
    Control {
        /// The call.
        call_id: CallId,
        /// The sealed message.
        data: ControlBytes,
    },
    /// Liveness and latency probe; the server answers [`ServerMessage::Pong`].
    Ping {
        /// Echoed back.
        nonce: u64,
    },
}

/// The user's "End-to-end encrypted calls" setting as a device shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingView {
    /// What the user chose (kept while a policy overrides it).
    pub stored_choice: bool,
    /// Whether the setting is in effect.
    pub effective: bool,
    /// Why the user can't change it, if they can't.
    pub lock: Option<SettingLock>,
    /// The effective policy (`Global` or `Tag:Name`).
    pub policy: String,
    /// Its `CallingEndtoEndEncryptionEnabledType`.
    pub calling: CallingEncryptionType,
    /// Whether the user's calls are recorded for compliance (then the device never intends
    /// end-to-end encryption). Absent in older servers' messages: not recorded.
    #[serde(default)]
    pub compliance_recording: bool,
}

impl SettingView {
    /// The device's own state for its call intent ([`sealcall_policy::local_intent`]), as
    /// synced: the cached policy, the user's choice and compliance recording, on a device of
    /// `capability`.
    pub fn local_state(
        &self,
        user: UserId,
        capability: sealcall_policy::Capability,
    ) -> sealcall_policy::LocalState {
        sealcall_policy::LocalState {
            user,
            policy: self.calling,
            user_choice: self.stored_choice,
            capability,
            compliance_recording: self.compliance_recording,
        }
    }
}

/// Short-lived TURN credentials for one party of one call (TURN REST API style: the username
/// is `expiry:call:party`, the credential is base64 HMAC-SHA1 of it under the relay's secret).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TurnCredentials {
    /// Relay URLs, e.g. `turn:127.0.0.1:3478?transport=udp`.
    pub urls: Vec<String>,
    /// The TURN username.
    pub username: String,
    /// The TURN password.
    pub credential: String,
    /// When they stop working (Unix seconds).
    pub expires_at: u64,
}

impl std::fmt::Debug for TurnCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TurnCredentials")
            .field("urls", &self.urls)
            .field("username", &self.username)
            .field("credential", &"<redacted>")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// Why a call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndReason {
    /// The callee declined.
    Declined,
    /// Every callee device that was ringing reported busy.
    Busy,
    /// The caller cancelled before an answer.
    Cancelled,
    /// Nobody answered in time.
    Timeout,
    /// A party hung up.
    HungUp,
    /// Another device of the callee answered ("answered on another device").
    AnsweredElsewhere,
    /// The peer's device disconnected.
    PeerDisconnected,
}

/// Why an invite did not start a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailReason {
    /// No such user in the directory.
    UnknownCallee,
    /// The callee has no connected device.
    CalleeOffline,
    /// The caller called themselves.
    SelfCall,
    /// The calling device is already in (or placing) a call.
    AlreadyInCall,
    /// Every connected device of the callee is in another call.
    CalleeBusy,
    /// A party's policy requires end-to-end encryption and the call can't have it; see the
    /// decision.
    PolicyRefused,
}

/// The class of an [`ServerMessage::Error`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The message was larger than the limit (the connection is closed).
    TooLarge,
    /// The message was not a JSON object.
    Malformed,
    /// The message's protocol version is not supported.
    UnsupportedVersion,
    /// The message type is not known.
    UnknownType,
    /// A field was missing, unknown or out of range.
    InvalidMessage,
    /// The call id is unknown, or the device is not part of that call in that role.
    UnknownCall,
    /// The message is not valid in the call's current state.
    WrongState,
    /// The setting change was refused by policy.
    SettingRefused,
    /// Too many messages; slow down.
    RateLimited,
    /// The server failed; nothing changed.
    Internal,
}

/// A message from the server to a device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ServerMessage {
    /// First message on a new connection.
    Welcome {
        /// The signed-in user.
        user: UserId,
        /// This device.
        device_id: DeviceId,
        /// The user's setting as it is now.
        setting: SettingView,
    },
    /// The user's setting changed (on this or another device, or by policy).
    SettingChanged {
        /// The new state.
        setting: SettingView,
    },
    /// To the caller: the invite is ringing.
    InviteSent {
        /// The server-assigned call id.
        call_id: CallId,
        /// The callee.
        callee: UserId,
        /// How many of the callee's devices ring.
        ringing_devices: u32,
        /// Empty: relay credentials come with [`ServerMessage::CallAccepted`] (kept for
        /// compatibility).
        turn: TurnCredentials,
    },
    /// To each callee device: someone is calling.
    IncomingCall {
        /// The call.
        call_id: CallId,
        /// The caller.
        caller: UserId,
        /// The caller's display name from the directory.
        caller_display_name: String,
        /// The caller's device.
        caller_device: DeviceId,
        /// The caller device's identity key from the directory (to pin in the handshake).
        caller_identity: IdentityKey,
        /// The provisional decision for this device (final in [`ServerMessage::CallAccepted`]).
        decision: DecisionSummary,
        /// Empty: relay credentials come with [`ServerMessage::CallAccepted`] (kept for
        /// compatibility).
        turn: TurnCredentials,
    },
    /// To the caller: a callee device reports ringing.
    Ringing {
        /// The call.
        call_id: CallId,
        /// The ringing device.
        device_id: DeviceId,
    },
    /// To the caller and the answering device: the call is answered.
    CallAccepted {
        /// The call.
        call_id: CallId,
        /// The receiver's side in the call.
        side: Side,
        /// The other party.
        peer: UserId,
        /// The other party's device.
        peer_device: DeviceId,
        /// That device's identity key from the directory (to pin in the handshake).
        peer_identity: IdentityKey,
        /// The final decision for these two devices.
        decision: DecisionSummary,
        /// The receiver's relay credentials for this call: issued only now that it is
        /// answered, for these two devices (the invite's `turn` is empty).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        turn: Option<TurnCredentials>,
    },
    /// The call ended (or, for a callee device, stopped ringing).
    CallEnded {
        /// The call.
        call_id: CallId,
        /// Why.
        reason: EndReason,
    },
    /// To the caller: the invite did not start a call.
    CallFailed {
        /// Who was called.
        callee: UserId,
        /// Why.
        reason: FailReason,
        /// For [`FailReason::PolicyRefused`]: the refused decision.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        decision: Option<DecisionSummary>,
    },
    /// A session description from the peer.
    Sdp {
        /// The call.
        call_id: CallId,
        /// Offer or answer.
        kind: SdpKind,
        /// The SDP.
        sdp: SdpText,
    },
    /// An ICE candidate from the peer.
    Ice {
        /// The call.
        call_id: CallId,
        /// The candidate.
        candidate: IceCandidate,
    },
    /// A handshake message from the peer, as the peer sent it.
    Handshake {
        /// The call.
        call_id: CallId,
        /// The encoded handshake message.
        data: HandshakeBytes,
    },
    /// A sealed control message from the peer device, as the peer sent it.
    Control {
        /// The call.
        call_id: CallId,
        /// The sealed message.
        data: ControlBytes,
    },
    /// A device was registered on this user's account (sent to the account's other online
    /// devices at once, so no device joins silently). The new device's key shows up again
    /// under key continuity when it calls.
    DeviceAdded {
        /// The new device.
        device_id: DeviceId,
        /// Its identity key.
        identity_key: IdentityKey,
        /// The platform it reported.
        platform: sealcall_policy::Platform,
        /// When it registered (seconds since the Unix epoch).
        added_at: u64,
    },
    /// Answer to [`ClientMessage::Ping`].
    Pong {
        /// The ping's nonce.
        nonce: u64,
    },
    /// A message was refused; the connection stays open unless the code is `TooLarge`.
    Error {
        /// The class of error.
        code: ErrorCode,
        /// A sentence for logs and developers (no secrets, input shortened).
        message: String,
    },
    /// The server is going away (shutting down, or moving devices to another node): close this
    /// connection and reconnect, with the usual backoff, to the same address. Sent once, before
    /// the server closes the connection itself (1001) at the end of its shutdown grace.
    Reconnect {},
}
