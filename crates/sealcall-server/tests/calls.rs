//! Call routing over real WebSockets: ringing, first accept wins, decline, cancel, busy,
//! timeout, offline/unknown/self callee, a second invite, message routing and bad input.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
mod common;

use common::*;
use sealcall_policy::{Outcome, Side, UserId};
use sealcall_signaling::*;

fn uid(s: &str) -> UserId {
    UserId::new(s).unwrap()
}

async fn invite(caller: &mut Device, callee: &str) -> CallId {
    caller
        .send(ClientMessage::Invite {
            callee: uid(callee),
        })
        .await;
    match caller.recv().await {
        ServerMessage::InviteSent { call_id, .. } => call_id,
        other => panic!("expected invite_sent, got {other:?}"),
    }
}

async fn incoming(d: &mut Device) -> (CallId, DecisionSummary) {
    match d.recv().await {
        ServerMessage::IncomingCall {
            call_id,
            caller_display_name,
            caller_identity,
            decision,
            ..
        } => {
            assert_eq!(caller_display_name, "Ken Meyer");
            assert_eq!(caller_identity, IdentityKey([1; 32]));
            (call_id, decision)
        }
        other => panic!("expected incoming_call, got {other:?}"),
    }
}

async fn ended(d: &mut Device, reason: EndReason) {
    match d.recv().await {
        ServerMessage::CallEnded { reason: r, .. } => assert_eq!(r, reason),
        other => panic!("expected call_ended {reason:?}, got {other:?}"),
    }
}

all_modes! {
    #[tokio::test]
    async fn both_devices_ring_first_accept_wins_and_the_call_is_routed_between_two_devices() {
        let s = TestServer::start().await;
        let mut ken = s.device(KEN, 1).await;
        let mut ana1 = s.device(ANA, 2).await;
        let mut ana2 = s.device(ANA, 3).await;
        let call = invite(&mut ken, ANA).await;
        let (c1, d1) = incoming(&mut ana1).await;
        let (c2, _) = incoming(&mut ana2).await;
        assert_eq!((c1.clone(), c2), (call.clone(), call.clone()));
        assert_eq!(d1.outcome, Outcome::Standard, "Global policy is Disabled");
        ana1.send(ClientMessage::Ringing {
            call_id: call.clone(),
        })
        .await;
        assert!(matches!(ken.recv().await, ServerMessage::Ringing { .. }));
        ana2.send(ClientMessage::Accept {
            call_id: call.clone(),
        })
        .await;
        ended(&mut ana1, EndReason::AnsweredElsewhere).await;
        match ken.recv().await {
            ServerMessage::CallAccepted {
                side,
                peer,
                peer_device,
                peer_identity,
                ..
            } => {
                assert_eq!(side, Side::Caller);
                assert_eq!(peer, uid(ANA));
                assert_eq!(peer_device.as_str(), ana2.id);
                assert_eq!(peer_identity, IdentityKey([3; 32]));
            }
            other => panic!("{other:?}"),
        }
        match ana2.recv().await {
            ServerMessage::CallAccepted {
                side, peer_device, ..
            } => {
                assert_eq!(side, Side::Callee);
                assert_eq!(peer_device.as_str(), ken.id);
            }
            other => panic!("{other:?}"),
        }
        // The late accept is refused.
        ana1.send(ClientMessage::Accept {
            call_id: call.clone(),
        })
        .await;
        assert!(matches!(
            ana1.recv().await,
            ServerMessage::Error {
                code: ErrorCode::UnknownCall | ErrorCode::WrongState,
                ..
            }
        ));
        // Handshake bytes pass unchanged, only between the two devices.
        let data = HandshakeBytes::new(vec![1, 4, 9, 16]).unwrap();
        ken.send(ClientMessage::Handshake {
            call_id: call.clone(),
            data: data.clone(),
        })
        .await;
        assert_eq!(
            ana2.recv().await,
            ServerMessage::Handshake {
                call_id: call.clone(),
                data
            }
        );
        // So do sealed control messages, both ways.
        let sealed = ControlBytes::new(vec![1; 40]).unwrap();
        ken.send(ClientMessage::Control {
            call_id: call.clone(),
            data: sealed.clone(),
        })
        .await;
        assert_eq!(
            ana2.recv().await,
            ServerMessage::Control {
                call_id: call.clone(),
                data: sealed.clone()
            }
        );
        ana2.send(ClientMessage::Control {
            call_id: call.clone(),
            data: sealed.clone(),
        })
        .await;
        assert_eq!(
            ken.recv().await,
            ServerMessage::Control {
                call_id: call.clone(),
                data: sealed
            }
        );
        ana2.send(ClientMessage::Sdp {
            call_id: call.clone(),
            kind: SdpKind::Answer,
            sdp: SdpText::new("v=0").unwrap(),
        })
        .await;
        assert!(matches!(
            ken.recv().await,
            ServerMessage::Sdp {
                kind: SdpKind::Answer,
                ..
            }
        ));
        // The other device can't inject into the call.
        ana1.send(ClientMessage::Handshake {
            call_id: call.clone(),
            data: HandshakeBytes::new(vec![0]).unwrap(),
        })
        .await;
        assert!(matches!(
            ana1.recv().await,
            ServerMessage::Error {
                code: ErrorCode::UnknownCall,
                ..
            }
        ));
        ana1.send(ClientMessage::Control {
            call_id: call.clone(),
            data: ControlBytes::new(vec![0]).unwrap(),
        })
        .await;
        assert!(matches!(
            ana1.recv().await,
            ServerMessage::Error {
                code: ErrorCode::UnknownCall,
                ..
            }
        ));
        ken.quiet(100).await;
        // A device in a call is busy for others.
        let mut bo = s.device(BO, 4).await;
        bo.send(ClientMessage::Invite { callee: uid(KEN) }).await;
        assert!(matches!(
            bo.recv().await,
            ServerMessage::CallFailed {
                reason: FailReason::CalleeBusy,
                ..
            }
        ));
        ana2.send(ClientMessage::Hangup {
            call_id: call.clone(),
        })
        .await;
        ended(&mut ken, EndReason::HungUp).await;
    }
}

