//! The History tab: this session's calls, newest first.

use egui::Ui;

use crate::app::Session;

/// Draws one line per call (the outcome on hover).
pub fn show(ui: &mut Ui, s: &Session) {
    if s.history.is_empty() {
        ui.label("No calls yet in this session.");
        return;
    }
    for h in &s.history {
        ui.label(h.summary()).on_hover_text(&h.outcome);
    }
}
