//! Audio analysis for tests and diagnostics: dominant frequency, tone SNR and RMS.
//!
//! Method: single-bin DFTs computed with the Goertzel recurrence on a windowed signal, no FFT.
//! The window is a 4-term Blackman–Harris (side lobes below −92 dB, main lobe ±4 bins), so a
//! strong tone leaks nothing measurable outside a narrow band around it. The mean is removed
//! first, so DC offset is ignored.
//!
//! * [`dominant_frequency`]: a coarse scan in 5 Hz steps on a 0.2 s block (main lobe ±20 Hz, so
//!   a 5 Hz grid cannot miss a peak), then a 1 Hz scan around the best step on up to 1 s of
//!   signal, refined by parabolic interpolation of the log power (resolution well below 1 Hz).
//! * [`tone_snr_db`]: energy of the windowed spectrum within ±10 Hz of the tone (the DFT bins of
//!   the analysed block in that band, summed — Parseval makes this exact) against all the rest
//!   of the windowed energy. Harmonics, codec noise, concealment artefacts and gaps all count as
//!   noise, so this is a strict measure.
//! * [`rms`]: root mean square relative to full scale (a full-scale square wave is 1.0).

use std::f64::consts::TAU;

/// Longest stretch analysed by [`tone_snr_db`] (10 s at 48 kHz); longer input uses its middle.
const MAX_SNR_SAMPLES: usize = 480_000;
/// Half-width of the band counted as "the tone" by [`tone_snr_db`], in Hz.
pub const SNR_BAND_HZ: f64 = 10.0;

fn blackman_harris(i: usize, n: usize) -> f64 {
    if n <= 1 {
        return 1.0;
    }
    let x = TAU * i as f64 / (n - 1) as f64;
    0.35875 - 0.48829 * x.cos() + 0.14128 * (2.0 * x).cos() - 0.01168 * (3.0 * x).cos()
}

/// Mean-removed, windowed, normalised (full scale = 1.0) copy of `samples`.
fn prepare(samples: &[i16]) -> Vec<f64> {
    if samples.is_empty() {
        return Vec::new();
    }
    let n = samples.len();
    let mean = samples.iter().map(|&s| f64::from(s)).sum::<f64>() / n as f64;
    samples
        .iter()
        .enumerate()
        .map(|(i, &s)| (f64::from(s) - mean) / 32768.0 * blackman_harris(i, n))
        .collect()
}

/// |X(f)|² of `x` at frequency `freq` (Hz) by the Goertzel recurrence.
fn goertzel(x: &[f64], sample_rate: f64, freq: f64) -> f64 {
    let w = TAU * freq / sample_rate;
    let coeff = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    for &v in x {
        let s = v + coeff * s1 - s2;
        s2 = s1;
        s1 = s;
    }
    (s1 * s1 + s2 * s2 - coeff * s1 * s2).max(0.0)
}

/// The strongest frequency between `min_hz` and `max_hz` and its power.
///
/// Returns `(frequency_hz, power)`, where `power` is the mean-square amplitude of that sinusoid
/// relative to full scale (a full-scale sine gives 0.5). Returns `(0.0, 0.0)` for empty input,
/// a zero sample rate, or an empty/invalid range. Uses at most the first second of `samples`;
/// pass the steady-state part. See the [module documentation](self) for the method.
pub fn dominant_frequency(
    samples: &[i16],
    sample_rate: u32,
    min_hz: f64,
    max_hz: f64,
) -> (f64, f64) {
    let fs = f64::from(sample_rate);
    let nyquist = fs / 2.0;
    let min_hz = min_hz.max(1.0);
    let max_hz = max_hz.min(nyquist - 1.0);
    if samples.len() < 16
        || sample_rate == 0
        || min_hz.partial_cmp(&max_hz) != Some(std::cmp::Ordering::Less)
    {
        return (0.0, 0.0);
    }
    let one_second = sample_rate as usize;
    let fine = &samples[..samples.len().min(one_second)];
    let coarse = &samples[..fine.len().min(one_second / 5).max(16)];

    let coarse_x = prepare(coarse);
    let mut best = (min_hz, -1.0);
    let mut f = min_hz;
    while f <= max_hz {
        let p = goertzel(&coarse_x, fs, f);
        if p > best.1 {
            best = (f, p);
        }
        f += 5.0;
    }

    let fine_x = prepare(fine);
    let lo = (best.0 - 10.0).max(min_hz);
    let hi = (best.0 + 10.0).min(max_hz);
    let mut grid: Vec<(f64, f64)> = Vec::with_capacity(24);
    let mut f = lo;
    while f <= hi + 1e-9 {
        grid.push((f, goertzel(&fine_x, fs, f)));
        f += 1.0;
    }
    let Some(k) = grid
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.1.total_cmp(&b.1.1))
        .map(|(k, _)| k)
    else {
        return (0.0, 0.0);
    };
    let mut freq = grid[k].0;
    if k > 0 && k + 1 < grid.len() {
        // Parabolic interpolation of log power over the three points around the maximum.
        let l = |p: f64| p.max(1e-300).ln();
        let (a, b, c) = (l(grid[k - 1].1), l(grid[k].1), l(grid[k + 1].1));
        let denom = a - 2.0 * b + c;
        if denom.abs() > 1e-12 {
            let delta = 0.5 * (a - c) / denom;
            if delta.is_finite() && delta.abs() <= 1.0 {
                freq += delta;
            }
        }
    }
    let window_sum: f64 = (0..fine.len())
        .map(|i| blackman_harris(i, fine.len()))
        .sum();
    let power = if window_sum > 0.0 {
        2.0 * goertzel(&fine_x, fs, freq) / (window_sum * window_sum)
    } else {
        0.0
    };
    (freq, power)
}

