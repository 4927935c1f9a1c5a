//! The incoming-call banner: who calls, what the provisional decision says, Accept and Decline.

use egui::{Color32, Ui};

use crate::app::{CallPhase, Session, labels};
use crate::bridge::Bridge;

/// Draws the banner while a call rings on this device.
pub fn show(ui: &mut Ui, s: &mut Session, bridge: &Bridge) {
    let Some(c) = &s.call else { return };
    if c.phase != CallPhase::Incoming {
        return;
    }
    let (name, peer, notes) = (
        c.peer_name.clone(),
        c.peer.clone(),
        c.incoming_notes.clone(),
    );
    // Key continuity before answering: a changed key is loud, the rest a line.
    let key = c.peer_key.clone();
    egui::Frame::group(ui.style())
        .fill(ui.visuals().faint_bg_color)
        .show(ui, |ui| {
            ui.heading(format!("Incoming call from {name}"));
            ui.label(&peer);
            for n in &notes {
                ui.small(n);
            }
            if let Some(k) = &key {
                if k.status.is_warning() {
                    ui.colored_label(
                        ui.visuals().error_fg_color,
                        egui::RichText::new(format!("Warning: {}", k.status.user_message(&name)))
                            .strong(),
                    );
                } else if k.verified() {
                    ui.colored_label(Color32::from_rgb(40, 130, 60), labels::VERIFIED);
                } else {
                    ui.small(k.status.user_message(&name));
                }
            }
            ui.horizontal(|ui| {
                if ui
                    .add(egui::Button::new(labels::ACCEPT).fill(Color32::from_rgb(40, 130, 60)))
                    .clicked()
                    && let Err(e) = bridge.accept()
                {
                    s.last_end = Some(e);
                }
                if ui.button(labels::DECLINE).clicked()
                    && let Err(e) = bridge.decline()
                {
                    s.last_end = Some(e);
                }
            });
        });
    ui.separator();
}
