//! Opus encoder and decoder for 48 kHz mono, 20 ms frames.
//!
//! Both work in caller-supplied buffers and allocate nothing per frame. The decoder runs
//! packet-loss concealment (PLC) when a packet is missing, and can recover a lost frame from the
//! in-band forward error correction (FEC) data carried by the *next* packet.

use super::{FRAME_SAMPLES, Frame, SAMPLE_RATE};
use crate::{EngineError, Result};

fn codec_err(what: &str, e: opus::Error) -> EngineError {
    EngineError::Codec(format!("{what}: {e}"))
}

/// Encoder settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EncoderConfig {
    /// Target bitrate in bits per second (6 000 ..= 510 000). Default 32 000.
    pub bitrate_bps: u32,
    /// Put in-band FEC data in each packet (helps the receiver recover single losses).
    pub inband_fec: bool,
    /// Expected packet loss in percent (0 ..= 100); tunes how much FEC the encoder spends.
    pub expected_loss_percent: u8,
    /// Encoder complexity 0 ..= 10. Default 9 (a good trade-off for one mono voice stream).
    pub complexity: u8,
}

impl Default for EncoderConfig {
    fn default() -> Self {
        Self {
            bitrate_bps: 32_000,
            inband_fec: false,
            expected_loss_percent: 0,
            complexity: 9,
        }
    }
}

/// Counters kept by the encoder or decoder.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CodecStats {
    /// Frames encoded (encoder) or decoded from a received packet (decoder).
    pub frames: u64,
    /// Bytes of Opus payload produced (encoder) or consumed (decoder).
    pub bytes: u64,
    /// Frames synthesised by packet-loss concealment (decoder only).
    pub concealed: u64,
    /// Frames recovered from the FEC data of the following packet (decoder only).
    pub fec_recovered: u64,
}

impl CodecStats {
    /// Average payload bitrate in bits per second over all frames counted (0 when none).
    pub fn average_bitrate_bps(&self) -> u32 {
        let frames = self.frames + self.fec_recovered;
        if frames == 0 {
            return 0;
        }
        // bytes * 8 bits / (frames * 0.020 s)
        let bps = self.bytes.saturating_mul(8 * 50) / frames;
        u32::try_from(bps).unwrap_or(u32::MAX)
    }
}

/// Opus encoder (VOIP application, 48 kHz mono, 20 ms frames).
pub struct OpusEncoder {
    inner: opus::Encoder,
    config: EncoderConfig,
    stats: CodecStats,
}

impl std::fmt::Debug for OpusEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpusEncoder")
            .field("config", &self.config)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl OpusEncoder {
    /// An encoder with the default settings (32 kbit/s, no FEC).
    pub fn new() -> Result<Self> {
        Self::with_config(EncoderConfig::default())
    }

    /// An encoder with the given settings; out-of-range values are
    /// [`EngineError::InvalidMedia`].
    pub fn with_config(config: EncoderConfig) -> Result<Self> {
        if !(6_000..=510_000).contains(&config.bitrate_bps) {
            return Err(EngineError::InvalidMedia(format!(
                "Opus bitrate {} bit/s is outside 6000..=510000",
                config.bitrate_bps
            )));
        }
        if config.expected_loss_percent > 100 {
            return Err(EngineError::InvalidMedia(format!(
                "expected loss {}% is above 100%",
                config.expected_loss_percent
            )));
        }
        if config.complexity > 10 {
            return Err(EngineError::InvalidMedia(format!(
                "Opus complexity {} is above 10",
                config.complexity
            )));
        }
        let mut inner =
            opus::Encoder::new(SAMPLE_RATE, opus::Channels::Mono, opus::Application::Voip)
                .map_err(|e| codec_err("creating encoder", e))?;
        let mut this = Self {
            inner: {
                inner
                    .set_signal(opus::Signal::Voice)
                    .map_err(|e| codec_err("set signal", e))?;
                inner
            },
            config,
            stats: CodecStats::default(),
        };
        this.apply_config()?;
        Ok(this)
    }

    fn apply_config(&mut self) -> Result<()> {
        let c = self.config;
        // The ranges were checked in `with_config` / the setters, so the casts are lossless.
        self.inner
            .set_bitrate(opus::Bitrate::Bits(c.bitrate_bps as i32))
            .map_err(|e| codec_err("set bitrate", e))?;
        self.inner
            .set_inband_fec(c.inband_fec)
            .map_err(|e| codec_err("set in-band FEC", e))?;
        self.inner
            .set_packet_loss_perc(i32::from(c.expected_loss_percent))
            .map_err(|e| codec_err("set expected loss", e))?;
        self.inner
            .set_complexity(i32::from(c.complexity))
            .map_err(|e| codec_err("set complexity", e))?;
        Ok(())
    }

    /// The current settings.
    pub fn config(&self) -> EncoderConfig {
        self.config
    }

    /// Changes the target bitrate (e.g. from congestion control).
    pub fn set_bitrate(&mut self, bitrate_bps: u32) -> Result<()> {
        if !(6_000..=510_000).contains(&bitrate_bps) {
            return Err(EngineError::InvalidMedia(format!(
                "Opus bitrate {bitrate_bps} bit/s is outside 6000..=510000"
            )));
        }
        self.config.bitrate_bps = bitrate_bps;
        self.apply_config()
    }

    /// Turns in-band FEC on or off and sets the expected loss (0 ..= 100 %).
    pub fn set_fec(&mut self, inband_fec: bool, expected_loss_percent: u8) -> Result<()> {
        if expected_loss_percent > 100 {
            return Err(EngineError::InvalidMedia(format!(
                "expected loss {expected_loss_percent}% is above 100%"
            )));
        }
        self.config.inband_fec = inband_fec;
        self.config.expected_loss_percent = expected_loss_percent;
        self.apply_config()
    }

    /// Encodes one 20 ms frame into `out`, returning the packet length. `out` should hold
    /// [`MAX_PACKET_BYTES`](super::MAX_PACKET_BYTES); a smaller buffer may make the encoder fail
    /// with [`EngineError::Codec`].
    pub fn encode(&mut self, pcm: &Frame, out: &mut [u8]) -> Result<usize> {
        let n = self
            .inner
            .encode(pcm, out)
            .map_err(|e| codec_err("encode", e))?;
        self.stats.frames += 1;
        self.stats.bytes += n as u64;
        Ok(n)
    }

    /// Counters: frames and bytes encoded.
    pub fn stats(&self) -> CodecStats {
        self.stats
    }
}

