//! Per-stream frame protection with counters, replay protection and key epochs.
//!
//! A [`FrameSender`] protects one media kind in one direction; its peer's [`FrameReceiver`]
//! unprotects it. Both start from the same 32-byte base key (from the handshake's key schedule)
//! and move through key epochs with a one-way ratchet:
//!
//! ```text
//! epoch_secret[0]   = base key for (direction, media kind)
//! epoch_secret[e+1] = HKDF-Expand(PRK = epoch_secret[e], "Sealcall v1 epoch ratchet" || u64be(e+1), 32)
//! KID(e)            = e << 3 | direction << 2 | media kind
//! ```
//! and each epoch's SFrame key and salt come from `epoch_secret[e]` and `KID(e)` as RFC 9605
//! section 4.4.2 says. The sender rekeys on the caller's schedule (frames or elapsed time) and
//! before its counter nears its limit; the receiver follows as soon as a frame of a later epoch
//! authenticates, keeps the previous epoch for a grace period for late frames, then erases it.

use core::ops::Range;
use core::time::Duration;

use crate::aead::AeadBackend;
use crate::error::{Error, Result};
use crate::keys::{KeyedEpoch, Secret32, expand32};
use crate::replay::ReplayWindow;
use crate::sframe::{ParsedFrame, open_in_place, protect_in_place};
use crate::suite::{CipherSuite, Direction, MediaKind};

/// Label of the epoch ratchet.
pub const RATCHET_LABEL: &[u8] = b"Sealcall v1 epoch ratchet";

/// Largest epoch number whose KID fits in 64 bits.
pub const MAX_EPOCH: u64 = (1 << 61) - 1;

/// The KID of an epoch for a direction and media kind.
pub const fn kid_for(epoch: u64, direction: Direction, media: MediaKind) -> u64 {
    (epoch << 3) | (direction.code() << 2) | media.code()
}

/// Splits a KID into (epoch, direction, media kind), if it names a valid media kind.
pub fn split_kid(kid: u64) -> Option<(u64, Direction, MediaKind)> {
    let media = MediaKind::from_code(kid & 0b11)?;
    let direction = if kid & 0b100 == 0 {
        Direction::CallerToCallee
    } else {
        Direction::CalleeToCaller
    };
    Some((kid >> 3, direction, media))
}

/// When the sender moves to a new key epoch. Times are durations since any origin the caller
/// chooses (the crate never reads a clock).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RekeySchedule {
    /// Rekey after this many frames in one epoch.
    pub every_frames: Option<u64>,
    /// Rekey when an epoch has been in use this long.
    pub every: Option<Duration>,
}

impl Default for RekeySchedule {
    /// Every 2^24 frames or every 10 minutes, whichever comes first.
    fn default() -> Self {
        Self {
            every_frames: Some(1 << 24),
            every: Some(Duration::from_secs(600)),
        }
    }
}

/// Hard limits on one key. Injectable so tests can reach them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyLimits {
    /// Frames one key may protect; the counter never reaches this value (so it never wraps).
    pub max_frames_per_epoch: u64,
    /// The sender rekeys once its counter is within this many frames of the limit.
    pub rekey_margin: u64,
    /// The last epoch the ratchet may reach.
    pub max_epoch: u64,
}

impl Default for KeyLimits {
    /// 2^32 frames per key, rekey 2^20 frames before that, epochs up to [`MAX_EPOCH`].
    fn default() -> Self {
        Self {
            max_frames_per_epoch: 1 << 32,
            rekey_margin: 1 << 20,
            max_epoch: MAX_EPOCH,
        }
    }
}

/// Settings of one media stream's sender and receiver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamConfig {
    /// AEAD implementation.
    pub backend: AeadBackend,
    /// SFrame cipher suite.
    pub suite: CipherSuite,
    /// The sender's rekey schedule.
    pub rekey: RekeySchedule,
    /// Hard limits.
    pub limits: KeyLimits,
    /// How long the receiver keeps the previous epoch after the next one authenticated.
    pub grace: Duration,
    /// How many epochs ahead of its current one the receiver follows a frame.
    pub max_epoch_skip: u64,
}

impl Default for StreamConfig {
    fn default() -> Self {
        Self {
            backend: AeadBackend::default(),
            suite: CipherSuite::Aes128GcmSha256,
            rekey: RekeySchedule::default(),
            limits: KeyLimits::default(),
            grace: Duration::from_secs(2),
            max_epoch_skip: 8,
        }
    }
}

impl StreamConfig {
    fn validate(&self) -> Result<()> {
        if self.limits.max_frames_per_epoch == 0 {
            return Err(Error::InvalidConfig(
                "max_frames_per_epoch must be at least 1",
            ));
        }
        if self.limits.max_epoch > MAX_EPOCH {
            return Err(Error::InvalidConfig("max_epoch exceeds the KID space"));
        }
        if self.rekey.every_frames == Some(0) {
            return Err(Error::InvalidConfig("every_frames must be at least 1"));
        }
        Ok(())
    }
}

