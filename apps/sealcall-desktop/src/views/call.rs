//! The call view: who, the status and the call time; while it rings out, Cancel; once answered,
//! the shield, Mute, Hold, the camera and screen-share buttons, Hang up and More, then the video, the
//! security panel, the audio choosers and the statistics.

use egui::{Color32, RichText, Ui};
use sealcall_engine::media::device::DeviceList;
use sealcall_engine::{RecordingState, STANDARD_CALL_FEATURES, ScreenSpec, VideoSpec};
use sealcall_policy::Feature;

use super::stats::Part;
use crate::app::{CallPhase, CallView, Session, labels};
use crate::bridge::Bridge;
use crate::video::{ScreenPicker, describe_share};
use crate::{text, widgets};

/// Draws the current call (not a ringing incoming one: that is the banner).
pub fn show(ui: &mut Ui, s: &mut Session, bridge: &mut Bridge, devices: &DeviceList) {
    let fallback = (s.input_fallback, s.output_fallback);
    let Some(c) = &mut s.call else { return };
    ui.vertical_centered(|ui| {
        ui.heading(&c.peer_name);
        ui.label(&c.peer);
        if c.peer_key.as_ref().is_some_and(|k| k.verified()) {
            ui.colored_label(
                Color32::from_rgb(40, 130, 60),
                RichText::new(labels::VERIFIED).strong(),
            );
        }
        let status = match c.phase {
            CallPhase::Placing => "Calling…".to_owned(),
            CallPhase::Ringing => "Ringing…".to_owned(),
            CallPhase::Incoming => "Incoming call".to_owned(),
            CallPhase::Connecting => "Connecting…".to_owned(),
            CallPhase::Connected => {
                let elapsed = c.connected_at.map(|t| t.elapsed()).unwrap_or_default();
                format!("Call time {}", text::clock(elapsed))
            }
        };
        ui.label(RichText::new(status).size(18.0));
        if c.phase == CallPhase::Connected && c.hold.is_held() {
            let held = if c.hold.by_me {
                labels::ON_HOLD_BY_ME
            } else {
                labels::ON_HOLD_BY_PEER
            };
            ui.colored_label(ui.visuals().warn_fg_color, RichText::new(held).strong());
        }
    });
    for warning in &c.security_warnings {
        ui.vertical_centered(|ui| {
            ui.colored_label(
                ui.visuals().error_fg_color,
                RichText::new(format!("Warning: {warning}")).strong(),
            );
        });
    }
    ui.add_space(8.0);
    if matches!(c.phase, CallPhase::Placing | CallPhase::Ringing) {
        ui.vertical_centered(|ui| {
            if ui
                .add(egui::Button::new(labels::CANCEL).fill(Color32::from_rgb(170, 40, 40)))
                .clicked()
                && let Err(e) = bridge.cancel()
            {
                c.feature_note = Some(e);
            }
        });
        return;
    }
    // Answered: shield, controls, video, security, audio, stats.
    controls(ui, c, bridge);
    recording(ui, c, bridge);
    notes(ui, c);
    let room = ui.available_size();
    if c.video.any_shown() && room.x >= WIDE {
        // Wide, with video: the pictures, the audio choosers and the call (audio) statistics
        // on the left; the security panel and the video streams' statistics beside them.
        let side = (room.x * 0.36).clamp(340.0, 460.0);
        let gap = ui.spacing().item_spacing.x * 2.0;
        let left = room.x - side - gap;
        ui.horizontal_top(|ui| {
            ui.allocate_ui_with_layout(
                egui::vec2(left, room.y),
                egui::Layout::top_down(egui::Align::Min),
                |ui| {
                    super::video::show(ui, c, (room.y * 0.62).max(180.0));
                    ui.add_space(6.0);
                    audio(ui, bridge, devices, fallback);
                    ui.add_space(6.0);
                    egui::ScrollArea::vertical()
                        .id_salt("call-audio-stats")
                        .auto_shrink([false, true])
                        .show(ui, |ui| super::stats::show(ui, c, Part::Audio));
                },
            );
            ui.add_space(gap / 2.0);
            ui.allocate_ui_with_layout(
                egui::vec2(side, room.y),
                egui::Layout::top_down(egui::Align::Min),
                |ui| {
                    egui::ScrollArea::vertical()
                        .id_salt("call-side")
                        .auto_shrink([false, true])
                        .show(ui, |ui| {
                            if c.show_security {
                                super::security::show(ui, c, bridge);
                                ui.add_space(6.0);
                            }
                            super::stats::show_video(ui, c);
                        });
                },
            );
        });
    } else {
        egui::ScrollArea::vertical()
            .id_salt("call")
            .auto_shrink([false, true])
            .show(ui, |ui| {
                super::video::show(ui, c, (room.y * 0.6).clamp(180.0, 480.0));
                if c.show_security {
                    ui.add_space(6.0);
                    super::security::show(ui, c, bridge);
                }
                ui.add_space(6.0);
                audio(ui, bridge, devices, fallback);
                ui.add_space(6.0);
                super::stats::show(ui, c, Part::All);
            });
    }
    super::screen_picker::show(ui, c, bridge);
}

