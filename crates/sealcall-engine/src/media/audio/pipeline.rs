//! Send and receive pipelines, driven by the caller's 20 ms tick.
//!
//! * [`SendPipeline`]: source → Opus. One [`next_packet`](SendPipeline::next_packet) per tick.
//! * [`ReceivePipeline`]: packets → [`JitterBuffer`] → [`OpusDecoder`] (decode, FEC recovery or
//!   concealment) → sink. [`push_packet`](ReceivePipeline::push_packet) on arrival,
//!   [`tick`](ReceivePipeline::tick) every 20 ms.
//!
//! Neither allocates per frame (given a sink that does not).

use std::time::Duration;

use super::codec::{OpusDecoder, OpusEncoder};
use super::jitter::{JitterBuffer, JitterConfig, Playout, PushOutcome};
use super::sink::AudioSink;
use super::source::AudioSource;
use super::{CODEC_NAME, FRAME_SAMPLES, Frame, RTP_TICKS_PER_FRAME};
use crate::Result;

/// Statistics for the stats panel. A pipeline fills its half; [`MediaStats::combine`] merges a
/// send and a receive half.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct MediaStats {
    /// The codec, `"opus/48000/1"`.
    pub codec: &'static str,
    /// Configured send bitrate in bit/s.
    pub target_bitrate_bps: u32,
    /// Measured average send payload bitrate in bit/s.
    pub send_bitrate_bps: u32,
    /// Measured average receive payload bitrate in bit/s.
    pub receive_bitrate_bps: u32,
    /// Packets produced by the sender.
    pub packets_sent: u64,
    /// Payload bytes produced by the sender.
    pub bytes_sent: u64,
    /// Distinct packets accepted by the jitter buffer.
    pub packets_received: u64,
    /// Sequence numbers missing at playout time.
    pub packets_lost: u64,
    /// Lost fraction of played sequence numbers (0.0 ..= 1.0).
    pub loss_fraction: f64,
    /// Packets that arrived after their playout time.
    pub packets_late: u64,
    /// Duplicate packets dropped.
    pub duplicates: u64,
    /// Frames synthesised by packet-loss concealment (including decode failures).
    pub concealed_frames: u64,
    /// Missing frames decoded through the next packet's in-band FEC (concealed by libopus when
    /// that packet carries no FEC data).
    pub fec_recovered_frames: u64,
    /// Packets that failed to decode (concealed instead).
    pub decode_errors: u64,
    /// Frames decoded from packets.
    pub decoded_frames: u64,
    /// Jitter buffer resynchronisations.
    pub jitter_resets: u64,
    /// Jitter buffer target delay.
    pub jitter_target_delay: Duration,
    /// Audio currently buffered in the jitter buffer.
    pub jitter_buffered: Duration,
    /// RFC 3550 interarrival jitter estimate.
    pub interarrival_jitter: Duration,
}

impl MediaStats {
    /// Merges two halves (counters add, durations take the larger).
    pub fn combine(&self, other: &MediaStats) -> MediaStats {
        MediaStats {
            codec: CODEC_NAME,
            target_bitrate_bps: self.target_bitrate_bps.max(other.target_bitrate_bps),
            send_bitrate_bps: self.send_bitrate_bps + other.send_bitrate_bps,
            receive_bitrate_bps: self.receive_bitrate_bps + other.receive_bitrate_bps,
            packets_sent: self.packets_sent + other.packets_sent,
            bytes_sent: self.bytes_sent + other.bytes_sent,
            packets_received: self.packets_received + other.packets_received,
            packets_lost: self.packets_lost + other.packets_lost,
            loss_fraction: self.loss_fraction.max(other.loss_fraction),
            packets_late: self.packets_late + other.packets_late,
            duplicates: self.duplicates + other.duplicates,
            concealed_frames: self.concealed_frames + other.concealed_frames,
            fec_recovered_frames: self.fec_recovered_frames + other.fec_recovered_frames,
            decode_errors: self.decode_errors + other.decode_errors,
            decoded_frames: self.decoded_frames + other.decoded_frames,
            jitter_resets: self.jitter_resets + other.jitter_resets,
            jitter_target_delay: self.jitter_target_delay.max(other.jitter_target_delay),
            jitter_buffered: self.jitter_buffered.max(other.jitter_buffered),
            interarrival_jitter: self.interarrival_jitter.max(other.interarrival_jitter),
        }
    }
}

