//! Echo cancellation, noise suppression and gain control on the capture path, driven with
//! signals (there is no sound card here): speech spoken by `espeak-ng` into WAV files, a
//! simulated room between speaker and microphone ([`EchoPath`]), and seeded pink noise.
//!
//! Measures, each stated where it is used:
//! * ERLE (echo return loss enhancement): energy of the echo at the microphone over energy of
//!   what is sent, after the stated convergence time.
//! * Log-spectral distance (LSD) in dB between a clean reference and a signal, over the frames
//!   where the reference speaks: per 20 ms Hann-windowed frame, the power at 48 frequencies
//!   spaced logarithmically from 100 Hz to 7 kHz (single-bin DFTs by the Goertzel recurrence),
//!   the root mean square of the dB differences, averaged over frames (the classic LSD of
//!   speech enhancement, e.g. Gray & Markel 1976, on a log-frequency grid).
//! * Normalised cross-correlation between a clean reference and a signal, at the best lag
//!   within 0..=20 ms (the processing's own algorithmic delay).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::f64::consts::TAU;
use std::path::Path;
use std::time::Duration;

use sealcall_engine::media::{
    AudioProcessingSetting, AudioProcessor, AudioSink, AudioSource, EchoPath, FRAME_SAMPLES, Frame,
    MemorySink, OpusEncoder, ProcessedSource, ProcessingParts, ReferenceSink, Room, SamplesSource,
    SendPipeline, SharedProcessor, WavSink, WavSource,
};
use sealcall_engine::{AudioRoute, CustomAudio, EngineEvent};

const RATE: f64 = 48_000.0;
/// Time given to each part to converge before it is measured.
const CONVERGENCE: Duration = Duration::from_secs(2);

/// The far end's voice.
const FAR_TEXT: &str = "The quick brown fox jumps over the lazy dog. Please call me back when \
                        you are free this afternoon, and bring the blue folder with the notes.";
/// The near end's voice (another speaker: another voice and pitch).
const NEAR_TEXT: &str =
    "Seven slim swans swam south. Our meeting moved to Thursday at half past three.";

/// Speech from `espeak-ng` at 48 kHz, or `None` (with a message) where it is not installed
/// outside CI; with `CI=true` a missing `espeak-ng` fails the test.
fn speech(text: &str, voice: &str, pitch: u32) -> Option<Vec<i16>> {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("speech.wav");
    let spoken = std::process::Command::new("espeak-ng")
        .args(["-v", voice, "-p", &pitch.to_string(), "-s", "150", "-w"])
        .arg(&wav)
        .arg(text)
        .status();
    match spoken {
        Ok(status) if status.success() => Some(read_wav(&wav)),
        _ => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "espeak-ng is not installed (cargo xtask test installs it)"
            );
            eprintln!("skipping: espeak-ng is not installed (apt-get install espeak-ng)");
            None
        }
    }
}

fn read_wav(path: &Path) -> Vec<i16> {
    let mut source = WavSource::open(path).unwrap();
    let mut out = Vec::new();
    let mut frame: Frame = [0; FRAME_SAMPLES];
    while source.read_frame(&mut frame).unwrap() {
        out.extend_from_slice(&frame);
    }
    out
}

/// `samples` repeated (with 300 ms of silence between repeats) to at least `length`.
fn looped(samples: &[i16], length: Duration) -> Vec<i16> {
    let want = (length.as_secs_f64() * RATE) as usize;
    let mut out = Vec::with_capacity(want + samples.len());
    while out.len() < want {
        out.extend_from_slice(samples);
        out.extend(std::iter::repeat_n(0, 14_400));
    }
    out.truncate(want);
    out
}

/// `samples` scaled so that their active speech (20 ms frames above -50 dBFS) is at `dbfs`.
fn at_level(samples: &[i16], dbfs: f64) -> Vec<i16> {
    let now = active_level_db(samples);
    let g = 10f64.powf((dbfs - now) / 20.0);
    samples
        .iter()
        .map(|&s| (f64::from(s) * g).round().clamp(-32768.0, 32767.0) as i16)
        .collect()
}

