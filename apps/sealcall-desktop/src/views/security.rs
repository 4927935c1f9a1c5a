//! The panel the shield opens: for an end-to-end encrypted call, the security code to compare
//! aloud and what it covers (audio, video and screen sharing alike); for a standard call, why it
//! is not end-to-end encrypted. Under both, key continuity: "Verified" or "Mark as verified",
//! and the contact's stable safety number (in a standard call the one thing to compare).

use egui::{RichText, Ui};
use sealcall_engine::call::MediaMode;
use sealcall_engine::contacts::PeerKeyStatus;

use crate::app::{CallPhase, CallView, labels};
use crate::bridge::Bridge;

/// What end-to-end encryption covers in a call: every medium, under the one shield.
pub const E2EE_COVERS: &str = "This call's audio, video and screen sharing are end-to-end \
                               encrypted.";

/// Key continuity under the code: "Verified", or "Mark as verified" once the code is there
/// (the handshake confirmed the key on record), and the stable safety number.
fn verification(ui: &mut Ui, c: &mut CallView, bridge: &Bridge) {
    let Some(key) = c.peer_key.clone() else {
        return;
    };
    ui.separator();
    if key.verified() {
        ui.colored_label(
            egui::Color32::from_rgb(40, 130, 60),
            RichText::new(labels::VERIFIED).strong(),
        );
        ui.label(format!(
            "You verified {}'s device before, and its key has not changed.",
            c.peer_name
        ));
    } else {
        ui.label(key.status.user_message(&c.peer_name));
        // Once connected, the handshake confirmed the key on record.
        let ready = c.phase == CallPhase::Connected;
        if ui
            .add_enabled(ready, egui::Button::new(labels::MARK_VERIFIED))
            .on_hover_text("Only after the two of you read the same code or safety number")
            .clicked()
        {
            match bridge.mark_verified(&c.peer, &key.device) {
                Ok(()) => {
                    if let Some(k) = &mut c.peer_key {
                        k.status = PeerKeyStatus::Known { verified: true };
                    }
                    c.verify_note = Some(format!(
                        "{} is verified on this device. A key change will be shown and removes \
                         the mark.",
                        c.peer_name
                    ));
                }
                Err(e) => c.verify_note = Some(format!("Could not mark as verified: {e}")),
            }
        }
    }
    if let Some(note) = &c.verify_note {
        ui.small(note);
    }
    ui.label("Safety number (the same in every call while neither device changes):");
    ui.label(RichText::new(&key.safety_number).monospace());
}

/// Draws the panel.
pub fn show(ui: &mut Ui, c: &mut CallView, bridge: &Bridge) {
    egui::Frame::group(ui.style()).show(ui, |ui| {
        ui.set_width(ui.available_width());
        match &c.mode {
            Some(MediaMode::EndToEnd) => {
                ui.strong(labels::SECURITY_CODE);
                match &c.code {
                    Some(code) => {
                        ui.label(RichText::new(code).monospace().size(26.0).strong());
                    }
                    None => {
                        ui.label("Waiting for the security code…");
                    }
                }
                ui.label(E2EE_COVERS);
                ui.label(format!(
                    "Read this code aloud with {}. If the codes are the same, only the two of \
                     you can hear and see this call. If they differ, hang up: someone may be \
                     intercepting it.",
                    c.peer_name
                ));
                verification(ui, c, bridge);
            }
            Some(MediaMode::Standard { reasons }) => {
                ui.strong("This call is not end-to-end encrypted");
                if reasons.is_empty() {
                    ui.label("End-to-end encryption was not used for this call.");
                }
                for r in reasons {
                    ui.label(format!("• {r}"));
                }
                ui.label(
                    "Its audio, video and screen sharing are still encrypted between each \
                     device and the server (standard encryption).",
                );
                verification(ui, c, bridge);
            }
            None => {
                ui.label("Connecting…");
            }
        }
    });
}