/// Counters of one stream, safe to show (no key material).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StreamStats {
    /// Frames protected or unprotected successfully.
    pub frames: u64,
    /// Payload bytes protected or unprotected successfully.
    pub bytes: u64,
    /// Frames refused because their tag did not verify.
    pub auth_failures: u64,
    /// Frames refused as replays or as older than the window.
    pub replays: u64,
    /// Frames refused for other reasons (malformed, unknown key, wrong stream).
    pub rejected: u64,
    /// Key epochs moved to.
    pub rekeys: u64,
}

fn ratchet(secret: &Secret32, next_epoch: u64) -> Result<Secret32> {
    expand32(
        secret.as_bytes(),
        &[RATCHET_LABEL, &next_epoch.to_be_bytes()],
    )
}

/// The counter at which a sender moves to the next epoch: the schedule's frame count, or the
/// key's limit less its margin, whichever comes first.
fn rekey_at_ctr(config: &StreamConfig) -> u64 {
    let limits = &config.limits;
    let near_limit = limits
        .max_frames_per_epoch
        .saturating_sub(limits.rekey_margin);
    config
        .rekey
        .every_frames
        .map_or(near_limit, |n| n.min(near_limit))
}

/// Protects frames of one media kind in one direction.
///
/// No `Debug` or `Clone`; key material is erased on drop.
pub struct FrameSender {
    config: StreamConfig,
    direction: Direction,
    media: MediaKind,
    epoch: u64,
    secret: Secret32,
    key: KeyedEpoch,
    ctr: u64,
    /// The counter at which the schedule or the key's limit asks for the next epoch.
    rekey_at_ctr: u64,
    /// When the schedule asks for the next epoch: set by the epoch's first frame.
    rekey_at: Option<Duration>,
    stats: StreamStats,
}

impl FrameSender {
    pub(crate) fn new(
        config: StreamConfig,
        direction: Direction,
        media: MediaKind,
        base: Secret32,
    ) -> Result<Self> {
        config.validate()?;
        let kid = kid_for(0, direction, media);
        let key = KeyedEpoch::derive(config.backend, config.suite, base.as_bytes(), kid)?;
        Ok(Self {
            config,
            direction,
            media,
            epoch: 0,
            secret: base,
            key,
            ctr: 0,
            rekey_at_ctr: rekey_at_ctr(&config),
            rekey_at: None,
            stats: StreamStats::default(),
        })
    }

    /// The media kind this sender protects.
    pub fn media(&self) -> MediaKind {
        self.media
    }

    /// The direction this sender protects.
    pub fn direction(&self) -> Direction {
        self.direction
    }

    /// The current key epoch.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// The current key id.
    pub fn kid(&self) -> u64 {
        self.key.kid
    }

    /// The counter the next frame will carry.
    pub fn next_counter(&self) -> u64 {
        self.ctr
    }

    /// Counters so far.
    pub fn stats(&self) -> StreamStats {
        self.stats
    }

    /// Moves to the next key epoch now (for example on the caller's own signal).
    pub fn rekey(&mut self, now: Duration) -> Result<()> {
        if self.epoch >= self.config.limits.max_epoch {
            return Err(Error::EpochsExhausted);
        }
        let next = self.epoch + 1;
        let secret = ratchet(&self.secret, next)?;
        let kid = kid_for(next, self.direction, self.media);
        let key = KeyedEpoch::derive(
            self.config.backend,
            self.config.suite,
            secret.as_bytes(),
            kid,
        )?;
        self.secret = secret;
        self.key = key;
        self.epoch = next;
        self.ctr = 0;
        self.rekey_at = self.config.rekey.every.map(|e| now.saturating_add(e));
        self.stats.rekeys += 1;
        Ok(())
    }

    /// Whether the schedule or the key's limit asks for the next epoch. The thresholds are
    /// computed once per epoch, so a frame pays two comparisons.
    #[inline]
    fn rekey_due(&self, now: Duration) -> bool {
        self.ctr >= self.rekey_at_ctr || self.rekey_at.is_some_and(|at| now >= at)
    }

