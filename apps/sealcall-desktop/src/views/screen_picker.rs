//! "Share screen": a dialog offering the entire screen, each window that can be shared (listed
//! off the UI thread; when there is no display to capture, the reason is shown instead) and the
//! test pattern, which works everywhere.

use egui::Ui;
use sealcall_engine::ScreenSpec;
use sealcall_engine::media::video::screen::WindowChoice;

use crate::app::{CallView, labels};
use crate::bridge::Bridge;

/// Draws the dialog while it is open; a choice starts sharing and closes it.
pub fn show(ui: &mut Ui, c: &mut CallView, bridge: &Bridge) {
    let Some(picker) = &c.picker else { return };
    let mut choice = None;
    let mut cancel = false;
    let response = egui::Modal::new(egui::Id::unique("screen-picker")).show(ui.ctx(), |ui| {
        ui.set_width(360.0);
        ui.heading(labels::SHARE_PICKER);
        ui.label("The other person sees what you choose, end-to-end encrypted in an E2EE call.");
        ui.add_space(6.0);
        match &picker.windows {
            None => {
                ui.horizontal(|ui| {
                    ui.spinner();
                    ui.label("Looking for windows…");
                });
            }
            Some(Err(e)) => {
                ui.colored_label(ui.visuals().warn_fg_color, e);
            }
            Some(Ok(windows)) => {
                if ui.button(labels::SHARE_ENTIRE_SCREEN).clicked() {
                    choice = Some(ScreenSpec::X11 {
                        display: None,
                        window: WindowChoice::Screen,
                    });
                }
                egui::ScrollArea::vertical()
                    .max_height(220.0)
                    .show(ui, |ui| {
                        for w in windows {
                            let text = format!("{} ({}×{})", w.title, w.width, w.height);
                            if ui
                                .add(egui::Button::new(text).truncate())
                                .on_hover_text(&w.title)
                                .clicked()
                            {
                                choice = Some(ScreenSpec::X11 {
                                    display: None,
                                    window: WindowChoice::Id(w.id),
                                });
                            }
                        }
                    });
            }
        }
        if ui.button(labels::SHARE_TEST_PATTERN).clicked() {
            choice = Some(ScreenSpec::TestPattern);
        }
        ui.separator();
        if ui.button(labels::SHARE_CANCEL).clicked() {
            cancel = true;
        }
    });
    if let Some(spec) = choice {
        c.picker = None;
        match bridge.share_screen(spec.clone()) {
            Ok(()) => {
                c.sharing = Some(spec);
                c.screen_note = None;
            }
            Err(e) => c.screen_note = Some(e),
        }
    } else if cancel || response.should_close() {
        c.picker = None;
    }
}