all_modes! {
    #[tokio::test]
    async fn decline_cancel_busy_and_timeout() {
        let s =
            TestServer::start_with(|c| c.invite_timeout = std::time::Duration::from_millis(300)).await;
        let mut ken = s.device(KEN, 1).await;
        let mut ana1 = s.device(ANA, 2).await;
        let mut ana2 = s.device(ANA, 3).await;

        // Decline on one device ends the call everywhere.
        let call = invite(&mut ken, ANA).await;
        incoming(&mut ana1).await;
        incoming(&mut ana2).await;
        ana1.send(ClientMessage::Decline {
            call_id: call.clone(),
        })
        .await;
        ended(&mut ken, EndReason::Declined).await;
        ended(&mut ana2, EndReason::Declined).await;

        // Cancel by the caller.
        let call = invite(&mut ken, ANA).await;
        incoming(&mut ana1).await;
        incoming(&mut ana2).await;
        ken.send(ClientMessage::Cancel {
            call_id: call.clone(),
        })
        .await;
        ended(&mut ana1, EndReason::Cancelled).await;
        ended(&mut ana2, EndReason::Cancelled).await;

        // Busy on every device.
        let call = invite(&mut ken, ANA).await;
        incoming(&mut ana1).await;
        incoming(&mut ana2).await;
        ana1.send(ClientMessage::Busy {
            call_id: call.clone(),
        })
        .await;
        ken.quiet(50).await;
        ana2.send(ClientMessage::Busy {
            call_id: call.clone(),
        })
        .await;
        ended(&mut ken, EndReason::Busy).await;

        // Nobody answers.
        invite(&mut ken, ANA).await;
        incoming(&mut ana1).await;
        incoming(&mut ana2).await;
        ended(&mut ken, EndReason::Timeout).await;
        ended(&mut ana1, EndReason::Timeout).await;
        ended(&mut ana2, EndReason::Timeout).await;
    }
}

all_modes! {
    #[tokio::test]
    async fn unknown_offline_self_and_second_invite_fail_clearly() {
        let s = TestServer::start().await;
        let mut ken = s.device(KEN, 1).await;
        for (callee, reason) in [
            ("nobody@contoso.com", FailReason::UnknownCallee),
            (ANA, FailReason::CalleeOffline),
            (KEN, FailReason::SelfCall),
        ] {
            ken.send(ClientMessage::Invite {
                callee: uid(callee),
            })
            .await;
            match ken.recv().await {
                ServerMessage::CallFailed { reason: r, .. } => assert_eq!(r, reason, "{callee}"),
                other => panic!("{other:?}"),
            }
        }
        let mut ana = s.device(ANA, 2).await;
        let mut bo = s.device(BO, 3).await;
        invite(&mut ken, ANA).await;
        incoming(&mut ana).await;
        ken.send(ClientMessage::Invite { callee: uid(BO) }).await;
        assert!(matches!(
            ken.recv().await,
            ServerMessage::CallFailed {
                reason: FailReason::AlreadyInCall,
                ..
            }
        ));
        bo.send(ClientMessage::Invite { callee: uid(ANA) }).await;
        assert!(matches!(
            bo.recv().await,
            ServerMessage::CallFailed {
                reason: FailReason::CalleeBusy,
                ..
            }
        ));
        // The caller disconnecting ends the ringing.
        drop(ken);
        ended(&mut ana, EndReason::PeerDisconnected).await;
    }
}

