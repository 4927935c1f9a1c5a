//! The negotiation decision: end-to-end encrypted, standard, or refused.

use serde::{Deserialize, Serialize};

use crate::client::{Capability, ClientVersion, Platform};
use crate::model::{CallingEncryptionType, UserId};
use crate::resolve::PolicySource;

/// One side of a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Side {
    /// The person placing the call.
    Caller,
    /// The person being called.
    Callee,
}

impl Side {
    /// The other side.
    pub fn other(self) -> Side {
        match self {
            Side::Caller => Side::Callee,
            Side::Callee => Side::Caller,
        }
    }
}

/// Everything the decision needs about one person in the call (see
/// [`resolve_party`](crate::resolve_party) to build it from a store).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Party {
    /// The user.
    pub user: UserId,
    /// `CallingEndtoEndEncryptionEnabledType` of their effective policy.
    pub policy: CallingEncryptionType,
    /// Where that policy comes from.
    pub policy_source: PolicySource,
    /// Their stored "End-to-end encrypted calls" choice (forced on under `Required` and
    /// `RequiredPostQuantum`, ignored under `Disabled`).
    pub user_choice: bool,
    /// Whether their device can negotiate end-to-end encryption.
    pub capability: Capability,
    /// Whether their calls are recorded for compliance.
    pub compliance_recording: bool,
}

/// The shape of the call being placed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallShape {
    /// How many people take part (2 for a one-to-one call).
    pub participants: u32,
    /// Whether the call is scheduled (a meeting) rather than placed directly.
    pub scheduled: bool,
}

impl CallShape {
    /// An unscheduled one-to-one call.
    pub fn one_to_one() -> Self {
        Self {
            participants: 2,
            scheduled: false,
        }
    }

    /// Whether exactly two people take part.
    pub fn is_one_to_one(self) -> bool {
        self.participants == 2
    }
}

/// Why a call is not end-to-end encrypted. Reasons carry no call content; each can be shown to
/// either person with [`user_message`](Reason::user_message).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Reason {
    /// The call has more or fewer than two people.
    NotOneToOne {
        /// How many people take part.
        participants: u32,
    },
    /// The call is scheduled.
    Scheduled,
    /// This side's policy is `Disabled`.
    PolicyDisabled {
        /// Whose policy.
        side: Side,
    },
    /// This side's policy allows it, but they haven't turned the setting on.
    SettingOff {
        /// Who.
        side: Side,
    },
    /// This side's device platform can't do end-to-end encryption.
    UnsupportedPlatform {
        /// Whose device.
        side: Side,
        /// The platform it reported.
        platform: Platform,
    },
    /// This side's client is older than the organisation's minimum.
    OutdatedClient {
        /// Whose client.
        side: Side,
        /// The minimum version.
        minimum: ClientVersion,
    },
    /// This side's calls are recorded for compliance.
    ComplianceRecording {
        /// Who.
        side: Side,
    },
}

impl Reason {
    /// The person the reason is about, or `None` for a reason about the call itself.
    pub fn side(self) -> Option<Side> {
        match self {
            Reason::NotOneToOne { .. } | Reason::Scheduled => None,
            Reason::PolicyDisabled { side }
            | Reason::SettingOff { side }
            | Reason::UnsupportedPlatform { side, .. }
            | Reason::OutdatedClient { side, .. }
            | Reason::ComplianceRecording { side } => Some(side),
        }
    }

    /// The reason as `viewer` should read it ("you …" about themselves, "the other person …"
    /// about the other side). Content-free: no names, no call content.
    pub fn user_message(self, viewer: Side) -> String {
        let mine = self.side() == Some(viewer);
        match self {
            Reason::NotOneToOne { .. } => {
                "end-to-end encryption is only available in one-to-one calls".to_owned()
            }
            Reason::Scheduled => {
                "end-to-end encryption is only available in unscheduled calls".to_owned()
            }
            Reason::PolicyDisabled { .. } if mine => {
                "your organisation hasn't allowed end-to-end encrypted calls for you".to_owned()
            }
            Reason::PolicyDisabled { .. } => {
                "end-to-end encrypted calls aren't allowed for the other person".to_owned()
            }
            Reason::SettingOff { .. } if mine => {
                "you haven't turned on end-to-end encrypted calls (Settings > Privacy)".to_owned()
            }
            Reason::SettingOff { .. } => {
                "the other person hasn't turned on end-to-end encrypted calls".to_owned()
            }
            Reason::UnsupportedPlatform { .. } if mine => {
                "this device doesn't support end-to-end encrypted calls".to_owned()
            }
            Reason::UnsupportedPlatform { .. } => {
                "the other person's device doesn't support end-to-end encrypted calls".to_owned()
            }
            Reason::OutdatedClient { minimum, .. } if mine => format!(
                "update Sealcall to version {minimum} or later to make end-to-end encrypted calls"
            ),
            Reason::OutdatedClient { .. } => {
                "the other person needs to update Sealcall for end-to-end encrypted calls"
                    .to_owned()
            }
            Reason::ComplianceRecording { .. } if mine => {
                "your calls are recorded for compliance, so they can't be end-to-end encrypted"
                    .to_owned()
            }
            Reason::ComplianceRecording { .. } => {
                "the other person's calls are recorded for compliance, so this call can't be end-to-end encrypted"
                    .to_owned()
            }
        }
    }
}

