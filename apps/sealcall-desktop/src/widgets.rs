//! Custom widgets: the call's security shield.

use egui::{Color32, Pos2, Rect, Response, Sense, Shape, Stroke, Ui, Vec2, WidgetInfo};

use crate::app::labels;

/// The shield button: a shield with a lock for an end-to-end encrypted call (its audio, video and
/// screen sharing alike), a shield without a lock for standard encryption, followed by its text.
/// Its accessible name is the text.
pub fn shield_button(ui: &mut Ui, end_to_end: bool) -> Response {
    let text = if end_to_end {
        labels::SHIELD_E2EE
    } else {
        labels::SHIELD_STANDARD
    };
    let galley = egui::WidgetText::from(text).into_galley(
        ui,
        Some(egui::TextWrapMode::Extend),
        f32::INFINITY,
        egui::TextStyle::Button,
    );
    let padding = ui.spacing().button_padding;
    let icon = Vec2::new(20.0, 24.0);
    let inner = Vec2::new(icon.x + 6.0 + galley.size().x, icon.y.max(galley.size().y));
    let (rect, response) = ui.allocate_exact_size(inner + 2.0 * padding, Sense::click());
    response.widget_info(|| WidgetInfo::labeled(egui::Role::Button, ui.is_enabled(), text));
    let hover = if end_to_end {
        "Audio, video and screen sharing are end-to-end encrypted. Show the security code."
    } else {
        "Not end-to-end encrypted. Show why."
    };
    let response = response.on_hover_text(hover);
    if ui.is_rect_visible(rect) {
        let visuals = ui.style().interact(&response);
        ui.painter().rect(
            rect.expand(visuals.expansion),
            visuals.corner_radius,
            visuals.weak_bg_fill,
            visuals.bg_stroke,
            egui::StrokeKind::Inside,
        );
        let icon_rect = Rect::from_min_size(
            Pos2::new(rect.min.x + padding.x, rect.center().y - icon.y / 2.0),
            icon,
        );
        paint_shield(ui, icon_rect, end_to_end);
        let text_pos = Pos2::new(
            icon_rect.max.x + 6.0,
            rect.center().y - galley.size().y / 2.0,
        );
        ui.painter().galley(text_pos, galley, visuals.text_color());
    }
    response
}

/// Paints a shield (green with a white lock for E2EE, grey and empty otherwise) into `r`.
fn paint_shield(ui: &Ui, r: Rect, lock: bool) {
    let fill = if lock {
        Color32::from_rgb(30, 140, 70)
    } else {
        Color32::from_rgb(120, 120, 130)
    };
    let (x0, x1, y0, y1) = (r.min.x, r.max.x, r.min.y, r.max.y);
    let cx = r.center().x;
    let points = vec![
        Pos2::new(x0, y0 + 4.0),
        Pos2::new(cx, y0),
        Pos2::new(x1, y0 + 4.0),
        Pos2::new(x1, y0 + r.height() * 0.55),
        Pos2::new(cx, y1),
        Pos2::new(x0, y0 + r.height() * 0.55),
    ];
    let painter = ui.painter();
    painter.add(Shape::convex_polygon(points, fill, Stroke::NONE));
    if lock {
        let white = Color32::WHITE;
        let body = Rect::from_min_max(
            Pos2::new(cx - 5.0, r.center().y - 1.0),
            Pos2::new(cx + 5.0, r.center().y + 6.0),
        );
        painter.rect_filled(body, 1.5, white);
        let radius = 3.5;
        let centre = Pos2::new(cx, body.min.y);
        let arc: Vec<Pos2> = (0..=12)
            .map(|i| {
                let a = std::f32::consts::PI * (i as f32) / 12.0;
                Pos2::new(centre.x - radius * a.cos(), centre.y - radius * a.sin())
            })
            .collect();
        painter.add(Shape::line(arc, Stroke::new(1.8, white)));
    }
}
