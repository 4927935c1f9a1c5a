//! A local recording of a call: a 48 kHz, 16-bit **stereo** WAV file, the left channel what this
//! device sent (the microphone after processing and mute; silence while on hold), the right
//! channel what it played (the other person).
//!
//! Sans-IO apart from the file: frames come in as the call's 20 ms loop produces them, one of
//! each side per tick; they are paired in order, and a side that falls more than
//! [`MAX_SKEW_FRAMES`] behind is filled with silence so the two channels stay aligned.
//!
//! ```
//! # fn main() -> sealcall_engine::Result<()> {
//! use sealcall_engine::media::{CallRecorder, FRAME_SAMPLES};
//! let dir = tempfile::tempdir().unwrap();
//! let path = dir.path().join("call.wav");
//! let mut rec = CallRecorder::create(&path)?;
//! rec.local(&[100; FRAME_SAMPLES])?;
//! rec.remote(&[-100; FRAME_SAMPLES])?;
//! let done = rec.finish()?;
//! assert_eq!(done.frames, 1);
//! assert!(CallRecorder::create(&path).is_err(), "an existing file is never overwritten");
//! # Ok(()) }
//! ```

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{FRAME_DURATION, FRAME_SAMPLES, Frame, SAMPLE_RATE};
use crate::error::{EngineError, Result};

/// How far one side may run ahead before the other is filled with silence (0.5 s).
pub const MAX_SKEW_FRAMES: usize = 25;

/// A recording being written. Dropping it without [`CallRecorder::finish`] finalises the file
/// as well as it can.
pub struct CallRecorder {
    writer: Option<hound::WavWriter<BufWriter<File>>>,
    path: PathBuf,
    local: VecDeque<Frame>,
    remote: VecDeque<Frame>,
    frames: u64,
}

impl std::fmt::Debug for CallRecorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallRecorder")
            .field("path", &self.path)
            .field("frames", &self.frames)
            .finish()
    }
}

/// A finished recording.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    /// The file.
    pub path: PathBuf,
    /// Stereo frames of 20 ms written.
    pub frames: u64,
}

impl Recorded {
    /// The recording's length.
    pub fn duration(&self) -> Duration {
        FRAME_DURATION * u32::try_from(self.frames).unwrap_or(u32::MAX)
    }
}

impl CallRecorder {
    /// The format written: 48 kHz, two channels (sent, played), 16-bit integer PCM.
    pub const SPEC: hound::WavSpec = hound::WavSpec {
        channels: 2,
        sample_rate: SAMPLE_RATE,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };

