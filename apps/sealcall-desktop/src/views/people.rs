//! The People tab: the search box, then one row per person: the display name (strong) over the
//! sign-in address (weaker), both on one line each and shortened with "…" when the window is
//! narrow, then the presence and the Call button at the right.

use egui::{Align, Color32, Layout, RichText, Ui};
use sealcall_engine::api::DirectoryEntry;

use crate::app::{Session, labels};
use crate::bridge::Bridge;

/// Draws the search box and the people found (everyone but the signed-in user).
pub fn show(ui: &mut Ui, s: &mut Session, bridge: &Bridge) {
    ui.horizontal(|ui| {
        let l = ui.label(labels::SEARCH);
        let r = ui
            .add(egui::TextEdit::singleline(&mut s.search).hint_text("name or address"))
            .labelled_by(l.id);
        if r.changed() {
            bridge.search(&s.search);
        }
        if ui.button("Refresh").clicked() {
            bridge.search(&s.search);
        }
    });
    if let Some(e) = &s.people_error {
        ui.colored_label(ui.visuals().error_fg_color, e);
    }
    let me = s.info.user.clone();
    let others: Vec<&DirectoryEntry> = s.people.iter().filter(|p| p.user != me).collect();
    if others.is_empty() {
        ui.label("No one found.");
    }
    let mut call = None;
    egui::ScrollArea::vertical()
        .auto_shrink([false, true])
        .show(ui, |ui| {
            for (i, p) in others.into_iter().enumerate() {
                if person_row(ui, p, i % 2 == 1) {
                    call = Some(p.user.clone());
                }
            }
        });
    if let Some(user) = call
        && let Err(e) = bridge.call(&user)
    {
        s.last_end = Some(e);
    }
}

/// One person; returns whether their Call button was clicked.
fn person_row(ui: &mut Ui, p: &DirectoryEntry, striped: bool) -> bool {
    let fill = if striped {
        ui.visuals().faint_bg_color
    } else {
        Color32::TRANSPARENT
    };
    let row_height = ui.text_style_height(&egui::TextStyle::Body)
        + ui.text_style_height(&egui::TextStyle::Body)
        + ui.spacing().item_spacing.y
        + 4.0;
    let mut clicked = false;
    egui::Frame::new()
        .fill(fill)
        .inner_margin(egui::Margin::symmetric(8, 4))
        .corner_radius(4.0)
        .show(ui, |ui| {
            ui.allocate_ui_with_layout(
                egui::vec2(ui.available_width(), row_height),
                Layout::right_to_left(Align::Center),
                |ui| {
                    ui.set_min_size(egui::vec2(ui.available_width(), row_height));
                    clicked = ui.button(labels::call(&p.display_name)).clicked();
                    ui.add_space(8.0);
                    let (colour, presence) = if p.online {
                        (Color32::from_rgb(40, 160, 80), "online")
                    } else {
                        (ui.visuals().weak_text_color(), "offline")
                    };
                    ui.label(RichText::new(presence).small().color(colour));
                    let (dot, _) =
                        ui.allocate_exact_size(egui::vec2(8.0, 8.0), egui::Sense::hover());
                    ui.painter().circle_filled(dot.center(), 4.0, colour);
                    ui.add_space(12.0);
                    ui.with_layout(Layout::top_down(Align::Min), |ui| {
                        ui.add(
                            egui::Label::new(RichText::new(&p.display_name).strong()).truncate(),
                        );
                        ui.add(
                            egui::Label::new(
                                RichText::new(&p.user).color(ui.visuals().weak_text_color()),
                            )
                            .truncate(),
                        );
                    });
                },
            );
        });
    clicked
}