    /// Protects `buf[payload]` in place at time `now`.
    ///
    /// The header is written just before `payload.start` (keep [`crate::MAX_HEADER_LEN`] bytes of
    /// headroom) and the tag into the [`crate::TAG_LEN`] bytes just after `payload.end`. Returns
    /// the range of the protected frame inside `buf`. Rekeys first when the schedule says so.
    pub fn protect(
        &mut self,
        now: Duration,
        metadata: &[u8],
        buf: &mut [u8],
        payload: Range<usize>,
    ) -> Result<Range<usize>> {
        if self.rekey_due(now) && self.epoch < self.config.limits.max_epoch {
            self.rekey(now)?;
        }
        if self.ctr >= self.config.limits.max_frames_per_epoch {
            return Err(Error::CounterExhausted);
        }
        let len = payload.len() as u64;
        let out = protect_in_place(&mut self.key, self.ctr, metadata, buf, payload)?;
        if self.rekey_at.is_none() {
            self.rekey_at = self.config.rekey.every.map(|e| now.saturating_add(e));
        }
        self.ctr += 1;
        self.stats.frames += 1;
        self.stats.bytes += len;
        Ok(out)
    }
}

struct RecvEpoch {
    epoch: u64,
    key: KeyedEpoch,
    window: ReplayWindow,
}

/// Unprotects frames of one media kind in one direction: replay window, epoch following and
/// grace period.
///
/// No `Debug` or `Clone`; key material is erased on drop.
pub struct FrameReceiver {
    config: StreamConfig,
    direction: Direction,
    media: MediaKind,
    secret: Secret32,
    current: RecvEpoch,
    previous: Option<(RecvEpoch, Duration)>,
    stats: StreamStats,
}

impl FrameReceiver {
    pub(crate) fn new(
        config: StreamConfig,
        direction: Direction,
        media: MediaKind,
        base: Secret32,
    ) -> Result<Self> {
        config.validate()?;
        let kid = kid_for(0, direction, media);
        let key = KeyedEpoch::derive(config.backend, config.suite, base.as_bytes(), kid)?;
        Ok(Self {
            config,
            direction,
            media,
            secret: base,
            current: RecvEpoch {
                epoch: 0,
                key,
                window: ReplayWindow::new(),
            },
            previous: None,
            stats: StreamStats::default(),
        })
    }

    /// The media kind this receiver handles.
    pub fn media(&self) -> MediaKind {
        self.media
    }

    /// The direction this receiver handles.
    pub fn direction(&self) -> Direction {
        self.direction
    }

    /// The newest key epoch that authenticated a frame (0 before any).
    pub fn epoch(&self) -> u64 {
        self.current.epoch
    }

    /// The previous epoch, while it is still kept for late frames.
    pub fn previous_epoch(&self) -> Option<u64> {
        self.previous.as_ref().map(|(p, _)| p.epoch)
    }

    /// Counters so far.
    pub fn stats(&self) -> StreamStats {
        self.stats
    }

    /// Erases the previous epoch once its grace period is over at `now`.
    pub fn expire(&mut self, now: Duration) {
        if self
            .previous
            .as_ref()
            .is_some_and(|(_, until)| now >= *until)
        {
            self.previous = None;
        }
    }

    /// Authenticates and decrypts a protected frame in place at time `now`.
    ///
    /// Returns the plaintext's range inside `frame`. The replay window moves only after the tag
    /// verified. A frame that fails authentication ([`Error::AuthenticationFailed`]) has its
    /// ciphertext zeroed, header and tag unchanged; on any other error (malformed, replayed,
    /// unknown key, wrong stream) `frame` is unchanged. A refused frame never leaves
    /// unauthenticated plaintext in `frame`.
    pub fn unprotect(
        &mut self,
        now: Duration,
        metadata: &[u8],
        frame: &mut [u8],
    ) -> Result<Range<usize>> {
        let result = self.unprotect_inner(now, metadata, frame);
        match &result {
            Ok(range) => {
                self.stats.frames += 1;
                self.stats.bytes += range.len() as u64;
            }
            Err(Error::AuthenticationFailed) => self.stats.auth_failures += 1,
            Err(Error::Replayed { .. } | Error::TooOld { .. }) => self.stats.replays += 1,
            Err(_) => self.stats.rejected += 1,
        }
        result
    }

