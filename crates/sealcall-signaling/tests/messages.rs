//! Wire format: every message round-trips; bad input gives the right error; nothing panics.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use sealcall_policy::{DecisionSummary, Outcome, Reason, Side};
use sealcall_signaling::*;

fn call() -> CallId {
    CallId::new("0123456789abcdef0123456789abcdef").unwrap()
}

fn device() -> DeviceId {
    DeviceId::new("d-42").unwrap()
}

fn turn() -> TurnCredentials {
    TurnCredentials {
        urls: vec!["turn:127.0.0.1:3478?transport=udp".to_owned()],
        username: "1700000000:c:caller".to_owned(),
        credential: "c2VjcmV0".to_owned(),
        expires_at: 1_700_000_000,
    }
}

fn decision() -> DecisionSummary {
    DecisionSummary {
        outcome: Outcome::Standard,
        required_by: vec![],
        reasons: vec![Reason::SettingOff { side: Side::Callee }],
    }
}

fn every_client_message() -> Vec<ClientMessage> {
    vec![
        ClientMessage::SetE2ee { enabled: true },
        ClientMessage::Invite {
            callee: UserId::new("ana@contoso.com").unwrap(),
        },
        ClientMessage::Ringing { call_id: call() },
        ClientMessage::Accept { call_id: call() },
        ClientMessage::Decline { call_id: call() },
        ClientMessage::Busy { call_id: call() },
        ClientMessage::Cancel { call_id: call() },
        ClientMessage::Hangup { call_id: call() },
        ClientMessage::Sdp {
            call_id: call(),
            kind: SdpKind::Offer,
            sdp: SdpText::new("v=0\r\n").unwrap(),
        },
        ClientMessage::Ice {
            call_id: call(),
            candidate: IceCandidate {
                candidate: CandidateText::new("candidate:1 1 udp 1 127.0.0.1 5000 typ host")
                    .unwrap(),
                sdp_mid: Some(MidText::new("0").unwrap()),
                sdp_mline_index: Some(0),
            },
        },
        ClientMessage::Handshake {
            call_id: call(),
            data: HandshakeBytes::new(vec![1, 2, 3, 255]).unwrap(),
        },
        ClientMessage::Control {
            call_id: call(),
            data: ControlBytes::new(vec![1; 30]).unwrap(),
        },
        ClientMessage::Ping { nonce: 9 },
    ]
}

fn every_server_message() -> Vec<ServerMessage> {
    let setting = SettingView {
        stored_choice: true,
        effective: false,
        lock: Some(sealcall_policy::SettingLock::OffByPolicy),
        policy: "Global".to_owned(),
        calling: sealcall_policy::CallingEncryptionType::Disabled,
        compliance_recording: true,
    };
    let ken = UserId::new("ken@contoso.com").unwrap();
    vec![
        ServerMessage::Welcome {
            user: ken.clone(),
            device_id: device(),
            setting: setting.clone(),
        },
        ServerMessage::SettingChanged { setting },
        ServerMessage::DeviceAdded {
            device_id: device(),
            identity_key: IdentityKey([5; 32]),
            platform: sealcall_policy::Platform::Linux,
            added_at: 1_790_000_000,
        },
        ServerMessage::InviteSent {
            call_id: call(),
            callee: ken.clone(),
            ringing_devices: 2,
            turn: turn(),
        },
        ServerMessage::IncomingCall {
            call_id: call(),
            caller: ken.clone(),
            caller_display_name: "Ken Meyer".to_owned(),
            caller_device: device(),
            caller_identity: IdentityKey([7; 32]),
            decision: decision(),
            turn: turn(),
        },
        ServerMessage::Ringing {
            call_id: call(),
            device_id: device(),
        },
        ServerMessage::CallAccepted {
            call_id: call(),
            side: Side::Caller,
            peer: ken.clone(),
            peer_device: device(),
            peer_identity: IdentityKey([9; 32]),
            decision: decision(),
            turn: None,
        },
        ServerMessage::CallEnded {
            call_id: call(),
            reason: EndReason::AnsweredElsewhere,
        },
        ServerMessage::CallFailed {
            callee: ken.clone(),
            reason: FailReason::PolicyRefused,
            decision: Some(decision()),
        },
        ServerMessage::CallFailed {
            callee: ken,
            reason: FailReason::CalleeOffline,
            decision: None,
        },
        ServerMessage::Sdp {
            call_id: call(),
            kind: SdpKind::Answer,
            sdp: SdpText::new("v=0\r\n").unwrap(),
        },
        ServerMessage::Ice {
            call_id: call(),
            candidate: IceCandidate {
                candidate: CandidateText::new("").unwrap(),
                sdp_mid: None,
                sdp_mline_index: None,
            },
        },
        ServerMessage::Handshake {
            call_id: call(),
            data: HandshakeBytes::new(vec![0; 199]).unwrap(),
        },
        ServerMessage::Control {
            call_id: call(),
            data: ControlBytes::new(vec![9; MAX_CONTROL_BYTES]).unwrap(),
        },
        ServerMessage::Pong { nonce: 1 },
        ServerMessage::Error {
            code: ErrorCode::UnknownType,
            message: "unknown message type 'x'".to_owned(),
        },
        ServerMessage::Reconnect {},
    ]
}

