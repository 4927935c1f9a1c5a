//! The call state machine, driven deterministically with a virtual clock.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use sealcall_engine::call::*;
use sealcall_policy::{DecisionSummary, Outcome, Reason, Side, UserId};
use sealcall_signaling::{
    CallId, ClientMessage, DeviceId, EndReason, FailReason, IdentityKey, ServerMessage,
    TurnCredentials,
};

fn user(s: &str) -> UserId {
    UserId::new(s).unwrap()
}

fn t(ms: u64) -> Duration {
    Duration::from_millis(ms)
}

fn call_id(s: &str) -> CallId {
    CallId::new(s).unwrap()
}

fn turn() -> TurnCredentials {
    TurnCredentials {
        urls: vec!["turn:127.0.0.1:3478?transport=udp".into()],
        username: "1:c:caller".into(),
        credential: "secret".into(),
        expires_at: 1,
    }
}

fn e2ee() -> DecisionSummary {
    DecisionSummary {
        outcome: Outcome::EndToEnd,
        required_by: vec![],
        reasons: vec![],
    }
}

fn standard() -> DecisionSummary {
    DecisionSummary {
        outcome: Outcome::Standard,
        required_by: vec![],
        reasons: vec![Reason::SettingOff { side: Side::Callee }],
    }
}

fn machine(me: &str) -> CallMachine {
    CallMachine::new(user(me), CallTimers::default())
}

fn sends(actions: &[Action]) -> Vec<ClientMessage> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Send(m) => Some(m.clone()),
            _ => None,
        })
        .collect()
}

fn events(actions: &[Action]) -> Vec<CallEvent> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Event(e) => Some(e.clone()),
            _ => None,
        })
        .collect()
}

fn ended_reason(actions: &[Action]) -> Option<Ended> {
    events(actions).into_iter().find_map(|e| match e {
        CallEvent::Ended { reason, .. } => Some(reason),
        _ => None,
    })
}

fn accepted(id: &str, side: Side, peer: &str, decision: DecisionSummary) -> ServerMessage {
    ServerMessage::CallAccepted {
        call_id: call_id(id),
        side,
        peer: user(peer),
        peer_device: DeviceId::new("dev-1").unwrap(),
        peer_identity: IdentityKey([7; 32]),
        decision,
        turn: None,
    }
}

fn incoming(id: &str, caller: &str, decision: DecisionSummary) -> ServerMessage {
    ServerMessage::IncomingCall {
        call_id: call_id(id),
        caller: user(caller),
        caller_display_name: "Someone".into(),
        caller_device: DeviceId::new("dev-9").unwrap(),
        caller_identity: IdentityKey([9; 32]),
        decision,
        turn: turn(),
    }
}

/// Drives an outgoing call to Outgoing (ringing).
fn ringing_out(m: &mut CallMachine) {
    let a = m.command(t(0), Command::Call(user("bob"))).unwrap();
    assert_eq!(
        sends(&a),
        vec![ClientMessage::Invite {
            callee: user("bob")
        }]
    );
    let a = m.on_server(
        t(10),
        ServerMessage::InviteSent {
            call_id: call_id("c1"),
            callee: user("bob"),
            ringing_devices: 2,
            turn: turn(),
        },
    );
    assert_eq!(
        events(&a),
        vec![CallEvent::Ringing {
            call_id: call_id("c1"),
            devices: 2
        }]
    );
}

