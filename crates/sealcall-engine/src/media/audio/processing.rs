//! Audio processing on the capture path: acoustic echo cancellation, noise suppression,
//! automatic gain control and a high-pass filter, with the far-end (playout) signal as the echo
//! reference.
//!
//! The processing itself is WebRTC's audio processing module (AEC3, the noise suppressor, AGC2
//! with its limiter, the high-pass filter) as ported to Rust by the
//! [`sonora`](https://crates.io/crates/sonora) crate; nothing here cancels, suppresses or
//! amplifies by itself. This module feeds it: every 20 ms frame is handed over as two 10 ms
//! processing frames, the render (playout) frames before the capture (microphone) frames of the
//! same tick, with the delay between the two as far as the devices report it (AEC3 estimates
//! the rest itself and reports its estimate in [`ProcessingStats::delay_ms`]).
//!
//! * [`AudioProcessingSetting`]: what the user chose: `auto` (on for microphones, off for files
//!   and generated signals, so tests and the echo bot stay bit-exact), `on`, `off`, or a list
//!   of parts (`aec,ns,agc,hpf`).
//! * [`AudioProcessor`]: one call's processing state, sans-IO; [`SharedProcessor`] shares it
//!   between the receive side (render) and the send side (capture) of a call.
//! * [`ProcessedSource`] / [`ReferenceSink`]: wrap any [`AudioSource`] / [`AudioSink`] so a
//!   [`SendPipeline`](super::SendPipeline) and a [`ReceivePipeline`](super::ReceivePipeline)
//!   run through one processor.
//!
//! With every part off, nothing touches the samples: the output is bit-exact with no
//! processing at all.

use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use sonora::config::{
    AdaptiveDigital, EchoCanceller, GainController2, HighPassFilter, NoiseSuppression,
    NoiseSuppressionLevel,
};
use sonora::{AudioProcessing, Config, StreamConfig};

use super::sink::AudioSink;
use super::source::AudioSource;
use super::{FRAME_DURATION, FRAME_SAMPLES, Frame, SAMPLE_RATE};
use crate::{EngineError, Result};

/// Samples in one 10 ms processing frame at 48 kHz (two per 20 ms Opus frame).
pub const PROCESSING_SAMPLES: usize = FRAME_SAMPLES / 2;

/// Playout frames with sound (above -60 dBFS) the echo canceller must have heard before its
/// ERLE is reported: 2 s. AEC3 reports a figure from its first frame, starting at its floor of
/// 0 dB, which would read as "no echo removed".
const ERLE_AFTER_FRAMES: u64 = 100;
/// Mean square of a -60 dBFS frame (full scale 32768).
const SOUND_MEAN_SQUARE: f64 = 32768.0 * 32768.0 * 1e-6;

/// Which parts of the processing run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ProcessingParts {
    /// Acoustic echo cancellation (AEC3), with the playout signal as reference: `aec`.
    pub echo_cancellation: bool,
    /// Noise suppression: `ns`.
    pub noise_suppression: bool,
    /// Automatic gain control (AGC2's adaptive digital gain and limiter): `agc`.
    pub gain_control: bool,
    /// High-pass filter (removes rumble and DC below about 80 Hz): `hpf`.
    pub high_pass: bool,
}

impl ProcessingParts {
    /// Every part on.
    pub const ALL: ProcessingParts = ProcessingParts {
        echo_cancellation: true,
        noise_suppression: true,
        gain_control: true,
        high_pass: true,
    };
    /// Every part off.
    pub const NONE: ProcessingParts = ProcessingParts {
        echo_cancellation: false,
        noise_suppression: false,
        gain_control: false,
        high_pass: false,
    };

    /// Whether any part is on.
    pub fn any(&self) -> bool {
        *self != Self::NONE
    }