#[test]
fn every_message_round_trips_and_every_type_is_listed() {
    for msg in every_client_message() {
        let text = encode_client(&msg).unwrap();
        assert!(text.contains("\"v\":1"), "{text}");
        assert_eq!(
            parse_client_message(text.as_bytes()).unwrap(),
            msg,
            "{text}"
        );
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert!(CLIENT_TYPES.contains(&value["type"].as_str().unwrap()));
        fuzzing::parse_any(text.as_bytes());
    }
    for msg in every_server_message() {
        let text = encode_server(&msg).unwrap();
        assert_eq!(
            parse_server_message(text.as_bytes()).unwrap(),
            msg,
            "{text}"
        );
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert!(SERVER_TYPES.contains(&value["type"].as_str().unwrap()));
        fuzzing::parse_any(text.as_bytes());
    }
    assert_eq!(CLIENT_TYPES.len(), every_client_message().len());
}

#[test]
fn wire_examples_are_stable() {
    assert_eq!(
        encode_client(&ClientMessage::Invite {
            callee: UserId::new("ana@contoso.com").unwrap()
        })
        .unwrap(),
        r#"{"v":1,"type":"invite","callee":"ana@contoso.com"}"#
    );
    let msg = parse_client_message(br#"{"v":1,"type":"handshake","call_id":"c1","data":"AQID"}"#)
        .unwrap();
    assert_eq!(
        msg,
        ClientMessage::Handshake {
            call_id: CallId::new("c1").unwrap(),
            data: HandshakeBytes::new(vec![1, 2, 3]).unwrap()
        }
    );
}

fn code(bytes: &[u8]) -> ErrorCode {
    parse_client_message(bytes).unwrap_err().code()
}

#[test]
fn size_is_checked_before_parsing() {
    let big = vec![b'{'; MAX_MESSAGE_BYTES + 1];
    assert_eq!(
        parse_client_message(&big).unwrap_err(),
        SignalingError::TooLarge {
            len: MAX_MESSAGE_BYTES + 1,
            max: MAX_MESSAGE_BYTES
        }
    );
}

#[test]
fn bad_input_gives_clear_errors() {
    assert_eq!(code(b"not json"), ErrorCode::Malformed);
    assert_eq!(code(b"[1,2]"), ErrorCode::Malformed);
    assert_eq!(
        code(br#"{"type":"ping","nonce":1}"#),
        ErrorCode::UnsupportedVersion
    );
    assert_eq!(
        code(br#"{"v":2,"type":"ping","nonce":1}"#),
        ErrorCode::UnsupportedVersion
    );
    assert_eq!(
        code(br#"{"v":"1","type":"ping","nonce":1}"#),
        ErrorCode::UnsupportedVersion
    );
    assert_eq!(code(br#"{"v":1,"nonce":1}"#), ErrorCode::UnknownType);
    let err = parse_client_message(br#"{"v":1,"type":"teleport"}"#).unwrap_err();
    assert_eq!(err.to_string(), "unknown message type 'teleport'");
    // A server-only type from a device is unknown.
    assert_eq!(code(br#"{"v":1,"type":"welcome"}"#), ErrorCode::UnknownType);
    // Strict fields.
    let err = parse_client_message(br#"{"v":1,"type":"ping","nonce":1,"extra":true}"#).unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidMessage);
    assert!(err.to_string().contains("unknown field `extra`"), "{err}");
    assert_eq!(code(br#"{"v":1,"type":"ping"}"#), ErrorCode::InvalidMessage);
    assert_eq!(
        code(br#"{"v":1,"type":"accept","call_id":""}"#),
        ErrorCode::InvalidMessage
    );
    assert_eq!(
        code(br#"{"v":1,"type":"accept","call_id":"a b"}"#),
        ErrorCode::InvalidMessage
    );
    let long = format!(
        r#"{{"v":1,"type":"accept","call_id":"{}"}}"#,
        "a".repeat(65)
    );
    assert_eq!(code(long.as_bytes()), ErrorCode::InvalidMessage);
    assert_eq!(
        code(br#"{"v":1,"type":"invite","callee":""}"#),
        ErrorCode::InvalidMessage
    );
    assert_eq!(
        code(br#"{"v":1,"type":"handshake","call_id":"c","data":"!!"}"#),
        ErrorCode::InvalidMessage
    );
    assert_eq!(
        code(br#"{"v":1,"type":"handshake","call_id":"c","data":""}"#),
        ErrorCode::InvalidMessage
    );
    let big = format!(
        r#"{{"v":1,"type":"handshake","call_id":"c","data":"{}"}}"#,
        "A".repeat(MAX_HANDSHAKE_BYTES.div_ceil(3) * 4 + 4)
    );
    assert_eq!(code(big.as_bytes()), ErrorCode::InvalidMessage);
    // A post-quantum Commit (1416 bytes) fits; one byte over the limit does not.
    assert!(HandshakeBytes::new(vec![3; 1416]).is_ok());
    assert!(HandshakeBytes::new(vec![3; MAX_HANDSHAKE_BYTES + 1]).is_err());
    // The largest sealed control message fits; one byte over, or an empty one, does not.
    assert!(ControlBytes::new(vec![3; MAX_CONTROL_BYTES]).is_ok());
    assert!(ControlBytes::new(vec![3; MAX_CONTROL_BYTES + 1]).is_err());
    let over = format!(
        r#"{{"v":1,"type":"control","call_id":"c","data":"{}"}}"#,
        "A".repeat(MAX_CONTROL_BYTES.div_ceil(3) * 4 + 4)
    );
    assert_eq!(code(over.as_bytes()), ErrorCode::InvalidMessage);
    assert_eq!(
        code(br#"{"v":1,"type":"control","call_id":"c","data":""}"#),
        ErrorCode::InvalidMessage
    );
    assert_eq!(
        code(br#"{"v":1,"type":"control","call_id":"c","data":"not base64!"}"#),
        ErrorCode::InvalidMessage
    );
    let sdp = format!(
        r#"{{"v":1,"type":"sdp","call_id":"c","kind":"offer","sdp":"{}"}}"#,
        "a".repeat(MAX_SDP_BYTES + 1)
    );
    assert_eq!(code(sdp.as_bytes()), ErrorCode::InvalidMessage);
    assert_eq!(
        code(br#"{"v":1,"type":"ice","call_id":"c","candidate":{"candidate":"x","bogus":1}}"#),
        ErrorCode::InvalidMessage
    );
    // Long input is shortened in the error.
    let kind = "x".repeat(500);
    let err = parse_client_message(format!(r#"{{"v":1,"type":"{kind}"}}"#).as_bytes()).unwrap_err();
    assert!(err.to_string().len() < 120, "{err}");
}

#[test]
fn turn_credentials_debug_hides_the_password() {
    let text = format!("{:?}", turn());
    assert!(!text.contains("c2VjcmV0"), "{text}");
}

#[test]
fn fuzz_seeds() {
    let seeds: &[&[u8]] = &[
        b"",
        b"{}",
        b"null",
        b"{\"v\":1}",
        br#"{"v":1,"type":"ping","nonce":18446744073709551615}"#,
        br#"{"v":1,"type":"ping","nonce":-1}"#,
        br#"{"v":1,"type":"ice","call_id":"c","candidate":{"candidate":"","sdp_mline_index":70000}}"#,
        br#"{"v":1,"type":"call_failed","callee":"a","reason":"callee_offline"}"#,
        br#"{"v":1,"type":"incoming_call","call_id":"c","caller":"a","caller_display_name":"","caller_device":"d","caller_identity":"00","decision":{"outcome":"EndToEnd","required_by":[],"reasons":[]},"turn":{"urls":[],"username":"","credential":"","expires_at":0}}"#,
        b"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
        b"\xff\xfe",
    ];
    for seed in seeds {
        fuzzing::parse_any(seed);
    }
    for msg in every_client_message() {
        let text = encode_client(&msg).unwrap();
        for cut in 0..text.len() {
            fuzzing::parse_any(&text.as_bytes()[..cut]);
        }
    }
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..512)) {
        fuzzing::parse_any(&data);
    }

    #[test]
    fn arbitrary_text_in_a_valid_shape_never_panics(kind in "[a-z_]{0,12}", field in "[a-z_]{0,10}", value in ".{0,40}") {
        let text = serde_json::json!({"v": 1, "type": kind, field: value}).to_string();
        fuzzing::parse_any(text.as_bytes());
    }
}
