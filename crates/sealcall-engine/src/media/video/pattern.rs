//! The synthetic test pattern, and the measurements tests make on what was received.
//!
//! Frame `n` of a [`TestPattern`] is a pure function of `n`: a slowly moving diagonal gradient,
//! colour ramps, a bright square marker on a Lissajous path, and `n` itself burned into the top
//! band as 16 bits and their complement. A receiver reads the counter back from a decoded frame
//! ([`TestPattern::read_counter`]), regenerates what was sent, and measures PSNR
//! ([`psnr_y`]) and the marker's position ([`TestPattern::find_marker`]) against it. Used by
//! tests, the echo bot and machines without a camera.

use sealcall_vpx::I420Frame;

const COUNTER_BITS: u32 = 16;
const MARKER_LUMA: u8 = 250;
const MARKER_THRESHOLD: u8 = 215;
const ONE_LUMA: u8 = 235;
const ZERO_LUMA: u8 = 16;
const BAND_LUMA: u8 = 128;

/// A deterministic moving test picture of a fixed size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestPattern {
    width: u32,
    height: u32,
    block: u32,
    blank: I420Frame,
}

impl TestPattern {
    /// A pattern of this size (raised to at least 64x48 and rounded down to even sides); an
    /// error for sizes the codec cannot take.
    pub fn new(width: u32, height: u32) -> Result<Self, sealcall_vpx::Error> {
        let width = width.max(64) & !1;
        let height = height.max(48) & !1;
        // 32 counter blocks plus margins must fit across.
        let block = (width / 40).clamp(2, 32);
        Ok(Self {
            width,
            height,
            block,
            blank: I420Frame::new(width, height)?,
        })
    }

    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// Side of the marker square and of each counter block, in pixels.
    pub fn block(&self) -> u32 {
        self.block
    }

    fn band_bottom(&self) -> u32 {
        self.block * 3
    }

    /// Where the marker's centre is in frame `n` (pixels, from the top left).
    pub fn marker_center(&self, n: u64) -> (f64, f64) {
        let b = f64::from(self.block);
        let top = f64::from(self.band_bottom()) + b;
        let (w, h) = (f64::from(self.width), f64::from(self.height));
        let (cx, cy) = (w / 2.0, (top + h) / 2.0);
        let (ax, ay) = (w / 2.0 - 2.0 * b, (h - top) / 2.0 - 2.0 * b);
        let t = n as f64;
        let x = cx + ax * (std::f64::consts::TAU * t / 97.0).sin();
        let y = cy + ay * (std::f64::consts::TAU * t / 71.0).sin();
        (x.round(), y.round())
    }

    /// Frame `n`.
    pub fn frame(&self, n: u64) -> I420Frame {
        let mut f = self.blank.clone();
        self.draw(n, &mut f);
        f
    }

    /// Draws frame `n` into `f` (which must have this pattern's size; otherwise nothing is drawn).
    pub fn draw(&self, n: u64, f: &mut I420Frame) {
        if f.width() != self.width || f.height() != self.height {
            return;
        }
        let (w, h) = (self.width as usize, self.height as usize);
        let shift = (n % 512) as usize;
        let band = self.band_bottom() as usize;
        let (y, u, v) = f.planes_mut();
        for row in 0..h {
            let line = &mut y[row * w..(row + 1) * w];
            for (col, px) in line.iter_mut().enumerate() {
                *px = if row < band {
                    BAND_LUMA
                } else {
                    let v = (col + row + shift * 2) % 512;
                    let tri = if v < 256 { v } else { 511 - v };
                    (48 + tri / 2) as u8
                };
            }
        }
        // Counter: 16 bits of n, then their complement, as blocks on the band.
        let b = self.block as usize;
        let value = (n & 0xffff) as u32;
        let word = value | ((!value & 0xffff) << COUNTER_BITS);
        for bit in 0..2 * COUNTER_BITS as usize {
            let on = word >> bit & 1 == 1;
            let x0 = b + bit * b;
            for row in b..2 * b {
                for px in &mut y[row * w + x0..row * w + x0 + b] {
                    *px = if on { ONE_LUMA } else { ZERO_LUMA };
                }
            }
        }
        // Marker square.
        let (mx, my) = self.marker_center(n);
        let half = b as f64 / 2.0;
        let (x0, y0) = ((mx - half) as usize, (my - half) as usize);
        for row in y0..(y0 + b).min(h) {
            for px in &mut y[row * w + x0..row * w + (x0 + b).min(w)] {
                *px = MARKER_LUMA;
            }
        }
        // Chroma ramps, neutral under the marker and the band.
        let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
        for row in 0..ch {
            for col in 0..cw {
                let (px, py) = (col * 2, row * 2);
                let neutral =
                    py < band || (px + 1 >= x0 && px < x0 + b && py + 1 >= y0 && py < y0 + b);
                let i = row * cw + col;
                if neutral {
                    u[i] = 128;
                    v[i] = 128;
                } else {
                    u[i] = (96 + col * 64 / cw) as u8;
                    v[i] = (96 + row * 64 / ch) as u8;
                }
            }
        }
    }

