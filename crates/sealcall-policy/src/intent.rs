//! What one device intends for a call, and how the call's mode follows from the two signed
//! intents, with the server's decision as advice only.
//!
//! Each device derives its own [`CallIntent`] from its own state ([`LocalState`]: its user's
//! setting, the effective policy as last synced and cached on the device, its capability and
//! compliance recording) with [`local_intent`], and signs it into the call handshake. Once both
//! signatures verified, [`settle`] gives the call's mode: end-to-end encrypted exactly when both
//! signed intents are end-to-end. The server's [`Outcome`] never decides; where it contradicts
//! the signed intents the device shows a content-free warning ([`Disagreement`]), and a device
//! whose cached policy requires end-to-end encryption (`Required`, `RequiredPostQuantum`) ends
//! the call before any media flows. Only [`settle`] (like
//! [`decide`](crate::decide)) creates the [`E2eeGrant`] that media keys require.

use serde::{Deserialize, Serialize};

use crate::client::Capability;
use crate::decision::{E2eeGrant, Outcome, Party, Reason, Side, party_reasons};
use crate::model::{CallingEncryptionType, UserId};
use crate::resolve::PolicySource;

/// One party's end-to-end intent for a call, as signed into the handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CallIntent {
    /// This party can and wants to take part in an end-to-end encrypted call.
    EndToEnd,
    /// This party takes part in a standard call only.
    Standard,
}

/// What a device knows about its own user when a call starts: everything as last synced from
/// the server and cached on the device, so a server that changes its story mid-call is caught.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocalState {
    /// The signed-in user.
    pub user: UserId,
    /// The effective `CallingEndtoEndEncryptionEnabledType`, as cached.
    pub policy: CallingEncryptionType,
    /// The user's "End-to-end encrypted calls" choice, as cached.
    pub user_choice: bool,
    /// Whether this device can take part in end-to-end encryption.
    pub capability: Capability,
    /// Whether this user's calls are recorded for compliance, as cached.
    pub compliance_recording: bool,
}

impl LocalState {
    /// Every reason this device does not intend end-to-end encryption (empty: it does).
    pub fn reasons(&self, side: Side) -> Vec<Reason> {
        let party = Party {
            user: self.user.clone(),
            policy: self.policy,
            policy_source: PolicySource::Global,
            user_choice: self.user_choice,
            capability: self.capability,
            compliance_recording: self.compliance_recording,
        };
        let mut out = Vec::new();
        party_reasons(&party, side, &mut out);
        out
    }
}

/// This device's own intent, from its own state alone: end-to-end when its policy allows it,
/// the setting is on (forced on under `Required` and `RequiredPostQuantum`), the device is
/// capable and the user is not recorded for compliance.
pub fn local_intent(state: &LocalState) -> CallIntent {
    if state.reasons(Side::Caller).is_empty() {
        CallIntent::EndToEnd
    } else {
        CallIntent::Standard
    }
}

/// The server's decision contradicts what the two devices signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Disagreement {
    /// The service said standard (or refused) although both signed end-to-end.
    ServiceDowngrade,
    /// The service said end-to-end although the two signed intents are not both end-to-end.
    ServiceOverstated,
}

impl Disagreement {
    /// The warning to show, content-free.
    pub fn user_message(self) -> &'static str {
        match self {
            Disagreement::ServiceDowngrade => {
                "the service made this call standard although both of you turned on end-to-end encryption"
            }
            Disagreement::ServiceOverstated => {
                "the service said this call is end-to-end encrypted, but the two devices did not both agree to it: it is not end-to-end encrypted"
            }
        }
    }
}

/// Why this device ends a call before any media flows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EndReason {
    /// This user's policy requires end-to-end encryption (`Required`, `RequiredPostQuantum`) and
    /// the signed intents do not make the call end-to-end encrypted.
    RequiredNotEndToEnd,
    /// This user's policy requires end-to-end encryption (`Required`, `RequiredPostQuantum`) and
    /// the service contradicted the signed intents.
    RequiredServiceContradicted,
}

impl EndReason {
    /// The message to show, content-free.
    pub fn user_message(self) -> &'static str {
        match self {
            EndReason::RequiredNotEndToEnd => {
                "your organisation requires end-to-end encrypted calls, and the other device did not agree to end-to-end encryption: the call was ended"
            }
            EndReason::RequiredServiceContradicted => {
                "your organisation requires end-to-end encrypted calls, and the service contradicted what both devices agreed: the call was ended before any media"
            }
        }
    }
}

/// A call's mode once both signed intents are known.
#[derive(Debug, PartialEq, Eq)]
pub enum Settlement {
    /// Both signed end-to-end: the grant is the proof the media keys need.
    EndToEnd {
        /// The proof.
        grant: E2eeGrant,
        /// Set when the server said otherwise.
        warning: Option<Disagreement>,
    },
    /// Not both signed end-to-end: a standard call.
    Standard {
        /// Set when the server said otherwise.
        warning: Option<Disagreement>,
    },
    /// This device ends the call before any media flows.
    End {
        /// Why.
        reason: EndReason,
        /// Set when the server contradicted the signed intents.
        warning: Option<Disagreement>,
    },
}

impl Settlement {
    /// The warning to show, if any.
    pub fn warning(&self) -> Option<Disagreement> {
        match self {
            Settlement::EndToEnd { warning, .. }
            | Settlement::Standard { warning }
            | Settlement::End { warning, .. } => *warning,
        }
    }

    /// The proof, when the call is end-to-end encrypted.
    pub fn grant(&self) -> Option<&E2eeGrant> {
        match self {
            Settlement::EndToEnd { grant, .. } => Some(grant),
            _ => None,
        }
    }
}

/// The call's mode for this device (`local`, on `side` of the call with `peer`), from the intent
/// this device signed (recomputed from `local`), the intent the peer signed, and the server's
/// decision as advice.
pub fn settle(
    local: &LocalState,
    side: Side,
    peer: &UserId,
    peer_signed: CallIntent,
    server: Outcome,
) -> Settlement {
    let both = local_intent(local) == CallIntent::EndToEnd && peer_signed == CallIntent::EndToEnd;
    let warning = match (both, server) {
        (true, Outcome::Standard | Outcome::Refused) => Some(Disagreement::ServiceDowngrade),
        (false, Outcome::EndToEnd) => Some(Disagreement::ServiceOverstated),
        _ => None,
    };
    if local.policy.requires_end_to_end() {
        if !both {
            return Settlement::End {
                reason: EndReason::RequiredNotEndToEnd,
                warning,
            };
        }
        if warning.is_some() {
            return Settlement::End {
                reason: EndReason::RequiredServiceContradicted,
                warning,
            };
        }
    }
    if both {
        let (caller, callee) = match side {
            Side::Caller => (local.user.clone(), peer.clone()),
            Side::Callee => (peer.clone(), local.user.clone()),
        };
        Settlement::EndToEnd {
            grant: E2eeGrant::new(caller, callee),
            warning,
        }
    } else {
        Settlement::Standard { warning }
    }
}