    /// The parts with their CLI names, in order: `aec`, `ns`, `agc`, `hpf`.
    pub fn named(&self) -> [(&'static str, bool); 4] {
        [
            ("aec", self.echo_cancellation),
            ("ns", self.noise_suppression),
            ("agc", self.gain_control),
            ("hpf", self.high_pass),
        ]
    }

    /// The sonora configuration for these parts.
    fn config(&self) -> Config {
        Config {
            echo_canceller: self.echo_cancellation.then(|| EchoCanceller {
                // The high-pass filter is its own switch: AEC3 does not force it on.
                enforce_high_pass_filtering: false,
                ..EchoCanceller::default()
            }),
            noise_suppression: self.noise_suppression.then(|| NoiseSuppression {
                // About 18 dB: what desktop WebRTC clients use.
                level: NoiseSuppressionLevel::High,
                ..NoiseSuppression::default()
            }),
            gain_controller2: self.gain_control.then(|| GainController2 {
                // There is no analog microphone volume to drive here: digital gain only.
                input_volume_controller: false,
                adaptive_digital: Some(AdaptiveDigital::default()),
                ..GainController2::default()
            }),
            high_pass_filter: self.high_pass.then(HighPassFilter::default),
            ..Config::default()
        }
    }
}

impl fmt::Display for ProcessingParts {
    /// `aec,ns,agc,hpf` for the parts that are on, `off` for none.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.any() {
            return f.write_str("off");
        }
        let on: Vec<&str> = self
            .named()
            .into_iter()
            .filter_map(|(name, on)| on.then_some(name))
            .collect();
        f.write_str(&on.join(","))
    }
}

/// What the user chose for audio processing (`--audio-processing`, the app's audio settings,
/// [`EngineConfig::audio_processing`](crate::EngineConfig::audio_processing)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AudioProcessingSetting {
    /// Every part on for a microphone, off for files, tones and silence (the default).
    #[default]
    Auto,
    /// Nothing, whatever the input.
    Off,
    /// These parts, whatever the input.
    On(ProcessingParts),
}

impl AudioProcessingSetting {
    /// The parts that run for an input that is (`true`) or is not a real microphone.
    pub fn resolve(self, device_input: bool) -> ProcessingParts {
        match self {
            Self::Auto if device_input => ProcessingParts::ALL,
            Self::Auto | Self::Off => ProcessingParts::NONE,
            Self::On(parts) => parts,
        }
    }
}

impl fmt::Display for AudioProcessingSetting {
    /// The form [`FromStr`] reads: `auto`, `off`, `on` or a list such as `aec,ns`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Auto => f.write_str("auto"),
            Self::Off => f.write_str("off"),
            Self::On(parts) if *parts == ProcessingParts::ALL => f.write_str("on"),
            Self::On(parts) => parts.fmt(f),
        }
    }
}

impl FromStr for AudioProcessingSetting {
    type Err = EngineError;

    /// `auto`, `on` (every part), `off`, or a comma-separated list of `aec`, `ns`, `agc` and
    /// `hpf` (each at most once). Anything else is [`EngineError::InvalidMedia`] naming the
    /// accepted forms.
    fn from_str(s: &str) -> Result<Self> {
        let bad = |what: String| {
            EngineError::InvalidMedia(format!(
                "audio processing {what}: use auto, on, off, or parts from aec,ns,agc,hpf \
                 (for example aec,ns)"
            ))
        };
        match s.trim() {
            "auto" => return Ok(Self::Auto),
            "on" => return Ok(Self::On(ProcessingParts::ALL)),
            "off" => return Ok(Self::Off),
            "" => return Err(bad("is empty".into())),
            _ => {}
        }
        let mut parts = ProcessingParts::NONE;
        for name in s.split(',').map(str::trim) {
            let slot = match name {
                "aec" => &mut parts.echo_cancellation,
                "ns" => &mut parts.noise_suppression,
                "agc" => &mut parts.gain_control,
                "hpf" => &mut parts.high_pass,
                "" => return Err(bad("has an empty part".into())),
                other => {
                    let shown: String = other.chars().take(16).collect();
                    return Err(bad(format!("has an unknown part {shown:?}")));
                }
            };
            if *slot {
                return Err(bad(format!("names {name} twice")));
            }
            *slot = true;
        }
        Ok(Self::On(parts))
    }
}