/// Signal-to-noise ratio in dB of a tone at `freq` Hz in `samples`.
///
/// "Signal" is the energy within ±[`SNR_BAND_HZ`] of `freq`, "noise" everything else (see the
/// [module documentation](self)). Analyses at most 10 s (the middle of longer input). Returns
/// −200.0 for empty or silent input or an invalid frequency, and at most 200.0.
pub fn tone_snr_db(samples: &[i16], sample_rate: u32, freq: f64) -> f64 {
    const FLOOR: f64 = -200.0;
    const CEIL: f64 = 200.0;
    let fs = f64::from(sample_rate);
    if samples.len() < 16
        || sample_rate == 0
        || !freq.is_finite()
        || freq <= 0.0
        || freq >= fs / 2.0
    {
        return FLOOR;
    }
    let samples = if samples.len() > MAX_SNR_SAMPLES {
        let start = (samples.len() - MAX_SNR_SAMPLES) / 2;
        &samples[start..start + MAX_SNR_SAMPLES]
    } else {
        samples
    };
    let x = prepare(samples);
    let n = x.len() as f64;
    // Parseval: Σ_k |X_k|² = N Σ x². Positive-frequency bins other than DC and Nyquist count twice.
    let total: f64 = x.iter().map(|v| v * v).sum::<f64>() * n;
    if total <= 0.0 {
        return FLOOR;
    }
    let bin_hz = fs / n;
    let k_lo = ((freq - SNR_BAND_HZ) / bin_hz).ceil().max(1.0) as u64;
    let k_hi = ((freq + SNR_BAND_HZ) / bin_hz).floor() as u64;
    let k_max = ((n / 2.0).floor() as u64).saturating_sub(1);
    let mut band = 0.0;
    for k in k_lo..=k_hi.min(k_max) {
        band += 2.0 * goertzel(&x, fs, k as f64 * bin_hz);
    }
    let noise = total - band;
    if band <= 0.0 {
        return FLOOR;
    }
    if noise <= total * 1e-20 {
        return CEIL;
    }
    (10.0 * (band / noise).log10()).clamp(FLOOR, CEIL)
}

/// Root mean square of `samples` relative to full scale (0.0 for empty input).
pub fn rms(samples: &[i16]) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    let sum: f64 = samples
        .iter()
        .map(|&s| {
            let v = f64::from(s) / 32768.0;
            v * v
        })
        .sum();
    (sum / samples.len() as f64).sqrt()
}