fn energy(samples: &[i16]) -> f64 {
    samples.iter().map(|&s| f64::from(s).powi(2)).sum()
}

/// RMS in dBFS (a full-scale square wave is 0 dBFS).
fn level_db(samples: &[i16]) -> f64 {
    let mean = energy(samples) / samples.len().max(1) as f64;
    10.0 * (mean.max(1e-3) / 32768f64.powi(2)).log10()
}

/// Frames (20 ms) of `reference` where it speaks: above -50 dBFS.
fn active_frames(reference: &[i16]) -> Vec<usize> {
    reference
        .chunks(FRAME_SAMPLES)
        .enumerate()
        .filter(|(_, f)| level_db(f) > -50.0)
        .map(|(i, _)| i)
        .collect()
}

fn active_level_db(samples: &[i16]) -> f64 {
    let frames = active_frames(samples);
    let picked: Vec<i16> = frames
        .iter()
        .flat_map(|&i| {
            samples
                .chunks(FRAME_SAMPLES)
                .nth(i)
                .unwrap()
                .iter()
                .copied()
        })
        .collect();
    level_db(&picked)
}

/// Runs `far` (played) and `mic` (captured) through `processor` frame by frame, render first,
/// and returns what is sent.
fn run(processor: &mut AudioProcessor, far: &[i16], mic: &[i16]) -> Vec<i16> {
    let mut sent = Vec::with_capacity(mic.len());
    for (f, m) in far
        .chunks_exact(FRAME_SAMPLES)
        .zip(mic.chunks_exact(FRAME_SAMPLES))
    {
        let far_frame: Frame = f.try_into().unwrap();
        let mut frame: Frame = m.try_into().unwrap();
        processor.process_render(&far_frame);
        processor.process_capture(&mut frame);
        sent.extend_from_slice(&frame);
    }
    sent
}

/// The echo `far` causes at the microphone through `path`.
fn echo_of(path: &mut EchoPath, far: &[i16]) -> Vec<i16> {
    far.chunks_exact(FRAME_SAMPLES)
        .flat_map(|f| {
            let frame: Frame = f.try_into().unwrap();
            path.process(&frame)
        })
        .map(|e| e.round().clamp(-32768.0, 32767.0) as i16)
        .collect()
}

fn mix(a: &[i16], b: &[i16]) -> Vec<i16> {
    a.iter()
        .zip(b)
        .map(|(&x, &y)| (i32::from(x) + i32::from(y)).clamp(-32768, 32767) as i16)
        .collect()
}

fn after(samples: &[i16], from: Duration) -> &[i16] {
    let at = (from.as_secs_f64() * RATE) as usize;
    samples.get(at..).unwrap_or_default()
}

fn between(samples: &[i16], from: Duration, to: Duration) -> &[i16] {
    let a = (from.as_secs_f64() * RATE) as usize;
    let b = ((to.as_secs_f64() * RATE) as usize).min(samples.len());
    samples.get(a..b).unwrap_or_default()
}

fn erle_db(echo: &[i16], sent: &[i16]) -> f64 {
    10.0 * (energy(echo) / energy(sent).max(1.0)).log10()
}

/// Normalised cross-correlation of `signal` with `reference` at `lag` samples.
fn correlation_at(reference: &[i16], signal: &[i16], lag: usize) -> f64 {
    let n = reference.len().min(signal.len()).saturating_sub(MAX_LAG);
    let (mut xy, mut xx, mut yy) = (0.0, 0.0, 0.0);
    for i in 0..n {
        let x = f64::from(reference[i]);
        let y = f64::from(signal[i + lag]);
        xy += x * y;
        xx += x * x;
        yy += y * y;
    }
    xy / (xx * yy).sqrt().max(1.0)
}

/// Longest processing delay looked for: 40 ms.
const MAX_LAG: usize = 1920;

