//! End-to-end protection of the call's media frames, failing closed.
//!
//! An end-to-end encrypted call starts in [`OutboundFrames::end_to_end`]: until the handshake's
//! keys are installed, every frame the caller hands in is dropped (never sent in the clear), and
//! there is no way back to plaintext for that call. A standard call is built with
//! [`OutboundFrames::standard`] and passes Opus packets through; its protection is WebRTC's
//! hop-by-hop DTLS-SRTP only.
//!
//! On the wire an end-to-end protected audio payload is exactly one SFrame frame
//! (`header || ciphertext || tag`, see docs/PROTOCOL.md) carried as the RTP payload of the
//! negotiated Opus payload type; the Opus payloader passes it through unchanged.

use core::time::Duration;

use sealcall_e2ee::{
    FrameReceiver, FrameSender, MAX_HEADER_LEN, MediaKind, MediaReceivers, MediaSenders, TAG_LEN,
};

use crate::error::{EngineError, Result};

/// Largest media frame the engine protects: a video frame up to
/// [`MAX_VIDEO_FRAME_LEN`](crate::media::video::MAX_VIDEO_FRAME_LEN) (1080p screen-share
/// keyframes reach about 270 KB) less the SFrame header and tag.
pub const MAX_FRAME_LEN: usize =
    crate::media::video::MAX_VIDEO_FRAME_LEN - sealcall_e2ee::MAX_HEADER_LEN - TAG_LEN;

/// Counters of one direction's frame protection, safe to show in a stats panel.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FrameStats {
    /// Frames protected (outbound) or unprotected (inbound).
    pub frames: u64,
    /// Frames dropped because end-to-end keys were not ready yet (never sent in the clear).
    pub held_back: u64,
    /// Inbound frames refused because they did not authenticate.
    pub auth_failures: u64,
    /// Inbound frames refused as replays or too old.
    pub replays: u64,
    /// Inbound frames refused for other reasons (malformed, unknown key).
    pub rejected: u64,
    /// Total time spent protecting or unprotecting, for the average per-frame cost.
    pub crypto_time: Duration,
}

impl FrameStats {
    /// Average cost per frame, if any frame was processed.
    pub fn average_cost(&self) -> Option<Duration> {
        u32::try_from(self.frames)
            .ok()
            .filter(|n| *n > 0)
            .map(|n| self.crypto_time / n)
    }
}

enum Outbound {
    Standard,
    AwaitingKeys,
    Keyed(Box<MediaSenders>),
}

/// The sending side of a call's media protection.
pub struct OutboundFrames {
    mode: Outbound,
    buf: Vec<u8>,
    stats: FrameStats,
}

impl OutboundFrames {
    /// A standard call: payloads pass through; DTLS-SRTP protects each hop.
    pub fn standard() -> Self {
        Self {
            mode: Outbound::Standard,
            buf: Vec::new(),
            stats: FrameStats::default(),
        }
    }

    /// An end-to-end encrypted call whose keys are not ready yet: frames are held back.
    pub fn end_to_end() -> Self {
        Self {
            mode: Outbound::AwaitingKeys,
            buf: vec![0u8; MAX_HEADER_LEN + MAX_FRAME_LEN + TAG_LEN],
            stats: FrameStats::default(),
        }
    }

    /// Installs the keys of a verified handshake. Refused for a standard call.
    pub fn install_keys(&mut self, senders: MediaSenders) -> Result<()> {
        match self.mode {
            Outbound::Standard => Err(EngineError::Protection(
                "a standard call cannot switch to end-to-end keys mid-call".into(),
            )),
            _ => {
                self.mode = Outbound::Keyed(Box::new(senders));
                Ok(())
            }
        }
    }

    /// Whether this call is end-to-end encrypted (keys ready or not).
    pub fn is_end_to_end(&self) -> bool {
        !matches!(self.mode, Outbound::Standard)
    }

    /// Whether frames can be sent now.
    pub fn ready(&self) -> bool {
        !matches!(self.mode, Outbound::AwaitingKeys)
    }

    /// The current audio key epoch, in an end-to-end call with keys.
    pub fn epoch(&self, media: MediaKind) -> Option<u64> {
        match &self.mode {
            Outbound::Keyed(s) => Some(s.get(media).epoch()),
            _ => None,
        }
    }

    /// Counters so far.
    pub fn stats(&self) -> FrameStats {
        self.stats
    }

    /// Turns one encoded media frame into the payload to send, or `None` when it must be held
    /// back because end-to-end keys are not ready.
    pub fn protect<'a>(
        &'a mut self,
        now: Duration,
        media: MediaKind,
        frame: &'a [u8],
    ) -> Result<Option<&'a [u8]>> {
        let senders = match &mut self.mode {
            Outbound::Standard => {
                self.stats.frames += 1;
                return Ok(Some(frame));
            }
            Outbound::AwaitingKeys => {
                self.stats.held_back += 1;
                return Ok(None);
            }
            Outbound::Keyed(s) => s,
        };
        if frame.len() > MAX_FRAME_LEN {
            return Err(EngineError::Protection(format!(
                "frame of {} bytes exceeds {MAX_FRAME_LEN}",
                frame.len()
            )));
        }
        let start = std::time::Instant::now();
        let payload = MAX_HEADER_LEN..MAX_HEADER_LEN + frame.len();
        self.buf[payload.clone()].copy_from_slice(frame);
        let sender: &mut FrameSender = senders.get_mut(media);
        let out = sender
            .protect(now, &[], &mut self.buf, payload)
            .map_err(EngineError::Crypto)?;
        self.stats.frames += 1;
        self.stats.crypto_time += start.elapsed();
        Ok(Some(&self.buf[out]))
    }
}

