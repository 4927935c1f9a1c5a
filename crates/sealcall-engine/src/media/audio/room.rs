//! A simulated room: what a microphone picks up of its own speaker, for testing and measuring
//! echo cancellation on a machine without a sound card.
//!
//! [`EchoPath`] is a linear acoustic path: the far end's signal delayed, attenuated and
//! smeared by a synthetic room impulse response. The response is sparse (a direct path plus
//! early reflections and an exponentially decaying tail of discrete echoes, placed by a seeded
//! generator), which keeps the convolution cheap enough for real-time calls in tests while
//! giving AEC3 a response of the shape a small room has: a dominant first arrival, then a
//! decaying reverberant tail about 150 ms long.
//!
//! [`Room`] ties an echo path to a call's audio: [`Room::speaker`] is the sink the call plays
//! into (it records what it plays into the path, and can pass it on to another sink),
//! [`Room::microphone`] the source the call captures from (the near-end talker's signal plus
//! the echo). Render before capture within a tick, as the engine's media loop runs them.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::sink::AudioSink;
use super::source::AudioSource;
use super::{FRAME_SAMPLES, Frame, SAMPLE_RATE};
use crate::{EngineError, Result};

/// Length of the reverberant tail after the first arrival.
const TAIL: Duration = Duration::from_millis(150);
/// Discrete echoes in the tail.
const TAIL_TAPS: usize = 96;

/// A linear echo path with a synthetic room impulse response.
#[derive(Debug, Clone)]
pub struct EchoPath {
    /// `(lag in samples, gain)`, sorted by lag.
    taps: Vec<(usize, f32)>,
    /// The far end's recent samples, newest last; as long as the longest lag plus one frame.
    history: VecDeque<f32>,
    longest: usize,
}

impl EchoPath {
    /// A path whose first arrival comes `delay` after the far end's sound, `gain_db` louder
    /// (negative: quieter) than it, followed by a decaying tail; `seed` places the
    /// reflections. `delay` must be at most 500 ms and `gain_db` at most 0 dB.
    pub fn room(delay: Duration, gain_db: f64, seed: u64) -> Result<Self> {
        if delay > Duration::from_millis(500) || !gain_db.is_finite() || gain_db > 0.0 {
            return Err(EngineError::InvalidMedia(format!(
                "echo path of {} ms at {gain_db} dB: the delay must be at most 500 ms and the \
                 gain at most 0 dB",
                delay.as_millis()
            )));
        }
        let rate = f64::from(SAMPLE_RATE);
        let first = (delay.as_secs_f64() * rate).round() as usize;
        let direct = 10f64.powf(gain_db / 20.0);
        let mut taps = vec![(first, direct as f32)];
        let tail = (TAIL.as_secs_f64() * rate) as usize;
        let mut state = seed ^ 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            // SplitMix64: a seeded, reproducible sequence (a test signal, not a secret).
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            (z ^ (z >> 31)) as f64 / u64::MAX as f64
        };
        for _ in 0..TAIL_TAPS {
            let at = 1 + (next() * tail as f64) as usize;
            // About 60 dB of decay over the tail (RT60 = the tail's length), starting 6 dB
            // below the direct path, with random signs as reflections have.
            let decay = 10f64.powf(-3.0 * at as f64 / tail as f64);
            let sign = if next() < 0.5 { -1.0 } else { 1.0 };
            let g = direct * 0.5 * decay * (0.5 + next()) * sign / (TAIL_TAPS as f64).sqrt();
            taps.push((first + at, g as f32));
        }
        taps.sort_by_key(|&(lag, _)| lag);
        let longest = taps.last().map_or(0, |&(lag, _)| lag);
        Ok(Self {
            taps,
            history: VecDeque::from(vec![0.0; longest + FRAME_SAMPLES]),
            longest,
        })
    }

    /// The delay of the first arrival.
    pub fn delay(&self) -> Duration {
        let first = self.taps.first().map_or(0, |&(lag, _)| lag);
        Duration::from_micros(first as u64 * 1_000_000 / u64::from(SAMPLE_RATE))
    }

    /// Feeds one frame of the far end's signal and returns the echo it causes in this frame.
    pub fn process(&mut self, far: &Frame) -> [f32; FRAME_SAMPLES] {
        for &s in far {
            self.history.pop_front();
            self.history.push_back(f32::from(s));
        }
        let mut echo = [0f32; FRAME_SAMPLES];
        // history[newest] is the last sample of `far`; sample i of this frame is at
        // `base + i`, and the echo of it at lag L reads `base + i - L`.
        let base = self.longest;
        for &(lag, gain) in &self.taps {
            for (i, e) in echo.iter_mut().enumerate() {
                *e += gain * self.history[base + i - lag];
            }
        }
        echo
    }
}