/// [`rms`] in dB relative to full scale (−200.0 for silence).
pub fn rms_dbfs(samples: &[i16]) -> f64 {
    let r = rms(samples);
    if r <= 0.0 {
        -200.0
    } else {
        (20.0 * r.log10()).max(-200.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(freq: f64, amp: f64, n: usize) -> Vec<i16> {
        (0..n)
            .map(|i| ((TAU * freq * i as f64 / 48_000.0).sin() * amp * 32767.0).round() as i16)
            .collect()
    }

    /// Deterministic white-ish noise (xorshift), amplitude `amp` of full scale.
    fn noise(amp: f64, n: usize, mut seed: u64) -> Vec<i16> {
        (0..n)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let u = (seed >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0;
                (u * amp * 32767.0) as i16
            })
            .collect()
    }

    #[test]
    fn finds_pure_tones() {
        for f in [150.0, 440.0, 443.3, 880.0, 1234.5, 3500.0] {
            let x = tone(f, 0.5, 48_000);
            let (hz, power) = dominant_frequency(&x, 48_000, 100.0, 4000.0);
            assert!((hz - f).abs() < 0.5, "{f}: got {hz}");
            assert!((power - 0.125).abs() < 0.01, "{f}: power {power}");
            let snr = tone_snr_db(&x, 48_000, f);
            assert!(snr > 60.0, "{f}: snr {snr}");
        }
    }

    #[test]
    fn tone_in_noise() {
        let t = tone(440.0, 0.3, 48_000);
        let n = noise(0.03, 48_000, 7);
        let x: Vec<i16> = t
            .iter()
            .zip(&n)
            .map(|(a, b)| a.saturating_add(*b))
            .collect();
        let (hz, _) = dominant_frequency(&x, 48_000, 100.0, 4000.0);
        assert!((hz - 440.0).abs() < 1.0, "{hz}");
        // Tone power 0.045, uniform noise power 0.03²/3 = 0.0003: about 21.8 dB.
        let snr = tone_snr_db(&x, 48_000, 440.0);
        assert!((19.0..25.0).contains(&snr), "{snr}");
        // The wrong frequency has a terrible SNR.
        assert!(tone_snr_db(&x, 48_000, 880.0) < -10.0);
    }

    #[test]
    fn noise_has_no_tone() {
        let x = noise(0.5, 48_000, 99);
        assert!(tone_snr_db(&x, 48_000, 440.0) < -10.0);
    }

    #[test]
    fn degenerate_inputs_do_not_panic() {
        assert_eq!(dominant_frequency(&[], 48_000, 100.0, 4000.0), (0.0, 0.0));
        assert_eq!(dominant_frequency(&[1, 2, 3], 0, 100.0, 4000.0), (0.0, 0.0));
        assert_eq!(
            dominant_frequency(&[0; 1000], 48_000, 4000.0, 100.0),
            (0.0, 0.0)
        );
        let _ = dominant_frequency(&[0; 1000], 48_000, 100.0, 4000.0);
        let _ = dominant_frequency(&[0; 1000], 48_000, f64::NAN, f64::INFINITY);
        assert_eq!(tone_snr_db(&[], 48_000, 440.0), -200.0);
        assert_eq!(tone_snr_db(&[0; 4800], 48_000, 440.0), -200.0);
        assert_eq!(tone_snr_db(&[5; 4800], 48_000, f64::NAN), -200.0);
        assert_eq!(rms(&[]), 0.0);
        assert_eq!(rms_dbfs(&[0; 10]), -200.0);
        assert!((rms(&[i16::MIN; 10]) - 1.0).abs() < 1e-9);
    }
}

/// The tone in a recording: what [`analyse_wav`] measures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RecordedTone {
    /// The dominant frequency (100–4000 Hz) of the loudest second, in Hz.
    pub frequency_hz: f64,
    /// The SNR of the tone at the frequency asked for (or, without one, at the dominant
    /// frequency), in dB ([`tone_snr_db`]).
    pub snr_db: f64,
    /// How many samples the recording holds.
    pub samples: usize,
}

/// Reads a mono 48 kHz WAV (as the engine writes a call's received audio) and measures its tone
/// over the first second after the silence before playout started (the first sample above
/// 1000). `expect_hz`: the frequency whose SNR is measured; `None`: the dominant one.
pub fn analyse_wav(path: &std::path::Path, expect_hz: Option<f64>) -> crate::Result<RecordedTone> {
    use super::source::{AudioSource, WavSource};
    use super::{FRAME_SAMPLES, SAMPLE_RATE};
    let mut src = WavSource::open(path)?;
    let mut samples = Vec::new();
    let mut frame = [0i16; FRAME_SAMPLES];
    while src.read_frame(&mut frame)? {
        samples.extend_from_slice(&frame);
    }
    let start = samples
        .iter()
        .position(|s| s.unsigned_abs() > 1000)
        .unwrap_or(0);
    let window = &samples[start..(start + SAMPLE_RATE as usize).min(samples.len())];
    let (frequency_hz, _) = dominant_frequency(window, SAMPLE_RATE, 100.0, 4000.0);
    Ok(RecordedTone {
        frequency_hz,
        snr_db: tone_snr_db(window, SAMPLE_RATE, expect_hz.unwrap_or(frequency_hz)),
        samples: samples.len(),
    })
}
