//! A jitter buffer for one audio stream of 20 ms packets, keyed by RTP sequence number.
//!
//! Packets are [`push`](JitterBuffer::push)ed as they arrive (in any order, with duplicates and
//! losses) and [`pop`](JitterBuffer::pop)ped once per 20 ms playout tick, in sequence order:
//!
//! * Playout starts once the first packet has waited the target delay (or that many packets are
//!   buffered); until then `pop` returns [`Playout::Empty`].
//! * Each tick plays the next sequence number: [`Playout::Packet`] if it arrived, otherwise
//!   [`Playout::Missing`] (the caller conceals; if the following packet is already here its
//!   payload is offered for FEC recovery). Reordering within the target delay is thereby repaired.
//! * When nothing at all is buffered (the sender paused or the network stalled) `pop` returns
//!   `Missing` *without* consuming a sequence number, so the stream resumes where it stopped
//!   rather than discarding what arrives next. This is how the delay grows.
//! * When more than the target delay (plus a margin) is buffered, one frame per tick is
//!   discarded, so latency shrinks back after a burst.
//! * Packets older than the playout point are dropped ([`PushOutcome::TooLate`]), duplicates
//!   are dropped ([`PushOutcome::Duplicate`]).
//! * A sequence jump too large for the buffer, or a run of consecutive "too late" packets that
//!   continue one another (the sender restarted behind us), resynchronises the buffer
//!   ([`PushOutcome::Reset`]) so it never gets stuck.
//!
//! Adaptive mode estimates the interarrival jitter `J` as in RFC 3550 §6.4.1 (from arrival time
//! and RTP timestamp) and targets `ceil(3·J / 20 ms) + 1` frames, clamped to
//! `min_delay_frames ..= max_delay_frames`; a late packet also raises the target by one frame.
//! The target rises immediately (by concealing extra frames) and falls one frame after 5 s of
//! steadily lower estimates.
//!
//! Storage is a ring of `capacity` slots whose payload buffers are allocated once, in
//! [`JitterBuffer::new`]; pushing and popping allocate nothing.

use std::time::Duration;

use super::{FRAME_DURATION, SAMPLE_RATE};
use crate::{EngineError, Result};

/// Largest payload the buffer stores; larger packets are [`PushOutcome::Rejected`].
pub const MAX_PAYLOAD_BYTES: usize = 1500;

/// Extended sequence numbers start here so that they never go below zero.
const EXT_BASE: u64 = 1 << 32;
/// Consecutive, contiguous "too late" packets that mean the sender restarted behind us.
const RESYNC_LATE_RUN: u32 = 16;
/// Pops with a lower jitter estimate before the adaptive target shrinks by one frame (5 s).
const SHRINK_AFTER_POPS: u32 = 250;

/// Jitter buffer settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JitterConfig {
    /// Target delay at start, in 20 ms frames. Default 3.
    pub initial_delay_frames: u16,
    /// Lowest adaptive target, in frames. Default 2.
    pub min_delay_frames: u16,
    /// Highest adaptive target, in frames. Default 10.
    pub max_delay_frames: u16,
    /// Adapt the target delay to the observed jitter (`false`: fixed at `initial_delay_frames`).
    pub adaptive: bool,
    /// Ring size in frames (how far ahead of the playout point packets are kept). Default 64.
    pub capacity: u16,
}

impl Default for JitterConfig {
    fn default() -> Self {
        Self {
            initial_delay_frames: 3,
            min_delay_frames: 2,
            max_delay_frames: 10,
            adaptive: true,
            capacity: 64,
        }
    }
}

impl JitterConfig {
    /// A fixed delay of `frames` frames (no adaptation).
    pub fn fixed(frames: u16) -> Self {
        Self {
            initial_delay_frames: frames,
            min_delay_frames: frames,
            max_delay_frames: frames,
            adaptive: false,
            ..Self::default()
        }
    }