#[test]
fn outgoing_e2ee_call_connects_after_media_and_handshake_and_hangs_up() {
    let mut m = machine("alice");
    ringing_out(&mut m);
    let a = m.on_server(t(500), accepted("c1", Side::Caller, "bob", e2ee()));
    let start = a
        .iter()
        .find_map(|a| match a {
            Action::StartMedia(s) => Some(s.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(start.mode, MediaMode::EndToEnd);
    assert_eq!(start.side, Side::Caller);
    assert_eq!(start.peer_identity, IdentityKey([7; 32]));
    assert!(start.turn.is_some());
    assert!(matches!(m.state(), State::Connecting { .. }));
    let a = m.on_media(
        t(600),
        &call_id("c1"),
        MediaProgress::Ready { end_to_end: true },
    );
    assert_eq!(
        events(&a),
        vec![CallEvent::Connected {
            call_id: call_id("c1"),
            end_to_end: true
        }]
    );
    let a = m.command(t(9000), Command::Hangup).unwrap();
    assert_eq!(
        sends(&a),
        vec![ClientMessage::Hangup {
            call_id: call_id("c1")
        }]
    );
    assert!(a.contains(&Action::StopMedia(call_id("c1"))));
    assert_eq!(ended_reason(&a), Some(Ended::Local));
    assert_eq!(m.state(), &State::Idle);
}

#[test]
fn a_standard_decision_gives_standard_media_with_reasons_for_this_side() {
    let mut m = machine("alice");
    ringing_out(&mut m);
    let a = m.on_server(t(500), accepted("c1", Side::Caller, "bob", standard()));
    let start = a
        .iter()
        .find_map(|a| match a {
            Action::StartMedia(s) => Some(s.clone()),
            _ => None,
        })
        .unwrap();
    let MediaMode::Standard { reasons } = start.mode else {
        panic!("expected a standard call")
    };
    assert_eq!(
        reasons,
        vec!["the other person hasn't turned on end-to-end encrypted calls".to_string()]
    );
    let a = m.on_media(
        t(600),
        &call_id("c1"),
        MediaProgress::Ready { end_to_end: false },
    );
    assert_eq!(
        events(&a),
        vec![CallEvent::Connected {
            call_id: call_id("c1"),
            end_to_end: false
        }]
    );
}

#[test]
fn incoming_call_rings_accepts_and_connects() {
    let mut m = machine("bob");
    let a = m.on_server(t(0), incoming("c2", "alice", e2ee()));
    assert_eq!(
        sends(&a),
        vec![ClientMessage::Ringing {
            call_id: call_id("c2")
        }]
    );
    assert!(matches!(events(&a)[0], CallEvent::Incoming { .. }));
    // Nothing happens before the server confirms this device's accept.
    let a = m.command(t(100), Command::Accept).unwrap();
    assert_eq!(
        sends(&a),
        vec![ClientMessage::Accept {
            call_id: call_id("c2")
        }]
    );
    assert!(
        m.command(t(101), Command::Accept).is_err(),
        "accepting twice"
    );
    let a = m.on_server(t(200), accepted("c2", Side::Callee, "alice", e2ee()));
    assert!(
        a.iter()
            .any(|a| matches!(a, Action::StartMedia(s) if s.side == Side::Callee))
    );
    let a = m.on_media(
        t(300),
        &call_id("c2"),
        MediaProgress::Ready { end_to_end: true },
    );
    assert_eq!(
        events(&a),
        vec![CallEvent::Connected {
            call_id: call_id("c2"),
            end_to_end: true
        }]
    );
}

#[test]
fn declining_and_answered_on_another_device() {
    let mut m = machine("bob");
    m.on_server(t(0), incoming("c3", "alice", e2ee()));
    let a = m.command(t(50), Command::Decline).unwrap();
    assert_eq!(
        sends(&a),
        vec![ClientMessage::Decline {
            call_id: call_id("c3")
        }]
    );
    assert_eq!(ended_reason(&a), Some(Ended::Local));
    assert!(
        !a.iter().any(|a| matches!(a, Action::StopMedia(_))),
        "no media was started"
    );

    m.on_server(t(100), incoming("c4", "alice", e2ee()));
    let a = m.on_server(
        t(200),
        ServerMessage::CallEnded {
            call_id: call_id("c4"),
            reason: EndReason::AnsweredElsewhere,
        },
    );
    assert_eq!(
        ended_reason(&a),
        Some(Ended::Remote(EndReason::AnsweredElsewhere))
    );
    assert_eq!(m.state(), &State::Idle);
}

#[test]
fn cancel_during_ringing_and_before_the_invite_is_confirmed() {
    let mut m = machine("alice");
    ringing_out(&mut m);
    let a = m.command(t(2000), Command::Cancel).unwrap();
    assert_eq!(
        sends(&a),
        vec![ClientMessage::Cancel {
            call_id: call_id("c1")
        }]
    );
    assert_eq!(m.state(), &State::Idle);

    // Cancelled before the server assigned an id: the cancel goes out once it does.
    m.command(t(3000), Command::Call(user("bob"))).unwrap();
    assert!(m.command(t(3001), Command::Cancel).unwrap().is_empty());
    let a = m.on_server(
        t(3010),
        ServerMessage::InviteSent {
            call_id: call_id("c5"),
            callee: user("bob"),
            ringing_devices: 1,
            turn: turn(),
        },
    );
    assert_eq!(
        sends(&a),
        vec![ClientMessage::Cancel {
            call_id: call_id("c5")
        }]
    );
    assert_eq!(ended_reason(&a), Some(Ended::Local));
}

#[test]
fn remote_hang_up_stops_media() {
    let mut m = machine("alice");
    ringing_out(&mut m);
    m.on_server(t(500), accepted("c1", Side::Caller, "bob", e2ee()));
    m.on_media(
        t(600),
        &call_id("c1"),
        MediaProgress::Ready { end_to_end: true },
    );
    let a = m.on_server(
        t(5000),
        ServerMessage::CallEnded {
            call_id: call_id("c1"),
            reason: EndReason::HungUp,
        },
    );
    assert!(a.contains(&Action::StopMedia(call_id("c1"))));
    assert_eq!(ended_reason(&a), Some(Ended::Remote(EndReason::HungUp)));
    // A late message for the ended call is ignored.
    assert!(
        m.on_server(
            t(5001),
            ServerMessage::CallEnded {
                call_id: call_id("c1"),
                reason: EndReason::HungUp
            }
        )
        .is_empty()
    );
}

#[test]
fn failed_invites_and_policy_refusals() {
    for reason in [
        FailReason::UnknownCallee,
        FailReason::CalleeOffline,
        FailReason::SelfCall,
        FailReason::CalleeBusy,
    ] {
        let mut m = machine("alice");
        m.command(t(0), Command::Call(user("bob"))).unwrap();
        let a = m.on_server(
            t(5),
            ServerMessage::CallFailed {
                callee: user("bob"),
                reason,
                decision: None,
            },
        );
        assert_eq!(ended_reason(&a), Some(Ended::Failed(reason)));
    }
    let refused = DecisionSummary {
        outcome: Outcome::Refused,
        required_by: vec![Side::Caller],
        reasons: vec![Reason::SettingOff { side: Side::Callee }],
    };
    let mut m = machine("alice");
    m.command(t(0), Command::Call(user("bob"))).unwrap();
    let a = m.on_server(
        t(5),
        ServerMessage::CallFailed {
            callee: user("bob"),
            reason: FailReason::PolicyRefused,
            decision: Some(refused),
        },
    );
    let Some(Ended::Refused(messages)) = ended_reason(&a) else {
        panic!("expected a refusal")
    };
    assert!(messages[0].starts_with("your organisation requires end-to-end encrypted calls"));
}

#[test]
fn glare_resolves_to_one_call_the_same_way_on_both_sides() {
    // alice < bob: alice stays the caller and tells bob's invite "busy".
    let mut alice = machine("alice");
    ringing_out(&mut alice);
    let a = alice.on_server(t(20), incoming("cb", "bob", e2ee()));
    assert_eq!(
        sends(&a),
        vec![ClientMessage::Busy {
            call_id: call_id("cb")
        }]
    );
    assert!(matches!(alice.state(), State::Outgoing { .. }));

    // bob sees alice's invite while ringing out to alice: withdraws and answers it.
    let mut bob = machine("bob");
    bob.command(t(0), Command::Call(user("alice"))).unwrap();
    bob.on_server(
        t(10),
        ServerMessage::InviteSent {
            call_id: call_id("cb"),
            callee: user("alice"),
            ringing_devices: 1,
            turn: turn(),
        },
    );
    let a = bob.on_server(t(20), incoming("c1", "alice", e2ee()));
    assert_eq!(
        sends(&a),
        vec![
            ClientMessage::Cancel {
                call_id: call_id("cb")
            },
            ClientMessage::Accept {
                call_id: call_id("c1")
            },
        ]
    );
    let a = bob.on_server(t(30), accepted("c1", Side::Callee, "alice", e2ee()));
    assert!(a.iter().any(|a| matches!(a, Action::StartMedia(_))));
}

#[test]
fn a_second_incoming_call_while_busy_is_answered_busy() {
    let mut m = machine("alice");
    ringing_out(&mut m);
    let a = m.on_server(t(20), incoming("other", "carol", e2ee()));
    assert_eq!(
        sends(&a),
        vec![ClientMessage::Busy {
            call_id: call_id("other")
        }]
    );
    assert!(matches!(m.state(), State::Outgoing { .. }));
}

#[test]
fn timeouts_on_a_virtual_clock() {
    let timers = CallTimers::default();
    // Invite never confirmed.
    let mut m = machine("alice");
    m.command(t(0), Command::Call(user("bob"))).unwrap();
    assert!(m.tick(timers.invite_timeout - t(1)).is_empty());
    let a = m.tick(timers.invite_timeout);
    assert!(matches!(ended_reason(&a), Some(Ended::Timeout(_))));
    // Nobody answers.
    let mut m = machine("alice");
    ringing_out(&mut m);
    let a = m.tick(t(10) + timers.ring_timeout);
    assert_eq!(
        sends(&a),
        vec![ClientMessage::Cancel {
            call_id: call_id("c1")
        }]
    );
    // Incoming never answered.
    let mut m = machine("bob");
    m.on_server(t(0), incoming("c9", "alice", e2ee()));
    let a = m.tick(timers.ring_timeout);
    assert_eq!(
        sends(&a),
        vec![ClientMessage::Decline {
            call_id: call_id("c9")
        }]
    );
    // Media never connects: hang up and stop media.
    let mut m = machine("alice");
    ringing_out(&mut m);
    m.on_server(t(100), accepted("c1", Side::Caller, "bob", e2ee()));
    let a = m.tick(t(100) + timers.connect_timeout);
    assert_eq!(
        sends(&a),
        vec![ClientMessage::Hangup {
            call_id: call_id("c1")
        }]
    );
    assert!(a.contains(&Action::StopMedia(call_id("c1"))));
}

#[test]
fn media_failure_ends_the_call_and_server_loss_depends_on_the_state() {
    let mut m = machine("alice");
    ringing_out(&mut m);
    m.on_server(t(100), accepted("c1", Side::Caller, "bob", e2ee()));
    let a = m.on_media(
        t(200),
        &call_id("c1"),
        MediaProgress::Failed("handshake: transcript signature did not verify".into()),
    );
    assert!(matches!(ended_reason(&a), Some(Ended::MediaFailed(_))));
    assert!(a.contains(&Action::StopMedia(call_id("c1"))));

    // Ringing: server loss ends the attempt.
    let mut m = machine("alice");
    ringing_out(&mut m);
    assert_eq!(
        ended_reason(&m.on_server_lost(t(300))),
        Some(Ended::ServerLost)
    );
    // Connected: media is peer to peer and continues.
    let mut m = machine("alice");
    ringing_out(&mut m);
    m.on_server(t(100), accepted("c1", Side::Caller, "bob", e2ee()));
    m.on_media(
        t(200),
        &call_id("c1"),
        MediaProgress::Ready { end_to_end: true },
    );
    let a = m.on_server_lost(t(300));
    assert_eq!(
        events(&a),
        vec![CallEvent::SignalingLost {
            call_id: call_id("c1")
        }]
    );
    assert!(matches!(m.state(), State::Connected { .. }));
    // Losing the media connection itself ends a connected call.
    let a = m.on_media(
        t(400),
        &call_id("c1"),
        MediaProgress::Failed("the media connection was lost".into()),
    );
    assert!(matches!(ended_reason(&a), Some(Ended::MediaFailed(_))));
    assert!(a.contains(&Action::StopMedia(call_id("c1"))));
    assert_eq!(m.state(), &State::Idle);
}

#[test]
fn commands_out_of_place_are_refused_and_change_nothing() {
    let mut m = machine("alice");
    for c in [
        Command::Accept,
        Command::Decline,
        Command::Cancel,
        Command::Hangup,
    ] {
        assert!(matches!(
            m.command(t(0), c),
            Err(sealcall_engine::EngineError::InvalidCommand(_))
        ));
        assert_eq!(m.state(), &State::Idle);
    }
    ringing_out(&mut m);
    assert!(m.command(t(1), Command::Call(user("carol"))).is_err());
    assert!(m.command(t(1), Command::Hangup).is_err());
    assert!(matches!(m.state(), State::Outgoing { .. }));
}