/// The processing of a call in numbers, for the stats panel.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ProcessingStats {
    /// The parts running now.
    pub active: ProcessingParts,
    /// Echo return loss enhancement in dB, AEC3's own measure of how much echo it removes
    /// (`None` while the echo canceller is off, or until it has heard 2 s of playout with sound
    /// since it started).
    pub erle_db: Option<f64>,
    /// Echo return loss in dB: how much quieter the echo is than the playout to begin with.
    pub erl_db: Option<f64>,
    /// The echo delay AEC3 estimates, in ms.
    pub delay_ms: Option<i32>,
    /// The delay the devices report (playout queue plus capture queue), passed to AEC3.
    pub reported_delay_ms: Option<u32>,
    /// 20 ms capture frames processed.
    pub frames: u64,
    /// Mean processing time per 20 ms frame (render and capture), in microseconds.
    pub mean_cost_us: f64,
}

impl fmt::Display for ProcessingStats {
    /// One line for a stats panel or the CLI: `audio processing aec,ns,agc,hpf | ERLE 32 dB
    /// (echo delay 56 ms) | 450 us per 20 ms frame`, or `audio processing off`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "audio processing {}", self.active)?;
        if !self.active.any() {
            return Ok(());
        }
        if self.active.echo_cancellation {
            match self.erle_db {
                Some(erle) => write!(f, " | ERLE {erle:.0} dB")?,
                None => f.write_str(" | ERLE not measured yet")?,
            }
            if let Some(ms) = self.delay_ms {
                write!(f, " (echo delay {ms} ms)")?;
            }
        }
        write!(f, " | {:.0} us per 20 ms frame", self.mean_cost_us)
    }
}

/// One call's audio processing, sans-IO: hand it every playout frame with
/// [`process_render`](Self::process_render) and every microphone frame with
/// [`process_capture`](Self::process_capture), render first within a tick.
pub struct AudioProcessor {
    setting: AudioProcessingSetting,
    device_input: bool,
    parts: ProcessingParts,
    apm: Option<AudioProcessing>,
    scratch: [i16; PROCESSING_SAMPLES],
    playout_buffered: Option<Duration>,
    capture_buffered: Option<Duration>,
    /// Playout frames with sound since the processing (re)started.
    heard: u64,
    frames: u64,
    busy: Duration,
}

impl fmt::Debug for AudioProcessor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AudioProcessor")
            .field("setting", &self.setting)
            .field("parts", &self.parts)
            .field("frames", &self.frames)
            .finish_non_exhaustive()
    }
}

impl AudioProcessor {
    /// A processor for `setting`, for an input that is (`device_input`) or is not a real
    /// microphone.
    pub fn new(setting: AudioProcessingSetting, device_input: bool) -> Self {
        let mut p = Self {
            setting,
            device_input,
            parts: ProcessingParts::NONE,
            apm: None,
            scratch: [0; PROCESSING_SAMPLES],
            playout_buffered: None,
            capture_buffered: None,
            heard: 0,
            frames: 0,
            busy: Duration::ZERO,
        };
        p.rebuild();
        p
    }

    /// A processor running exactly `parts`.
    pub fn with_parts(parts: ProcessingParts) -> Self {
        Self::new(AudioProcessingSetting::On(parts), false)
    }

    fn rebuild(&mut self) {
        self.heard = 0;
        self.parts = self.setting.resolve(self.device_input);
        let stream = StreamConfig::new(SAMPLE_RATE, 1);
        self.apm = self.parts.any().then(|| {
            AudioProcessing::builder()
                .config(self.parts.config())
                .capture_config(stream)
                .render_config(stream)
                .build()
        });
    }

    /// Changes the setting; the processing restarts when the running parts change.
    pub fn set_setting(&mut self, setting: AudioProcessingSetting) {
        self.setting = setting;
        if setting.resolve(self.device_input) != self.parts {
            self.rebuild();
        }
    }

    /// The setting.
    pub fn setting(&self) -> AudioProcessingSetting {
        self.setting
    }

    /// The input changed (a device switch mid-call, or a file for a microphone): the echo path
    /// and the noise and level estimates belong to the old one, so everything restarts, with
    /// the parts for the new kind of input.
    pub fn input_changed(&mut self, device_input: bool) {
        self.device_input = device_input;
        self.capture_buffered = None;
        self.rebuild();
    }

    /// The output changed (another speaker): the echo path is new, so everything restarts.
    pub fn output_changed(&mut self) {
        self.playout_buffered = None;
        self.rebuild();
    }

    /// The parts running now.
    pub fn parts(&self) -> ProcessingParts {
        self.parts
    }

