//! Synthetic pictures and measurements shared by the integration tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use sealcall_vpx::{Decoder, EncodedFrame, Encoder, EncoderConfig, I420Frame, TIMEBASE_HZ};

/// A deterministic 32-bit hash of a point, for texture.
pub fn hash(x: u32, y: u32, seed: u32) -> u32 {
    let mut h = x.wrapping_mul(0x9e37_79b1) ^ y.wrapping_mul(0x85eb_ca77) ^ seed;
    h ^= h >> 15;
    h = h.wrapping_mul(0x2c1b_3c6d);
    h ^= h >> 12;
    h = h.wrapping_mul(0x297a_2d39);
    h ^ (h >> 15)
}

/// Smooth noise in -128..128: hashed values on a `cell`-pixel grid, bilinearly interpolated.
pub fn value_noise(x: u32, y: u32, cell: u32, seed: u32) -> i32 {
    let (gx, gy) = (x / cell, y / cell);
    let (fx, fy) = ((x % cell) as i32, (y % cell) as i32);
    let c = cell as i32;
    let at = |i: u32, j: u32| (hash(gx + i, gy + j, seed) % 256) as i32 - 128;
    let top = at(0, 0) * (c - fx) + at(1, 0) * fx;
    let bottom = at(0, 1) * (c - fx) + at(1, 1) * fx;
    (top * (c - fy) + bottom * fy) / (c * c)
}

/// A camera-like scene that moves: a textured background panning right and down by a few pixels
/// a frame, with a bright disc crossing it. `detail` (0 to 255) sets how much fine texture the
/// background has: high detail makes the encoder's bitrate the binding constraint.
pub struct MovingScene {
    width: u32,
    height: u32,
    /// Background luma, `bg_w` x `bg_h`, bigger than the frame so it can pan.
    bg: Vec<u8>,
    bg_w: u32,
    bg_h: u32,
}

impl MovingScene {
    pub fn new(width: u32, height: u32, detail: u32) -> Self {
        let (bg_w, bg_h) = (width + 256, height + 256);
        let mut bg = Vec::with_capacity((bg_w * bg_h) as usize);
        for y in 0..bg_h {
            for x in 0..bg_w {
                // Smooth bands, large-scale value noise (objects, shading) and fine texture.
                let smooth = ((x + y) % 512) as i32 / 4 + 40;
                let coarse = value_noise(x, y, 16, 1) / 2;
                let fine = (hash(x, y, 2) % 256) as i32 - 128;
                let v = smooth + coarse + fine * detail as i32 / 255;
                bg.push(v.clamp(16, 235) as u8);
            }
        }
        MovingScene {
            width,
            height,
            bg,
            bg_w,
            bg_h,
        }
    }

    /// Frame `i`.
    pub fn frame(&self, i: u32) -> I420Frame {
        let mut f = I420Frame::new(self.width, self.height).unwrap();
        let (dx, dy) = ((i * 3) % 256, (i * 2) % 256);
        let (cx, cy, r) = (
            (i * 9 % (self.width + 80)) as i64 - 40,
            (self.height / 2) as i64,
            (self.height / 6).max(2) as i64,
        );
        let w = self.width as usize;
        let cw = f.chroma_width() as usize;
        let (y, u, v) = f.planes_mut();
        for (row, line) in y.chunks_exact_mut(w).enumerate() {
            let start = ((row as u32 + dy) * self.bg_w + dx) as usize;
            line.copy_from_slice(&self.bg[start..start + w]);
            let ry = row as i64 - cy;
            for (col, px) in line.iter_mut().enumerate() {
                let rx = col as i64 - cx;
                if rx * rx + ry * ry <= r * r {
                    *px = 220;
                }
            }
        }
        assert!(self.bg_h >= self.height + dy);
        for (row, (lu, lv)) in u
            .chunks_exact_mut(cw)
            .zip(v.chunks_exact_mut(cw))
            .enumerate()
        {
            for col in 0..cw {
                lu[col] = (100 + (col as u32 + i) % 56) as u8;
                lv[col] = (150 - (row as u32 + i) % 40) as u8;
            }
        }
        f
    }
}