    fn validate(&self) -> Result<()> {
        let ok = self.min_delay_frames >= 1
            && self.min_delay_frames <= self.initial_delay_frames
            && self.initial_delay_frames <= self.max_delay_frames
            && u32::from(self.max_delay_frames) * 2 + 4 <= u32::from(self.capacity)
            && self.capacity <= 4096;
        if ok {
            Ok(())
        } else {
            Err(EngineError::InvalidMedia(format!(
                "jitter buffer needs 1 <= min <= initial <= max delay and 2*max+4 <= capacity <= 4096, got {self:?}"
            )))
        }
    }
}

/// What happened to a pushed packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushOutcome {
    /// Stored for playout.
    Accepted,
    /// Already received (and stored or played); dropped.
    Duplicate,
    /// Arrived after its playout time; dropped.
    TooLate,
    /// The stream jumped (sequence gap larger than the buffer, or the sender restarted): the
    /// buffer was cleared and restarted with this packet, which is stored.
    Reset,
    /// Empty or larger than [`MAX_PAYLOAD_BYTES`]; dropped.
    Rejected,
}

/// What to play for one 20 ms tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Playout<'a> {
    /// Playout has not started (no packet yet, or still filling to the target delay): play
    /// silence or nothing.
    Empty,
    /// Decode this packet.
    Packet {
        /// Its RTP sequence number.
        seq: u16,
        /// Its RTP timestamp.
        timestamp: u32,
        /// The Opus payload.
        payload: &'a [u8],
    },
    /// The frame is missing (lost, late, or the buffer ran dry): conceal it. `fec` is the
    /// following packet when it is already buffered, for FEC recovery of this one.
    Missing {
        /// The next packet's payload, if buffered (decode its FEC data in place of this frame).
        fec: Option<&'a [u8]>,
    },
}

/// Jitter buffer counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JitterStats {
    /// Distinct packets accepted.
    pub received: u64,
    /// Packets played.
    pub played: u64,
    /// Sequence numbers whose packet was not there at playout time.
    pub lost: u64,
    /// Packets that arrived after their playout time.
    pub late: u64,
    /// Duplicate packets dropped.
    pub duplicates: u64,
    /// Frames the caller was told to conceal (losses, underruns and delay increases).
    pub concealed: u64,
    /// Ticks where the buffer was empty after playout had started.
    pub underruns: u64,
    /// Packets discarded to shrink the delay or make room.
    pub discarded: u64,
    /// Stream resynchronisations.
    pub resets: u64,
    /// Empty or oversized packets.
    pub rejected: u64,
    /// Current target delay in frames.
    pub target_delay_frames: u16,
    /// Frames currently buffered ahead of the playout point (including holes).
    pub buffered_frames: u16,
    /// RFC 3550 interarrival jitter estimate, in microseconds.
    pub jitter_us: u32,
}

impl JitterStats {
    /// Fraction of played sequence numbers that were missing, 0.0 ..= 1.0.
    pub fn loss_fraction(&self) -> f64 {
        let total = self.played + self.lost;
        if total == 0 {
            0.0
        } else {
            self.lost as f64 / total as f64
        }
    }