enum Inbound {
    Standard,
    AwaitingKeys,
    Keyed(Box<MediaReceivers>),
}

/// The receiving side of a call's media protection.
pub struct InboundFrames {
    mode: Inbound,
    buf: Vec<u8>,
    stats: FrameStats,
}

impl InboundFrames {
    /// A standard call: payloads pass through.
    pub fn standard() -> Self {
        Self {
            mode: Inbound::Standard,
            buf: Vec::new(),
            stats: FrameStats::default(),
        }
    }

    /// An end-to-end encrypted call whose keys are not ready yet: frames are dropped.
    pub fn end_to_end() -> Self {
        Self {
            mode: Inbound::AwaitingKeys,
            buf: Vec::with_capacity(MAX_HEADER_LEN + MAX_FRAME_LEN + TAG_LEN),
            stats: FrameStats::default(),
        }
    }

    /// Installs the keys of a verified handshake. Refused for a standard call.
    pub fn install_keys(&mut self, receivers: MediaReceivers) -> Result<()> {
        match self.mode {
            Inbound::Standard => Err(EngineError::Protection(
                "a standard call cannot switch to end-to-end keys mid-call".into(),
            )),
            _ => {
                self.mode = Inbound::Keyed(Box::new(receivers));
                Ok(())
            }
        }
    }

    /// The current key epoch of a media kind, in an end-to-end call with keys.
    pub fn epoch(&self, media: MediaKind) -> Option<u64> {
        match &self.mode {
            Inbound::Keyed(r) => Some(r.get(media).epoch()),
            _ => None,
        }
    }

    /// Counters so far.
    pub fn stats(&self) -> FrameStats {
        self.stats
    }

    /// Turns one received payload into the encoded media frame, or `None` when it must be
    /// dropped (keys not ready, forged, replayed or malformed; counted in [`FrameStats`]).
    pub fn unprotect<'a>(
        &'a mut self,
        now: Duration,
        media: MediaKind,
        payload: &'a [u8],
    ) -> Option<&'a [u8]> {
        let receivers = match &mut self.mode {
            Inbound::Standard => {
                self.stats.frames += 1;
                return Some(payload);
            }
            Inbound::AwaitingKeys => {
                self.stats.held_back += 1;
                return None;
            }
            Inbound::Keyed(r) => r,
        };
        let start = std::time::Instant::now();
        self.buf.clear();
        self.buf.extend_from_slice(payload);
        let receiver: &mut FrameReceiver = receivers.get_mut(media);
        match receiver.unprotect(now, &[], &mut self.buf) {
            Ok(range) => {
                self.stats.frames += 1;
                self.stats.crypto_time += start.elapsed();
                Some(&self.buf[range])
            }
            Err(sealcall_e2ee::Error::AuthenticationFailed) => {
                self.stats.auth_failures += 1;
                None
            }
            Err(sealcall_e2ee::Error::Replayed { .. } | sealcall_e2ee::Error::TooOld { .. }) => {
                self.stats.replays += 1;
                None
            }
            Err(_) => {
                self.stats.rejected += 1;
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sealcall_e2ee::*;

    fn sessions() -> (Session, Session) {
        sealcall_e2ee::testing::session_pair(b"frames", StreamConfig::default()).unwrap()
    }

    #[test]
    fn end_to_end_holds_frames_back_until_keys_then_never_sends_plaintext() {
        let (alice, bob) = sessions();
        let mut out = OutboundFrames::end_to_end();
        let mut inb = InboundFrames::end_to_end();
        let opus = b"an opus packet with a MARKER inside";
        assert!(
            out.protect(Duration::ZERO, MediaKind::Audio, opus)
                .unwrap()
                .is_none()
        );
        assert_eq!(out.stats().held_back, 1);
        let (senders, _) = alice.split();
        let (_, receivers) = bob.split();
        out.install_keys(senders).unwrap();
        inb.install_keys(receivers).unwrap();
        let wire = out
            .protect(Duration::ZERO, MediaKind::Audio, opus)
            .unwrap()
            .unwrap()
            .to_vec();
        assert!(!wire.windows(6).any(|w| w == b"MARKER"), "plaintext leaked");
        assert_eq!(
            inb.unprotect(Duration::ZERO, MediaKind::Audio, &wire),
            Some(&opus[..])
        );
        assert_eq!(inb.unprotect(Duration::ZERO, MediaKind::Audio, &wire), None);
        assert_eq!(inb.stats().replays, 1);
        let next = out
            .protect(Duration::ZERO, MediaKind::Audio, opus)
            .unwrap()
            .unwrap()
            .to_vec();
        let mut forged = next.clone();
        forged[5] ^= 1;
        assert_eq!(
            inb.unprotect(Duration::ZERO, MediaKind::Audio, &forged),
            None
        );
        assert_eq!(inb.stats().auth_failures, 1);
        assert!(out.stats().average_cost().is_some());
    }

    #[test]
    fn a_standard_call_cannot_take_keys_and_passes_frames_through() {
        let (alice, _) = sessions();
        let mut out = OutboundFrames::standard();
        assert!(!out.is_end_to_end());
        assert_eq!(
            out.protect(Duration::ZERO, MediaKind::Audio, b"opus")
                .unwrap(),
            Some(&b"opus"[..])
        );
        let (senders, receivers) = alice.split();
        assert!(out.install_keys(senders).is_err());
        assert!(InboundFrames::standard().install_keys(receivers).is_err());
    }
}