#[derive(Debug)]
struct RoomState {
    path: EchoPath,
    /// Echo frames caused by played frames, not yet picked up by the microphone.
    echo: VecDeque<[f32; FRAME_SAMPLES]>,
}

/// A speaker and a microphone in one simulated room, joined by an [`EchoPath`].
#[derive(Debug, Clone)]
pub struct Room(Arc<Mutex<RoomState>>);

impl Room {
    /// A room where the microphone hears the speaker through `path`.
    pub fn new(path: EchoPath) -> Self {
        Self(Arc::new(Mutex::new(RoomState {
            path,
            echo: VecDeque::new(),
        })))
    }

    /// The speaker: plays into the room and passes every frame on to `heard` (for example a
    /// WAV file of what the listener hears).
    pub fn speaker(&self, heard: Box<dyn AudioSink + Send>) -> RoomSpeaker {
        RoomSpeaker {
            room: self.clone(),
            heard,
        }
    }

    /// The microphone: `talker` (the near end's own voice) plus the echo of the speaker.
    pub fn microphone(&self, talker: Box<dyn AudioSource + Send>) -> RoomMicrophone {
        RoomMicrophone {
            room: self.clone(),
            talker,
        }
    }
}

/// The sink of a [`Room`]: see [`Room::speaker`].
pub struct RoomSpeaker {
    room: Room,
    heard: Box<dyn AudioSink + Send>,
}

impl std::fmt::Debug for RoomSpeaker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RoomSpeaker")
            .field("heard", &self.heard.describe())
            .finish_non_exhaustive()
    }
}

impl AudioSink for RoomSpeaker {
    fn write_frame(&mut self, pcm: &Frame) -> Result<()> {
        if let Ok(mut room) = self.room.0.lock() {
            let echo = room.path.process(pcm);
            // A microphone that stopped reading must not let the queue grow without bound.
            if room.echo.len() >= 50 {
                room.echo.pop_front();
            }
            room.echo.push_back(echo);
        }
        self.heard.write_frame(pcm)
    }

    fn finish(&mut self) -> Result<()> {
        self.heard.finish()
    }

    fn describe(&self) -> String {
        format!("simulated room speaker, heard: {}", self.heard.describe())
    }
}

/// The source of a [`Room`]: see [`Room::microphone`].
pub struct RoomMicrophone {
    room: Room,
    talker: Box<dyn AudioSource + Send>,
}

impl std::fmt::Debug for RoomMicrophone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RoomMicrophone")
            .field("talker", &self.talker.describe())
            .finish_non_exhaustive()
    }
}

impl AudioSource for RoomMicrophone {
    fn read_frame(&mut self, out: &mut Frame) -> Result<bool> {
        let more = self.talker.read_frame(out)?;
        // The echo of what played while the microphone was not read (before a call's sending
        // starts) is gone, as in a real room: the newest frame is this tick's.
        let echo = self.room.0.lock().ok().and_then(|mut r| {
            let newest = r.echo.pop_back();
            r.echo.clear();
            newest
        });
        if let Some(echo) = echo {
            for (s, e) in out.iter_mut().zip(echo) {
                *s = (f32::from(*s) + e).round().clamp(-32768.0, 32767.0) as i16;
            }
        }
        Ok(more)
    }

    fn describe(&self) -> String {
        format!(
            "simulated room microphone, talker: {}",
            self.talker.describe()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_impulse_arrives_after_the_delay_at_the_gain() {
        let mut path = EchoPath::room(Duration::from_millis(50), -6.0, 1).unwrap();
        assert_eq!(path.delay(), Duration::from_millis(50));
        let mut impulse: Frame = [0; FRAME_SAMPLES];
        impulse[0] = 10_000;
        let mut response = Vec::new();
        response.extend(path.process(&impulse));
        let silent: Frame = [0; FRAME_SAMPLES];
        for _ in 0..15 {
            response.extend(path.process(&silent));
        }
        let first = response.iter().position(|x| x.abs() > 1.0).unwrap();
        assert_eq!(first, 2400, "50 ms at 48 kHz");
        assert!((response[first] - 10_000.0 * 0.501).abs() < 5.0);
        // The tail decays: its last third holds far less energy than its first.
        let tail = &response[first + 1..first + 7200];
        let energy = |s: &[f32]| s.iter().map(|x| x * x).sum::<f32>();
        assert!(energy(&tail[..2400]) > 20.0 * energy(&tail[4800..]));
    }

    #[test]
    fn bad_paths_are_refused() {
        assert!(EchoPath::room(Duration::from_secs(1), -6.0, 1).is_err());
        assert!(EchoPath::room(Duration::from_millis(50), 3.0, 1).is_err());
        assert!(EchoPath::room(Duration::from_millis(50), f64::NAN, 1).is_err());
    }
}