/// Something like a desktop: white windows with lines of dark "text" (1 to 3 pixel strokes),
/// coloured title bars and a grey background. Very detailed, hard to compress.
pub fn screen_picture(width: u32, height: u32, seed: u32) -> I420Frame {
    let mut f = I420Frame::new(width, height).unwrap();
    let w = width as usize;
    let cw = f.chroma_width() as usize;
    let (y, u, v) = f.planes_mut();
    for (row, line) in y.chunks_exact_mut(w).enumerate() {
        let row = row as u32;
        for (col, px) in line.iter_mut().enumerate() {
            let col = col as u32;
            let in_window = (col % 640) > 20 && (col % 640) < 620 && (row % 360) > 30;
            *px = if !in_window {
                90
            } else if (row % 360) < 52 {
                60 // title bar
            } else {
                // Text lines: 14-pixel line pitch, glyph cells 8 wide with hashed strokes.
                let line_row = (row % 360) % 14;
                let glyph = hash(col / 8, row / 14, seed);
                let stroke = line_row < 10
                    && !glyph.is_multiple_of(7)
                    && (hash(col, row / 2, glyph).is_multiple_of(3) || col % 8 == glyph % 6);
                if stroke { 30 } else { 235 }
            };
        }
    }
    for (row, (lu, lv)) in u
        .chunks_exact_mut(cw)
        .zip(v.chunks_exact_mut(cw))
        .enumerate()
    {
        for col in 0..cw {
            let title = (row as u32 * 2 % 360) >= 30 && (row as u32 * 2 % 360) < 52;
            lu[col] = if title { 170 } else { 128 };
            lv[col] = if title { 100 } else { 128 };
        }
    }
    f
}

/// PSNR of two luma planes, in dB (capped at 99 for identical planes).
pub fn psnr_y(a: &I420Frame, b: &I420Frame) -> f64 {
    assert_eq!((a.width(), a.height()), (b.width(), b.height()));
    let sse: u64 = a
        .y()
        .iter()
        .zip(b.y())
        .map(|(&p, &q)| {
            let d = u64::from(p.abs_diff(q));
            d * d
        })
        .sum();
    if sse == 0 {
        return 99.0;
    }
    let mse = sse as f64 / a.y().len() as f64;
    10.0 * (255.0 * 255.0 / mse).log10()
}

/// The timestamp of frame `i` at `fps`.
pub fn pts(i: u32, fps: u32) -> u64 {
    u64::from(i) * u64::from(TIMEBASE_HZ / fps)
}

/// Encodes one frame that must yield exactly one compressed frame.
pub fn encode_one(encoder: &mut Encoder, frame: &I420Frame, pts: u64, force: bool) -> EncodedFrame {
    let mut out = encoder.encode(frame, pts, force).unwrap();
    assert_eq!(out.len(), 1, "one input frame, one output frame");
    out.pop().unwrap()
}

/// A short stream of `frames` frames of a [`MovingScene`] at `width` x `height`.
pub fn stream(width: u32, height: u32, frames: u32) -> Vec<EncodedFrame> {
    let scene = MovingScene::new(width, height, 60);
    let mut config = EncoderConfig::camera(width, height);
    config.bitrate_kbps = 400;
    let mut encoder = Encoder::new(config).unwrap();
    (0..frames)
        .map(|i| encode_one(&mut encoder, &scene.frame(i), pts(i, 30), false))
        .collect()
}

/// Decodes a whole stream with a fresh decoder, every frame of which must decode and be shown.
pub fn decode_all(stream: &[EncodedFrame]) -> Vec<I420Frame> {
    let mut decoder = Decoder::new().unwrap();
    stream
        .iter()
        .map(|f| decoder.decode(&f.data).unwrap().expect("shown"))
        .collect()
}
