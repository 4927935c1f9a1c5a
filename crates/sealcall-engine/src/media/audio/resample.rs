//! Sample conversion and a streaming linear-interpolation resampler.
//!
//! Linear interpolation is cheap and good enough for speech between common rates (44.1, 16,
//! 8 kHz ↔ 48 kHz); it attenuates high frequencies slightly and does not band-limit, so content
//! above the lower Nyquist frequency aliases. Opus's own band limiting keeps that small.

/// Converts a normalised sample (-1.0 ..= 1.0) to `i16`, rounding and clamping.
pub(crate) fn f32_to_i16(x: f32) -> i16 {
    if x.is_nan() {
        return 0;
    }
    (x * 32768.0).round().clamp(-32768.0, 32767.0) as i16
}

/// Converts an `i16` sample to a normalised `f32`.
pub(crate) fn i16_to_f32(x: i16) -> f32 {
    f32::from(x) / 32768.0
}

/// A push-style streaming resampler using linear interpolation.
#[derive(Debug, Clone)]
pub(crate) struct LinearResampler {
    /// Input samples advanced per output sample (input rate / output rate).
    step: f64,
    /// Position of the next output sample, in input samples after `last`.
    t: f64,
    last: Option<f32>,
    passthrough: bool,
}

impl LinearResampler {
    /// A resampler from `from_hz` to `to_hz` (both non-zero).
    pub(crate) fn new(from_hz: u32, to_hz: u32) -> Self {
        let from = f64::from(from_hz.max(1));
        let to = f64::from(to_hz.max(1));
        Self {
            step: from / to,
            t: 0.0,
            last: None,
            passthrough: from_hz == to_hz,
        }
    }

    /// Feeds one input sample; `emit` receives zero or more output samples.
    pub(crate) fn push(&mut self, x: f32, mut emit: impl FnMut(f32)) {
        if self.passthrough {
            emit(x);
            return;
        }
        let Some(last) = self.last else {
            self.last = Some(x);
            return;
        };
        while self.t < 1.0 {
            emit(last + (x - last) * self.t as f32);
            self.t += self.step;
        }
        self.t -= 1.0;
        self.last = Some(x);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passthrough_is_exact() {
        let mut r = LinearResampler::new(48_000, 48_000);
        let mut out = Vec::new();
        for x in [0.1, 0.2, -0.3] {
            r.push(x, |y| out.push(y));
        }
        assert_eq!(out, vec![0.1, 0.2, -0.3]);
    }

    #[test]
    fn rate_ratio_is_respected() {
        for (from, to) in [
            (44_100, 48_000),
            (16_000, 48_000),
            (48_000, 44_100),
            (96_000, 48_000),
        ] {
            let mut r = LinearResampler::new(from, to);
            let mut n = 0usize;
            for i in 0..from {
                r.push((i as f32 * 0.01).sin(), |_| n += 1);
            }
            // The first input sample only primes the interpolator.
            let expected = to as usize;
            let slack = (to / from) as usize + 2;
            assert!(n.abs_diff(expected) <= slack, "{from}->{to}: {n}");
        }
    }

    #[test]
    fn conversions_clamp() {
        assert_eq!(f32_to_i16(2.0), i16::MAX);
        assert_eq!(f32_to_i16(-2.0), i16::MIN);
        assert_eq!(f32_to_i16(f32::NAN), 0);
        for x in [i16::MIN, -1, 0, 1, 1234, i16::MAX] {
            assert_eq!(f32_to_i16(i16_to_f32(x)), x);
        }
    }
}