all_modes! {
    #[tokio::test]
    async fn policy_decisions_travel_with_invite_and_accept_and_required_refuses() {
        let s = TestServer::start().await;
        let admin = s.sign_in(ADMIN).await;
        s.cmdlet(&admin, "Set-CsTeamsEnhancedEncryptionPolicy -Identity Global -CallingEndtoEndEncryptionEnabledType DisabledUserOverride").await;
        let mut ken = s.device(KEN, 1).await;
        let mut ana = s.device(ANA, 2).await;
        for d in [&mut ken, &mut ana] {
            d.send(ClientMessage::SetE2ee { enabled: true }).await;
            assert!(matches!(
                d.recv().await,
                ServerMessage::SettingChanged { .. }
            ));
        }
        let call = invite(&mut ken, ANA).await;
        let (_, decision) = incoming(&mut ana).await;
        assert_eq!(decision.outcome, Outcome::EndToEnd);
        ana.send(ClientMessage::Accept {
            call_id: call.clone(),
        })
        .await;
        for d in [&mut ken, &mut ana] {
            match d.recv().await {
                ServerMessage::CallAccepted { decision, .. } => {
                    assert_eq!(decision.outcome, Outcome::EndToEnd)
                }
                other => panic!("{other:?}"),
            }
        }
        ken.send(ClientMessage::Hangup { call_id: call }).await;
        ended(&mut ana, EndReason::HungUp).await;

        // Ken's policy requires E2EE; Bo's Global-policy setting is off: refused with reasons.
        s.cmdlet(&admin, "New-CsTeamsEnhancedEncryptionPolicy -Identity Strict -CallingEndtoEndEncryptionEnabledType Required").await;
        let (status, _) = s
            .cmdlet(
                &admin,
                &format!("Grant-CsTeamsEnhancedEncryptionPolicy -Identity {KEN} -PolicyName Strict"),
            )
            .await;
        assert_eq!(status, 200);
        let mut bo = s.device(BO, 3).await;
        ken.send(ClientMessage::Invite { callee: uid(BO) }).await;
        match ken.recv_call().await {
            ServerMessage::CallFailed {
                reason, decision, ..
            } => {
                assert_eq!(reason, FailReason::PolicyRefused);
                let decision = decision.unwrap();
                assert_eq!(decision.required_by, vec![Side::Caller]);
                assert!(!decision.reasons.is_empty());
            }
            other => panic!("{other:?}"),
        }
        bo.quiet(100).await;
    }
}

all_modes! {
    #[tokio::test]
    async fn bad_websocket_input_gets_an_error_and_the_connection_stays_usable() {
        let s = TestServer::start().await;
        let mut ken = s.device(KEN, 1).await;
        for (text, code) in [
            ("not json", ErrorCode::Malformed),
            (r#"{"v":1,"type":"teleport"}"#, ErrorCode::UnknownType),
            (
                r#"{"v":9,"type":"ping","nonce":1}"#,
                ErrorCode::UnsupportedVersion,
            ),
            (
                r#"{"v":1,"type":"ping","nonce":1,"x":2}"#,
                ErrorCode::InvalidMessage,
            ),
            (
                r#"{"v":1,"type":"accept","call_id":"nope"}"#,
                ErrorCode::UnknownCall,
            ),
        ] {
            ken.send_raw(text).await;
            match ken.recv().await {
                ServerMessage::Error { code: c, message } => {
                    assert_eq!(c, code, "{text}");
                    assert!(!message.is_empty());
                }
                other => panic!("{other:?}"),
            }
        }
        ken.send(ClientMessage::Ping { nonce: 5 }).await;
        assert_eq!(ken.recv().await, ServerMessage::Pong { nonce: 5 });
        // Oversized: an error with the reason, then close 1009.
        ken.send_raw(&"x".repeat(MAX_MESSAGE_BYTES + 1)).await;
        assert!(matches!(
            ken.recv().await,
            ServerMessage::Error {
                code: ErrorCode::TooLarge,
                ..
            }
        ));
        use futures_util::StreamExt;
        loop {
            match ken.ws.next().await {
                Some(Ok(tokio_tungstenite::tungstenite::Message::Close(Some(frame)))) => {
                    assert_eq!(u16::from(frame.code), 1009);
                    break;
                }
                Some(Ok(_)) => continue,
                other => panic!("expected close, got {other:?}"),
            }
        }
    }
}