/// Opus decoder (48 kHz mono) with packet-loss concealment and FEC recovery.
pub struct OpusDecoder {
    inner: opus::Decoder,
    stats: CodecStats,
}

impl std::fmt::Debug for OpusDecoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpusDecoder")
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl OpusDecoder {
    /// A decoder for 48 kHz mono.
    pub fn new() -> Result<Self> {
        let inner = opus::Decoder::new(SAMPLE_RATE, opus::Channels::Mono)
            .map_err(|e| codec_err("creating decoder", e))?;
        Ok(Self {
            inner,
            stats: CodecStats::default(),
        })
    }

    /// Decodes one packet into `out`, or with `None` conceals one lost 20 ms frame.
    ///
    /// Returns the number of samples written: [`FRAME_SAMPLES`] for 20 ms packets. A packet of a
    /// different duration than 20 ms fills only part of `out` (shorter) or is rejected
    /// (longer, [`EngineError::Codec`]); the rest of `out` is zeroed. Corrupt packets are
    /// [`EngineError::Codec`] and leave `out` silent; the caller may conceal instead.
    pub fn decode(&mut self, packet: Option<&[u8]>, out: &mut Frame) -> Result<usize> {
        let input = match packet {
            Some([]) => {
                return Err(EngineError::Codec("decode: empty packet".into()));
            }
            Some(p) => p,
            None => &[][..],
        };
        let result = self.inner.decode(input, out, false);
        match result {
            Ok(n) => {
                let n = n.min(FRAME_SAMPLES);
                out[n..].fill(0);
                if packet.is_some() {
                    self.stats.frames += 1;
                    self.stats.bytes += input.len() as u64;
                } else {
                    self.stats.concealed += 1;
                }
                Ok(n)
            }
            Err(e) => {
                out.fill(0);
                Err(codec_err("decode", e))
            }
        }
    }

    /// Recovers the frame *before* `next_packet` (which was lost) from `next_packet`'s in-band
    /// FEC data. When `next_packet` carries no FEC data, libopus falls back to concealment, so
    /// this is never worse than [`decode(None, ..)`](Self::decode). Counted as FEC-recovered.
    /// Afterwards decode `next_packet` normally.
    pub fn decode_fec(&mut self, next_packet: &[u8], out: &mut Frame) -> Result<usize> {
        if next_packet.is_empty() {
            return self.decode(None, out);
        }
        match self.inner.decode(next_packet, out, true) {
            Ok(n) => {
                let n = n.min(FRAME_SAMPLES);
                out[n..].fill(0);
                self.stats.fec_recovered += 1;
                Ok(n)
            }
            Err(e) => {
                out.fill(0);
                Err(codec_err("decode FEC", e))
            }
        }
    }

    /// Forgets the decoder state (after a stream reset).
    pub fn reset(&mut self) -> Result<()> {
        self.inner
            .reset_state()
            .map_err(|e| codec_err("reset decoder", e))
    }

    /// Counters: frames decoded, bytes consumed, frames concealed and FEC-recovered.
    pub fn stats(&self) -> CodecStats {
        self.stats
    }
}