/// One encoded packet's RTP fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PacketInfo {
    /// RTP sequence number.
    pub seq: u16,
    /// RTP timestamp (48 kHz clock).
    pub timestamp: u32,
    /// Payload length in the caller's buffer.
    pub len: usize,
}

/// Source → Opus packets, one per 20 ms tick.
#[derive(Debug)]
pub struct SendPipeline<S: AudioSource = Box<dyn AudioSource + Send>> {
    source: S,
    encoder: OpusEncoder,
    frame: Box<Frame>,
    seq: u16,
    timestamp: u32,
    ended: bool,
}

impl<S: AudioSource> SendPipeline<S> {
    /// A pipeline reading `source` and encoding with `encoder`; RTP numbering starts at 0.
    pub fn new(source: S, encoder: OpusEncoder) -> Self {
        Self {
            source,
            encoder,
            frame: Box::new([0; FRAME_SAMPLES]),
            seq: 0,
            timestamp: 0,
            ended: false,
        }
    }

    /// Starts RTP numbering at `seq` / `timestamp` (senders should pick them at random).
    pub fn with_rtp_start(mut self, seq: u16, timestamp: u32) -> Self {
        self.seq = seq;
        self.timestamp = timestamp;
        self
    }

    /// Reads the next frame and drops it (a call on hold): the source keeps its pace and the
    /// RTP clock runs on, but nothing is encoded or counted as sent. `false` once the source
    /// has ended.
    pub fn skip_frame(&mut self) -> Result<bool> {
        if self.ended {
            return Ok(false);
        }
        if !self.source.read_frame(&mut self.frame)? {
            self.ended = true;
            return Ok(false);
        }
        self.timestamp = self.timestamp.wrapping_add(RTP_TICKS_PER_FRAME);
        Ok(true)
    }

    /// The frame most recently read from the source (by [`Self::next_packet`] or
    /// [`Self::skip_frame`]): what was just sent, for a recording.
    pub fn last_frame(&self) -> &Frame {
        &self.frame
    }

    /// Encodes the next frame into `out` (size it [`MAX_PACKET_BYTES`](super::MAX_PACKET_BYTES))
    /// and returns its length, or `None` once the source has ended.
    pub fn next_packet(&mut self, out: &mut [u8]) -> Result<Option<usize>> {
        Ok(self.next_rtp_packet(out)?.map(|p| p.len))
    }

    /// Like [`next_packet`](Self::next_packet), also returning the RTP sequence number and
    /// timestamp assigned to the packet.
    pub fn next_rtp_packet(&mut self, out: &mut [u8]) -> Result<Option<PacketInfo>> {
        if self.ended {
            return Ok(None);
        }
        if !self.source.read_frame(&mut self.frame)? {
            self.ended = true;
            return Ok(None);
        }
        let len = self.encoder.encode(&self.frame, out)?;
        let info = PacketInfo {
            seq: self.seq,
            timestamp: self.timestamp,
            len,
        };
        self.seq = self.seq.wrapping_add(1);
        self.timestamp = self.timestamp.wrapping_add(RTP_TICKS_PER_FRAME);
        Ok(Some(info))
    }

    /// Whether the source has ended.
    pub fn is_ended(&self) -> bool {
        self.ended
    }

    /// The source.
    pub fn source(&self) -> &S {
        &self.source
    }

    /// The encoder (e.g. to change the bitrate).
    pub fn encoder_mut(&mut self) -> &mut OpusEncoder {
        &mut self.encoder
    }

    /// Send-side statistics.
    pub fn stats(&self) -> MediaStats {
        let c = self.encoder.stats();
        MediaStats {
            codec: CODEC_NAME,
            target_bitrate_bps: self.encoder.config().bitrate_bps,
            send_bitrate_bps: c.average_bitrate_bps(),
            packets_sent: c.frames,
            bytes_sent: c.bytes,
            ..MediaStats::default()
        }
    }
}

/// What [`ReceivePipeline::tick`] wrote to the sink.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameOutcome {
    /// Playout has not started: a frame of silence.
    Silence,
    /// A received packet, decoded.
    Decoded,
    /// A missing frame decoded from the next packet's in-band FEC data (when that packet
    /// carries none, libopus conceals instead; the sender enables FEC with
    /// [`EncoderConfig::inband_fec`](super::EncoderConfig::inband_fec)).
    FecRecovered,
    /// A missing (or undecodable) frame, concealed.
    Concealed,
}

