//! The Settings tab: Privacy (the "End-to-end encrypted calls" toggle and its policy lock, and
//! whether this device requires post-quantum protection), Audio (the device choosers) and Video
//! (whether calls start with the camera on), then Help (the log folder).

use egui::Ui;
use sealcall_engine::media::device::DeviceList;
use sealcall_engine::{PostQuantum, VideoSpec};
use sealcall_policy::SettingLock;

use crate::app::{Session, labels};
use crate::bridge::Bridge;
use crate::views::Request;

/// Draws the settings; returns the changed device choice ("Turn on my camera when a call
/// starts", "Require post-quantum protection") for the app to apply and remember.
pub fn show(
    ui: &mut Ui,
    s: &mut Session,
    bridge: &mut Bridge,
    devices: &DeviceList,
) -> Option<Request> {
    let mut request = None;
    ui.heading("Privacy");
    match &s.setting {
        None => {
            ui.label("Loading…");
        }
        Some(view) => {
            let mut on = s.setting_pending.unwrap_or(view.effective);
            let enabled = view.lock.is_none() && s.setting_pending.is_none();
            let r = ui.add_enabled(enabled, egui::Checkbox::new(&mut on, labels::E2EE_TOGGLE));
            if r.changed() {
                s.setting_pending = Some(on);
                s.setting_error = None;
                bridge.set_e2ee(on);
            }
            match view.lock {
                Some(lock) => {
                    ui.label(match lock {
                        SettingLock::OffByPolicy => labels::TURNED_OFF,
                        SettingLock::OnByPolicy => labels::REQUIRED,
                        SettingLock::OnByPolicyPostQuantum => labels::REQUIRED_POST_QUANTUM,
                    });
                    ui.small(lock.user_message());
                }
                None => {
                    ui.small(
                        "Calls between people who both have this on are encrypted so that \
                         only the two of you can hear and see them: audio, video and screen \
                         sharing. Some call features (recording, captions, transfer) are not \
                         available in these calls. The setting applies to all your devices.",
                    );
                }
            }
        }
    }
    if let Some(e) = &s.setting_error {
        ui.colored_label(ui.visuals().error_fg_color, e);
    }
    let mut require = bridge.settings().post_quantum == PostQuantum::Required;
    if ui
        .checkbox(&mut require, labels::REQUIRE_POST_QUANTUM)
        .changed()
    {
        request = Some(Request::RequirePostQuantum(require));
    }
    ui.small(
        "End-to-end encrypted calls are post-quantum protected (X25519 and ML-KEM-768) whenever          the other device can do it. With this on, this device ends an end-to-end encrypted call          that cannot be, instead of using X25519 alone. Applies to this device, from the next          call.",
    );
    ui.add_space(12.0);
    ui.heading("Audio");
    if devices.inputs.is_empty() {
        ui.label(labels::NO_AUDIO_DEVICE);
    }
    if let Err(e) = super::audio::picker(ui, "settings", bridge, devices, (false, false)) {
        ui.colored_label(ui.visuals().error_fg_color, e);
    }
    ui.add_space(6.0);
    if let Some(setting) = super::audio::processing(ui, bridge.settings().audio_processing) {
        request = Some(Request::AudioProcessing(setting));
    }
    if let Some(e) = &s.audio_error {
        ui.colored_label(ui.visuals().error_fg_color, e);
    }
    ui.small("Audio choices apply at once, in a call too, and to later calls.");
    ui.add_space(12.0);
    ui.heading("Video");
    let mut camera = bridge.settings().video != VideoSpec::None;
    if ui.checkbox(&mut camera, labels::CAMERA_AT_START).changed() {
        request = Some(Request::CameraAtStart(camera));
    }
    ui.small(
        "Otherwise calls start with your camera off; turn it on or off in the call at any time. \
         Without a camera the test pattern is sent instead.",
    );
    if let Some(e) = &s.video_error {
        ui.colored_label(ui.visuals().error_fg_color, e);
    }
    if let Some(dir) = s.log_dir.clone() {
        ui.add_space(12.0);
        super::help::show(ui, &dir, &mut s.log_error);
    }
    request
}