/// The lag (0..=40 ms) at which `signal` matches `reference` best: the processing's own
/// delay (the band-splitting filters and AEC3's block alignment hold back a few ms).
fn best_lag(reference: &[i16], signal: &[i16]) -> usize {
    let pick = |lags: &mut dyn Iterator<Item = usize>| {
        lags.map(|lag| (lag, correlation_at(reference, signal, lag)))
            .fold((0, f64::MIN), |a, b| if b.1 > a.1 { b } else { a })
            .0
    };
    let coarse = pick(&mut (0..=MAX_LAG).step_by(16));
    pick(&mut (coarse.saturating_sub(16)..=(coarse + 16).min(MAX_LAG)))
}

/// Normalised cross-correlation at the best lag.
fn correlation(reference: &[i16], signal: &[i16]) -> f64 {
    correlation_at(reference, signal, best_lag(reference, signal))
}

/// `signal` shifted back by its processing delay against `reference`.
fn aligned<'a>(reference: &[i16], signal: &'a [i16]) -> &'a [i16] {
    &signal[best_lag(reference, signal)..]
}

/// Log-spectral distance (see the module documentation) between `reference` and `signal`
/// over the frames where `reference` speaks.
fn lsd_db(reference: &[i16], signal: &[i16]) -> f64 {
    let frames: Vec<usize> = active_frames(reference)
        .into_iter()
        .filter(|&i| (i + 1) * FRAME_SAMPLES <= signal.len())
        .collect();
    let total: f64 = frames
        .iter()
        .map(|&i| {
            let at = i * FRAME_SAMPLES..(i + 1) * FRAME_SAMPLES;
            let pr = band_magnitudes(&reference[at.clone()]);
            let ps = band_magnitudes(&signal[at]);
            let mean_sq = pr
                .iter()
                .zip(&ps)
                .map(|(a, b)| (20.0 * (a / b).log10()).powi(2))
                .sum::<f64>()
                / pr.len() as f64;
            mean_sq.sqrt()
        })
        .sum();
    total / frames.len().max(1) as f64
}

/// Per-frame magnitudes at the 48 frequencies of [`lsd_db`] (Hann-windowed 20 ms frames).
fn band_magnitudes(frame: &[i16]) -> Vec<f64> {
    let n = frame.len();
    let x: Vec<f64> = frame
        .iter()
        .enumerate()
        .map(|(i, &s)| f64::from(s) * (0.5 - 0.5 * (TAU * i as f64 / n as f64).cos()))
        .collect();
    (0..48)
        .map(|i| {
            let f = 100.0 * (7000f64 / 100.0).powf(f64::from(i) / 47.0);
            let coeff = 2.0 * (TAU * f / RATE).cos();
            let (mut s1, mut s2) = (0.0f64, 0.0f64);
            for &v in &x {
                let s = v + coeff * s1 - s2;
                s2 = s1;
                s1 = s;
            }
            (s1 * s1 + s2 * s2 - coeff * s1 * s2).max(1.0).sqrt()
        })
        .collect()
}

/// Envelope correlation (see the module documentation): per band, the Pearson correlation of
/// the short-time magnitude envelopes of `reference` and `signal` over the frames where
/// `reference` speaks, averaged over the bands.
fn envelope_correlation(reference: &[i16], signal: &[i16]) -> f64 {
    let frames: Vec<usize> = active_frames(reference)
        .into_iter()
        .filter(|&i| (i + 1) * FRAME_SAMPLES <= signal.len())
        .collect();
    let spectra = |s: &[i16]| -> Vec<Vec<f64>> {
        frames
            .iter()
            .map(|&i| band_magnitudes(&s[i * FRAME_SAMPLES..(i + 1) * FRAME_SAMPLES]))
            .collect()
    };
    let (r, s) = (spectra(reference), spectra(signal));
    let m = frames.len().max(1) as f64;
    let total: f64 = (0..48)
        .map(|b| {
            let mr = r.iter().map(|f| f[b]).sum::<f64>() / m;
            let ms = s.iter().map(|f| f[b]).sum::<f64>() / m;
            let (mut xy, mut xx, mut yy) = (0.0, 0.0, 0.0);
            for (fr, fs) in r.iter().zip(&s) {
                let (x, y) = (fr[b] - mr, fs[b] - ms);
                xy += x * y;
                xx += x * x;
                yy += y * y;
            }
            xy / (xx * yy).sqrt().max(1e-9)
        })
        .sum();
    total / 48.0
}