    /// Current target delay.
    pub fn target_delay(&self) -> Duration {
        FRAME_DURATION * u32::from(self.target_delay_frames)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SlotState {
    Free,
    Filled,
    Played,
}

#[derive(Debug)]
struct Slot {
    ext: u64,
    timestamp: u32,
    len: usize,
    state: SlotState,
    buf: Vec<u8>,
}

/// The jitter buffer. See the [module documentation](self).
#[derive(Debug)]
pub struct JitterBuffer {
    config: JitterConfig,
    slots: Vec<Slot>,
    /// Highest extended sequence number accepted; `None` before the first packet.
    highest: Option<u64>,
    /// Next extended sequence number to play (before start: the lowest accepted).
    next_play: u64,
    started: bool,
    first_arrival: Duration,
    target: u16,
    pending_stretch: u16,
    shrink_votes: u32,
    /// Jitter estimate in milliseconds (RFC 3550 J).
    jitter_ms: f64,
    last_transit: Option<f64>,
    ts_ext: i64,
    last_ts: u32,
    late_run: u32,
    last_late: u64,
    stats: JitterStats,
}

impl JitterBuffer {
    /// A buffer with the given settings; nonsensical settings are [`EngineError::InvalidMedia`].
    pub fn new(config: JitterConfig) -> Result<Self> {
        config.validate()?;
        let slots = (0..config.capacity)
            .map(|_| Slot {
                ext: 0,
                timestamp: 0,
                len: 0,
                state: SlotState::Free,
                buf: vec![0; MAX_PAYLOAD_BYTES],
            })
            .collect();
        Ok(Self {
            config,
            slots,
            highest: None,
            next_play: 0,
            started: false,
            first_arrival: Duration::ZERO,
            target: config.initial_delay_frames,
            pending_stretch: 0,
            shrink_votes: 0,
            jitter_ms: 0.0,
            last_transit: None,
            ts_ext: 0,
            last_ts: 0,
            late_run: 0,
            last_late: 0,
            stats: JitterStats {
                target_delay_frames: config.initial_delay_frames,
                ..JitterStats::default()
            },
        })
    }

    /// The settings.
    pub fn config(&self) -> JitterConfig {
        self.config
    }

    /// Whether playout has started.
    pub fn is_started(&self) -> bool {
        self.started
    }

    /// Counters and the current delay.
    pub fn stats(&self) -> JitterStats {
        let mut s = self.stats;
        s.target_delay_frames = self.target;
        s.buffered_frames = u16::try_from(self.depth()).unwrap_or(u16::MAX);
        s.jitter_us = (self.jitter_ms * 1000.0).clamp(0.0, f64::from(u32::MAX)) as u32;
        s
    }

    /// Current buffered delay ahead of the playout point.
    pub fn current_delay(&self) -> Duration {
        FRAME_DURATION * u32::try_from(self.depth()).unwrap_or(u32::MAX)
    }

    fn cap(&self) -> u64 {
        u64::from(self.config.capacity)
    }

    fn index(&self, ext: u64) -> usize {
        // capacity <= 4096, so the remainder fits in usize.
        (ext % self.cap()) as usize
    }

    /// Frames from the playout point up to and including the highest packet.
    fn depth(&self) -> u64 {
        match self.highest {
            Some(h) => (h + 1).saturating_sub(self.next_play),
            None => 0,
        }
    }

    /// Forgets the stream (the next packet starts it again), keeping the counters and the
    /// jitter estimate: for a stream that paused on purpose (a call on hold), whose next
    /// packets would otherwise look late.
    pub fn restart(&mut self) {
        self.clear();
    }

    fn clear(&mut self) {
        for slot in &mut self.slots {
            slot.state = SlotState::Free;
        }
        self.highest = None;
        self.started = false;
        self.pending_stretch = 0;
        self.last_transit = None;
        self.late_run = 0;
    }

    fn store(&mut self, ext: u64, timestamp: u32, payload: &[u8]) {
        let i = self.index(ext);
        let slot = &mut self.slots[i];
        slot.ext = ext;
        slot.timestamp = timestamp;
        slot.len = payload.len();
        slot.buf[..payload.len()].copy_from_slice(payload);
        slot.state = SlotState::Filled;
        self.stats.received += 1;
        self.late_run = 0;
    }

    /// Offers one received packet. `arrival` is the receive time on the caller's clock (the same
    /// clock as [`pop`](Self::pop)'s `now`).
    pub fn push(
        &mut self,
        seq: u16,
        rtp_timestamp: u32,
        payload: &[u8],
        arrival: Duration,
    ) -> PushOutcome {
        if payload.is_empty() || payload.len() > MAX_PAYLOAD_BYTES {
            self.stats.rejected += 1;
            return PushOutcome::Rejected;
        }
        let Some(highest) = self.highest else {
            self.start_stream(seq, rtp_timestamp, payload, arrival);
            return PushOutcome::Accepted;
        };
        let diff = i64::from(seq.wrapping_sub(highest as u16) as i16);
        // highest >= EXT_BASE - 32768 > 32768, so this never underflows.
        let ext = highest.saturating_add_signed(diff);

        if ext < self.next_play {
            return self.behind(ext, seq, rtp_timestamp, payload, arrival);
        }
        let i = self.index(ext);
        if self.slots[i].ext == ext && self.slots[i].state != SlotState::Free {
            self.stats.duplicates += 1;
            return PushOutcome::Duplicate;
        }
        if ext - self.next_play >= self.cap() {
            if ext > highest && ext - highest >= self.cap() / 2 {
                // A sequence jump: start over with this packet.
                self.stats.resets += 1;
                self.clear();
                self.start_stream(seq, rtp_timestamp, payload, arrival);
                return PushOutcome::Reset;
            }
            // Buffer full (e.g. the consumer stalled): make room by discarding the oldest.
            let new_start = ext + 1 - self.cap();
            for e in self.next_play..new_start {
                let j = self.index(e);
                if self.slots[j].ext == e && self.slots[j].state == SlotState::Filled {
                    self.slots[j].state = SlotState::Played;
                    self.stats.discarded += 1;
                }
            }
            self.next_play = new_start;
        }
        self.store(ext, rtp_timestamp, payload);
        if ext > highest {
            self.highest = Some(ext);
        }
        self.observe_jitter(rtp_timestamp, arrival);
        PushOutcome::Accepted
    }

    fn start_stream(&mut self, seq: u16, rtp_timestamp: u32, payload: &[u8], arrival: Duration) {
        let ext = EXT_BASE + u64::from(seq);
        self.highest = Some(ext);
        self.next_play = ext;
        self.started = false;
        self.first_arrival = arrival;
        self.ts_ext = 0;
        self.last_ts = rtp_timestamp;
        self.last_transit = None;
        self.store(ext, rtp_timestamp, payload);
        self.observe_jitter(rtp_timestamp, arrival);
    }

    /// A packet behind the playout point (or, before start, below the lowest buffered one).
    fn behind(
        &mut self,
        ext: u64,
        seq: u16,
        rtp_timestamp: u32,
        payload: &[u8],
        arrival: Duration,
    ) -> PushOutcome {
        let i = self.index(ext);
        if self.slots[i].ext == ext && self.slots[i].state != SlotState::Free {
            self.stats.duplicates += 1;
            return PushOutcome::Duplicate;
        }
        let highest = self.highest.unwrap_or(ext);
        if !self.started && highest - ext < self.cap() {
            // Reordered before playout began: it becomes the new start.
            self.next_play = ext;
            self.store(ext, rtp_timestamp, payload);
            self.observe_jitter(rtp_timestamp, arrival);
            return PushOutcome::Accepted;
        }
        self.stats.late += 1;
        if self.late_run > 0 && ext == self.last_late + 1 {
            self.late_run += 1;
        } else {
            self.late_run = 1;
        }
        self.last_late = ext;
        if self.late_run >= RESYNC_LATE_RUN {
            // The sender restarted behind us: follow it.
            self.stats.resets += 1;
            self.clear();
            self.start_stream(seq, rtp_timestamp, payload, arrival);
            return PushOutcome::Reset;
        }
        if self.config.adaptive
            && self.next_play - ext <= u64::from(self.config.max_delay_frames)
            && self.target < self.config.max_delay_frames
        {
            self.target += 1;
            self.pending_stretch = self.pending_stretch.saturating_add(1);
            self.shrink_votes = 0;
        }
        PushOutcome::TooLate
    }

    fn observe_jitter(&mut self, rtp_timestamp: u32, arrival: Duration) {
        // Unwrap the RTP timestamp relative to the last one seen.
        let delta = i64::from(rtp_timestamp.wrapping_sub(self.last_ts) as i32);
        self.ts_ext += delta;
        self.last_ts = rtp_timestamp;
        let ts_ms = self.ts_ext as f64 * 1000.0 / f64::from(SAMPLE_RATE);
        let arrival_ms = arrival.as_secs_f64() * 1000.0;
        let transit = arrival_ms - ts_ms;
        if let Some(last) = self.last_transit {
            let d = (transit - last).abs();
            // Bound a single observation so one absurd timestamp cannot wreck the estimate.
            let d = d.min(1000.0);
            self.jitter_ms += (d - self.jitter_ms) / 16.0;
        }
        self.last_transit = Some(transit);
        if self.config.adaptive {
            self.adapt_target();
        }
    }

    fn adapt_target(&mut self) {
        let frame_ms = f64::from(super::FRAME_MS);
        let desired = ((3.0 * self.jitter_ms / frame_ms).ceil() + 1.0).clamp(
            f64::from(self.config.min_delay_frames),
            f64::from(self.config.max_delay_frames),
        ) as u16;
        if desired > self.target {
            if self.started {
                self.pending_stretch = self.pending_stretch.saturating_add(desired - self.target);
            }
            self.target = desired;
            self.shrink_votes = 0;
        } else if desired < self.target {
            self.shrink_votes += 1;
            if self.shrink_votes >= SHRINK_AFTER_POPS {
                self.target -= 1;
                self.shrink_votes = 0;
            }
        } else {
            self.shrink_votes = 0;
        }
    }

    /// The frame to play now; call once per 20 ms tick. `now` is on the same clock as the
    /// arrival times given to [`push`](Self::push).
    pub fn pop(&mut self, now: Duration) -> Playout<'_> {
        let Some(highest) = self.highest else {
            return Playout::Empty;
        };
        if !self.started {
            let waited = now.saturating_sub(self.first_arrival);
            let depth = highest + 1 - self.next_play;
            if waited >= FRAME_DURATION * u32::from(self.target) || depth > u64::from(self.target) {
                self.started = true;
                self.pending_stretch = 0;
            } else {
                return Playout::Empty;
            }
        }
        let target = u64::from(self.target);
        let depth = self.depth();
        if depth >= target {
            self.pending_stretch = 0;
        }
        if self.pending_stretch > 0 {
            // Grow the delay by concealing one extra frame without consuming a packet.
            self.pending_stretch -= 1;
            self.stats.concealed += 1;
            return Playout::Missing { fec: None };
        }
        if depth == 0 {
            self.stats.underruns += 1;
            self.stats.concealed += 1;
            return Playout::Missing { fec: None };
        }
        let margin = if self.config.adaptive {
            2
        } else {
            target.max(2)
        };
        if depth > target + margin {
            // Too much buffered: discard one frame to shrink the delay.
            let i = self.index(self.next_play);
            if self.slots[i].ext == self.next_play && self.slots[i].state == SlotState::Filled {
                self.slots[i].state = SlotState::Played;
                self.stats.discarded += 1;
            }
            self.next_play += 1;
        }
        let ext = self.next_play;
        self.next_play += 1;
        let i = self.index(ext);
        if self.slots[i].ext == ext && self.slots[i].state == SlotState::Filled {
            self.stats.played += 1;
            let slot = &mut self.slots[i];
            slot.state = SlotState::Played;
            return Playout::Packet {
                seq: ext as u16,
                timestamp: slot.timestamp,
                payload: &slot.buf[..slot.len],
            };
        }
        self.stats.lost += 1;
        self.stats.concealed += 1;
        let j = self.index(ext + 1);
        let next = &self.slots[j];
        let fec =
            (next.ext == ext + 1 && next.state == SlotState::Filled).then(|| &next.buf[..next.len]);
        Playout::Missing { fec }
    }
}
