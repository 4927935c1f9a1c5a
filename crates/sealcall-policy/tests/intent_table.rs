//! Table-driven test of `local_intent` and `settle` over every combination of: the local user's
//! setting, the cached policy (four values), the device's capability and compliance recording,
//! the intent the peer signed, the server's decision (three outcomes) and the side of the call.
//! The expected results are written out independently of the implementation.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::uid;
use sealcall_policy::*;

#[derive(Debug, PartialEq, Eq)]
enum Mode {
    EndToEnd,
    Standard,
    End(EndReason),
}

/// The rules of the issue, independently: a device intends end-to-end when its policy allows
/// it, its setting is on (Required and RequiredPostQuantum force it), it is capable and not
/// recorded. The call is end-to-end exactly when both signed intents are; the server only
/// advises, and a contradiction is a warning; a Required or RequiredPostQuantum device ends any
/// call that would not be end-to-end, and any call the server contradicts.
fn expected(
    policy: CallingEncryptionType,
    setting: bool,
    capable: bool,
    recorded: bool,
    peer: CallIntent,
    server: Outcome,
) -> (CallIntent, Mode, Option<Disagreement>) {
    let allowed = match policy {
        CallingEncryptionType::Disabled => false,
        CallingEncryptionType::DisabledUserOverride => setting,
        CallingEncryptionType::Required | CallingEncryptionType::RequiredPostQuantum => true,
    };
    let mine = if allowed && capable && !recorded {
        CallIntent::EndToEnd
    } else {
        CallIntent::Standard
    };
    let both = mine == CallIntent::EndToEnd && peer == CallIntent::EndToEnd;
    let server_e2e = server == Outcome::EndToEnd;
    let warning = if both && !server_e2e {
        Some(Disagreement::ServiceDowngrade)
    } else if !both && server_e2e {
        Some(Disagreement::ServiceOverstated)
    } else {
        None
    };
    let required = matches!(
        policy,
        CallingEncryptionType::Required | CallingEncryptionType::RequiredPostQuantum
    );
    let mode = if required && !both {
        Mode::End(EndReason::RequiredNotEndToEnd)
    } else if required && warning.is_some() {
        Mode::End(EndReason::RequiredServiceContradicted)
    } else if both {
        Mode::EndToEnd
    } else {
        Mode::Standard
    };
    (mine, mode, warning)
}

#[test]
fn every_combination_of_local_state_peer_intent_and_server_advice() {
    let me = uid("ken");
    let peer = uid("ana");
    let mut rows = 0;
    let mut seen = std::collections::HashSet::new();
    for policy in CallingEncryptionType::ALL {
        for setting in [false, true] {
            for capable in [true, false] {
                for recorded in [false, true] {
                    for peer_intent in [CallIntent::EndToEnd, CallIntent::Standard] {
                        for server in [Outcome::EndToEnd, Outcome::Standard, Outcome::Refused] {
                            for side in [Side::Caller, Side::Callee] {
                                let local = LocalState {
                                    user: me.clone(),
                                    policy,
                                    user_choice: setting,
                                    capability: if capable {
                                        Capability::Capable
                                    } else {
                                        Capability::UnsupportedPlatform {
                                            platform: Platform::Web,
                                        }
                                    },
                                    compliance_recording: recorded,
                                };
                                let (mine, mode, warning) = expected(
                                    policy,
                                    setting,
                                    capable,
                                    recorded,
                                    peer_intent,
                                    server,
                                );
                                let row = format!(
                                    "{policy:?} setting {setting} capable {capable} recorded \
                                     {recorded} peer {peer_intent:?} server {server:?} {side:?}"
                                );
                                assert_eq!(local_intent(&local), mine, "{row}");
                                let s = settle(&local, side, &peer, peer_intent, server);
                                assert_eq!(s.warning(), warning, "{row}");
                                let got = match &s {
                                    Settlement::EndToEnd { grant, .. } => {
                                        let (caller, callee) = match side {
                                            Side::Caller => (&me, &peer),
                                            Side::Callee => (&peer, &me),
                                        };
                                        assert_eq!(grant.caller(), caller, "{row}");
                                        assert_eq!(grant.callee(), callee, "{row}");
                                        Mode::EndToEnd
                                    }
                                    Settlement::Standard { .. } => {
                                        assert!(s.grant().is_none());
                                        Mode::Standard
                                    }
                                    Settlement::End { reason, .. } => {
                                        assert!(s.grant().is_none());
                                        Mode::End(*reason)
                                    }
                                };
                                seen.insert(format!("{got:?} {warning:?}"));
                                assert_eq!(got, mode, "{row}");
                                rows += 1;
                            }
                        }
                    }
                }
            }
        }
    }
    assert_eq!(rows, 4 * 2 * 2 * 2 * 2 * 3 * 2);
    // Every kind of result occurs somewhere in the table.
    for must in [
        "EndToEnd None",
        "EndToEnd Some(ServiceDowngrade)",
        "Standard None",
        "Standard Some(ServiceOverstated)",
        "End(RequiredNotEndToEnd) None",
        "End(RequiredNotEndToEnd) Some(ServiceOverstated)",
        "End(RequiredServiceContradicted) Some(ServiceDowngrade)",
    ] {
        assert!(seen.contains(must), "{must} never happened: {seen:?}");
    }
}

#[test]
fn the_server_alone_never_makes_a_call_end_to_end_or_standard() {
    let local = LocalState {
        user: uid("ken"),
        policy: CallingEncryptionType::DisabledUserOverride,
        user_choice: true,
        capability: Capability::Capable,
        compliance_recording: false,
    };
    // Whatever the server says, both intents decide.
    for server in [Outcome::EndToEnd, Outcome::Standard, Outcome::Refused] {
        let s = settle(
            &local,
            Side::Caller,
            &uid("ana"),
            CallIntent::EndToEnd,
            server,
        );
        assert!(s.grant().is_some(), "{server:?}");
        let s = settle(
            &local,
            Side::Caller,
            &uid("ana"),
            CallIntent::Standard,
            server,
        );
        assert!(s.grant().is_none(), "{server:?}");
    }
    // The warnings read without content.
    for d in [
        Disagreement::ServiceDowngrade,
        Disagreement::ServiceOverstated,
    ] {
        assert!(!d.user_message().contains('@'));
    }
    assert!(
        Disagreement::ServiceDowngrade
            .user_message()
            .contains("both of you turned on end-to-end encryption")
    );
}
