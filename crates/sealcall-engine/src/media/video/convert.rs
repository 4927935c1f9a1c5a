//! Colour conversion between captured or displayed RGB pictures and I420 (BT.601, studio range).

use sealcall_vpx::I420Frame;

fn clamp(v: i32) -> u8 {
    v.clamp(0, 255) as u8
}

/// Converts a 32-bit-per-pixel picture with bytes in B, G, R, X order (X11's usual ZPixmap on
/// little-endian machines) to I420. `stride` is the bytes per row (at least `4 * width`);
/// odd sizes are cropped to even. Returns `None` when `bgrx` is too short for the size.
pub fn bgrx_to_i420(bgrx: &[u8], width: u32, height: u32, stride: usize) -> Option<I420Frame> {
    let (w, h) = ((width & !1) as usize, (height & !1) as usize);
    if w == 0 || h == 0 || stride < 4 * w || bgrx.len() < stride * (h - 1) + 4 * w {
        return None;
    }
    let mut out = I420Frame::new(w as u32, h as u32).ok()?;
    let cw = w / 2;
    let (y, u, v) = out.planes_mut();
    {
        for row in 0..h {
            let src = &bgrx[row * stride..row * stride + 4 * w];
            for (col, px) in src.chunks_exact(4).enumerate() {
                let (b, g, r) = (i32::from(px[0]), i32::from(px[1]), i32::from(px[2]));
                y[row * w + col] = clamp(((66 * r + 129 * g + 25 * b + 128) >> 8) + 16);
            }
        }
    }
    for row in 0..h / 2 {
        for col in 0..cw {
            let (mut r, mut g, mut b) = (0i32, 0i32, 0i32);
            for (dy, dx) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
                let o = (row * 2 + dy) * stride + (col * 2 + dx) * 4;
                b += i32::from(bgrx[o]);
                g += i32::from(bgrx[o + 1]);
                r += i32::from(bgrx[o + 2]);
            }
            let (r, g, b) = (r / 4, g / 4, b / 4);
            u[row * cw + col] = clamp(((-38 * r - 74 * g + 112 * b + 128) >> 8) + 128);
            v[row * cw + col] = clamp(((112 * r - 94 * g - 18 * b + 128) >> 8) + 128);
        }
    }
    Some(out)
}

/// Converts an I420 frame to RGBA (alpha 255), `4 * width * height` bytes into `out` (resized).
pub fn i420_to_rgba(frame: &I420Frame, out: &mut Vec<u8>) {
    let (w, h) = (frame.width() as usize, frame.height() as usize);
    let cw = w.div_ceil(2);
    out.resize(4 * w * h, 255);
    let (yp, up, vp) = (frame.y(), frame.u(), frame.v());
    for row in 0..h {
        for col in 0..w {
            let c = (row / 2) * cw + col / 2;
            let y = i32::from(yp[row * w + col]) - 16;
            let u = i32::from(up[c]) - 128;
            let v = i32::from(vp[c]) - 128;
            let o = 4 * (row * w + col);
            out[o] = clamp((298 * y + 409 * v + 128) >> 8);
            out[o + 1] = clamp((298 * y - 100 * u - 208 * v + 128) >> 8);
            out[o + 2] = clamp((298 * y + 516 * u + 128) >> 8);
            out[o + 3] = 255;
        }
    }
}

/// The RGB colour of one pixel of an I420 frame (for tests that look for a colour at a place).
pub fn rgb_at(frame: &I420Frame, x: u32, y: u32) -> Option<[u8; 3]> {
    if x >= frame.width() || y >= frame.height() {
        return None;
    }
    let (w, cw) = (frame.width() as usize, frame.width().div_ceil(2) as usize);
    let c = (y as usize / 2) * cw + x as usize / 2;
    let yy = i32::from(*frame.y().get(y as usize * w + x as usize)?) - 16;
    let u = i32::from(*frame.u().get(c)?) - 128;
    let v = i32::from(*frame.v().get(c)?) - 128;
    Some([
        clamp((298 * yy + 409 * v + 128) >> 8),
        clamp((298 * yy - 100 * u - 208 * v + 128) >> 8),
        clamp((298 * yy + 516 * u + 128) >> 8),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_survive_a_round_trip_within_rounding() {
        let (w, h) = (8u32, 4u32);
        let mut bgrx = Vec::new();
        for _ in 0..h {
            for col in 0..w {
                let (r, g, b) = if col < 4 {
                    (200, 30, 40)
                } else {
                    (20, 180, 220)
                };
                bgrx.extend_from_slice(&[b, g, r, 0]);
            }
        }
        let f = bgrx_to_i420(&bgrx, w, h, 4 * w as usize).unwrap();
        let [r, g, b] = rgb_at(&f, 1, 1).unwrap();
        assert!(
            (i32::from(r) - 200).abs() <= 4
                && (i32::from(g) - 30).abs() <= 4
                && (i32::from(b) - 40).abs() <= 4
        );
        let mut rgba = Vec::new();
        i420_to_rgba(&f, &mut rgba);
        assert_eq!(rgba.len(), 4 * 8 * 4);
        let o = 4 * (8 + 6);
        assert!((i32::from(rgba[o]) - 20).abs() <= 4 && (i32::from(rgba[o + 1]) - 180).abs() <= 4);
        assert!(bgrx_to_i420(&bgrx[..10], w, h, 32).is_none());
    }
}
