//! Features that are unavailable during an end-to-end encrypted call.

use serde::{Deserialize, Serialize};

use crate::decision::Decision;

/// A call feature that end-to-end encryption rules out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Feature {
    /// Live captions and transcription.
    LiveCaptionsAndTranscription,
    /// Call transfer.
    CallTransfer,
    /// Call merge.
    CallMerge,
    /// Call park.
    CallPark,
    /// Consult then transfer.
    ConsultThenTransfer,
    /// Call companion and transfer to another device.
    CallCompanionAndTransferToAnotherDevice,
    /// Adding a participant.
    AddParticipant,
    /// Recording.
    Recording,
    /// Apps.
    Apps,
    /// Forwarding to voicemail.
    ForwardToVoicemail,
    /// Simultaneous ring.
    SimultaneousRing,
}

impl Feature {
    /// Every feature blocked in an end-to-end encrypted call.
    pub const ALL: [Feature; 11] = [
        Feature::LiveCaptionsAndTranscription,
        Feature::CallTransfer,
        Feature::CallMerge,
        Feature::CallPark,
        Feature::ConsultThenTransfer,
        Feature::CallCompanionAndTransferToAnotherDevice,
        Feature::AddParticipant,
        Feature::Recording,
        Feature::Apps,
        Feature::ForwardToVoicemail,
        Feature::SimultaneousRing,
    ];

    /// The feature's name as users see it.
    pub fn display_name(self) -> &'static str {
        match self {
            Feature::LiveCaptionsAndTranscription => "Live captions and transcription",
            Feature::CallTransfer => "Call transfer",
            Feature::CallMerge => "Call merge",
            Feature::CallPark => "Call park",
            Feature::ConsultThenTransfer => "Consult then transfer",
            Feature::CallCompanionAndTransferToAnotherDevice => {
                "Call companion and transfer to another device"
            }
            Feature::AddParticipant => "Adding a participant",
            Feature::Recording => "Recording",
            Feature::Apps => "Apps",
            Feature::ForwardToVoicemail => "Forwarding to voicemail",
            Feature::SimultaneousRing => "Simultaneous ring",
        }
    }

    /// Why the feature is unavailable, as shown to the user.
    pub fn user_message(self) -> String {
        format!(
            "{} isn't available during an end-to-end encrypted call",
            self.display_name()
        )
    }
}

/// Why a feature was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum BlockReason {
    /// The call is end-to-end encrypted.
    EndToEndEncryptedCall,
    /// The call was refused, so there is no call to use the feature in.
    CallRefused,
}

/// A typed refusal of a feature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeatureBlocked {
    /// The feature.
    pub feature: Feature,
    /// Why.
    pub reason: BlockReason,
}

impl FeatureBlocked {
    /// The message to show the user.
    pub fn user_message(&self) -> String {
        match self.reason {
            BlockReason::EndToEndEncryptedCall => self.feature.user_message(),
            BlockReason::CallRefused => format!(
                "{} isn't available because the call was refused",
                self.feature.display_name()
            ),
        }
    }
}

/// Whether `feature` may be used in a call with this decision: refused in an end-to-end
/// encrypted call (and in a refused call, which never starts); allowed in a standard call.
pub fn check_feature(decision: &Decision, feature: Feature) -> Result<(), FeatureBlocked> {
    let reason = match decision {
        Decision::Standard { .. } => return Ok(()),
        Decision::EndToEnd(_) => BlockReason::EndToEndEncryptedCall,
        Decision::Refused { .. } => BlockReason::CallRefused,
    };
    Err(FeatureBlocked { feature, reason })
}
