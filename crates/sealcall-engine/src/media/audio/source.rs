//! Where PCM comes from: generated tones, silence, WAV files, and the `--input` spec.
//!
//! Every source yields 20 ms frames of 48 kHz mono `i16`. Sources are not paced: they return the
//! next frame immediately, and the caller's 20 ms tick (or the device, for
//! [`DeviceSource`](super::DeviceSource)) sets the pace.

use std::f64::consts::TAU;
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use super::resample::{LinearResampler, f32_to_i16};
use super::{FRAME_SAMPLES, Frame, SAMPLE_RATE};
use crate::{EngineError, Result};

/// A producer of 20 ms frames.
pub trait AudioSource {
    /// Fills `out` with the next frame. Returns `Ok(false)` when the source has ended (then
    /// `out` is silent); a final partial frame is padded with silence and returns `Ok(true)`.
    fn read_frame(&mut self, out: &mut Frame) -> Result<bool>;
    /// A human-readable description, e.g. `"tone 440 Hz"` or `"file voice.wav (44100 Hz → 48000 Hz)"`.
    fn describe(&self) -> String;
    /// Whether this is a real microphone (audio processing is on by default for those, off
    /// for files and generated signals). `false` unless a source says otherwise.
    fn is_device(&self) -> bool {
        false
    }
    /// Audio captured but not yet returned (the device queue), when the source knows it: part
    /// of the delay reported to the echo canceller. `None` unless a source says otherwise.
    fn buffered(&self) -> Option<std::time::Duration> {
        None
    }
}

impl<T: AudioSource + ?Sized> AudioSource for Box<T> {
    fn read_frame(&mut self, out: &mut Frame) -> Result<bool> {
        (**self).read_frame(out)
    }
    fn describe(&self) -> String {
        (**self).describe()
    }
    fn is_device(&self) -> bool {
        (**self).is_device()
    }
    fn buffered(&self) -> Option<std::time::Duration> {
        (**self).buffered()
    }
}

/// A sine tone with continuous phase across frames. Never ends.
#[derive(Debug, Clone)]
pub struct ToneSource {
    freq_hz: f64,
    amplitude: f64,
    phase: f64,
}

impl ToneSource {
    /// Default amplitude of `tone:FREQ` specs (-10 dBFS-ish).
    pub const DEFAULT_AMPLITUDE: f64 = 0.3;

    /// A tone of `freq_hz` (strictly between 0 and 24 000 Hz) at `amplitude` (0.0 ..= 1.0 of
    /// full scale); anything else is [`EngineError::InvalidMedia`].
    pub fn new(freq_hz: f64, amplitude: f64) -> Result<Self> {
        let nyquist = f64::from(SAMPLE_RATE) / 2.0;
        if !freq_hz.is_finite() || freq_hz <= 0.0 || freq_hz >= nyquist {
            return Err(EngineError::InvalidMedia(format!(
                "tone frequency {freq_hz} Hz must be above 0 and below {nyquist} Hz"
            )));
        }
        if !amplitude.is_finite() || !(0.0..=1.0).contains(&amplitude) {
            return Err(EngineError::InvalidMedia(format!(
                "tone amplitude {amplitude} must be between 0.0 and 1.0"
            )));
        }
        Ok(Self {
            freq_hz,
            amplitude,
            phase: 0.0,
        })
    }

    /// The frequency in Hz.
    pub fn frequency(&self) -> f64 {
        self.freq_hz
    }
}

impl AudioSource for ToneSource {
    fn read_frame(&mut self, out: &mut Frame) -> Result<bool> {
        let step = TAU * self.freq_hz / f64::from(SAMPLE_RATE);
        let scale = self.amplitude * 32767.0;
        for s in out.iter_mut() {
            *s = (self.phase.sin() * scale).round() as i16;
            self.phase += step;
            if self.phase >= TAU {
                self.phase -= TAU;
            }
        }
        Ok(true)
    }

    fn describe(&self) -> String {
        format!("tone {} Hz (amplitude {})", self.freq_hz, self.amplitude)
    }
}

/// Endless silence.
#[derive(Debug, Clone, Copy, Default)]
pub struct SilenceSource;

impl AudioSource for SilenceSource {
    fn read_frame(&mut self, out: &mut Frame) -> Result<bool> {
        out.fill(0);
        Ok(true)
    }

    fn describe(&self) -> String {
        "silence".into()
    }
}

/// Frames from samples in memory (48 kHz mono), played once; the last frame is padded with
/// silence.
#[derive(Debug, Clone, Default)]
pub struct SamplesSource {
    samples: std::sync::Arc<[i16]>,
    at: usize,
}

impl SamplesSource {
    /// Plays `samples` once.
    pub fn new(samples: impl Into<std::sync::Arc<[i16]>>) -> Self {
        Self {
            samples: samples.into(),
            at: 0,
        }
    }
}