    #[inline]
    fn unprotect_inner(
        &mut self,
        now: Duration,
        metadata: &[u8],
        frame: &mut [u8],
    ) -> Result<Range<usize>> {
        let parsed = ParsedFrame::parse(frame)?;
        let kid = parsed.header.kid;
        let (epoch, direction, media) = split_kid(kid).ok_or(Error::UnknownKeyId { kid })?;
        if media != self.media {
            return Err(Error::WrongMediaKind {
                expected: self.media,
                found: media,
            });
        }
        if direction != self.direction {
            return Err(Error::WrongDirection);
        }
        self.expire(now);

        if epoch == self.current.epoch {
            return open_checked(&mut self.current, &parsed, metadata, frame);
        }
        if let Some((prev, _)) = self.previous.as_mut().filter(|(p, _)| p.epoch == epoch) {
            return open_checked(prev, &parsed, metadata, frame);
        }
        let ahead = epoch.saturating_sub(self.current.epoch);
        if ahead == 0 || ahead > self.config.max_epoch_skip || epoch > self.config.limits.max_epoch
        {
            return Err(Error::UnknownKeyId { kid });
        }
        // A later epoch: derive it, and commit to it only once a frame authenticated under it.
        let mut secret = ratchet(&self.secret, self.current.epoch + 1)?;
        for e in self.current.epoch + 2..=epoch {
            secret = ratchet(&secret, e)?;
        }
        let key = KeyedEpoch::derive(
            self.config.backend,
            self.config.suite,
            secret.as_bytes(),
            kid,
        )?;
        let mut candidate = RecvEpoch {
            epoch,
            key,
            window: ReplayWindow::new(),
        };
        let range = open_checked(&mut candidate, &parsed, metadata, frame)?;
        let old = core::mem::replace(&mut self.current, candidate);
        self.previous = Some((old, now.saturating_add(self.config.grace)));
        self.secret = secret;
        self.stats.rekeys += 1;
        Ok(range)
    }
}

#[inline]
fn open_checked(
    epoch: &mut RecvEpoch,
    parsed: &ParsedFrame,
    metadata: &[u8],
    frame: &mut [u8],
) -> Result<Range<usize>> {
    let ctr = parsed.header.ctr;
    epoch.window.check(ctr)?;
    let range = open_in_place(&mut epoch.key, parsed, metadata, frame)?;
    epoch.window.accept(ctr);
    Ok(range)
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use proptest::prelude::*;

    use super::*;
    use crate::keys::sframe_kdf;
    use crate::schedule::Established;
    use crate::suite::Role;
    use crate::{DeviceIdentity, Header, MAX_HEADER_LEN, NONCE_LEN, TAG_LEN};

    fn current_key(s: &FrameSender) -> Vec<u8> {
        let mut key = [0u8; 32];
        let mut salt = [0u8; NONCE_LEN];
        let n = s.config.suite.key_len();
        sframe_kdf(
            s.config.suite,
            s.secret.as_bytes(),
            s.key.kid,
            &mut key[..n],
            &mut salt,
        )
        .unwrap();
        key[..n].to_vec()
    }

    fn all_senders(config: StreamConfig) -> Vec<FrameSender> {
        let mut rng = crate::testing::TestRng::new(b"unique");
        let peer = DeviceIdentity::generate(&mut rng).public();
        let mut out = Vec::new();
        for role in [Role::Caller, Role::Callee] {
            let verified = crate::Verified {
                peer_identity: peer,
                peer_device: b"p".to_vec(),
                peer_fingerprint: [3; 32],
                local_intent: crate::Intent::EndToEnd,
                peer_intent: crate::Intent::EndToEnd,
                local_post_quantum: crate::PostQuantum::Offered,
                peer_post_quantum: crate::PostQuantum::Offered,
                key_agreement: crate::KeyAgreement::X25519MlKem768,
                transcript_hash: [1; 32],
            };
            let est = Established::derive(role, config.suite, &[2; 32], verified).unwrap();
            let (senders, _) = est.into_session(config).unwrap().split();
            let [a, v, s] = senders.into_inner();
            out.extend([a, v, s]);
        }
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        /// No (key, nonce) pair ever repeats across media kinds, directions and epochs.
        #[test]
        fn no_key_nonce_pair_repeats(ops in proptest::collection::vec((0usize..6, 0u8..12), 1..600)) {
            let config = StreamConfig {
                rekey: RekeySchedule { every_frames: Some(7), every: None },
                ..StreamConfig::default()
            };
            let mut senders = all_senders(config);
            let mut seen = HashSet::new();
            for (which, op) in ops {
                let s = &mut senders[which];
                if op == 0 {
                    s.rekey(Duration::ZERO).unwrap();
                    continue;
                }
                let mut buf = [0u8; MAX_HEADER_LEN + 4 + TAG_LEN];
                let out = s.protect(Duration::ZERO, &[], &mut buf, MAX_HEADER_LEN..MAX_HEADER_LEN + 4).unwrap();
                let (header, _) = Header::parse(&buf[out]).unwrap();
                prop_assert_eq!(header.kid, s.kid());
                let pair = (current_key(s), s.key.nonce(header.ctr));
                prop_assert!(seen.insert(pair), "key/nonce pair repeated");
            }
        }
    }

    #[test]
    fn kid_layout_round_trips() {
        for epoch in [0, 1, 7, MAX_EPOCH] {
            for direction in [Direction::CallerToCallee, Direction::CalleeToCaller] {
                for media in MediaKind::ALL {
                    assert_eq!(
                        split_kid(kid_for(epoch, direction, media)),
                        Some((epoch, direction, media))
                    );
                }
            }
        }
        assert_eq!(split_kid(3), None);
    }
}