/// From this width on, a call with video shows the security panel and the statistics beside
/// the pictures instead of under them.
const WIDE: f32 = 1000.0;

fn audio(ui: &mut Ui, bridge: &mut Bridge, devices: &DeviceList, fallback: (bool, bool)) {
    if let Err(e) = super::audio::picker(ui, "call", bridge, devices, fallback) {
        ui.colored_label(ui.visuals().error_fg_color, e);
    }
}

/// The row of call controls.
fn controls(ui: &mut Ui, c: &mut CallView, bridge: &mut Bridge) {
    let e2ee = c.end_to_end();
    // Until the two signed intents settle the call, neither the lock nor the features follow
    // the server's announcement.
    let settled = c.mode.is_some();
    ui.horizontal(|ui| {
        if settled {
            if widgets::shield_button(ui, e2ee).clicked() {
                c.show_security = !c.show_security;
            }
            if let Some(pq) = c.post_quantum.filter(|_| e2ee) {
                ui.label(pq.label());
            }
        } else {
            ui.label(labels::SECURING);
        }
        ui.separator();
        if ui.toggle_value(&mut c.muted, labels::MUTE).changed() {
            bridge.set_muted(c.muted);
        }
        if settled {
            let (label, hold) = if c.hold.by_me {
                (labels::RESUME, false)
            } else {
                (labels::HOLD, true)
            };
            if ui.button(label).clicked()
                && let Err(e) = bridge.set_hold(hold)
            {
                c.feature_note = Some(e);
            }
        }
        let camera = if c.camera_on {
            labels::CAMERA_OFF
        } else {
            labels::CAMERA_ON
        };
        if ui.button(camera).clicked() {
            toggle_camera(c, bridge);
        }
        if c.sharing.is_some() {
            if ui.button(labels::STOP_SHARING).clicked() {
                match bridge.share_screen(ScreenSpec::None) {
                    Ok(()) => {
                        c.sharing = None;
                        c.video.local_screen.clear();
                    }
                    Err(e) => c.screen_note = Some(e),
                }
            }
        } else if ui.button(labels::SHARE_SCREEN).clicked() {
            c.picker = Some(ScreenPicker::default());
            c.screen_note = None;
            bridge.list_windows();
        }
        if ui
            .add(egui::Button::new(labels::HANG_UP).fill(Color32::from_rgb(170, 40, 40)))
            .clicked()
            && let Err(e) = bridge.hangup()
        {
            c.feature_note = Some(e);
        }
        more(ui, c, bridge, e2ee, settled);
    });
}

/// "More": in an end-to-end encrypted call, every feature the policy blocks, disabled, with the
/// policy's reason; in a standard call the ones Sealcall offers. Captions, merge, adding a
/// participant and apps are not there: they need group calls or speech models Sealcall does
/// not have (docs/USER.md).
fn more(ui: &mut Ui, c: &mut CallView, bridge: &Bridge, e2ee: bool, settled: bool) {
    if !settled || (!e2ee && STANDARD_CALL_FEATURES.is_empty()) {
        return;
    }
    ui.menu_button(labels::MORE, |ui| {
        if e2ee {
            for feature in Feature::ALL {
                ui.add_enabled(false, egui::Button::new(feature.display_name()))
                    .on_disabled_hover_text(feature.user_message());
            }
            return;
        }
        for &feature in STANDARD_CALL_FEATURES {
            if ui.button(feature.display_name()).clicked() {
                match bridge.request_feature(feature) {
                    Ok(()) if feature == Feature::Recording => {
                        if c.recording.is_none() {
                            let dir = bridge
                                .settings()
                                .recordings_dir
                                .clone()
                                .unwrap_or_else(|| crate::prefs::data_dir().join("recordings"));
                            c.record_path = Some(default_recording_path(&dir, &c.peer));
                        }
                    }
                    Ok(()) => {}
                    Err(e) => c.feature_note = Some(e),
                }
                ui.close();
            }
        }
    });
}

