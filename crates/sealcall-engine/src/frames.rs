//! End-to-end protection of the call's media frames, failing closed.
//!
//! Every call starts in [`OutboundFrames::end_to_end`] (and [`InboundFrames::end_to_end`]):
//! until the call's mode is settled from the two signed intents, every frame is dropped (never
//! sent in the clear). An end-to-end encrypted call then installs the handshake's keys, which
//! takes the policy crate's [`E2eeGrant`] as proof that the decision allows it; there is no way
//! back to plaintext for that call. A call settled as standard ([`OutboundFrames::settle_standard`],
//! or built with [`OutboundFrames::standard`]) passes payloads through; its protection is
//! WebRTC's hop-by-hop DTLS-SRTP only.
//!
//! On the wire an end-to-end protected audio payload is exactly one SFrame frame
//! (`header || ciphertext || tag`, see docs/PROTOCOL.md) carried as the RTP payload of the
//! negotiated Opus payload type; the Opus payloader passes it through unchanged.

use core::time::Duration;

use sealcall_e2ee::{
    FrameReceiver, FrameSender, MAX_HEADER_LEN, MediaKind, MediaReceivers, MediaSenders, TAG_LEN,
};

use sealcall_policy::E2eeGrant;

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
    /// Average cost per frame, if any frame was processed. In a call one frame comes every 20 ms
    /// or so, so this is a cold-cache figure: compare it with the cold rows of `sealcall bench`,
    /// not with the warm medians of back-to-back frames.
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

    /// A call whose mode is not settled yet (or an end-to-end encrypted call whose keys are
    /// not ready): frames are held back.
    pub fn end_to_end() -> Self {
        Self {
            mode: Outbound::AwaitingKeys,
            buf: vec![0u8; MAX_HEADER_LEN + MAX_FRAME_LEN + TAG_LEN],
            stats: FrameStats::default(),
        }
    }

    /// Installs the keys of a verified handshake; `grant` is the policy decision that allows
    /// it. Refused for a standard call and when keys are already installed.
    pub fn install_keys(&mut self, grant: &E2eeGrant, senders: MediaSenders) -> Result<()> {
        let _ = grant;
        match self.mode {
            Outbound::Standard => Err(EngineError::Protection(
                "a standard call cannot switch to end-to-end keys mid-call".into(),
            )),
            Outbound::Keyed(_) => Err(EngineError::Protection(
                "the call's keys are already installed; a second set is refused".into(),
            )),
            Outbound::AwaitingKeys => {
                self.mode = Outbound::Keyed(Box::new(senders));
                Ok(())
            }
        }
    }

    /// Settles a call whose mode was pending as standard: payloads pass through from now on.
    /// Refused once keys are installed.
    pub fn settle_standard(&mut self) -> Result<()> {
        match self.mode {
            Outbound::Keyed(_) => Err(EngineError::Protection(
                "an end-to-end encrypted call cannot become standard".into(),
            )),
            _ => {
                self.mode = Outbound::Standard;
                Ok(())
            }
        }
    }

    /// Whether this call's frames are end-to-end protected (keys installed).
    pub fn is_end_to_end(&self) -> bool {
        matches!(self.mode, Outbound::Keyed(_))
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

    /// A call whose mode is not settled yet (or an end-to-end encrypted call whose keys are
    /// not ready): frames are dropped.
    pub fn end_to_end() -> Self {
        Self {
            mode: Inbound::AwaitingKeys,
            buf: Vec::with_capacity(MAX_HEADER_LEN + MAX_FRAME_LEN + TAG_LEN),
            stats: FrameStats::default(),
        }
    }

    /// Installs the keys of a verified handshake; `grant` is the policy decision that allows
    /// it. Refused for a standard call and when keys are already installed.
    pub fn install_keys(&mut self, grant: &E2eeGrant, receivers: MediaReceivers) -> Result<()> {
        let _ = grant;
        match self.mode {
            Inbound::Standard => Err(EngineError::Protection(
                "a standard call cannot switch to end-to-end keys mid-call".into(),
            )),
            Inbound::Keyed(_) => Err(EngineError::Protection(
                "the call's keys are already installed; a second set is refused".into(),
            )),
            Inbound::AwaitingKeys => {
                self.mode = Inbound::Keyed(Box::new(receivers));
                Ok(())
            }
        }
    }

    /// Settles a call whose mode was pending as standard. Refused once keys are installed.
    pub fn settle_standard(&mut self) -> Result<()> {
        match self.mode {
            Inbound::Keyed(_) => Err(EngineError::Protection(
                "an end-to-end encrypted call cannot become standard".into(),
            )),
            _ => {
                self.mode = Inbound::Standard;
                Ok(())
            }
        }
    }

    /// Erases every previous epoch's receive key whose grace period is over at `now`, whether
    /// or not a frame arrives (the media task calls it every tick).
    pub fn expire(&mut self, now: Duration) {
        if let Inbound::Keyed(r) = &mut self.mode {
            for media in MediaKind::ALL {
                r.get_mut(media).expire(now);
            }
        }
    }

    /// The previous key epoch of a media kind still held for late frames, if any.
    pub fn previous_epoch(&self, media: MediaKind) -> Option<u64> {
        match &self.mode {
            Inbound::Keyed(r) => r.get(media).previous_epoch(),
            _ => None,
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

    /// A grant, from the policy crate's settlement (the only way to get one).
    fn grant() -> sealcall_policy::E2eeGrant {
        use sealcall_policy::*;
        let local = LocalState {
            user: UserId::new("ken@example.com").unwrap(),
            policy: CallingEncryptionType::Required,
            user_choice: true,
            capability: Capability::Capable,
            compliance_recording: false,
        };
        let peer = UserId::new("ana@example.com").unwrap();
        match settle(
            &local,
            Side::Caller,
            &peer,
            CallIntent::EndToEnd,
            Outcome::EndToEnd,
        ) {
            Settlement::EndToEnd { grant, .. } => grant,
            other => panic!("{other:?}"),
        }
    }

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
        out.install_keys(&grant(), senders).unwrap();
        inb.install_keys(&grant(), receivers).unwrap();
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
    fn keys_go_in_once_and_an_old_epoch_is_erased_on_time_without_traffic() {
        let config = StreamConfig {
            rekey: RekeySchedule {
                every_frames: Some(2),
                every: None,
            },
            grace: Duration::from_secs(2),
            ..StreamConfig::default()
        };
        let (alice, bob) = sealcall_e2ee::testing::session_pair(b"expire", config).unwrap();
        let (alice2, bob2) = sessions();
        let mut out = OutboundFrames::end_to_end();
        let mut inb = InboundFrames::end_to_end();
        out.install_keys(&grant(), alice.split().0).unwrap();
        inb.install_keys(&grant(), bob.split().1).unwrap();
        assert!(
            out.install_keys(&grant(), alice2.split().0).is_err(),
            "a second set is refused"
        );
        assert!(
            inb.install_keys(&grant(), bob2.split().1).is_err(),
            "a second set is refused"
        );
        // Two frames in epoch 0, then the third rekeys to epoch 1.
        let t = Duration::from_secs(10);
        for _ in 0..3 {
            let wire = out
                .protect(t, MediaKind::Audio, b"opus")
                .unwrap()
                .unwrap()
                .to_vec();
            assert!(inb.unprotect(t, MediaKind::Audio, &wire).is_some());
        }
        assert_eq!(inb.epoch(MediaKind::Audio), Some(1));
        assert_eq!(inb.previous_epoch(MediaKind::Audio), Some(0));
        // No more frames: the tick alone erases epoch 0 once its grace is over, not before.
        inb.expire(t + Duration::from_millis(1999));
        assert_eq!(inb.previous_epoch(MediaKind::Audio), Some(0));
        inb.expire(t + Duration::from_secs(2));
        assert_eq!(inb.previous_epoch(MediaKind::Audio), None);
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
        assert!(out.install_keys(&grant(), senders).is_err());
        assert!(
            InboundFrames::standard()
                .install_keys(&grant(), receivers)
                .is_err()
        );
    }
}
