//! Table-driven test of `decide` over every combination of: both policies (four values), both
//! user settings, both devices' capability (capable, outdated, unsupported platform), both
//! compliance-recording flags, one-to-one vs more people, and unscheduled vs scheduled.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::uid;
use sealcall_policy::*;

const POLICIES: [CallingEncryptionType; 4] = CallingEncryptionType::ALL;

fn capabilities() -> [Capability; 3] {
    [
        Capability::Capable,
        Capability::OutdatedClient {
            platform: Platform::Android,
            version: ClientVersion::new(1, 0, 0),
            minimum: ClientVersion::new(1, 2, 0),
        },
        Capability::UnsupportedPlatform {
            platform: Platform::Web,
        },
    ]
}

#[derive(Clone, Copy, Debug)]
struct SideState {
    policy: CallingEncryptionType,
    choice: bool,
    capability: Capability,
    recorded: bool,
}

fn sides() -> Vec<SideState> {
    let mut out = Vec::new();
    for policy in POLICIES {
        for choice in [false, true] {
            for capability in capabilities() {
                for recorded in [false, true] {
                    out.push(SideState {
                        policy,
                        choice,
                        capability,
                        recorded,
                    });
                }
            }
        }
    }
    out
}

fn to_party(name: &str, s: SideState) -> Party {
    Party {
        user: uid(name),
        policy: s.policy,
        policy_source: PolicySource::Global,
        user_choice: s.choice,
        capability: s.capability,
        compliance_recording: s.recorded,
    }
}

/// The reference's rule for one person, written independently of the implementation: the
/// person can take part in E2EE when their policy isn't Disabled, their setting is on (Required
/// and RequiredPostQuantum force it on), their device is capable and they aren't recorded for
/// compliance.
fn expected_reasons(s: SideState, side: Side) -> Vec<Reason> {
    let mut r = Vec::new();
    let setting_on = match s.policy {
        CallingEncryptionType::Disabled => None,
        CallingEncryptionType::DisabledUserOverride => Some(s.choice),
        CallingEncryptionType::Required | CallingEncryptionType::RequiredPostQuantum => Some(true),
    };
    match setting_on {
        None => r.push(Reason::PolicyDisabled { side }),
        Some(false) => r.push(Reason::SettingOff { side }),
        Some(true) => {}
    }
    match s.capability {
        Capability::Capable => {}
        Capability::OutdatedClient { minimum, .. } => {
            r.push(Reason::OutdatedClient { side, minimum })
        }
        Capability::UnsupportedPlatform { platform } => {
            r.push(Reason::UnsupportedPlatform { side, platform });
        }
    }
    if s.recorded {
        r.push(Reason::ComplianceRecording { side });
    }
    r
}

#[test]
fn decide_over_every_combination() {
    let all = sides();
    let mut counts = [0usize; 3];
    for &a in &all {
        for &b in &all {
            for participants in [2u32, 3] {
                for scheduled in [false, true] {
                    let call = CallShape {
                        participants,
                        scheduled,
                    };
                    let caller = to_party("caller@contoso.com", a);
                    let callee = to_party("callee@contoso.com", b);
                    let decision = decide(&caller, &callee, call);

                    let mut reasons = Vec::new();
                    if participants != 2 {
                        reasons.push(Reason::NotOneToOne { participants });
                    }
                    if scheduled {
                        reasons.push(Reason::Scheduled);
                    }
                    reasons.extend(expected_reasons(a, Side::Caller));
                    reasons.extend(expected_reasons(b, Side::Callee));
                    let required_by: Vec<Side> = [(a, Side::Caller), (b, Side::Callee)]
                        .into_iter()
                        .filter(|(s, _)| {
                            matches!(
                                s.policy,
                                CallingEncryptionType::Required
                                    | CallingEncryptionType::RequiredPostQuantum
                            )
                        })
                        .map(|(_, side)| side)
                        .collect();
                    let ctx = format!("{a:?} {b:?} {call:?}");

                    match &decision {
                        Decision::EndToEnd(grant) => {
                            counts[0] += 1;
                            assert!(reasons.is_empty(), "{ctx}");
                            assert_eq!(grant.caller(), &caller.user, "{ctx}");
                            assert_eq!(grant.callee(), &callee.user, "{ctx}");
                        }
                        Decision::Standard { reasons: got } => {
                            counts[1] += 1;
                            assert!(required_by.is_empty(), "{ctx}");
                            assert_eq!(got, &reasons, "{ctx}");
                        }
                        Decision::Refused {
                            required_by: got_by,
                            reasons: got,
                        } => {
                            counts[2] += 1;
                            assert_eq!(got_by, &required_by, "{ctx}");
                            assert_eq!(got, &reasons, "{ctx}");
                        }
                    }
                    // Every reason reads differently for the two people when it is about one of
                    // them, and no message names anyone.
                    for viewer in [Side::Caller, Side::Callee] {
                        for message in decision.user_messages(viewer) {
                            assert!(!message.is_empty());
                            assert!(!message.contains("contoso"), "{message}");
                        }
                    }
                    // Features are blocked exactly in an E2EE call (and a refused one).
                    let blocked = check_feature(&decision, Feature::Recording).is_err();
                    assert_eq!(
                        blocked,
                        !matches!(decision, Decision::Standard { .. }),
                        "{ctx}"
                    );
                }
            }
        }
    }
    // 48 combinations per side, squared, times 4 call shapes.
    assert_eq!(counts.iter().sum::<usize>(), 48 * 48 * 4);
    // E2EE: caller and callee each have 5 of 48 eligible states (override+on, required or
    // required post-quantum with either choice), with only the unscheduled one-to-one shape.
    assert_eq!(counts[0], 5 * 5);
    assert!(counts[1] > 0 && counts[2] > 0);
}