    /// Reads the frame counter back from a received frame of this size: the low 16 bits of the
    /// frame number, or `None` when the bits and their complement disagree (not this pattern,
    /// or too damaged to trust).
    pub fn read_counter(&self, f: &I420Frame) -> Option<u16> {
        if f.width() != self.width || f.height() != self.height {
            return None;
        }
        let w = self.width as usize;
        let b = self.block as usize;
        let y = f.y();
        let mut word = 0u32;
        for bit in 0..2 * COUNTER_BITS as usize {
            let x0 = b + bit * b;
            // The block's inner half, away from ringing at its edges.
            let (lo, hi) = (b / 4, b - b / 4);
            let mut sum = 0u32;
            let mut count = 0u32;
            for row in b + lo..b + hi.max(lo + 1) {
                for col in x0 + lo..x0 + hi.max(lo + 1) {
                    sum += u32::from(*y.get(row * w + col)?);
                    count += 1;
                }
            }
            let mean = sum / count.max(1);
            if mean > u32::from(ONE_LUMA + ZERO_LUMA) / 2 {
                word |= 1 << bit;
            }
        }
        let value = word & 0xffff;
        let check = word >> COUNTER_BITS;
        (value == !check & 0xffff).then_some(value as u16)
    }

    /// Finds the marker in a received frame: the centre of the bright pixels below the band, or
    /// `None` when too few are bright.
    pub fn find_marker(&self, f: &I420Frame) -> Option<(f64, f64)> {
        if f.width() != self.width || f.height() != self.height {
            return None;
        }
        let w = self.width as usize;
        let band = self.band_bottom() as usize;
        let (mut sx, mut sy, mut n) = (0u64, 0u64, 0u64);
        for (i, &px) in f.y().iter().enumerate().skip(band * w) {
            if px >= MARKER_THRESHOLD {
                sx += (i % w) as u64;
                sy += (i / w) as u64;
                n += 1;
            }
        }
        let area = u64::from(self.block) * u64::from(self.block);
        if n < area / 4 {
            return None;
        }
        // Pixel centres are at +0.5.
        Some((sx as f64 / n as f64 + 0.5, sy as f64 / n as f64 + 0.5))
    }
}

/// Peak signal-to-noise ratio of the luma planes of two frames of one size, in dB (99 for
/// identical planes, `None` for different sizes).
pub fn psnr_y(a: &I420Frame, b: &I420Frame) -> Option<f64> {
    if a.width() != b.width() || a.height() != b.height() {
        return None;
    }
    let sum: u64 = a
        .y()
        .iter()
        .zip(b.y())
        .map(|(&x, &y)| {
            let d = i64::from(x) - i64::from(y);
            (d * d) as u64
        })
        .sum();
    let n = a.y().len().max(1) as f64;
    let mse = sum as f64 / n;
    if mse == 0.0 {
        return Some(99.0);
    }
    Some((10.0 * (255.0f64 * 255.0 / mse).log10()).min(99.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_counter_and_the_marker_read_back_from_the_sent_frame() {
        let p = TestPattern::new(640, 480).unwrap();
        for n in [0u64, 1, 77, 300, 65_535, 65_536 + 9] {
            let f = p.frame(n);
            assert_eq!(p.read_counter(&f), Some((n & 0xffff) as u16));
            let (x, y) = p.find_marker(&f).unwrap();
            let (ex, ey) = p.marker_center(n);
            assert!(
                (x - ex).abs() <= 1.0 && (y - ey).abs() <= 1.0,
                "{x},{y} vs {ex},{ey}"
            );
        }
        assert_eq!(psnr_y(&p.frame(3), &p.frame(3)), Some(99.0));
        assert!(psnr_y(&p.frame(3), &p.frame(40)).unwrap() < 30.0);
    }

    #[test]
    fn a_frame_of_another_picture_has_no_counter() {
        let p = TestPattern::new(320, 240).unwrap();
        let grey = I420Frame::new(320, 240).unwrap();
        assert_eq!(p.read_counter(&grey), None);
        assert_eq!(p.find_marker(&grey), None);
        assert_eq!(p.read_counter(&I420Frame::new(640, 480).unwrap()), None);
    }
}
