//! The audio processing on the microphone (feature `audio-processing`): echo cancellation,
//! noise suppression, gain control and the high-pass filter, each alone and as the whole
//! chain, per 10 ms processing frame at 48 kHz mono, through the engine's
//! [`AudioProcessor`] (which hands WebRTC's audio processing module two 10 ms frames per
//! 20 ms Opus frame).
//!
//! The input keeps every part busy: the far end's speech-like signal (a voiced 140 Hz
//! fundamental with harmonics and a syllable-rate envelope) plays through a simulated room
//! ([`EchoPath`], 60 ms, -6 dB) into a microphone that also hears noise; the processor has
//! converged on it (200 frames, 4 s) before anything is timed.

use core::time::Duration;
use std::time::Instant;

use sealcall_engine::media::{AudioProcessor, EchoPath, FRAME_SAMPLES, Frame, ProcessingParts};

use crate::extras::Routine;
use crate::{BenchError, Result};

/// Frames of input cycled through (four seconds).
const INPUT_FRAMES: usize = 200;
/// The goal for the whole chain: at most 10% of one core's 10 ms, per 10 ms frame.
pub const CHAIN_GOAL_US: f64 = 1_000.0;

/// Which parts one routine runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApmPart {
    /// Echo cancellation (render and capture).
    EchoCancellation,
    /// Noise suppression.
    NoiseSuppression,
    /// Gain control.
    GainControl,
    /// High-pass filter.
    HighPass,
    /// Everything, as a call with a microphone runs it.
    Chain,
}

impl ApmPart {
    /// Every routine, the parts then the chain.
    pub const ALL: [ApmPart; 5] = [
        ApmPart::EchoCancellation,
        ApmPart::NoiseSuppression,
        ApmPart::GainControl,
        ApmPart::HighPass,
        ApmPart::Chain,
    ];

    /// The short name: `aec`, `ns`, `agc`, `hpf`, `chain`.
    pub const fn name(self) -> &'static str {
        match self {
            ApmPart::EchoCancellation => "aec",
            ApmPart::NoiseSuppression => "ns",
            ApmPart::GainControl => "agc",
            ApmPart::HighPass => "hpf",
            ApmPart::Chain => "chain",
        }
    }

    /// The parts that run.
    pub const fn parts(self) -> ProcessingParts {
        let none = ProcessingParts::NONE;
        match self {
            ApmPart::EchoCancellation => ProcessingParts {
                echo_cancellation: true,
                ..none
            },
            ApmPart::NoiseSuppression => ProcessingParts {
                noise_suppression: true,
                ..none
            },
            ApmPart::GainControl => ProcessingParts {
                gain_control: true,
                ..none
            },
            ApmPart::HighPass => ProcessingParts {
                high_pass: true,
                ..none
            },
            ApmPart::Chain => ProcessingParts::ALL,
        }
    }
}

/// One part (or the chain) processing 10 ms frames: [`Routine::run`] times `iters` 10 ms
/// frames (a 20 ms frame holds two: `iters` rounded up to whole 20 ms frames, the time scaled
/// back to `iters`).
pub struct ApmRoutine {
    processor: AudioProcessor,
    far: Vec<Frame>,
    mic: Vec<Frame>,
    next: usize,
}

impl ApmRoutine {
    /// Sets up and converges `part` on the benchmark's input.
    pub fn new(part: ApmPart) -> Result<Self> {
        let mut path = EchoPath::room(Duration::from_millis(60), -6.0, 1)
            .map_err(BenchError::ctx("echo path"))?;
        let mut noise = 0x2545_f491u32;
        let mut far = Vec::with_capacity(INPUT_FRAMES);
        let mut mic = Vec::with_capacity(INPUT_FRAMES);
        for f in 0..INPUT_FRAMES {
            let mut frame: Frame = [0; FRAME_SAMPLES];
            for (i, s) in frame.iter_mut().enumerate() {
                let t = (f * FRAME_SAMPLES + i) as f64 / 48_000.0;
                let f0 = 140.0 * core::f64::consts::TAU * t;
                let voice = f0.sin() + 0.5 * (2.0 * f0).sin() + 0.25 * (3.0 * f0).sin();
                let envelope = (core::f64::consts::TAU * 3.0 * t).sin().max(0.0);
                *s = (voice * envelope * 6000.0) as i16;
            }
            let echo = path.process(&frame);
            let mut m: Frame = [0; FRAME_SAMPLES];
            for (out, e) in m.iter_mut().zip(echo) {
                noise = noise.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                let n = f32::from((noise >> 16) as u16) / 65536.0 - 0.5;
                *out = (e + n * 400.0).clamp(-32768.0, 32767.0) as i16;
            }
            far.push(frame);
            mic.push(m);
        }
        let mut r = Self {
            processor: AudioProcessor::with_parts(part.parts()),
            far,
            mic,
            next: 0,
        };
        for _ in 0..INPUT_FRAMES {
            r.frame();
        }
        Ok(r)
    }

    /// Processes the next 20 ms frame (two 10 ms frames), playout first.
    fn frame(&mut self) -> i16 {
        let i = self.next;
        self.next = (self.next + 1) % INPUT_FRAMES;
        let mut capture = self.mic[i];
        self.processor.process_render(&self.far[i]);
        self.processor.process_capture(&mut capture);
        capture[FRAME_SAMPLES / 2]
    }
}

impl Routine for ApmRoutine {
    fn run(&mut self, iters: u64) -> Result<Duration> {
        let frames = iters.div_ceil(2).max(1);
        let start = Instant::now();
        for _ in 0..frames {
            core::hint::black_box(self.frame());
        }
        let elapsed = start.elapsed();
        Ok(elapsed.mul_f64(iters as f64 / (2 * frames) as f64))
    }
}
