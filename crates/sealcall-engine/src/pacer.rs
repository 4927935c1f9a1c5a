//! The send pacer of a call's transport: video leaves at the rate congestion control allows,
//! audio never waits behind it.
//!
//! The `rtc` crate's own pacer keeps one first-in-first-out queue for every RTP packet. In a
//! call that puts a voice packet behind a whole keyframe: at 300 kbit/s a 20 KB keyframe holds
//! the next 20 ms of speech for half a second, and the jitter buffer plays loss instead. So
//! Sealcall paces with priorities, as call stacks do: audio (and RTCP) goes out at once and is
//! only charged to the budget; video packets wait in their own queue and leave as the budget
//! refills. The budget is the crate's leaky bucket, refilled at [`PACING_FACTOR`] times the
//! estimate (so a keyframe's overshoot drains quickly). The queue never holds more than
//! [`MAX_QUEUE_DELAY`] of video at that rate: past it the oldest packets are dropped, since a
//! picture that late is of no use to the receiver (it asks for a keyframe), and speeding up
//! instead would push a queue of retransmissions into a link that is already full. Sans-IO:
//! instants come in with the packets and timeouts, as everywhere in the interceptor chain.

use std::collections::{HashSet, VecDeque};
use std::time::{Duration, Instant};

use rtc::interceptor::{Attribute, Interceptor, Pacer as Bucket, Packet, StreamInfo, TaggedPacket};
use rtc::sansio::Protocol;
use rtc::shared::marshal::MarshalSize;

/// Video is released at this multiple of the estimate: the encoders aim below the estimate
/// and a keyframe's burst drains at the higher rate.
pub const PACING_FACTOR: f64 = 1.5;
/// The most video the queue holds, as time at the paced rate; older packets are dropped.
pub const MAX_QUEUE_DELAY: Duration = Duration::from_millis(500);

/// The pacer interceptor (see the module documentation).
pub(crate) struct PriorityPacer {
    bucket: Bucket,
    estimate: f64,
    audio_ssrc: u32,
    /// Video waiting: retransmissions first (the receiver waits for them only so long), then
    /// new packets.
    queue: VecDeque<TaggedPacket>,
    retransmissions: VecDeque<TaggedPacket>,
    /// (SSRC, sequence number) of what is queued: a retransmission of a packet still waiting
    /// here is dropped, since the waiting copy will do.
    queued_ids: HashSet<(u32, u16)>,
    queued_bits: f64,
    dropped: u64,
    out: VecDeque<TaggedPacket>,
    read: VecDeque<TaggedPacket>,
}

impl PriorityPacer {
    /// A pacer for a transport whose audio track sends with `audio_ssrc`, starting from
    /// `estimate` bit/s.
    pub(crate) fn new(audio_ssrc: u32, estimate: f64) -> Self {
        let mut p = Self {
            bucket: Bucket::new(estimate * PACING_FACTOR),
            estimate,
            audio_ssrc,
            queue: VecDeque::new(),
            retransmissions: VecDeque::new(),
            queued_ids: HashSet::new(),
            queued_bits: 0.0,
            dropped: 0,
            out: VecDeque::new(),
            read: VecDeque::new(),
        };
        p.set_rate();
        p
    }

    fn id(packet: &TaggedPacket) -> Option<(u32, u16)> {
        match &packet.message.packet {
            Packet::Rtp(rtp) => Some((rtp.header.ssrc, rtp.header.sequence_number)),
            _ => None,
        }
    }

    /// The next packet to go: the oldest retransmission, else the oldest new packet.
    fn head(&self) -> Option<&TaggedPacket> {
        self.retransmissions.front().or_else(|| self.queue.front())
    }

    /// Takes the next packet to go off the queues.
    fn pop(&mut self) -> Option<TaggedPacket> {
        let packet = match self.retransmissions.pop_front() {
            Some(p) => p,
            None => self.queue.pop_front()?,
        };
        self.forget(&packet);
        Some(packet)
    }

    fn forget(&mut self, packet: &TaggedPacket) {
        self.queued_bits = (self.queued_bits - Self::bits(packet)).max(0.0);
        if let Some(id) = Self::id(packet) {
            self.queued_ids.remove(&id);
        }
    }

    fn bits(packet: &TaggedPacket) -> f64 {
        match &packet.message.packet {
            Packet::Rtp(rtp) => (rtp.marshal_size() * 8) as f64,
            _ => 0.0,
        }
    }

    /// Paces at the estimate times the pacing factor, and drops the oldest video past
    /// [`MAX_QUEUE_DELAY`] at that rate (always keeping the newest packet).
    fn set_rate(&mut self) {
        let rate = self.estimate * PACING_FACTOR;
        if (rate - self.bucket.target_bitrate()).abs() > f64::EPSILON {
            self.bucket.set_target_bitrate(rate);
        }
        let limit = rate * MAX_QUEUE_DELAY.as_secs_f64();
        // The oldest new video goes first, then the oldest retransmission; the newest packet
        // always stays.
        while self.queued_bits > limit && self.queue.len() + self.retransmissions.len() > 1 {
            let old = match self.queue.pop_front() {
                Some(p) => p,
                None => match self.retransmissions.pop_front() {
                    Some(p) => p,
                    None => break,
                },
            };
            self.forget(&old);
            self.dropped += 1;
        }
    }