    /// Records how much audio the playout device holds ahead of the speaker and the capture
    /// device holds behind the microphone; their sum is the delay reported to AEC3.
    pub fn set_buffered(&mut self, playout: Option<Duration>, capture: Option<Duration>) {
        if playout.is_some() {
            self.playout_buffered = playout;
        }
        if capture.is_some() {
            self.capture_buffered = capture;
        }
    }

    fn reported_delay_ms(&self) -> Option<u32> {
        match (self.playout_buffered, self.capture_buffered) {
            (None, None) => None,
            (p, c) => {
                let total = p.unwrap_or_default() + c.unwrap_or_default();
                Some(u32::try_from(total.as_millis()).unwrap_or(u32::MAX))
            }
        }
    }

    /// Hands the frame about to be played to the echo canceller as its reference (the frame
    /// itself is not changed). Does nothing while the echo canceller is off.
    pub fn process_render(&mut self, frame: &Frame) {
        if !self.parts.echo_cancellation {
            return;
        }
        let Some(apm) = self.apm.as_mut() else { return };
        let started = Instant::now();
        let energy: f64 = frame.iter().map(|&s| f64::from(s) * f64::from(s)).sum();
        if energy / FRAME_SAMPLES as f64 > SOUND_MEAN_SQUARE {
            self.heard += 1;
        }
        for half in frame.chunks_exact(PROCESSING_SAMPLES) {
            // The 48 kHz mono format is the one the processor was built with, so neither call
            // can fail; a failure would only leave the reference out.
            let _ = apm.process_render_i16(half, &mut self.scratch);
        }
        self.busy += started.elapsed();
    }

    /// Processes a microphone frame in place (echo removed, noise suppressed, level set, as
    /// the running parts say). With every part off the frame is left exactly as it is.
    pub fn process_capture(&mut self, frame: &mut Frame) {
        let delay = self.reported_delay_ms();
        let Some(apm) = self.apm.as_mut() else { return };
        let started = Instant::now();
        if let Some(ms) = delay {
            // Clamped to 0..=500 ms by the processor, which is all AEC3 handles anyway.
            let _ = apm.set_stream_delay_ms(i32::try_from(ms).unwrap_or(i32::MAX));
        }
        for half in frame.chunks_exact_mut(PROCESSING_SAMPLES) {
            self.scratch.copy_from_slice(half);
            if apm.process_capture_i16(&self.scratch, half).is_err() {
                // Cannot happen with the format built in (see `process_render`); the
                // unprocessed frame goes out rather than a broken one.
                half.copy_from_slice(&self.scratch);
            }
        }
        self.frames += 1;
        self.busy += started.elapsed();
    }

    /// The numbers for the stats panel.
    pub fn stats(&self) -> ProcessingStats {
        let (erle_db, erl_db, delay_ms) = match (&self.apm, self.parts.echo_cancellation) {
            (Some(apm), true) => {
                let s = apm.statistics();
                let measured = self.heard >= ERLE_AFTER_FRAMES;
                (
                    s.echo_return_loss_enhancement.filter(|_| measured),
                    s.echo_return_loss.filter(|_| measured),
                    s.delay_ms,
                )
            }
            _ => (None, None, None),
        };
        ProcessingStats {
            active: self.parts,
            erle_db,
            erl_db,
            delay_ms,
            reported_delay_ms: self.reported_delay_ms(),
            frames: self.frames,
            mean_cost_us: if self.frames == 0 {
                0.0
            } else {
                self.busy.as_secs_f64() * 1e6 / self.frames as f64
            },
        }
    }
}

/// An [`AudioProcessor`] shared by the two halves of a call: the receive side feeds it the
/// playout, the send side processes the microphone. Cloning shares the same processor.
#[derive(Debug, Clone)]
pub struct SharedProcessor(Arc<Mutex<AudioProcessor>>);

impl SharedProcessor {
    /// Shares `processor`.
    pub fn new(processor: AudioProcessor) -> Self {
        Self(Arc::new(Mutex::new(processor)))
    }

    /// The processor (a poisoned lock is taken over: the processor holds no invariant a
    /// panic elsewhere could break).
    pub fn lock(&self) -> MutexGuard<'_, AudioProcessor> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A source whose frames go through a [`SharedProcessor`] before they are returned.
#[derive(Debug)]
pub struct ProcessedSource<S> {
    inner: S,
    processor: SharedProcessor,
}

impl<S: AudioSource> ProcessedSource<S> {
    /// Processes what `inner` captures with `processor`.
    pub fn new(inner: S, processor: SharedProcessor) -> Self {
        Self { inner, processor }
    }