/// What a call's content is, for saying which of it end-to-end encryption covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ContentKind {
    /// Voice.
    Audio,
    /// Video.
    Video,
    /// Screen sharing.
    ScreenSharing,
    /// Chat messages (protected by service encryption, not end-to-end).
    Chat,
    /// Shared files (protected by service encryption, not end-to-end).
    FileSharing,
    /// Presence (protected by service encryption, not end-to-end).
    Presence,
}

impl ContentKind {
    /// Every kind.
    pub const ALL: [ContentKind; 6] = [
        ContentKind::Audio,
        ContentKind::Video,
        ContentKind::ScreenSharing,
        ContentKind::Chat,
        ContentKind::FileSharing,
        ContentKind::Presence,
    ];

    /// Whether this content travels end-to-end encrypted in an end-to-end encrypted call: only
    /// the real-time media (audio, video, screen sharing).
    pub fn is_real_time_media(self) -> bool {
        matches!(
            self,
            ContentKind::Audio | ContentKind::Video | ContentKind::ScreenSharing
        )
    }
}

/// Proof that [`decide`] found a call eligible for end-to-end encryption.
///
/// It has private fields and no public constructor, and is neither `Clone`, `Serialize` nor
/// `Deserialize`: the only way to obtain one is a [`Decision::EndToEnd`] returned by [`decide`].
/// The media engine requires it to derive end-to-end media keys, so no code path can skip the
/// policy check. It names exactly the two people whose endpoints hold the keys.
///
/// It can't be built outside this crate:
///
/// ```compile_fail
/// # use sealcall_policy::*;
/// let forged = E2eeGrant { caller: UserId::new("a").unwrap(), callee: UserId::new("b").unwrap(), _sealed: () };
/// ```
///
/// nor copied, nor deserialised:
///
/// ```compile_fail
/// fn clone_it<T: Clone>() {}
/// clone_it::<sealcall_policy::E2eeGrant>();
/// ```
///
/// ```compile_fail
/// fn from_json<T: serde::de::DeserializeOwned>() {}
/// from_json::<sealcall_policy::E2eeGrant>();
/// ```
///
/// (whereas the summary, which proves nothing, can be:)
///
/// ```
/// fn from_json<T: serde::de::DeserializeOwned>() {}
/// from_json::<sealcall_policy::DecisionSummary>();
/// ```
#[derive(Debug, PartialEq, Eq)]
pub struct E2eeGrant {
    caller: UserId,
    callee: UserId,
    _sealed: (),
}

impl E2eeGrant {
    /// Only the policy crate's decisions ([`decide`], [`settle`](crate::settle)) create one.
    pub(crate) fn new(caller: UserId, callee: UserId) -> Self {
        Self {
            caller,
            callee,
            _sealed: (),
        }
    }

    /// The caller.
    pub fn caller(&self) -> &UserId {
        &self.caller
    }

    /// The callee.
    pub fn callee(&self) -> &UserId {
        &self.callee
    }

    /// The only two parties whose endpoints encrypt and decrypt the call's media.
    pub fn parties(&self) -> [&UserId; 2] {
        [&self.caller, &self.callee]
    }

    /// Whether `content` is end-to-end encrypted in this call (audio, video, screen sharing).
    pub fn covers(&self, content: ContentKind) -> bool {
        content.is_real_time_media()
    }
}

/// The outcome of [`decide`].
#[derive(Debug, PartialEq, Eq)]
pub enum Decision {
    /// The call is end-to-end encrypted; the grant is the proof the media engine needs.
    EndToEnd(E2eeGrant),
    /// The call goes ahead with standard (transport and service) encryption.
    Standard {
        /// Every reason it isn't end-to-end encrypted (at least one).
        reasons: Vec<Reason>,
    },
    /// A party whose policy requires end-to-end encryption (`Required`, `RequiredPostQuantum`)
    /// can't get it: no call.
    Refused {
        /// Whose policy requires end-to-end encryption.
        required_by: Vec<Side>,
        /// Every reason it can't be end-to-end encrypted (at least one).
        reasons: Vec<Reason>,
    },
}

/// The kind of [`Decision`], without the proof.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Outcome {
    /// End-to-end encrypted.
    EndToEnd,
    /// Standard encryption.
    Standard,
    /// Refused.
    Refused,
}

/// The security indicator a client shows during a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CallIndicator {
    /// A shield with a lock: end-to-end encrypted; selecting it shows the security code.
    ShieldWithLock,
    /// A shield without a lock: encrypted in transit and at rest, not end-to-end.
    Shield,
}

/// A serialisable copy of a [`Decision`] without the proof, for attaching to an invite or a log.
/// Deserialising one never yields an [`E2eeGrant`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionSummary {
    /// The outcome.
    pub outcome: Outcome,
    /// Whose policy requires end-to-end encryption (for `Refused`).
    pub required_by: Vec<Side>,
    /// The reasons (empty for `EndToEnd`).
    pub reasons: Vec<Reason>,
}

