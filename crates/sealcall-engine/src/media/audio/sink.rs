//! Where decoded PCM goes: WAV files, memory, nowhere, and the `--output` spec.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use super::{CHANNELS, Frame, SAMPLE_RATE};
use crate::{EngineError, Result};

/// A consumer of 20 ms frames.
pub trait AudioSink {
    /// Consumes one frame.
    fn write_frame(&mut self, pcm: &Frame) -> Result<()>;
    /// Flushes and closes (e.g. finalises a WAV header). Writing afterwards is an error for
    /// file sinks; calling `finish` twice is harmless.
    fn finish(&mut self) -> Result<()>;
    /// A human-readable description, e.g. `"file out.wav"`.
    fn describe(&self) -> String;
    /// Audio written but not yet played (the device queue), when the sink knows it: part of
    /// the delay reported to the echo canceller. `None` unless a sink says otherwise.
    fn buffered(&self) -> Option<std::time::Duration> {
        None
    }
}

impl<T: AudioSink + ?Sized> AudioSink for Box<T> {
    fn write_frame(&mut self, pcm: &Frame) -> Result<()> {
        (**self).write_frame(pcm)
    }
    fn finish(&mut self) -> Result<()> {
        (**self).finish()
    }
    fn describe(&self) -> String {
        (**self).describe()
    }
    fn buffered(&self) -> Option<std::time::Duration> {
        (**self).buffered()
    }
}

/// Discards everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct NullSink;

impl AudioSink for NullSink {
    fn write_frame(&mut self, _pcm: &Frame) -> Result<()> {
        Ok(())
    }
    fn finish(&mut self) -> Result<()> {
        Ok(())
    }
    fn describe(&self) -> String {
        "null (discarded)".into()
    }
}

/// Collects every sample in memory (for tests and analysis).
#[derive(Debug, Clone, Default)]
pub struct MemorySink {
    samples: Vec<i16>,
}

impl MemorySink {
    /// An empty sink.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty sink with room for `frames` frames (avoids reallocation while writing).
    pub fn with_capacity_frames(frames: usize) -> Self {
        Self {
            samples: Vec::with_capacity(frames.saturating_mul(super::FRAME_SAMPLES)),
        }
    }

    /// The samples written so far.
    pub fn samples(&self) -> &[i16] {
        &self.samples
    }

    /// Takes the samples.
    pub fn into_samples(self) -> Vec<i16> {
        self.samples
    }
}

impl AudioSink for MemorySink {
    fn write_frame(&mut self, pcm: &Frame) -> Result<()> {
        self.samples.extend_from_slice(pcm);
        Ok(())
    }
    fn finish(&mut self) -> Result<()> {
        Ok(())
    }
    fn describe(&self) -> String {
        "memory".into()
    }
}

/// Writes a 48 kHz mono 16-bit WAV file. The header is finalised by
/// [`finish`](AudioSink::finish) (or, best effort, on drop).
pub struct WavSink {
    writer: Option<hound::WavWriter<BufWriter<File>>>,
    path: PathBuf,
    frames: u64,
}

impl std::fmt::Debug for WavSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WavSink")
            .field("path", &self.path)
            .field("frames", &self.frames)
            .field("open", &self.writer.is_some())
            .finish()
    }
}

impl WavSink {
    /// The WAV format written: 48 kHz, mono, 16-bit integer PCM.
    pub const SPEC: hound::WavSpec = hound::WavSpec {
        channels: CHANNELS,
        sample_rate: SAMPLE_RATE,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };

    /// Creates (or truncates) `path`; failures are [`EngineError::AudioFile`].
    pub fn create(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let writer = hound::WavWriter::create(path, Self::SPEC)
            .map_err(|e| EngineError::AudioFile(format!("{}: {e}", path.display())))?;
        Ok(Self {
            writer: Some(writer),
            path: path.to_path_buf(),
            frames: 0,
        })
    }

    /// Frames written so far.
    pub fn frames_written(&self) -> u64 {
        self.frames
    }

    fn err(&self, e: impl std::fmt::Display) -> EngineError {
        EngineError::AudioFile(format!("{}: {e}", self.path.display()))
    }
}

impl AudioSink for WavSink {
    fn write_frame(&mut self, pcm: &Frame) -> Result<()> {
        let Some(writer) = self.writer.as_mut() else {
            return Err(self.err("already finished"));
        };
        let mut w = writer.get_i16_writer(pcm.len() as u32);
        for &s in pcm {
            w.write_sample(s);
        }
        match w.flush() {
            Ok(()) => {
                self.frames += 1;
                Ok(())
            }
            Err(e) => Err(self.err(e)),
        }
    }

    fn finish(&mut self) -> Result<()> {
        match self.writer.take() {
            Some(w) => w.finalize().map_err(|e| self.err(e)),
            None => Ok(()),
        }
    }

    fn describe(&self) -> String {
        format!("file {} (48000 Hz mono 16-bit)", self.path.display())
    }
}

/// A parsed `--output` argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutputSpec {
    /// `null`: discard.
    Null,
    /// `device` or `default`: the default playout device.
    Device,
    /// `device:ID`: the playout device with this id (see [`super::device::AudioDevices::list`]).
    NamedDevice(String),
    /// A path ending in `.wav`.
    Wav(PathBuf),
}

impl OutputSpec {
    /// The accepted forms, for help texts and error messages.
    pub const HELP: &'static str = "FILE.wav, null, device, or device:ID";

    /// Parses `FILE.wav`, `null`, or `device`/`default`; anything else is
    /// [`EngineError::InvalidMedia`]. The file is not created here.
    pub fn parse(spec: &str) -> Result<Self> {
        let s = spec.trim();
        let lower = s.to_ascii_lowercase();
        match lower.as_str() {
            "null" | "none" => Ok(Self::Null),
            "device" | "default" | "speaker" => Ok(Self::Device),
            _ if lower.starts_with("device:") && s.len() > "device:".len() => {
                Ok(Self::NamedDevice(s["device:".len()..].trim().to_owned()))
            }
            _ if lower.ends_with(".wav") && lower.len() > 4 => Ok(Self::Wav(PathBuf::from(s))),
            _ => Err(EngineError::InvalidMedia(format!(
                "output {spec:?}: unknown output kind; expected {}",
                Self::HELP
            ))),
        }
    }

    /// Opens the sink. [`OutputSpec::Device`] fails with [`EngineError::NoAudioDevice`] when
    /// there is no playout device (see [`device::pick_output`](super::device::pick_output)).
    pub fn open(&self) -> Result<Box<dyn AudioSink + Send>> {
        Ok(match self {
            Self::Null => Box::new(NullSink),
            Self::Wav(path) => Box::new(WavSink::create(path)?),
            Self::Device => Box::new(super::device::AudioDevices::open_default_output()?),
            Self::NamedDevice(id) => Box::new(super::device::AudioDevices::open_output(id)?),
        })
    }
}

impl std::str::FromStr for OutputSpec {
    type Err = EngineError;
    fn from_str(s: &str) -> Result<Self> {
        Self::parse(s)
    }
}