/// Pink (1/f) noise, seeded: white noise from SplitMix64 through Paul Kellet's "economy"
/// pinking filter (three first-order sections, ±0.5 dB from 1/f above 40 Hz at 48 kHz; from
/// his 1999 note on music-dsp, as quoted in many DSP references).
fn pink_noise(len: usize, seed: u64) -> Vec<f64> {
    let mut state = seed;
    let mut white = || {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        (z ^ (z >> 31)) as f64 / u64::MAX as f64 * 2.0 - 1.0
    };
    let (mut b0, mut b1, mut b2) = (0.0, 0.0, 0.0);
    (0..len)
        .map(|_| {
            let w = white();
            b0 = 0.99765 * b0 + w * 0.0990460;
            b1 = 0.96300 * b1 + w * 0.2965164;
            b2 = 0.57000 * b2 + w * 1.0526913;
            b0 + b1 + b2 + w * 0.1848
        })
        .collect()
}

/// `noise` scaled to `snr_db` below the active level of `speech`, added to it.
fn with_noise(speech: &[i16], snr_db: f64, seed: u64) -> (Vec<i16>, Vec<i16>) {
    let noise = pink_noise(speech.len(), seed);
    let p_noise = noise.iter().map(|x| x * x).sum::<f64>() / noise.len() as f64;
    let want_db = active_level_db(speech) - snr_db;
    let want = 32768f64.powi(2) * 10f64.powf(want_db / 10.0);
    let g = (want / p_noise).sqrt();
    let noise: Vec<i16> = noise.iter().map(|x| (x * g).round() as i16).collect();
    (mix(speech, &noise), noise)
}

fn far_and_near() -> Option<(Vec<i16>, Vec<i16>)> {
    let far = speech(FAR_TEXT, "en-us", 40)?;
    let near = speech(NEAR_TEXT, "en-gb", 70)?;
    Some((at_level(&far, -20.0), at_level(&near, -24.0)))
}

/// Stated bound: after 2 s, the echo is at least this much quieter in what is sent.
const ERLE_DB: f64 = 20.0;
/// Stated bound: after 2 s, with the near end silent, what is sent stays below this level.
const NEAR_SILENCE_DBFS: f64 = -55.0;

#[test]
fn the_echo_of_the_far_end_is_cancelled_after_two_seconds() {
    let Some((far, _)) = far_and_near() else {
        return;
    };
    let far = looped(&far, Duration::from_secs(10));
    for (delay_ms, seed) in [(30, 1), (120, 2)] {
        let mut path = EchoPath::room(Duration::from_millis(delay_ms), -6.0, seed).unwrap();
        let echo = echo_of(&mut path, &far);
        let mut processor = AudioProcessor::with_parts(ProcessingParts::ALL);
        let sent = run(&mut processor, &far, &echo);
        let erle = erle_db(after(&echo, CONVERGENCE), after(&sent, CONVERGENCE));
        let level = level_db(after(&sent, CONVERGENCE));
        let stats = processor.stats();
        eprintln!(
            "{delay_ms} ms path: echo at the microphone {:.1} dBFS, sent {level:.1} dBFS, \
             ERLE {erle:.1} dB (AEC3's own figure {:?} dB, delay estimate {:?} ms), \
             {:.0} us per 20 ms frame",
            level_db(after(&echo, CONVERGENCE)),
            stats.erle_db,
            stats.delay_ms,
            stats.mean_cost_us
        );
        assert!(erle >= ERLE_DB, "{delay_ms} ms: ERLE {erle:.1} dB");
        assert!(
            level <= NEAR_SILENCE_DBFS,
            "{delay_ms} ms: sent {level:.1} dBFS"
        );
        assert!(
            stats.erle_db.is_some_and(|e| e >= ERLE_DB) && stats.active == ProcessingParts::ALL
        );
    }
    // The control: without processing, the echo goes out as it came in.
    let mut path = EchoPath::room(Duration::from_millis(30), -6.0, 1).unwrap();
    let echo = echo_of(&mut path, &far);
    let sent = run(
        &mut AudioProcessor::with_parts(ProcessingParts::NONE),
        &far,
        &echo,
    );
    assert_eq!(sent, echo);
}