impl AudioSource for SamplesSource {
    fn read_frame(&mut self, out: &mut Frame) -> Result<bool> {
        let rest = self.samples.get(self.at..).unwrap_or_default();
        if rest.is_empty() {
            out.fill(0);
            return Ok(false);
        }
        let n = rest.len().min(FRAME_SAMPLES);
        out[..n].copy_from_slice(&rest[..n]);
        out[n..].fill(0);
        self.at += n;
        Ok(true)
    }

    fn describe(&self) -> String {
        format!("{} samples from memory", self.samples.len())
    }
}

/// Frames read from a WAV file.
///
/// Accepts integer PCM of 8 to 32 bits and 32-bit float, any number of channels (averaged to
/// mono), at any sample rate: 48 kHz is read exactly, other rates are converted with simple
/// linear interpolation (adequate for speech and test tones, not for music mastering). Ends at
/// the end of the file.
pub struct WavSource {
    reader: hound::WavReader<BufReader<File>>,
    path: PathBuf,
    spec: hound::WavSpec,
    resampler: LinearResampler,
    /// Resampled samples not yet returned (at most a few beyond one frame).
    pending: std::collections::VecDeque<f32>,
    ended: bool,
}

impl std::fmt::Debug for WavSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WavSource")
            .field("path", &self.path)
            .field("spec", &self.spec)
            .field("ended", &self.ended)
            .finish_non_exhaustive()
    }
}

impl WavSource {
    /// Opens a WAV file; unreadable or unsupported files are [`EngineError::AudioFile`].
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let reader = hound::WavReader::open(path)
            .map_err(|e| EngineError::AudioFile(format!("{}: {e}", path.display())))?;
        let spec = reader.spec();
        let bad = |why: String| EngineError::AudioFile(format!("{}: {why}", path.display()));
        if spec.channels == 0 {
            return Err(bad("the file declares 0 channels".into()));
        }
        if spec.sample_rate < 1000 || spec.sample_rate > 384_000 {
            return Err(bad(format!(
                "unsupported sample rate {} Hz (expected 1000..=384000, ideally 48000)",
                spec.sample_rate
            )));
        }
        match (spec.sample_format, spec.bits_per_sample) {
            (hound::SampleFormat::Int, 8..=32) | (hound::SampleFormat::Float, 32) => {}
            (format, bits) => {
                return Err(bad(format!(
                    "unsupported sample format {format:?} with {bits} bits (expected 8..32-bit integer or 32-bit float PCM)"
                )));
            }
        }
        Ok(Self {
            reader,
            path: path.to_path_buf(),
            spec,
            resampler: LinearResampler::new(spec.sample_rate, SAMPLE_RATE),
            pending: std::collections::VecDeque::with_capacity(FRAME_SAMPLES + 64),
            ended: false,
        })
    }

    /// The file's format as found in its header.
    pub fn spec(&self) -> hound::WavSpec {
        self.spec
    }

    /// Reads one sample of one channel, normalised; `None` at the end of the data.
    fn next_sample(&mut self) -> Result<Option<f32>> {
        let v = match self.spec.sample_format {
            hound::SampleFormat::Float => match self.reader.samples::<f32>().next() {
                None => return Ok(None),
                Some(r) => r.map(|x| if x.is_finite() { x } else { 0.0 }),
            },
            hound::SampleFormat::Int => {
                let scale = 2f32.powi(i32::from(self.spec.bits_per_sample) - 1);
                match self.reader.samples::<i32>().next() {
                    None => return Ok(None),
                    Some(r) => r.map(|x| x as f32 / scale),
                }
            }
        };
        v.map(Some)
            .map_err(|e| EngineError::AudioFile(format!("{}: {e}", self.path.display())))
    }

    /// Reads one multi-channel sample and averages its channels; `None` at the end.
    fn next_mono(&mut self) -> Result<Option<f32>> {
        let channels = self.spec.channels;
        let mut sum = 0.0f32;
        for c in 0..channels {
            match self.next_sample()? {
                Some(x) => sum += x,
                // A truncated last sample frame: treat as the end.
                None if c == 0 => return Ok(None),
                None => return Ok(None),
            }
        }
        Ok(Some(sum / f32::from(channels)))
    }
}

impl AudioSource for WavSource {
    fn read_frame(&mut self, out: &mut Frame) -> Result<bool> {
        while !self.ended && self.pending.len() < FRAME_SAMPLES {
            match self.next_mono()? {
                Some(x) => {
                    let pending = &mut self.pending;
                    self.resampler.push(x, |y| pending.push_back(y));
                }
                None => self.ended = true,
            }
        }
        if self.pending.is_empty() {
            out.fill(0);
            return Ok(false);
        }
        for s in out.iter_mut() {
            *s = self.pending.pop_front().map_or(0, f32_to_i16);
        }
        Ok(true)
    }