    /// Releases what the budget allows at `now`.
    fn release(&mut self, now: Instant) {
        self.bucket.refill(now);
        while let Some(head) = self.head() {
            let bits = Self::bits(head);
            if !self.bucket.can_release(bits) {
                break;
            }
            let Some(mut packet) = self.pop() else {
                break;
            };
            self.bucket.consume(bits);
            // It departs now: congestion control must see the release instant, not the
            // instant it was queued, or the pacer's delay reads as the network's.
            packet.now = now;
            self.out.push_back(packet);
        }
        self.set_rate();
    }

    /// Video packets waiting.
    #[cfg(test)]
    fn queued(&self) -> usize {
        self.queue.len() + self.retransmissions.len()
    }
}

impl Protocol<TaggedPacket, TaggedPacket, ()> for PriorityPacer {
    type Rout = TaggedPacket;
    type Wout = TaggedPacket;
    type Eout = ();
    type Error = rtc::shared::error::Error;
    type Time = Instant;

    fn handle_read(&mut self, msg: TaggedPacket) -> Result<(), Self::Error> {
        // Congestion control, nearer the wire, attaches each new estimate to the feedback
        // packet that produced it.
        if let Some(Attribute::TargetBitrateChanged { bits_per_second }) =
            msg.message.get(&Attribute::TargetBitrateChanged {
                bits_per_second: 0.0,
            })
            && bits_per_second.is_finite()
        {
            self.estimate = bits_per_second.max(0.0);
            self.set_rate();
        }
        self.read.push_back(msg);
        Ok(())
    }

    fn poll_read(&mut self) -> Option<Self::Rout> {
        self.read.pop_front()
    }

    fn handle_write(&mut self, msg: TaggedPacket) -> Result<(), Self::Error> {
        let now = msg.now;
        match &msg.message.packet {
            // Voice never waits; it is charged, so video makes room for it.
            Packet::Rtp(rtp) if rtp.header.ssrc == self.audio_ssrc => {
                self.bucket.refill(now);
                self.bucket.consume(Self::bits(&msg));
                self.out.push_back(msg);
            }
            Packet::Rtp(rtp) => {
                // Retransmissions asked for again while the first copy still waits (NACKs
                // repeat every 100 ms, the queue may hold 500 ms) would only arrive as replays.
                if !self
                    .queued_ids
                    .insert((rtp.header.ssrc, rtp.header.sequence_number))
                {
                    return Ok(());
                }
                self.queued_bits += Self::bits(&msg);
                if msg.message.has(&Attribute::Retransmission) {
                    self.retransmissions.push_back(msg);
                } else {
                    self.queue.push_back(msg);
                }
                self.release(now);
            }
            // RTCP: feedback is only useful fresh.
            _ => self.out.push_back(msg),
        }
        Ok(())
    }

    fn poll_write(&mut self) -> Option<Self::Wout> {
        self.out.pop_front()
    }

    fn handle_timeout(&mut self, now: Instant) -> Result<(), Self::Error> {
        self.release(now);
        Ok(())
    }

    fn poll_timeout(&mut self) -> Option<Instant> {
        let head = self.head()?;
        // A microsecond late, so that rounding never wakes the chain to a budget a hair short
        // of the packet (which would ask for the same instant again, forever).
        self.bucket
            .releasable_at(Self::bits(head))
            .map(|at| at + Duration::from_micros(1))
    }
}