/// Stated bounds for double talk (the near end talking over the far end's echo), in the
/// stretch where both talk, with echo cancellation, noise suppression and the high-pass filter
/// (gain control off, so that it cannot make up for a suppressed near end): the near end's
/// speech goes out at most 6 dB below its own level (a half-duplex suppressor would take 20 dB
/// or more), its envelope correlation with the clean near-end speech is at least 0.65, and the
/// echo's correlation with what is sent is at most half of its correlation with the microphone
/// signal.
const DOUBLE_TALK_LEVEL_DB: f64 = 6.0;
const DOUBLE_TALK_ENVELOPE: f64 = 0.65;

#[test]
fn near_end_speech_survives_double_talk_and_the_echo_is_reduced() {
    let Some((far, near)) = far_and_near() else {
        return;
    };
    let total = Duration::from_secs(12);
    let far = looped(&far, total);
    // The near end starts talking at 4 s, once the canceller has converged on the far end.
    let start = (4.0 * RATE) as usize;
    let mut near_track = vec![0i16; far.len()];
    let n = near.len().min(far.len() - start);
    near_track[start..start + n].copy_from_slice(&near[..n]);
    let mut path = EchoPath::room(Duration::from_millis(60), -6.0, 3).unwrap();
    let echo = echo_of(&mut path, &far);
    let mic = mix(&near_track, &echo);
    let parts = ProcessingParts {
        gain_control: false,
        ..ProcessingParts::ALL
    };
    let sent = run(&mut AudioProcessor::with_parts(parts), &far, &mic);

    let (talk, talk_end) = (
        Duration::from_secs(4),
        Duration::from_secs(4) + Duration::from_secs_f64(n as f64 / RATE),
    );
    let near_dt = between(&near_track, talk, talk_end);
    let mic_dt = between(&mic, talk, talk_end);
    let sent_dt = aligned(near_dt, between(&sent, talk, talk_end));
    let echo_dt = between(&echo, talk, talk_end);
    let level_drop =
        active_level_db(near_dt) - active_level_db(&sent_dt[..near_dt.len().min(sent_dt.len())]);
    let envelope = envelope_correlation(near_dt, sent_dt);
    let (echo_in, echo_out) = (correlation(echo_dt, mic_dt), correlation(echo_dt, sent_dt));
    let before = erle_db(
        between(&echo, CONVERGENCE, talk),
        between(&sent, CONVERGENCE, talk),
    );
    eprintln!(
        "double talk: near-end speech {level_drop:.1} dB below its level, envelope \
         correlation {envelope:.3} (microphone {:.3}); echo correlation {echo_in:.3} at the \
         microphone, {echo_out:.3} sent; ERLE before the near end talks {before:.1} dB",
        envelope_correlation(near_dt, mic_dt)
    );
    assert!(level_drop <= DOUBLE_TALK_LEVEL_DB, "{level_drop:.1} dB");
    assert!(envelope >= DOUBLE_TALK_ENVELOPE, "{envelope:.3}");
    assert!(echo_out <= echo_in / 2.0, "{echo_out:.3} vs {echo_in:.3}");
    assert!(before >= ERLE_DB, "{before:.1} dB");
}

/// Stated bounds for speech in pink noise at 5 dB SNR: the noise in speech pauses at least
/// 10 dB lower; the speech kept: its log-spectral distance to the clean speech at least 3 dB
/// smaller than the noisy signal's, and its envelope correlation with the clean speech no
/// lower than the noisy signal's.
const NOISE_REDUCTION_DB: f64 = 10.0;
const LSD_GAIN_DB: f64 = 3.0;