    fn describe(&self) -> String {
        let rate = if self.spec.sample_rate == SAMPLE_RATE {
            format!("{} Hz", SAMPLE_RATE)
        } else {
            format!(
                "{} Hz resampled to {} Hz (linear)",
                self.spec.sample_rate, SAMPLE_RATE
            )
        };
        format!(
            "file {} ({} ch, {rate})",
            self.path.display(),
            self.spec.channels
        )
    }
}

/// A parsed `--input` argument.
#[derive(Debug, Clone, PartialEq)]
pub enum InputSpec {
    /// `tone:FREQ` or `tone:FREQ:AMPLITUDE` (amplitude 0..=1, default 0.3).
    Tone {
        /// Frequency in Hz.
        freq_hz: f64,
        /// Amplitude, 0.0 ..= 1.0 of full scale.
        amplitude: f64,
    },
    /// `silence`.
    Silence,
    /// `device` or `default`: the default capture device.
    Device,
    /// `device:ID`: the capture device with this id (see [`super::device::AudioDevices::list`]).
    NamedDevice(String),
    /// A path ending in `.wav`.
    Wav(PathBuf),
}

impl InputSpec {
    /// The accepted forms, for help texts and error messages.
    pub const HELP: &'static str = "tone:FREQ[:AMPLITUDE] (e.g. tone:440 or tone:440:0.3), silence, device, device:ID, or FILE.wav";

    /// Parses `tone:440`, `tone:440:0.3`, `silence`, `device`/`default`, or `FILE.wav`.
    /// Unknown forms and out-of-range values are [`EngineError::InvalidMedia`] with a message
    /// naming the accepted forms. The file is not opened here.
    pub fn parse(spec: &str) -> Result<Self> {
        let s = spec.trim();
        let invalid = |why: &str| {
            EngineError::InvalidMedia(format!("input {spec:?}: {why}; expected {}", Self::HELP))
        };
        if s.is_empty() {
            return Err(invalid("empty input spec"));
        }
        let lower = s.to_ascii_lowercase();
        if lower == "silence" {
            return Ok(Self::Silence);
        }
        if lower == "device" || lower == "default" || lower == "mic" {
            return Ok(Self::Device);
        }
        if lower.starts_with("device:") {
            let id = s["device:".len()..].trim();
            if id.is_empty() {
                return Err(invalid("missing device id after \"device:\""));
            }
            return Ok(Self::NamedDevice(id.to_owned()));
        }
        if let Some(rest) = lower.strip_prefix("tone") {
            if rest.is_empty() {
                return Err(invalid("missing frequency after \"tone\""));
            }
            let Some(rest) = rest.strip_prefix(':') else {
                return Err(invalid("unknown input kind"));
            };
            let mut parts = rest.split(':');
            let freq = parts.next().unwrap_or_default();
            let freq_hz: f64 = freq
                .trim_end_matches("hz")
                .parse()
                .map_err(|_| invalid(&format!("frequency {freq:?} is not a number")))?;
            let amplitude = match parts.next() {
                None => ToneSource::DEFAULT_AMPLITUDE,
                Some(a) => a
                    .parse()
                    .map_err(|_| invalid(&format!("amplitude {a:?} is not a number")))?,
            };
            if parts.next().is_some() {
                return Err(invalid("too many ':' fields"));
            }
            // Validate the ranges now so the error shows up at argument parsing time.
            ToneSource::new(freq_hz, amplitude).map_err(|e| match e {
                EngineError::InvalidMedia(m) => invalid(&m),
                other => other,
            })?;
            return Ok(Self::Tone { freq_hz, amplitude });
        }
        if lower.ends_with(".wav") {
            return Ok(Self::Wav(PathBuf::from(s)));
        }
        Err(invalid("unknown input kind (file inputs must end in .wav)"))
    }

    /// Opens the source. [`InputSpec::Device`] opens the default capture device and fails with
    /// [`EngineError::NoAudioDevice`] when there is none (see
    /// [`device::pick_input`](super::device::pick_input) for the fallback to a tone).
    pub fn open(&self) -> Result<Box<dyn AudioSource + Send>> {
        Ok(match self {
            Self::Tone { freq_hz, amplitude } => Box::new(ToneSource::new(*freq_hz, *amplitude)?),
            Self::Silence => Box::new(SilenceSource),
            Self::Wav(path) => Box::new(WavSource::open(path)?),
            Self::Device => Box::new(super::device::AudioDevices::open_default_input()?),
            Self::NamedDevice(id) => Box::new(super::device::AudioDevices::open_input(id)?),
        })
    }
}

impl std::str::FromStr for InputSpec {
    type Err = EngineError;
    fn from_str(s: &str) -> Result<Self> {
        Self::parse(s)
    }
}