#[test]
fn required_post_quantum_decides_exactly_as_required() {
    // The post-quantum part is the device's (its handshake); the server's decision, its
    // reasons and who requires end-to-end encryption are those of Required.
    let as_required = |s: SideState| SideState {
        policy: match s.policy {
            CallingEncryptionType::RequiredPostQuantum => CallingEncryptionType::Required,
            other => other,
        },
        ..s
    };
    let mut compared = 0;
    for &a in sides()
        .iter()
        .filter(|s| s.policy == CallingEncryptionType::RequiredPostQuantum)
    {
        for &b in &sides() {
            for call in [
                CallShape::one_to_one(),
                CallShape {
                    participants: 3,
                    scheduled: false,
                },
            ] {
                let pq = decide(&to_party("c@x", a), &to_party("d@x", b), call);
                let plain = decide(&to_party("c@x", as_required(a)), &to_party("d@x", b), call);
                assert_eq!(pq.summary(), plain.summary(), "{a:?} {b:?} {call:?}");
                let pq = decide(&to_party("c@x", b), &to_party("d@x", a), call);
                let plain = decide(&to_party("c@x", b), &to_party("d@x", as_required(a)), call);
                assert_eq!(pq.summary(), plain.summary(), "{b:?} {a:?} {call:?}");
                compared += 1;
            }
        }
    }
    assert_eq!(compared, 12 * 48 * 2);
}

#[test]
fn reasons_read_from_each_persons_point_of_view() {
    let off = Reason::SettingOff { side: Side::Callee };
    assert_eq!(
        off.user_message(Side::Caller),
        "the other person hasn't turned on end-to-end encrypted calls"
    );
    assert_eq!(
        off.user_message(Side::Callee),
        "you haven't turned on end-to-end encrypted calls (Settings > Privacy)"
    );
    let outdated = Reason::OutdatedClient {
        side: Side::Caller,
        minimum: ClientVersion::new(1, 2, 0),
    };
    assert!(outdated.user_message(Side::Caller).contains("1.2.0"));
    assert!(!outdated.user_message(Side::Callee).contains("1.2.0"));
    let refused = Decision::Refused {
        required_by: vec![Side::Caller],
        reasons: vec![Reason::PolicyDisabled { side: Side::Callee }],
    };
    let mine = refused.user_messages(Side::Caller);
    assert!(mine[0].starts_with("your organisation requires"));
    assert_eq!(
        mine[1],
        "end-to-end encrypted calls aren't allowed for the other person"
    );
    let theirs = refused.user_messages(Side::Callee);
    assert!(theirs[0].starts_with("the other person's organisation requires"));
    assert_eq!(
        theirs[1],
        "your organisation hasn't allowed end-to-end encrypted calls for you"
    );
}

#[test]
fn summary_round_trips_through_json_without_the_proof() {
    let p = |n| Party {
        user: uid(n),
        policy: CallingEncryptionType::Required,
        policy_source: PolicySource::Direct,
        user_choice: false,
        capability: Capability::Capable,
        compliance_recording: false,
    };
    let decision = decide(&p("a@x"), &p("b@x"), CallShape::one_to_one());
    assert!(decision.is_end_to_end(), "Required forces the setting on");
    let summary = decision.summary();
    let json = serde_json::to_string(&summary).unwrap();
    let back: DecisionSummary = serde_json::from_str(&json).unwrap();
    assert_eq!(back, summary);
    assert_eq!(back.outcome, Outcome::EndToEnd);
    let refused = decide(
        &p("a@x"),
        &p("b@x"),
        CallShape {
            participants: 3,
            scheduled: false,
        },
    );
    let summary = refused.summary();
    assert_eq!(summary.outcome, Outcome::Refused);
    assert_eq!(summary.required_by, vec![Side::Caller, Side::Callee]);
    assert_eq!(summary.indicator(), None);
    let back: DecisionSummary =
        serde_json::from_str(&serde_json::to_string(&summary).unwrap()).unwrap();
    assert_eq!(back, summary);
}

#[test]
fn admin_doc_lists_every_reason_message_and_blocked_feature() {
    let doc = include_str!("../../../docs/ADMIN.md");
    let minimum = ClientVersion::new(1, 2, 0);
    let reasons = [
        Reason::NotOneToOne { participants: 3 },
        Reason::Scheduled,
        Reason::PolicyDisabled { side: Side::Caller },
        Reason::SettingOff { side: Side::Caller },
        Reason::UnsupportedPlatform {
            side: Side::Caller,
            platform: Platform::Web,
        },
        Reason::OutdatedClient {
            side: Side::Caller,
            minimum,
        },
        Reason::ComplianceRecording { side: Side::Caller },
    ];
    for reason in reasons {
        for viewer in [Side::Caller, Side::Callee] {
            let message = reason.user_message(viewer).replace("1.2.0", "X.Y.Z");
            assert!(doc.contains(&message), "ADMIN.md lacks: {message}");
        }
    }
    for feature in Feature::ALL {
        assert!(
            doc.contains(&format!("| `{feature:?}` | {} |", feature.display_name())),
            "ADMIN.md lacks {feature:?}"
        );
    }
    let refused = Decision::Refused {
        required_by: vec![Side::Caller],
        reasons: vec![Reason::Scheduled],
    };
    assert!(doc.contains(&refused.user_messages(Side::Caller)[0]));
}