#[test]
fn noise_is_suppressed_in_pauses_and_the_speech_kept() {
    let Some((_, near)) = far_and_near() else {
        return;
    };
    let clean = looped(&near, Duration::from_secs(12));
    let (noisy, _) = with_noise(&clean, 5.0, 7);
    let silent_far = vec![0i16; clean.len()];
    let sent = run(
        &mut AudioProcessor::with_parts(ProcessingParts::ALL),
        &silent_far,
        &noisy,
    );

    // Pauses: 20 ms frames where the clean speech is below -60 dBFS, after convergence.
    let skip = (CONVERGENCE.as_secs_f64() * 50.0) as usize;
    let pauses: Vec<usize> = clean
        .chunks(FRAME_SAMPLES)
        .enumerate()
        .skip(skip)
        .filter(|(_, f)| level_db(f) < -60.0)
        .map(|(i, _)| i)
        .collect();
    assert!(pauses.len() > 50, "the signal has pauses: {}", pauses.len());
    let frames_energy = |s: &[i16]| -> f64 {
        pauses
            .iter()
            .map(|&i| energy(&s[i * FRAME_SAMPLES..(i + 1) * FRAME_SAMPLES]))
            .sum()
    };
    let reduction = 10.0 * (frames_energy(&noisy) / frames_energy(&sent).max(1.0)).log10();
    let clean = after(&clean, CONVERGENCE);
    let noisy = after(&noisy, CONVERGENCE);
    let sent = aligned(clean, after(&sent, CONVERGENCE));
    let (lsd_noisy, lsd_sent) = (lsd_db(clean, noisy), lsd_db(clean, sent));
    let (env_noisy, env_sent) = (
        envelope_correlation(clean, noisy),
        envelope_correlation(clean, sent),
    );
    eprintln!(
        "noise at 5 dB SNR: {reduction:.1} dB less noise in pauses; log-spectral distance to \
         the clean speech {lsd_noisy:.2} dB noisy, {lsd_sent:.2} dB sent; envelope \
         correlation {env_noisy:.3} noisy, {env_sent:.3} sent"
    );
    assert!(reduction >= NOISE_REDUCTION_DB, "{reduction:.1} dB");
    assert!(
        lsd_sent <= lsd_noisy - LSD_GAIN_DB,
        "{lsd_sent:.2} vs {lsd_noisy:.2}"
    );
    assert!(env_sent >= env_noisy, "{env_sent:.3} vs {env_noisy:.3}");
}

/// Stated bound for loud speech (peaks at -1 dBFS): AGC2 starts at WebRTC's initial gain of
/// 15 dB and its limiter holds peaks at full scale until the gain has come down (within 2 s);
/// in that time no more than this many samples in a row touch full scale (0.08 ms: limited,
/// not flat-topped), and after it none do.
const MAX_LIMITED_RUN: usize = 4;

/// Stated window for the active speech level after gain control, in dBFS.
const TARGET_DBFS: std::ops::RangeInclusive<f64> = -30.0..=-12.0;

#[test]
fn quiet_speech_is_raised_into_the_target_window_and_loud_speech_is_not_clipped() {
    let Some((_, near)) = far_and_near() else {
        return;
    };
    let speech = looped(&near, Duration::from_secs(16));
    let silent_far = vec![0i16; speech.len()];
    let parts = ProcessingParts::ALL;

    let quiet = at_level(&speech, -40.0);
    let sent = run(&mut AudioProcessor::with_parts(parts), &silent_far, &quiet);
    let tail = Duration::from_secs(10);
    let level = active_level_db(after(&sent, tail));
    eprintln!(
        "quiet speech at {:.1} dBFS comes out at {level:.1} dBFS",
        active_level_db(&quiet)
    );
    assert!(TARGET_DBFS.contains(&level), "{level:.1} dBFS");

    // Loud speech: peaks at -1 dBFS.
    let peak = speech.iter().map(|s| s.unsigned_abs()).max().unwrap();
    let loud: Vec<i16> = speech
        .iter()
        .map(|&s| (f64::from(s) * 29_204.0 / f64::from(peak)).round() as i16)
        .collect();
    let sent = run(&mut AudioProcessor::with_parts(parts), &silent_far, &loud);
    let full_scale = |s: &i16| *s == i16::MAX || *s == i16::MIN;
    let early = sent.iter().filter(|s| full_scale(s)).count();
    let late = after(&sent, CONVERGENCE)
        .iter()
        .filter(|s| full_scale(s))
        .count();
    let longest_run = sent
        .split(|s| !full_scale(s))
        .map(<[i16]>::len)
        .max()
        .unwrap_or(0);
    let level = active_level_db(after(&sent, tail));
    eprintln!(
        "loud speech at {:.1} dBFS comes out at {level:.1} dBFS; {early} samples at full scale \
         while the initial gain comes down, {late} after 2 s, at most {longest_run} in a row",
        active_level_db(&loud)
    );
    assert_eq!(late, 0, "clipped after the gain settled");
    assert!(
        longest_run <= MAX_LIMITED_RUN,
        "flat-topped: {longest_run} samples"
    );
    assert!(
        level <= active_level_db(&loud) + 0.5,
        "not made louder: {level:.1}"
    );
}