impl Interceptor for PriorityPacer {
    fn bind_local_stream(&mut self, _info: &StreamInfo) {}
    fn unbind_local_stream(&mut self, _info: &StreamInfo) {}
    fn bind_remote_stream(&mut self, _info: &StreamInfo) {}
    fn unbind_remote_stream(&mut self, _info: &StreamInfo) {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use rtc::interceptor::AttributedPacket;
    use rtc::shared::{TransportContext, TransportMessage};

    const AUDIO: u32 = 7;
    const VIDEO: u32 = 9;

    fn rtp(now: Instant, ssrc: u32, seq: u16, payload: usize) -> TaggedPacket {
        let mut p = rtc::rtp::Packet::default();
        p.header.version = 2;
        p.header.ssrc = ssrc;
        p.header.sequence_number = seq;
        p.payload = vec![0u8; payload].into();
        TransportMessage {
            now,
            transport: TransportContext::default(),
            message: AttributedPacket::new(Packet::Rtp(p)),
        }
    }

    fn drain(p: &mut PriorityPacer) -> Vec<(u32, u16)> {
        let mut out = Vec::new();
        while let Some(m) = p.poll_write() {
            if let Packet::Rtp(r) = &m.message.packet {
                out.push((r.header.ssrc, r.header.sequence_number));
            }
        }
        out
    }

    /// A keyframe's 40 packets at 1 Mbit/s: the voice packets sent meanwhile leave at once,
    /// the video follows at the paced rate.
    #[test]
    fn voice_overtakes_a_queued_keyframe() {
        let t0 = Instant::now();
        let mut p = PriorityPacer::new(AUDIO, 1_000_000.0);
        for seq in 0..40 {
            p.handle_write(rtp(t0, VIDEO, seq, 1100)).unwrap();
        }
        let first = drain(&mut p);
        // A burst (a tenth of a second at the paced rate, 16 of these packets) leaves at once.
        assert!(
            (1..20).contains(&first.len()),
            "a burst's worth leaves at once: {}",
            first.len()
        );
        p.handle_write(rtp(t0 + Duration::from_millis(20), AUDIO, 1, 80))
            .unwrap();
        assert_eq!(drain(&mut p), vec![(AUDIO, 1)], "voice does not queue");
        // The rest follows over time, in order, at about the paced rate.
        let mut now = t0;
        let mut seqs: Vec<u16> = first.iter().map(|x| x.1).collect();
        while p.queued() > 0 {
            now = p.poll_timeout().expect("a queue has a deadline").max(now);
            p.handle_timeout(now).unwrap();
            seqs.extend(drain(&mut p).into_iter().map(|x| x.1));
        }
        assert_eq!(seqs, (0..40).collect::<Vec<_>>());
        let secs = (now - t0).as_secs_f64();
        let bits = 40.0 * 1112.0 * 8.0;
        let paced = bits / (1_000_000.0 * PACING_FACTOR);
        assert!(
            secs > 0.5 * paced && secs <= paced,
            "drained in {secs} s (at the paced rate alone: {paced} s)"
        );
    }

    #[test]
    fn a_retransmission_of_a_packet_still_queued_is_dropped() {
        let t0 = Instant::now();
        let mut p = PriorityPacer::new(AUDIO, 1_000_000.0);
        for seq in 0..20 {
            p.handle_write(rtp(t0, VIDEO, seq, 1100)).unwrap();
        }
        let sent = drain(&mut p).len();
        let queued = p.queued();
        assert!(queued > 0);
        // NACKed again: the last one (still queued) and the first one (already sent).
        p.handle_write(rtp(t0, VIDEO, 19, 1100)).unwrap();
        p.handle_write(rtp(t0, VIDEO, 0, 1100)).unwrap();
        assert_eq!(
            p.queued(),
            queued + 1,
            "only the one already sent goes again"
        );
        assert!(sent > 0);
    }

    #[test]
    fn a_new_estimate_from_feedback_changes_the_rate() {
        let t0 = Instant::now();
        let mut p = PriorityPacer::new(AUDIO, 2_000_000.0);
        let mut fb = TransportMessage {
            now: t0,
            transport: TransportContext::default(),
            message: AttributedPacket::new(Packet::Rtcp(Vec::new())),
        };
        fb.message.add(Attribute::TargetBitrateChanged {
            bits_per_second: 200_000.0,
        });
        p.handle_read(fb).unwrap();
        assert!(
            p.poll_read().is_some(),
            "feedback goes on to the application side"
        );
        assert!((p.bucket.target_bitrate() - 200_000.0 * PACING_FACTOR).abs() < 1.0);
        // Nonsense does not poison it.
        let mut bad = TransportMessage {
            now: t0,
            transport: TransportContext::default(),
            message: AttributedPacket::new(Packet::Rtcp(Vec::new())),
        };
        bad.message.add(Attribute::TargetBitrateChanged {
            bits_per_second: f64::NAN,
        });
        p.handle_read(bad).unwrap();
        assert!((p.bucket.target_bitrate() - 200_000.0 * PACING_FACTOR).abs() < 1.0);
    }

    #[test]
    fn the_queue_never_holds_more_than_the_bound_and_drops_the_oldest() {
        let t0 = Instant::now();
        let mut p = PriorityPacer::new(AUDIO, 100_000.0);
        for seq in 0..3000u16 {
            p.handle_write(rtp(t0, VIDEO, seq, 1100)).unwrap();
            let held = p.queued_bits / p.bucket.target_bitrate();
            assert!(
                held <= MAX_QUEUE_DELAY.as_secs_f64() + 0.01,
                "{held} s queued"
            );
        }
        assert!(p.dropped > 2900, "{}", p.dropped);
        let mut now = t0;
        let mut out = drain(&mut p);
        while p.queued() > 0 {
            now = p.poll_timeout().expect("deadline").max(now);
            p.handle_timeout(now).unwrap();
            out.extend(drain(&mut p));
        }
        // What is left is the newest, in order, and it drains within the bound.
        let last: Vec<u16> = out.iter().rev().take(3).map(|x| x.1).collect();
        assert_eq!(last, vec![2999, 2998, 2997]);
        assert!(
            now - t0 <= MAX_QUEUE_DELAY + Duration::from_millis(10),
            "{:?}",
            now - t0
        );
    }
}
