//! The sign-in form.

use egui::Ui;

use crate::app::{SignInForm, labels};

/// Draws the form (and `banner`, a message after a sign-out or a lost connection); returns
/// whether the user asked to sign in (the button or Enter in the password field).
pub fn show(ui: &mut Ui, form: &mut SignInForm, banner: Option<&str>) -> bool {
    ui.vertical_centered(|ui| {
        ui.add_space(24.0);
        ui.heading("Sealcall");
        ui.label("End-to-end encrypted calls");
        ui.add_space(16.0);
    });
    if let Some(banner) = banner {
        ui.colored_label(ui.visuals().warn_fg_color, banner);
    }
    let mut submit = false;
    egui::Grid::new("sign-in")
        .num_columns(2)
        .spacing([12.0, 8.0])
        .show(ui, |ui| {
            let l = ui.label(labels::SERVER);
            ui.add_enabled(
                !form.busy,
                egui::TextEdit::singleline(&mut form.server)
                    .hint_text("http://127.0.0.1:7878")
                    .desired_width(280.0),
            )
            .labelled_by(l.id);
            ui.end_row();
            let l = ui.label(labels::USER);
            ui.add_enabled(
                !form.busy,
                egui::TextEdit::singleline(&mut form.user)
                    .hint_text("you@example.com")
                    .desired_width(280.0),
            )
            .labelled_by(l.id);
            ui.end_row();
            let l = ui.label(labels::PASSWORD);
            let r = ui
                .add_enabled(
                    !form.busy,
                    egui::TextEdit::singleline(&mut form.password)
                        .password(true)
                        .desired_width(280.0),
                )
                .labelled_by(l.id);
            if r.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter)) {
                submit = true;
            }
            ui.end_row();
        });
    ui.add_space(8.0);
    if ui
        .add_enabled(!form.busy, egui::Button::new(labels::SIGN_IN))
        .clicked()
    {
        submit = true;
    }
    if form.busy {
        ui.label("Signing in…");
    }
    if let Some(error) = &form.error {
        ui.colored_label(ui.visuals().error_fg_color, error);
    }
    ui.add_space(8.0);
    ui.small("The first sign-in on this computer creates its device identity.");
    submit
}