    /// Creates `path`, which must not exist yet (a recording never overwrites a file) and must
    /// end in `.wav`. Failures are [`EngineError::AudioFile`].
    pub fn create(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let err =
            |e: &dyn std::fmt::Display| EngineError::AudioFile(format!("{}: {e}", path.display()));
        if !path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("wav"))
        {
            return Err(err(&"a recording is a .wav file"));
        }
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::AlreadyExists => err(&"the file already exists"),
                _ => err(&e),
            })?;
        let writer =
            hound::WavWriter::new(BufWriter::new(file), Self::SPEC).map_err(|e| err(&e))?;
        Ok(Self {
            writer: Some(writer),
            path: path.to_path_buf(),
            local: VecDeque::new(),
            remote: VecDeque::new(),
            frames: 0,
        })
    }

    /// The file being written.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// One frame this device sent.
    pub fn local(&mut self, frame: &Frame) -> Result<()> {
        self.local.push_back(*frame);
        self.drain()
    }

    /// One frame this device played.
    pub fn remote(&mut self, frame: &Frame) -> Result<()> {
        self.remote.push_back(*frame);
        self.drain()
    }

    /// Writes every complete pair, and fills a side that fell too far behind with silence.
    fn drain(&mut self) -> Result<()> {
        const SILENCE: Frame = [0; FRAME_SAMPLES];
        loop {
            let skewed = self.local.len().max(self.remote.len()) > MAX_SKEW_FRAMES;
            let (l, r) = match (self.local.front(), self.remote.front()) {
                (Some(_), Some(_)) => (self.local.pop_front(), self.remote.pop_front()),
                (Some(_), None) if skewed => (self.local.pop_front(), None),
                (None, Some(_)) if skewed => (None, self.remote.pop_front()),
                _ => return Ok(()),
            };
            self.write_pair(&l.unwrap_or(SILENCE), &r.unwrap_or(SILENCE))?;
        }
    }

    fn write_pair(&mut self, l: &Frame, r: &Frame) -> Result<()> {
        let path = &self.path;
        let Some(writer) = self.writer.as_mut() else {
            return Err(EngineError::AudioFile(format!(
                "{}: already finished",
                path.display()
            )));
        };
        let mut w = writer.get_i16_writer(2 * FRAME_SAMPLES as u32);
        for (a, b) in l.iter().zip(r.iter()) {
            w.write_sample(*a);
            w.write_sample(*b);
        }
        w.flush()
            .map_err(|e| EngineError::AudioFile(format!("{}: {e}", path.display())))?;
        self.frames += 1;
        Ok(())
    }

    /// Writes what is left (the other side as silence) and finalises the file.
    pub fn finish(mut self) -> Result<Recorded> {
        self.finish_in_place()?;
        Ok(Recorded {
            path: self.path.clone(),
            frames: self.frames,
        })
    }

    fn finish_in_place(&mut self) -> Result<()> {
        const SILENCE: Frame = [0; FRAME_SAMPLES];
        while !self.local.is_empty() || !self.remote.is_empty() {
            let l = self.local.pop_front();
            let r = self.remote.pop_front();
            self.write_pair(&l.unwrap_or(SILENCE), &r.unwrap_or(SILENCE))?;
        }
        match self.writer.take() {
            Some(w) => w
                .finalize()
                .map_err(|e| EngineError::AudioFile(format!("{}: {e}", self.path.display()))),
            None => Ok(()),
        }
    }

    /// Gives up before anything was recorded: closes and deletes the file (it holds only a
    /// header).
    pub fn discard(mut self) -> Result<()> {
        drop(self.writer.take());
        std::fs::remove_file(&self.path)
            .map_err(|e| EngineError::AudioFile(format!("{}: {e}", self.path.display())))
    }
}

impl Drop for CallRecorder {
    fn drop(&mut self) {
        if self.writer.is_some() {
            let _ = self.finish_in_place();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(v: i16) -> Frame {
        [v; FRAME_SAMPLES]
    }

    #[test]
    fn pairs_sides_in_order_and_fills_a_silent_side() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.wav");
        let mut rec = CallRecorder::create(&path).unwrap();
        for i in 0..3 {
            rec.local(&frame(i + 1)).unwrap();
            rec.remote(&frame(-(i + 1))).unwrap();
        }
        // The other side stops: after the allowed skew, silence fills it.
        for _ in 0..MAX_SKEW_FRAMES + 5 {
            rec.local(&frame(9)).unwrap();
        }
        let done = rec.finish().unwrap();
        assert_eq!(done.frames, 3 + MAX_SKEW_FRAMES as u64 + 5);
        assert_eq!(
            done.duration(),
            FRAME_DURATION * (3 + MAX_SKEW_FRAMES as u32 + 5)
        );
        let mut reader = hound::WavReader::open(&path).unwrap();
        assert_eq!(reader.spec(), CallRecorder::SPEC);
        let s: Vec<i16> = reader.samples::<i16>().map(|s| s.unwrap()).collect();
        assert_eq!(s.len(), 2 * FRAME_SAMPLES * done.frames as usize);
        assert_eq!((s[0], s[1]), (1, -1));
        let third = 2 * 2 * FRAME_SAMPLES;
        assert_eq!((s[third], s[third + 1]), (3, -3));
        assert_eq!((s[s.len() - 2], s[s.len() - 1]), (9, 0));
    }

    #[test]
    fn refuses_to_overwrite_and_names_the_problem() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("taken.wav");
        std::fs::write(&path, b"keep me").unwrap();
        let e = CallRecorder::create(&path).unwrap_err().to_string();
        assert!(e.contains("already exists"), "{e}");
        assert_eq!(std::fs::read(&path).unwrap(), b"keep me");
        let e = CallRecorder::create(dir.path().join("call.mp3"))
            .unwrap_err()
            .to_string();
        assert!(e.contains(".wav"), "{e}");
        let e = CallRecorder::create(dir.path().join("no/such/dir.wav"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("dir.wav"), "{e}");
    }

    #[test]
    fn a_discarded_recording_leaves_no_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gone.wav");
        CallRecorder::create(&path).unwrap().discard().unwrap();
        assert!(!path.exists());
    }
}