/// Packets → jitter buffer → decoder → sink.
#[derive(Debug)]
pub struct ReceivePipeline<K: AudioSink = Box<dyn AudioSink + Send>> {
    jitter: JitterBuffer,
    decoder: OpusDecoder,
    sink: K,
    frame: Box<Frame>,
    decode_errors: u64,
    silence_frames: u64,
}

impl<K: AudioSink> ReceivePipeline<K> {
    /// A pipeline with a jitter buffer configured by `jitter` writing into `sink`.
    pub fn new(jitter: JitterConfig, sink: K) -> Result<Self> {
        Ok(Self {
            jitter: JitterBuffer::new(jitter)?,
            decoder: OpusDecoder::new()?,
            sink,
            frame: Box::new([0; FRAME_SAMPLES]),
            decode_errors: 0,
            silence_frames: 0,
        })
    }

    /// Hands a received packet (already decrypted) to the jitter buffer. `now` is on the same
    /// clock as [`tick`](Self::tick)'s.
    pub fn push_packet(
        &mut self,
        seq: u16,
        timestamp: u32,
        payload: &[u8],
        now: Duration,
    ) -> PushOutcome {
        self.jitter.push(seq, timestamp, payload, now)
    }

    /// Produces one 20 ms frame into the sink: decoded, FEC-recovered, concealed, or silence
    /// before playout starts. Undecodable packets are concealed (and counted), not errors;
    /// only sink failures are errors.
    pub fn tick(&mut self, now: Duration) -> Result<FrameOutcome> {
        let frame = &mut *self.frame;
        let outcome = match self.jitter.pop(now) {
            Playout::Empty => {
                frame.fill(0);
                self.silence_frames += 1;
                FrameOutcome::Silence
            }
            Playout::Packet { payload, .. } => match self.decoder.decode(Some(payload), frame) {
                Ok(_) => FrameOutcome::Decoded,
                Err(_) => {
                    self.decode_errors += 1;
                    if self.decoder.decode(None, frame).is_err() {
                        frame.fill(0);
                    }
                    FrameOutcome::Concealed
                }
            },
            Playout::Missing { fec: Some(next) } => match self.decoder.decode_fec(next, frame) {
                Ok(_) => FrameOutcome::FecRecovered,
                Err(_) => {
                    if self.decoder.decode(None, frame).is_err() {
                        frame.fill(0);
                    }
                    FrameOutcome::Concealed
                }
            },
            Playout::Missing { fec: None } => {
                if self.decoder.decode(None, frame).is_err() {
                    frame.fill(0);
                }
                FrameOutcome::Concealed
            }
        };
        self.sink.write_frame(frame)?;
        Ok(outcome)
    }

    /// Finishes the sink (e.g. finalises the WAV file).
    pub fn finish(&mut self) -> Result<()> {
        self.sink.finish()
    }

    /// The sink.
    pub fn sink(&self) -> &K {
        &self.sink
    }

    /// The sink, mutably.
    pub fn sink_mut(&mut self) -> &mut K {
        &mut self.sink
    }

    /// Takes the sink out (without finishing it).
    pub fn into_sink(self) -> K {
        self.sink
    }

    /// Starts the jitter buffer over at the next packet (after a hold: see
    /// [`JitterBuffer::restart`]).
    pub fn restart(&mut self) {
        self.jitter.restart();
    }

    /// The jitter buffer (for its detailed counters).
    pub fn jitter(&self) -> &JitterBuffer {
        &self.jitter
    }

    /// Receive-side statistics.
    pub fn stats(&self) -> MediaStats {
        let j = self.jitter.stats();
        let d = self.decoder.stats();
        MediaStats {
            codec: CODEC_NAME,
            receive_bitrate_bps: d.average_bitrate_bps(),
            packets_received: j.received,
            packets_lost: j.lost,
            loss_fraction: j.loss_fraction(),
            packets_late: j.late,
            duplicates: j.duplicates,
            concealed_frames: d.concealed,
            fec_recovered_frames: d.fec_recovered,
            decode_errors: self.decode_errors,
            decoded_frames: d.frames,
            jitter_resets: j.resets,
            jitter_target_delay: j.target_delay(),
            jitter_buffered: self.jitter.current_delay(),
            interarrival_jitter: Duration::from_micros(u64::from(j.jitter_us)),
            ..MediaStats::default()
        }
    }
}