/// Where a recording goes unless the user types another file: `dir` (the data folder's
/// `recordings/` by default), named after the other person and the time.
fn default_recording_path(dir: &std::path::Path, peer: &str) -> String {
    let who: String = peer
        .split('@')
        .next()
        .unwrap_or("call")
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '.' || *c == '-')
        .collect();
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    dir.join(format!("call-with-{who}-{secs}.wav"))
        .display()
        .to_string()
}

/// A white-on-red bar.
fn red_bar(ui: &mut Ui, text: &str) {
    egui::Frame::new()
        .fill(Color32::from_rgb(150, 40, 40))
        .corner_radius(4.0)
        .inner_margin(egui::Margin::symmetric(8, 4))
        .show(ui, |ui| {
            ui.label(RichText::new(text).color(Color32::WHITE).strong());
        });
}

/// The recording panel (choose the file, start), the recording bar (stop), and the bar that
/// says the other person records.
fn recording(ui: &mut Ui, c: &mut CallView, bridge: &Bridge) {
    if c.peer_recording {
        red_bar(ui, labels::PEER_RECORDING);
    }
    if let Some(state) = &c.recording {
        let on = matches!(state, RecordingState::Recording { .. });
        ui.horizontal(|ui| {
            if on {
                red_bar(ui, labels::RECORDING);
            } else {
                ui.label(labels::RECORDING_WAITING);
            }
            if ui.button(labels::STOP_RECORDING).clicked()
                && let Err(e) = bridge.stop_recording()
            {
                c.feature_note = Some(e);
            }
        });
        return;
    }
    let Some(path) = &mut c.record_path else {
        return;
    };
    let mut start = false;
    let mut cancel = false;
    ui.horizontal(|ui| {
        let label = ui.label(labels::RECORD_TO);
        ui.add(egui::TextEdit::singleline(path).desired_width(360.0))
            .labelled_by(label.id);
        start = ui.button(labels::START_RECORDING).clicked();
        cancel = ui.button(labels::RECORD_CANCEL).clicked();
    });
    ui.label(
        "A stereo WAV: your side on the left, the other person on the right. They are told, \
         and recording begins once their device shows it.",
    );
    if start {
        let file = std::path::PathBuf::from(path.trim());
        match bridge.start_recording(&file) {
            Ok(()) => c.record_path = None,
            Err(e) => c.feature_note = Some(e),
        }
    } else if cancel {
        c.record_path = None;
    }
}

/// Turns the camera on (the system camera; the engine sends the test pattern, with a notice,
/// when there is none) or off.
fn toggle_camera(c: &mut CallView, bridge: &Bridge) {
    let on = !c.camera_on;
    let spec = if on {
        VideoSpec::Camera
    } else {
        VideoSpec::None
    };
    match bridge.set_camera(spec) {
        Ok(()) => {
            c.camera_on = on;
            if !on {
                c.camera_note = None;
                c.video.local_camera.clear();
            }
        }
        Err(e) => c.camera_note = Some(e),
    }
}

/// The answers and notes under the controls, and the "You are sharing" indicator.
fn notes(ui: &mut Ui, c: &CallView) {
    if let Some(note) = &c.feature_note {
        ui.label(note);
    }
    if let Some(note) = &c.camera_note {
        ui.colored_label(ui.visuals().warn_fg_color, format!("Camera: {note}"));
    }
    if let Some(note) = &c.screen_note {
        ui.colored_label(ui.visuals().warn_fg_color, note);
    }
    let Some(spec) = &c.sharing else { return };
    let what = describe_share(spec);
    egui::Frame::new()
        .fill(Color32::from_rgb(150, 40, 40))
        .corner_radius(4.0)
        .inner_margin(egui::Margin::symmetric(8, 4))
        .show(ui, |ui| {
            ui.horizontal(|ui| {
                ui.label(
                    RichText::new(labels::SHARING)
                        .color(Color32::WHITE)
                        .strong(),
                );
                ui.label(RichText::new(format!("({what})")).color(Color32::WHITE));
            });
        });
}
