//! Help: where the log files are, and a button that opens their folder.

use std::path::Path;

use egui::Ui;

use crate::app::labels;

/// Draws the Help section for the log folder `dir`; shows why opening it failed, if it did.
pub fn show(ui: &mut Ui, dir: &Path, error: &mut Option<String>) {
    ui.heading(labels::HELP);
    ui.label(format!("Log files: {}", dir.display()));
    if ui.button(labels::OPEN_LOG_FOLDER).clicked() {
        *error = crate::logs::open_folder(dir)
            .err()
            .map(|e| format!("{e:#}"));
    }
    if let Some(e) = error {
        ui.colored_label(ui.visuals().error_fg_color, e.as_str());
    }
    ui.small(
        "The logs hold what happened (sign-ins, calls, errors) and never a password, key or \
         security code. Attach them when you report a problem.",
    );
}
