//! The call's video area. The main picture is the peer's shared screen when there is one,
//! otherwise the peer's camera; beside it, a column of small pictures: the peer's camera (while
//! their screen is the main picture), "Your camera" (the self-view) and "Your shared screen".
//! Each picture is an image whose accessible label says what it is. Nothing is drawn in a call
//! without video.

use egui::{Align2, Color32, FontId, Rect, Sense, Ui, Vec2, WidgetInfo};

use crate::app::{CallView, labels};
use crate::video::VideoTile;

/// The background of the video area.
const STAGE: Color32 = Color32::from_rgb(18, 20, 24);

/// Draws the video area, `height` points high at most.
pub fn show(ui: &mut Ui, c: &CallView, max_height: f32) {
    let v = &c.video;
    if !v.any_shown() {
        return;
    }
    let (main, main_label) = if v.remote_screen.is_shown() {
        (Some(&v.remote_screen), labels::SHARED_SCREEN)
    } else if v.remote_camera.is_shown() {
        (Some(&v.remote_camera), labels::REMOTE_VIDEO)
    } else {
        (None, labels::REMOTE_VIDEO)
    };
    let mut thumbs: Vec<(&VideoTile, &str, String)> = Vec::new();
    if v.remote_screen.is_shown() && v.remote_camera.is_shown() {
        thumbs.push((&v.remote_camera, labels::REMOTE_VIDEO, c.peer_name.clone()));
    }
    if v.local_camera.is_shown() {
        thumbs.push((&v.local_camera, labels::YOUR_CAMERA, "You".to_owned()));
    }
    if v.local_screen.is_shown() {
        thumbs.push((
            &v.local_screen,
            labels::YOUR_SCREEN,
            "Your screen".to_owned(),
        ));
    }

    let width = ui.available_width();
    let gap = 6.0;
    let column = if thumbs.is_empty() {
        0.0
    } else {
        (width * 0.24).min(240.0)
    };
    // As high as the main picture needs at the width it gets, and enough for the small ones.
    let main_width = width - 2.0 * gap - if column > 0.0 { column + gap } else { 0.0 };
    let aspect = main
        .and_then(VideoTile::size)
        .map_or(0.75, |[w, h]| h as f32 / w.max(1) as f32);
    let thumbs_height = thumbs.len() as f32 * (column * 0.75 + gap) + gap;
    let height = (main_width * aspect + 2.0 * gap)
        .max(thumbs_height)
        .min(max_height)
        .max(120.0);
    let (stage, _) = ui.allocate_exact_size(Vec2::new(width, height), Sense::hover());
    ui.painter().rect_filled(stage, 6.0, STAGE);
    let main_rect = Rect::from_min_max(
        stage.min + Vec2::splat(gap),
        egui::pos2(
            stage.max.x - gap - if column > 0.0 { column + gap } else { 0.0 },
            stage.max.y - gap,
        ),
    );
    match main.and_then(|t| t.texture().map(|tex| (t, tex))) {
        Some((tile, texture)) => {
            picture(ui, main_rect, tile, texture, main_label);
        }
        None => {
            ui.painter().text(
                main_rect.center(),
                Align2::CENTER_CENTER,
                format!("{} has no video", c.peer_name),
                FontId::proportional(16.0),
                Color32::from_gray(170),
            );
        }
    }
    if column > 0.0 {
        let slot_h = ((stage.height() - gap) / thumbs.len().max(3) as f32 - gap).max(40.0);
        let mut top = stage.min.y + gap;
        for (tile, label, caption) in thumbs {
            let slot = Rect::from_min_size(
                egui::pos2(stage.max.x - gap - column, top),
                Vec2::new(column, slot_h),
            );
            ui.painter().rect_filled(slot, 4.0, Color32::from_gray(32));
            if let Some(texture) = tile.texture() {
                let shown = picture(ui, slot, tile, texture, label);
                caption_on(ui, shown, &caption);
            }
            top += slot_h + gap;
        }
    }
}

/// Draws `texture` as large as fits in `area`, keeping its aspect ratio, as an image whose
/// accessible label is `label`; returns where. Painted in place: the video area's space is
/// allocated once, so the pictures do not move the layout's cursor.
fn picture(
    ui: &mut Ui,
    area: Rect,
    tile: &VideoTile,
    texture: &egui::TextureHandle,
    label: &str,
) -> Rect {
    let [w, h] = tile.size().unwrap_or([16, 9]);
    let rect = fit(area, w as f32, h as f32);
    let response = ui.interact(rect, ui.scope_id().with(label), Sense::hover());
    response.widget_info(|| {
        let mut info = WidgetInfo::new(egui::Role::Image);
        info.label = Some(label.to_owned());
        info
    });
    let uv = Rect::from_min_max(egui::pos2(0.0, 0.0), egui::pos2(1.0, 1.0));
    ui.painter().image(texture.id(), rect, uv, Color32::WHITE);
    rect
}

/// The largest rectangle with the aspect ratio `w:h` centred in `area`.
pub fn fit(area: Rect, w: f32, h: f32) -> Rect {
    if w <= 0.0 || h <= 0.0 || area.width() <= 0.0 || area.height() <= 0.0 {
        return area;
    }
    let scale = (area.width() / w).min(area.height() / h);
    Rect::from_center_size(area.center(), Vec2::new(w * scale, h * scale))
}

/// A small caption in the picture's lower left corner (painted: the picture itself carries the
/// accessible label).
fn caption_on(ui: &Ui, rect: Rect, caption: &str) {
    let painter = ui.painter();
    let galley = painter.layout_no_wrap(
        caption.to_owned(),
        FontId::proportional(12.0),
        Color32::WHITE,
    );
    let pad = Vec2::new(5.0, 2.0);
    let bg = Rect::from_min_size(
        egui::pos2(
            rect.min.x + 4.0,
            rect.max.y - 4.0 - galley.size().y - 2.0 * pad.y,
        ),
        galley.size() + 2.0 * pad,
    );
    painter.rect_filled(bg, 3.0, Color32::from_black_alpha(160));
    painter.galley(bg.min + pad, galley, Color32::WHITE);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pictures_fit_without_distortion() {
        let area = Rect::from_min_size(egui::pos2(0.0, 0.0), Vec2::new(400.0, 100.0));
        let r = fit(area, 640.0, 480.0);
        assert!((r.height() - 100.0).abs() < 0.01);
        assert!((r.width() / r.height() - 640.0 / 480.0).abs() < 0.01);
        assert!((r.center().x - 200.0).abs() < 0.01, "centred");
        assert_eq!(fit(area, 0.0, 480.0), area);
    }
}
