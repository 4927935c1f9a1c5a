//! The panel the shield opens: for an end-to-end encrypted call, the security code to compare
//! aloud and what it covers (audio, video and screen sharing alike); for a standard call, why it
//! is not end-to-end encrypted.

use egui::{RichText, Ui};
use sealcall_engine::call::MediaMode;

use crate::app::{CallView, labels};

/// What end-to-end encryption covers in a call: every medium, under the one shield.
pub const E2EE_COVERS: &str = "This call's audio, video and screen sharing are end-to-end \
                               encrypted.";

/// Draws the panel.
pub fn show(ui: &mut Ui, c: &CallView) {
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
            }
            None => {
                ui.label("Connecting…");
            }
        }
    });
}