impl DecisionSummary {
    /// The call indicator, or `None` for a refused call.
    pub fn indicator(&self) -> Option<CallIndicator> {
        match self.outcome {
            Outcome::EndToEnd => Some(CallIndicator::ShieldWithLock),
            Outcome::Standard => Some(CallIndicator::Shield),
            Outcome::Refused => None,
        }
    }

    /// The messages to show `viewer`: for a refused call a headline first, then every reason.
    pub fn user_messages(&self, viewer: Side) -> Vec<String> {
        let mut out = Vec::new();
        if self.outcome == Outcome::Refused {
            out.push(if self.required_by.contains(&viewer) {
                "your organisation requires end-to-end encrypted calls, and this call can't be end-to-end encrypted".to_owned()
            } else {
                "the other person's organisation requires end-to-end encrypted calls, and this call can't be end-to-end encrypted".to_owned()
            });
        }
        out.extend(self.reasons.iter().map(|r| r.user_message(viewer)));
        out
    }
}

impl Decision {
    /// The proof, if the call is end-to-end encrypted.
    pub fn grant(&self) -> Option<&E2eeGrant> {
        match self {
            Decision::EndToEnd(grant) => Some(grant),
            _ => None,
        }
    }

    /// Whether the call is end-to-end encrypted.
    pub fn is_end_to_end(&self) -> bool {
        self.grant().is_some()
    }

    /// The outcome kind.
    pub fn outcome(&self) -> Outcome {
        match self {
            Decision::EndToEnd(_) => Outcome::EndToEnd,
            Decision::Standard { .. } => Outcome::Standard,
            Decision::Refused { .. } => Outcome::Refused,
        }
    }

    /// The reasons (empty for `EndToEnd`).
    pub fn reasons(&self) -> &[Reason] {
        match self {
            Decision::EndToEnd(_) => &[],
            Decision::Standard { reasons } | Decision::Refused { reasons, .. } => reasons,
        }
    }

    /// A serialisable summary without the proof.
    pub fn summary(&self) -> DecisionSummary {
        DecisionSummary {
            outcome: self.outcome(),
            required_by: match self {
                Decision::Refused { required_by, .. } => required_by.clone(),
                _ => Vec::new(),
            },
            reasons: self.reasons().to_vec(),
        }
    }

    /// The messages to show `viewer` (see [`DecisionSummary::user_messages`]).
    pub fn user_messages(&self, viewer: Side) -> Vec<String> {
        self.summary().user_messages(viewer)
    }
}

pub(crate) fn party_reasons(party: &Party, side: Side, out: &mut Vec<Reason>) {
    match party.policy {
        CallingEncryptionType::Disabled => out.push(Reason::PolicyDisabled { side }),
        CallingEncryptionType::DisabledUserOverride if !party.user_choice => {
            out.push(Reason::SettingOff { side });
        }
        CallingEncryptionType::DisabledUserOverride
        | CallingEncryptionType::Required
        | CallingEncryptionType::RequiredPostQuantum => {}
    }
    match party.capability {
        Capability::Capable => {}
        Capability::UnsupportedPlatform { platform } => {
            out.push(Reason::UnsupportedPlatform { side, platform });
        }
        Capability::OutdatedClient { minimum, .. } => {
            out.push(Reason::OutdatedClient { side, minimum });
        }
    }
    if party.compliance_recording {
        out.push(Reason::ComplianceRecording { side });
    }
}

/// Decides how a call is protected.
///
/// `EndToEnd` only for an unscheduled one-to-one call where both policies allow it, both users
/// have the setting on (forced on under `Required` and `RequiredPostQuantum`), both devices are
/// capable and neither user is under compliance recording. Otherwise `Refused` if either policy
/// requires end-to-end encryption ([`CallingEncryptionType::requires_end_to_end`]), else
/// `Standard`; both list every reason, call-level reasons first, then the caller's, then the
/// callee's.
pub fn decide(caller: &Party, callee: &Party, call: CallShape) -> Decision {
    let mut reasons = Vec::new();
    if !call.is_one_to_one() {
        reasons.push(Reason::NotOneToOne {
            participants: call.participants,
        });
    }
    if call.scheduled {
        reasons.push(Reason::Scheduled);
    }
    party_reasons(caller, Side::Caller, &mut reasons);
    party_reasons(callee, Side::Callee, &mut reasons);
    if reasons.is_empty() {
        return Decision::EndToEnd(E2eeGrant::new(caller.user.clone(), callee.user.clone()));
    }
    let required_by: Vec<Side> = [(caller, Side::Caller), (callee, Side::Callee)]
        .into_iter()
        .filter(|(p, _)| p.policy.requires_end_to_end())
        .map(|(_, s)| s)
        .collect();
    if required_by.is_empty() {
        Decision::Standard { reasons }
    } else {
        Decision::Refused {
            required_by,
            reasons,
        }
    }
}
