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
            let busy = form.busy;
            if field(
                ui,
                busy,
                labels::SERVER,
                &mut form.server,
                "https://calls.example.com:7878",
                false,
            )
            .changed()
            {
                form.recall_trust();
            }
            field(
                ui,
                busy,
                labels::USER,
                &mut form.user,
                "you@example.com",
                false,
            );
            let r = field(ui, busy, labels::PASSWORD, &mut form.password, "", true);
            if r.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter)) {
                submit = true;
            }
            // A private server: its CA certificate, or its certificate's fingerprint.
            let hint = "optional: /path/to/ca.pem";
            field(ui, busy, labels::CA_FILE, &mut form.ca_file, hint, false);
            let hint = "optional: SHA256:AB:CD:…";
            field(ui, busy, labels::PIN, &mut form.pin, hint, false);
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
    ui.small(
        "The first sign-in on this computer creates its device identity. For a private server, \
         give its CA certificate file or the certificate fingerprint your administrator gave \
         you; both are remembered for that server.",
    );
    submit
}

/// One labelled row of the form.
fn field(
    ui: &mut Ui,
    busy: bool,
    label: &str,
    text: &mut String,
    hint: &str,
    password: bool,
) -> egui::Response {
    let l = ui.label(label);
    let r = ui
        .add_enabled(
            !busy,
            egui::TextEdit::singleline(text)
                .hint_text(hint)
                .password(password)
                .desired_width(280.0),
        )
        .labelled_by(l.id);
    ui.end_row();
    r
}