/// Off (and auto for anything but a microphone) changes nothing: the Opus packets of a file
/// through the processing are the packets of the file without it, and the playout is the
/// same frames.
#[test]
fn processing_off_is_bit_exact() {
    let samples: Vec<i16> = (0..FRAME_SAMPLES * 60)
        .map(|i| ((TAU * 440.0 * i as f64 / RATE).sin() * 9000.0) as i16)
        .collect();
    let packets = |source: Box<dyn AudioSource + Send>| -> Vec<Vec<u8>> {
        let mut send = SendPipeline::new(source, OpusEncoder::new().unwrap());
        let mut out = Vec::new();
        let mut buf = [0u8; 1275];
        while let Some(n) = send.next_packet(&mut buf).unwrap() {
            out.push(buf[..n].to_vec());
        }
        out
    };
    let plain = packets(Box::new(SamplesSource::new(samples.clone())));
    for setting in [AudioProcessingSetting::Auto, AudioProcessingSetting::Off] {
        let shared = SharedProcessor::new(AudioProcessor::new(setting, false));
        let processed = packets(Box::new(ProcessedSource::new(
            SamplesSource::new(samples.clone()),
            shared.clone(),
        )));
        assert_eq!(processed, plain, "{setting}");
        let mut sink = ReferenceSink::new(MemorySink::new(), shared);
        for f in samples.chunks_exact(FRAME_SAMPLES) {
            sink.write_frame(f.try_into().unwrap()).unwrap();
        }
        assert_eq!(sink.inner().samples(), &samples[..]);
    }
    // Auto on a microphone, and on, do change the signal (the check above can fail).
    let shared = SharedProcessor::new(AudioProcessor::new(AudioProcessingSetting::Auto, true));
    let processed = packets(Box::new(ProcessedSource::new(
        SamplesSource::new(samples.clone()),
        shared,
    )));
    assert_ne!(processed, plain);
}

/// Stated bounds for a call where each side's microphone hears its own speaker: while one
/// person talks and the other is silent, the talker hears their own voice back (through the
/// other side's room and processing) below -50 dBFS and at least 25 dB below the other
/// person's voice when it is their turn.
const OWN_VOICE_BACK_DBFS: f64 = -50.0;
const OWN_VOICE_MARGIN_DB: f64 = 25.0;

/// `samples` placed at `at` in `length` of silence.
fn placed(samples: &[i16], at: Duration, length: Duration) -> Vec<i16> {
    let len = (length.as_secs_f64() * RATE) as usize;
    let start = (at.as_secs_f64() * RATE) as usize;
    let mut out = vec![0i16; len];
    let n = samples.len().min(len.saturating_sub(start));
    out[start..start + n].copy_from_slice(&samples[..n]);
    out
}

