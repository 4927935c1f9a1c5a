//! Audio: Opus at 48 kHz mono in 20 ms frames.
//!
//! Everything here except [`device`] is sans-IO: time is passed in explicitly (as a
//! [`Duration`](std::time::Duration) since an arbitrary epoch chosen by the caller) and nothing
//! spawns threads. Only device capture and playout run on `cpal`'s callback threads.
//!
//! * [`codec`]: [`OpusEncoder`] / [`OpusDecoder`] with packet-loss concealment and in-band FEC.
//! * [`jitter`]: [`JitterBuffer`], keyed by RTP sequence number, with adaptive target delay.
//! * [`source`] / [`sink`]: where PCM comes from and goes to without audio hardware (tone, WAV
//!   files, silence, memory), plus the CLI specs `--input tone:440|FILE.wav` and
//!   `--output FILE.wav|null`.
//! * [`device`]: microphone and speaker through `cpal`, with a fallback to a test tone (and a
//!   message saying so) when the machine has no sound card.
//! * [`pipeline`]: [`SendPipeline`] (source → Opus packets) and [`ReceivePipeline`] (packets →
//!   jitter buffer → decoder / concealment → sink), and their [`MediaStats`].
//! * [`processing`]: echo cancellation, noise suppression, gain control and a high-pass filter
//!   on the microphone signal, with the playout as the echo reference ([`AudioProcessor`]).
//! * [`room`]: a simulated speaker-to-microphone echo path, for tests and benches without a
//!   sound card.
//! * [`recorder`]: a local stereo WAV recording of a call ([`CallRecorder`]).
//! * [`analysis`]: dominant frequency, tone SNR and RMS, used by end-to-end tests.
//!
//! Every frame is exactly [`FRAME_SAMPLES`] mono `i16` samples: `[i16; FRAME_SAMPLES]`.

pub mod analysis;
pub mod codec;
pub mod device;
pub mod jitter;
pub mod pipeline;
pub mod processing;
pub mod recorder;
mod resample;
pub mod room;
pub mod sink;
pub mod source;

pub use codec::{CodecStats, EncoderConfig, OpusDecoder, OpusEncoder};
pub use device::{
    AudioDevices, DeviceInfo, DeviceList, DeviceSink, DeviceSource, DeviceStats, PickedInput,
    PickedOutput, pick_input, pick_output,
};
pub use jitter::{JitterBuffer, JitterConfig, JitterStats, Playout, PushOutcome};
pub use pipeline::{FrameOutcome, MediaStats, PacketInfo, ReceivePipeline, SendPipeline};
pub use processing::{
    AudioProcessingSetting, AudioProcessor, ProcessedSource, ProcessingParts, ProcessingStats,
    ReferenceSink, SharedProcessor,
};
pub use recorder::{CallRecorder, Recorded};
pub use room::{EchoPath, Room, RoomMicrophone, RoomSpeaker};
pub use sink::{AudioSink, MemorySink, NullSink, OutputSpec, WavSink};
pub use source::{AudioSource, InputSpec, SamplesSource, SilenceSource, ToneSource, WavSource};

/// Sample rate of everything in the media layer, in Hz (Opus' native rate).
pub const SAMPLE_RATE: u32 = 48_000;
/// Number of channels (mono).
pub const CHANNELS: u16 = 1;
/// Duration of one frame (and one Opus packet), in milliseconds.
pub const FRAME_MS: u32 = 20;
/// Samples in one frame: 48 000 Hz × 20 ms.
pub const FRAME_SAMPLES: usize = 960;
/// One 20 ms frame as a [`Duration`](std::time::Duration).
pub const FRAME_DURATION: std::time::Duration = std::time::Duration::from_millis(FRAME_MS as u64);
/// RTP timestamp increment per frame (the RTP clock of Opus is 48 kHz).
pub const RTP_TICKS_PER_FRAME: u32 = FRAME_SAMPLES as u32;
/// Largest Opus packet the encoder produces; size packet buffers with it.
pub const MAX_PACKET_BYTES: usize = 1275;
/// The codec as shown in stats and SDP: `opus/48000/1`.
pub const CODEC_NAME: &str = "opus/48000/1";

/// One frame of mono 48 kHz PCM.
pub type Frame = [i16; FRAME_SAMPLES];