    /// The unprocessed source.
    pub fn inner_mut(&mut self) -> &mut S {
        &mut self.inner
    }
}

impl<S: AudioSource> AudioSource for ProcessedSource<S> {
    fn read_frame(&mut self, out: &mut Frame) -> Result<bool> {
        let more = self.inner.read_frame(out)?;
        let mut p = self.processor.lock();
        // The frame's first sample waited the whole frame, plus what is still queued.
        p.set_buffered(None, self.inner.buffered().map(|q| q + FRAME_DURATION));
        p.process_capture(out);
        Ok(more)
    }

    fn describe(&self) -> String {
        let parts = self.processor.lock().parts();
        format!("{} (audio processing: {parts})", self.inner.describe())
    }

    fn is_device(&self) -> bool {
        self.inner.is_device()
    }

    fn buffered(&self) -> Option<Duration> {
        self.inner.buffered()
    }
}

/// A sink that hands every frame to a [`SharedProcessor`] as the echo reference before
/// writing it, unchanged, to the inner sink.
#[derive(Debug)]
pub struct ReferenceSink<K> {
    inner: K,
    processor: SharedProcessor,
}

impl<K: AudioSink> ReferenceSink<K> {
    /// Feeds what goes to `inner` to `processor`.
    pub fn new(inner: K, processor: SharedProcessor) -> Self {
        Self { inner, processor }
    }

    /// The inner sink.
    pub fn inner(&self) -> &K {
        &self.inner
    }

    /// The inner sink, mutably.
    pub fn inner_mut(&mut self) -> &mut K {
        &mut self.inner
    }
}

impl<K: AudioSink> AudioSink for ReferenceSink<K> {
    fn write_frame(&mut self, pcm: &Frame) -> Result<()> {
        {
            let mut p = self.processor.lock();
            p.set_buffered(self.inner.buffered(), None);
            p.process_render(pcm);
        }
        self.inner.write_frame(pcm)
    }

    fn finish(&mut self) -> Result<()> {
        self.inner.finish()
    }

    fn describe(&self) -> String {
        self.inner.describe()
    }

