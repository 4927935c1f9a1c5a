//! Saving a window capture as a binary PPM (`P6`); `cargo xtask screenshot` converts it to PNG
//! with ImageMagick.

use std::io::Write;
use std::path::Path;

/// Writes `image` (RGBA, premultiplied alpha ignored) as an RGB PPM file.
pub fn write_ppm(path: &Path, image: &egui::ColorImage) -> std::io::Result<()> {
    let [w, h] = image.size;
    let mut out = Vec::with_capacity(w * h * 3 + 32);
    write!(out, "P6\n{w} {h}\n255\n")?;
    for p in &image.pixels {
        out.extend_from_slice(&[p.r(), p.g(), p.b()]);
    }
    std::fs::write(path, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_a_header_and_rgb() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.ppm");
        let image = egui::ColorImage::new([2, 1], vec![egui::Color32::RED, egui::Color32::BLUE]);
        write_ppm(&path, &image).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert!(bytes.starts_with(b"P6\n2 1\n255\n"));
        assert_eq!(&bytes[bytes.len() - 6..], &[255, 0, 0, 0, 0, 255]);
    }
}