/// A call's audio in a simulated room: `talker` into the microphone, the speaker's echo
/// through `path`, what is heard written to `heard`.
fn room_audio(talker: Vec<i16>, path: EchoPath, heard: std::path::PathBuf) -> AudioRoute {
    let talker: std::sync::Arc<[i16]> = talker.into();
    AudioRoute::Custom(CustomAudio::new("simulated room", move || {
        let room = Room::new(path.clone());
        let mic = room.microphone(Box::new(SamplesSource::new(talker.clone())));
        let speaker = room.speaker(Box::new(WavSink::create(&heard)?));
        Ok((Box::new(mic), Box::new(speaker)))
    }))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_an_e2ee_call_with_speakers_neither_side_hears_itself_back() {
    use common::*;
    let Some((ken_voice, ana_voice)) = far_and_near() else {
        return;
    };
    let length = Duration::from_secs(30);
    let ken_talks = placed(&ken_voice[..(7.0 * RATE) as usize], Duration::ZERO, length);
    let ana_talks = placed(&ana_voice, Duration::from_secs(9), length);
    let server = TestServer::start().await;
    let ken_heard = server.wav("ken-hears.wav");
    let ana_heard = server.wav("ana-hears.wav");
    let (ken_route, ana_route) = (
        room_audio(
            ken_talks,
            EchoPath::room(Duration::from_millis(60), -6.0, 11).unwrap(),
            ken_heard.clone(),
        ),
        room_audio(
            ana_talks,
            EchoPath::room(Duration::from_millis(90), -6.0, 12).unwrap(),
            ana_heard.clone(),
        ),
    );
    let Pair {
        ken,
        mut ken_ev,
        ana: _ana,
        mut ana_ev,
    } = server
        .pair(
            ("unused-k.wav", "unused-a.wav"),
            |k, a| {
                k.audio = ken_route;
                a.audio = ana_route;
                // Not microphones, so `auto` would leave them alone: turned on explicitly.
                k.audio_processing = AudioProcessingSetting::On(ProcessingParts::ALL);
                a.audio_processing = AudioProcessingSetting::On(ProcessingParts::ALL);
            },
            (true, true),
        )
        .await;
    ken.call(ANA).unwrap();
    assert!(connected(&mut ken_ev).await, "end-to-end encrypted");
    assert!(connected(&mut ana_ev).await, "end-to-end encrypted");
    let stats = wait_for(&mut ken_ev, 30, |e| match e {
        EngineEvent::Stats { stats, .. } if stats.media.packets_received > 700 => {
            Some(stats.clone())
        }
        _ => None,
    })
    .await;
    assert!(stats.end_to_end);
    assert_eq!(stats.audio_processing.active, ProcessingParts::ALL);
    eprintln!("ken's processing: {:?}", stats.audio_processing);
    assert!(stats.audio_processing.erle_db.is_some() && stats.audio_processing.frames > 500);
    // Turned off mid-call, it stops at once (the next stats say so).
    ken.set_audio_processing(AudioProcessingSetting::Off)
        .unwrap();
    wait_for(&mut ken_ev, 5, |e| match e {
        EngineEvent::Stats { stats, .. } if !stats.audio_processing.active.any() => Some(()),
        _ => None,
    })
    .await;
    ken.hangup().unwrap();
    ended(&mut ken_ev).await;
    ended(&mut ana_ev).await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    let ken_hears = read_wav(&ken_heard);
    let ana_hears = read_wav(&ana_heard);
    let s = Duration::from_secs;
    let ken_back = level_db(between(&ken_hears, s(3), Duration::from_millis(6500)));
    let ana_at_ken = active_level_db(between(&ken_hears, s(10), s(13)));
    let ana_back = level_db(between(&ana_hears, Duration::from_millis(11_500), s(14)));
    let ken_at_ana = active_level_db(between(&ana_hears, s(3), Duration::from_millis(6500)));
    eprintln!(
        "ken hears himself back at {ken_back:.1} dBFS and ana at {ana_at_ken:.1} dBFS; ana \
         hears herself back at {ana_back:.1} dBFS and ken at {ken_at_ana:.1} dBFS"
    );
    for (who, back, other) in [("ken", ken_back, ana_at_ken), ("ana", ana_back, ken_at_ana)] {
        assert!(
            back <= OWN_VOICE_BACK_DBFS,
            "{who} hears {back:.1} dBFS of own voice"
        );
        assert!(
            other - back >= OWN_VOICE_MARGIN_DB,
            "{who}: the other voice at {other:.1} dBFS, own at {back:.1} dBFS"
        );
    }
}
