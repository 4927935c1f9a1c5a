//! The signed-in window: the header (who is signed in, the connection, Sign out), the incoming
//! banner, then the call view during a call, or the tabs (People, History, Settings) otherwise,
//! and the engine's notices at the bottom.

use egui::Ui;
use sealcall_engine::ConnectionState;
use sealcall_engine::media::device::DeviceList;

use super::Request;
use crate::app::{CallPhase, Session, Tab, labels};
use crate::bridge::Bridge;

/// Draws the signed-in window; returns what the app should do beyond the session's state.
pub fn show(
    ui: &mut Ui,
    s: &mut Session,
    bridge: &mut Bridge,
    devices: &DeviceList,
) -> Option<Request> {
    let mut request = None;
    ui.horizontal(|ui| {
        ui.heading("Sealcall");
        ui.separator();
        ui.label(format!(
            "Signed in as {} ({})",
            s.info.display_name, s.info.user
        ));
        if let ConnectionState::Reconnecting(n) = s.connection {
            ui.colored_label(
                ui.visuals().warn_fg_color,
                format!("Reconnecting to the server (attempt {n})…"),
            );
        }
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            if ui.button(labels::SIGN_OUT).clicked() {
                request = Some(Request::SignOut);
            }
        });
    });
    ui.separator();
    let mut dismissed = false;
    for alert in &s.device_alerts {
        ui.colored_label(
            ui.visuals().error_fg_color,
            egui::RichText::new(format!("Warning: {alert}")).strong(),
        );
    }
    if !s.device_alerts.is_empty() {
        dismissed = ui.button(labels::DISMISS).clicked();
        ui.separator();
    }
    if dismissed {
        s.device_alerts.clear();
    }
    super::incoming::show(ui, s, bridge);
    let in_call = s
        .call
        .as_ref()
        .is_some_and(|c| c.phase != CallPhase::Incoming);
    if in_call {
        super::call::show(ui, s, bridge, devices);
    } else {
        ui.horizontal(|ui| {
            ui.selectable_value(&mut s.tab, Tab::People, labels::PEOPLE);
            ui.selectable_value(&mut s.tab, Tab::History, labels::HISTORY);
            ui.selectable_value(&mut s.tab, Tab::Settings, labels::SETTINGS);
        });
        ui.separator();
        if let Some(end) = &s.last_end {
            ui.label(format!("Last call: {end}"));
        }
        match s.tab {
            Tab::People => super::people::show(ui, s, bridge),
            Tab::History => super::history::show(ui, s),
            Tab::Settings => {
                if let Some(r) = super::settings::show(ui, s, bridge, devices) {
                    request = Some(r);
                }
            }
        }
    }
    if !s.notices.is_empty() {
        ui.separator();
        for n in &s.notices {
            ui.small(format!("Note: {n}"));
        }
    }
    request
}