    fn buffered(&self) -> Option<Duration> {
        self.inner.buffered()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_parse_and_print_back() {
        for (text, want) in [
            ("auto", AudioProcessingSetting::Auto),
            ("off", AudioProcessingSetting::Off),
            ("on", AudioProcessingSetting::On(ProcessingParts::ALL)),
            (
                "aec,ns",
                AudioProcessingSetting::On(ProcessingParts {
                    echo_cancellation: true,
                    noise_suppression: true,
                    ..ProcessingParts::NONE
                }),
            ),
            (
                "agc",
                AudioProcessingSetting::On(ProcessingParts {
                    gain_control: true,
                    ..ProcessingParts::NONE
                }),
            ),
        ] {
            let got: AudioProcessingSetting = text.parse().unwrap();
            assert_eq!(got, want, "{text}");
            assert_eq!(got.to_string(), text);
        }
        assert_eq!(
            "hpf, aec".parse::<AudioProcessingSetting>().unwrap(),
            "aec,hpf".parse().unwrap()
        );
    }

    proptest::proptest! {
        /// Any text parses or is refused without panicking, and every parsed setting prints
        /// back to a form that parses to the same setting.
        #[test]
        fn any_text_parses_or_is_refused(text in ".{0,40}") {
            if let Ok(setting) = text.parse::<AudioProcessingSetting>() {
                let again: AudioProcessingSetting = setting.to_string().parse().unwrap();
                proptest::prop_assert_eq!(again, setting);
            }
        }

        #[test]
        fn every_set_of_parts_round_trips(aec: bool, ns: bool, agc: bool, hpf: bool) {
            let parts = ProcessingParts {
                echo_cancellation: aec,
                noise_suppression: ns,
                gain_control: agc,
                high_pass: hpf,
            };
            let shown = AudioProcessingSetting::On(parts).to_string();
            let back: AudioProcessingSetting = shown.parse().unwrap();
            let want = if parts.any() { AudioProcessingSetting::On(parts) } else { AudioProcessingSetting::Off };
            proptest::prop_assert_eq!(back, want);
        }
    }

    #[test]
    fn bad_settings_are_clear_errors() {
        for (text, says) in [
            ("", "is empty"),
            ("aec,,ns", "empty part"),
            ("aec,echo", "unknown part \"echo\""),
            ("ns,ns", "names ns twice"),
            ("ON", "unknown part"),
        ] {
            let e = text
                .parse::<AudioProcessingSetting>()
                .unwrap_err()
                .to_string();
            assert!(e.contains(says), "{text:?}: {e}");
            assert!(e.contains("aec,ns,agc,hpf"), "{e}");
        }
    }

    #[test]
    fn auto_is_on_for_microphones_only() {
        assert_eq!(
            AudioProcessingSetting::Auto.resolve(true),
            ProcessingParts::ALL
        );
        assert_eq!(
            AudioProcessingSetting::Auto.resolve(false),
            ProcessingParts::NONE
        );
        assert_eq!(
            AudioProcessingSetting::Off.resolve(true),
            ProcessingParts::NONE
        );
        let mut p = AudioProcessor::new(AudioProcessingSetting::Auto, false);
        assert!(!p.parts().any());
        p.input_changed(true);
        assert_eq!(p.parts(), ProcessingParts::ALL);
        p.set_setting(AudioProcessingSetting::Off);
        assert!(!p.parts().any());
    }

    #[test]
    fn with_every_part_off_the_frame_is_untouched() {
        let mut p = AudioProcessor::with_parts(ProcessingParts::NONE);
        let mut frame: Frame = [0; FRAME_SAMPLES];
        for (i, s) in frame.iter_mut().enumerate() {
            *s = ((i * 7919) % 65536) as u16 as i16;
        }
        let before = frame;
        p.process_render(&before);
        p.process_capture(&mut frame);
        assert_eq!(frame, before);
        assert_eq!(p.stats().frames, 0);
    }

    #[test]
    fn stats_read_as_one_line() {
        let mut stats = ProcessingStats {
            active: ProcessingParts::ALL,
            erle_db: Some(31.6),
            delay_ms: Some(56),
            mean_cost_us: 450.2,
            ..ProcessingStats::default()
        };
        assert_eq!(
            stats.to_string(),
            "audio processing aec,ns,agc,hpf | ERLE 32 dB (echo delay 56 ms) | 450 us per 20 ms frame"
        );
        stats.active = ProcessingParts::NONE;
        assert_eq!(stats.to_string(), "audio processing off");
    }

    #[test]
    fn a_new_output_restarts_the_echo_canceller() {
        let mut path = crate::media::EchoPath::room(Duration::from_millis(40), -6.0, 5).unwrap();
        let mut p = AudioProcessor::with_parts(ProcessingParts::ALL);
        let mut noise = 1u32;
        for _ in 0..150 {
            let mut far: Frame = [0; FRAME_SAMPLES];
            for s in far.iter_mut() {
                noise = noise.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                *s = ((noise >> 16) as i16) / 4;
            }
            let echo = path.process(&far);
            let mut mic: Frame = [0; FRAME_SAMPLES];
            for (m, e) in mic.iter_mut().zip(echo) {
                *m = e as i16;
            }
            p.process_render(&far);
            p.process_capture(&mut mic);
        }
        let erle = p.stats().erle_db.expect("measured after 3 s of echo");
        assert!(erle > 10.0, "{erle} dB");
        p.output_changed();
        assert_eq!(p.stats().erle_db, None, "a new echo path is learnt afresh");
        assert_eq!(p.parts(), ProcessingParts::ALL);
    }

    #[test]
    fn the_reported_delay_is_both_queues() {
        let mut p = AudioProcessor::with_parts(ProcessingParts::ALL);
        assert_eq!(p.stats().reported_delay_ms, None);
        p.set_buffered(Some(Duration::from_millis(40)), None);
        p.set_buffered(None, Some(Duration::from_millis(12)));
        assert_eq!(p.stats().reported_delay_ms, Some(52));
        p.output_changed();
        assert_eq!(p.stats().reported_delay_ms, Some(12));
    }
}
