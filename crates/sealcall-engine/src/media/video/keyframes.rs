//! When a receiver may decode, when it asks for a keyframe, and when a sender sends one (sans-IO).
//!
//! A VP8 delta frame only decodes on top of the frames before it. After a gap (lost packets, a
//! refused frame, a decoder error) or at the start of a stream, the receiver's
//! [`KeyframeGate`] lets nothing through until a keyframe arrives, and asks the sender for one
//! with a PLI (picture loss indication) at a bounded rate until one decodes. The sender's
//! [`KeyframePacer`] answers PLIs with a keyframe, at most one per interval: a request inside
//! the interval is remembered and served when it ends, never dropped.

use std::time::Duration;

/// How often a receiver repeats its keyframe request while it waits for one.
pub const PLI_INTERVAL: Duration = Duration::from_millis(200);

/// The shortest time between two keyframes sent on request.
pub const KEYFRAME_MIN_INTERVAL: Duration = Duration::from_millis(250);

/// What the gate says about one complete, authenticated frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admit {
    /// Hand it to the decoder.
    Decode,
    /// Drop it: a delta frame while a keyframe is needed.
    WaitForKeyframe,
}

/// Counters of a [`KeyframeGate`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GateStats {
    /// Frames passed to the decoder.
    pub admitted: u64,
    /// Delta frames dropped while waiting for a keyframe.
    pub dropped_waiting: u64,
    /// Keyframe requests (PLIs) asked for.
    pub plis: u64,
    /// Keyframes admitted.
    pub keyframes: u64,
}

/// The receiver's side: decode only what can decode, and ask for keyframes (sans-IO).
#[derive(Debug, Clone)]
pub struct KeyframeGate {
    need_keyframe: bool,
    /// When the current wait for a keyframe began (a PLI goes out at once, then every interval).
    waiting_since: Option<Duration>,
    last_pli: Option<Duration>,
    interval: Duration,
    stats: GateStats,
}

impl Default for KeyframeGate {
    fn default() -> Self {
        Self::new(PLI_INTERVAL)
    }
}

impl KeyframeGate {
    /// A gate at the start of a stream (it needs a keyframe) repeating PLIs every `interval`.
    pub fn new(interval: Duration) -> Self {
        Self {
            need_keyframe: true,
            waiting_since: None,
            last_pli: None,
            interval,
            stats: GateStats::default(),
        }
    }

    /// Counters so far.
    pub fn stats(&self) -> GateStats {
        self.stats
    }

    /// Whether the next frame must be a keyframe.
    pub fn needs_keyframe(&self) -> bool {
        self.need_keyframe
    }

    /// Something was lost (packets, a refused frame): a keyframe is needed again.
    pub fn on_loss(&mut self, now: Duration) {
        if !self.need_keyframe {
            self.need_keyframe = true;
            self.waiting_since = Some(now);
        }
    }

    /// The decoder failed on an admitted frame: a keyframe is needed again.
    pub fn on_decode_error(&mut self, now: Duration) {
        self.on_loss(now);
    }

    /// A frame arrived (complete and authenticated). `after_gap` is the reassembler's flag.
    pub fn admit(&mut self, now: Duration, keyframe: bool, after_gap: bool) -> Admit {
        if after_gap {
            self.on_loss(now);
        }
        if keyframe {
            self.need_keyframe = false;
            self.waiting_since = None;
            self.stats.keyframes += 1;
            self.stats.admitted += 1;
            return Admit::Decode;
        }
        if self.need_keyframe {
            if self.waiting_since.is_none() {
                self.waiting_since = Some(now);
            }
            self.stats.dropped_waiting += 1;
            return Admit::WaitForKeyframe;
        }
        self.stats.admitted += 1;
        Admit::Decode
    }

    /// Whether to send a PLI now: while a keyframe is needed and frames are arriving, at once
    /// and then every interval.
    pub fn poll_pli(&mut self, now: Duration) -> bool {
        if !self.need_keyframe || self.waiting_since.is_none() {
            return false;
        }
        if self
            .last_pli
            .is_some_and(|t| now.saturating_sub(t) < self.interval)
        {
            return false;
        }
        self.last_pli = Some(now);
        self.stats.plis += 1;
        true
    }
}

/// The sender's side: keyframes on request, at a bounded rate (sans-IO).
#[derive(Debug, Clone)]
pub struct KeyframePacer {
    last_keyframe: Option<Duration>,
    pending: bool,
    interval: Duration,
    requests: u64,
}

impl Default for KeyframePacer {
    fn default() -> Self {
        Self::new(KEYFRAME_MIN_INTERVAL)
    }
}

impl KeyframePacer {
    /// A pacer that sends at most one requested keyframe per `interval`. The stream's first
    /// frame is always a keyframe.
    pub fn new(interval: Duration) -> Self {
        Self {
            last_keyframe: None,
            pending: true,
            interval,
            requests: 0,
        }
    }

    /// The receiver asked for a keyframe.
    pub fn request(&mut self) {
        self.pending = true;
        self.requests += 1;
    }

    /// Keyframe requests received.
    pub fn requests(&self) -> u64 {
        self.requests
    }

    /// Whether the frame about to be encoded must be a keyframe.
    pub fn force_now(&mut self, now: Duration) -> bool {
        if !self.pending {
            return false;
        }
        if self
            .last_keyframe
            .is_some_and(|t| now.saturating_sub(t) < self.interval)
        {
            return false;
        }
        self.pending = false;
        true
    }

    /// A keyframe was encoded (requested or not).
    pub fn sent_keyframe(&mut self, now: Duration) {
        self.last_keyframe = Some(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn nothing_decodes_before_a_keyframe_and_plis_repeat_until_one_comes() {
        let mut g = KeyframeGate::default();
        assert!(!g.poll_pli(ms(0)), "no PLI before any frame arrives");
        assert_eq!(g.admit(ms(0), false, false), Admit::WaitForKeyframe);
        assert!(g.poll_pli(ms(0)));
        assert!(!g.poll_pli(ms(100)));
        assert!(g.poll_pli(ms(200)));
        assert_eq!(g.admit(ms(250), true, false), Admit::Decode);
        assert!(!g.poll_pli(ms(450)));
        assert_eq!(g.admit(ms(300), false, false), Admit::Decode);
        assert_eq!(g.stats().plis, 2);
    }

    #[test]
    fn after_a_gap_no_delta_frame_is_decoded() {
        let mut g = KeyframeGate::default();
        g.admit(ms(0), true, false);
        assert_eq!(g.admit(ms(30), false, true), Admit::WaitForKeyframe);
        assert!(g.poll_pli(ms(30)));
        assert_eq!(g.admit(ms(60), false, false), Admit::WaitForKeyframe);
        assert_eq!(g.admit(ms(90), true, false), Admit::Decode);
        g.on_decode_error(ms(120));
        assert_eq!(g.admit(ms(150), false, false), Admit::WaitForKeyframe);
    }

    #[test]
    fn requested_keyframes_are_paced_but_never_dropped() {
        let mut p = KeyframePacer::default();
        assert!(p.force_now(ms(0)), "the first frame is a keyframe");
        p.sent_keyframe(ms(0));
        assert!(!p.force_now(ms(10)));
        p.request();
        assert!(!p.force_now(ms(100)), "inside the interval");
        assert!(p.force_now(ms(250)), "served when the interval ends");
        p.sent_keyframe(ms(250));
        assert!(!p.force_now(ms(600)), "one request, one keyframe");
        assert_eq!(p.requests(), 1);
    }
}
