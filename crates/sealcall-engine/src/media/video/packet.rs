//! RTP packetization of whole video frames, and their reassembly.
//!
//! Sealcall sends each encoded video frame whole: in an end-to-end encrypted call the frame is
//! first protected with SFrame under the camera or screen key, then split here. This is the
//! per-frame mode of draft-ietf-avtcore-rtp-sframe-02: every RTP payload starts with a one-byte
//! descriptor, and the receiver rebuilds the frame from an unbroken run of packets from the one
//! marked *start* to the one marked *end* before anything looks inside it. Standard calls use the
//! same packetization with the plain VP8 frame.
//!
//! ```text
//!  0 1 2 3 4 5 6 7
//! +-+-+-+-+-+-+-+-+
//! |S|E|T|  zero   |   S: first packet of the frame, E: last packet of the frame,
//! +-+-+-+-+-+-+-+-+   T: 0 = the frame is carried whole (per-frame mode; 1 is refused)
//! ```
//!
//! The RTP marker bit is set on the packet with E. A receiver refuses a descriptor with T or any
//! reserved bit set, a run whose packets do not share one RTP timestamp, and a frame larger than
//! its limit; it waits a bounded time for a missing packet (NACK retransmissions fill gaps) and
//! then reports the gap, so the decoder never sees a frame with a hole in it.
//!
//! Everything here is sans-IO: arrival times are passed in.

use std::collections::BTreeMap;
use std::time::Duration;

/// Largest RTP payload the packetizer produces, descriptor included (fits any path MTU with
/// room for SRTP, TURN and IPv6 headers).
pub const MAX_RTP_PAYLOAD: usize = 1200;

/// Largest video frame the engine sends or reassembles (a 1080p screen-share keyframe reaches
/// about 270 KB; the limit leaves room for much more).
pub const MAX_VIDEO_FRAME_LEN: usize = 2 * 1024 * 1024;

const FLAG_START: u8 = 0x80;
const FLAG_END: u8 = 0x40;
const FLAG_PACKETIZED: u8 = 0x20;
const RESERVED: u8 = 0x1f;

/// The descriptor byte of one packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Descriptor {
    /// First packet of a frame.
    pub start: bool,
    /// Last packet of a frame.
    pub end: bool,
}

impl Descriptor {
    /// The descriptor as sent.
    pub fn to_byte(self) -> u8 {
        (if self.start { FLAG_START } else { 0 }) | (if self.end { FLAG_END } else { 0 })
    }

    /// Parses a descriptor byte; refuses per-packet mode (T=1) and reserved bits.
    pub fn from_byte(byte: u8) -> Result<Self, PacketError> {
        if byte & FLAG_PACKETIZED != 0 {
            return Err(PacketError::PerPacketMode);
        }
        if byte & RESERVED != 0 {
            return Err(PacketError::ReservedBits);
        }
        Ok(Self {
            start: byte & FLAG_START != 0,
            end: byte & FLAG_END != 0,
        })
    }
}

/// Why a received packet was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PacketError {
    /// The payload holds no descriptor, or a descriptor and nothing else.
    #[error("video packet too short")]
    TooShort,
    /// The descriptor asks for per-packet mode, which Sealcall does not use.
    #[error("video packet in per-packet mode (T=1) refused")]
    PerPacketMode,
    /// Reserved descriptor bits are set.
    #[error("video packet with reserved descriptor bits refused")]
    ReservedBits,
    /// The payload is longer than any packetizer would make.
    #[error("video packet payload over {MAX_RTP_PAYLOAD} bytes refused")]
    TooLong,
}

/// One RTP payload of a packetized frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PacketPayload<'a> {
    /// Its descriptor.
    pub descriptor: Descriptor,
    /// The slice of the frame it carries.
    pub chunk: &'a [u8],
}

impl PacketPayload<'_> {
    /// Whether the RTP marker bit is set on this packet (the frame's last).
    pub fn marker(&self) -> bool {
        self.descriptor.end
    }

    /// Writes descriptor and chunk into `out` (cleared first).
    pub fn write_to(&self, out: &mut Vec<u8>) {
        out.clear();
        out.reserve(1 + self.chunk.len());
        out.push(self.descriptor.to_byte());
        out.extend_from_slice(self.chunk);
    }
}

/// Splits `frame` into RTP payloads of at most `max_payload` bytes each (descriptor included),
/// of nearly equal size. An empty frame yields nothing; `max_payload` below 2 is raised to 2.
pub fn packetize(frame: &[u8], max_payload: usize) -> impl Iterator<Item = PacketPayload<'_>> {
    let room = max_payload.max(2) - 1;
    let count = frame.len().div_ceil(room);
    let base = frame.len().checked_div(count).unwrap_or(0);
    let extra = frame.len().checked_rem(count).unwrap_or(0);
    let mut offset = 0usize;
    (0..count).map(move |i| {
        let len = base + usize::from(i < extra);
        let chunk = &frame[offset..offset + len];
        offset += len;
        PacketPayload {
            descriptor: Descriptor {
                start: i == 0,
                end: i + 1 == count,
            },
            chunk,
        }
    })
}

/// Limits of a [`Reassembler`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReassemblyConfig {
    /// Largest frame accepted; a larger one is dropped whole.
    pub max_frame_len: usize,
    /// Most packets held at once; past it the oldest incomplete frame is given up.
    pub max_packets: usize,
    /// How long a missing packet is waited for (a NACK retransmission) before the gap is
    /// reported and the next complete frame goes ahead.
    pub max_wait: Duration,
}

impl Default for ReassemblyConfig {
    fn default() -> Self {
        Self {
            max_frame_len: MAX_VIDEO_FRAME_LEN,
            max_packets: 4096,
            max_wait: Duration::from_millis(150),
        }
    }
}

/// A frame rebuilt from its packets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssembledFrame {
    /// The RTP timestamp its packets share.
    pub timestamp: u32,
    /// The frame (descriptors stripped).
    pub data: Vec<u8>,
    /// Packets were lost (or frames dropped) between the previous frame handed out and this
    /// one: a decoder must not take a delta frame now.
    pub after_gap: bool,
}

/// Counters of a [`Reassembler`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReassemblyStats {
    /// Packets taken in.
    pub packets: u64,
    /// Packets refused (bad descriptor, too long).
    pub malformed: u64,
    /// Packets dropped as duplicates or as older than what was already handed out.
    pub duplicates: u64,
    /// Frames handed out.
    pub frames: u64,
    /// Gaps reported (each may cover several lost frames).
    pub gaps: u64,
    /// Frames dropped for being over the size limit or inconsistent (mixed timestamps).
    pub dropped_frames: u64,
}

struct Stored {
    descriptor: Descriptor,
    timestamp: u32,
    payload: Vec<u8>,
    arrived: Duration,
}

/// Rebuilds frames from packets in RTP sequence order (sans-IO).
///
/// Push every packet of one RTP stream with [`push`](Self::push), then take complete frames
/// with [`poll`](Self::poll). Frames come out in sequence order, each exactly once.
pub struct Reassembler {
    config: ReassemblyConfig,
    packets: BTreeMap<u64, Stored>,
    /// The sequence number the next frame must start at, once known.
    next: Option<u64>,
    /// Everything below this has been handed out or given up.
    floor: u64,
    last_ext: Option<u64>,
    pending_gap: bool,
    stats: ReassemblyStats,
}

impl Reassembler {
    /// A reassembler with these limits.
    pub fn new(config: ReassemblyConfig) -> Self {
        Self {
            config,
            packets: BTreeMap::new(),
            next: None,
            floor: 0,
            last_ext: None,
            pending_gap: false,
            stats: ReassemblyStats::default(),
        }
    }

    /// Counters so far.
    pub fn stats(&self) -> ReassemblyStats {
        self.stats
    }

    /// Packets held, waiting for the rest of their frame.
    pub fn buffered(&self) -> usize {
        self.packets.len()
    }

    fn extend(&mut self, seq: u16) -> u64 {
        let ext = match self.last_ext {
            None => (1u64 << 32) + u64::from(seq),
            Some(last) => {
                let last16 = last as u16;
                let delta = i64::from(seq.wrapping_sub(last16) as i16);
                last.saturating_add_signed(delta)
            }
        };
        if self.last_ext.is_none_or(|last| ext > last) {
            self.last_ext = Some(ext);
        }
        ext
    }

    /// Takes one RTP packet: its sequence number, timestamp and payload (descriptor first).
    /// A refused packet changes nothing but the counters.
    pub fn push(
        &mut self,
        now: Duration,
        seq: u16,
        timestamp: u32,
        payload: &[u8],
    ) -> Result<(), PacketError> {
        let Some((&first, chunk)) = payload.split_first() else {
            self.stats.malformed += 1;
            return Err(PacketError::TooShort);
        };
        if payload.len() > MAX_RTP_PAYLOAD {
            self.stats.malformed += 1;
            return Err(PacketError::TooLong);
        }
        let descriptor = match Descriptor::from_byte(first) {
            Ok(d) => d,
            Err(e) => {
                self.stats.malformed += 1;
                return Err(e);
            }
        };
        if chunk.is_empty() {
            self.stats.malformed += 1;
            return Err(PacketError::TooShort);
        }
        let ext = self.extend(seq);
        if ext < self.floor || self.packets.contains_key(&ext) {
            self.stats.duplicates += 1;
            return Ok(());
        }
        self.stats.packets += 1;
        self.packets.insert(
            ext,
            Stored {
                descriptor,
                timestamp,
                payload: chunk.to_vec(),
                arrived: now,
            },
        );
        while self.packets.len() > self.config.max_packets {
            self.give_up_oldest();
        }
        Ok(())
    }

    /// Drops everything up to the next frame start after the oldest held packet.
    fn give_up_oldest(&mut self) {
        let Some(&oldest) = self.packets.keys().next() else {
            return;
        };
        let resume = self
            .packets
            .range(oldest + 1..)
            .find(|(_, p)| p.descriptor.start)
            .map(|(&s, _)| s);
        self.drop_below(resume.unwrap_or(oldest + 1));
        self.next = resume;
        self.pending_gap = true;
        self.stats.gaps += 1;
    }

    fn drop_below(&mut self, seq: u64) {
        self.packets = self.packets.split_off(&seq);
        self.floor = self.floor.max(seq);
    }

    /// The next complete frame, if any. Call after every push and on a timer: a frame waiting
    /// behind a lost packet comes out once `max_wait` has passed, marked `after_gap`.
    pub fn poll(&mut self, now: Duration) -> Option<AssembledFrame> {
        loop {
            let next = match self.next {
                Some(n) => n,
                None => {
                    // Not yet in step: the first frame start held is where frames begin. Packets
                    // may arrive out of order, so commit to it only once its frame is complete
                    // and nothing older is held, or once the oldest packet has waited
                    // `max_wait`; packets before it are then the tail of a frame whose start
                    // never came.
                    let start = self
                        .packets
                        .iter()
                        .find(|(_, p)| p.descriptor.start)
                        .map(|(&s, _)| s)?;
                    let oldest = self.packets.values().map(|p| p.arrived).min()?;
                    let waited = now.saturating_sub(oldest) >= self.config.max_wait;
                    let older = self.packets.keys().next().is_some_and(|&k| k < start);
                    let complete = matches!(self.run_from(start), Run::Complete { .. });
                    if !waited && (older || !complete) {
                        return None;
                    }
                    if older {
                        self.pending_gap = true;
                        self.stats.gaps += 1;
                    }
                    self.drop_below(start);
                    self.next = Some(start);
                    start
                }
            };
            match self.run_from(next) {
                Run::Complete { end } => {
                    let frame = self.take_run(next, end);
                    self.next = Some(end + 1);
                    self.floor = self.floor.max(end + 1);
                    if let Some(frame) = frame {
                        self.stats.frames += 1;
                        return Some(frame);
                    }
                    // Dropped (too large or inconsistent): what follows comes after a gap.
                    self.pending_gap = true;
                    continue;
                }
                Run::Broken { resume } => {
                    // A start where a middle packet should be, or a packet without start where
                    // a frame should begin: the frame being built can never complete.
                    self.drop_below(resume);
                    self.next = Some(resume);
                    self.pending_gap = true;
                    self.stats.gaps += 1;
                    continue;
                }
                Run::Missing { at } => {
                    // Wait for a retransmission, but not forever: once a packet after the hole
                    // has waited `max_wait`, give up on the incomplete frame.
                    let waited_since = self.packets.range(at..).next().map(|(_, p)| p.arrived)?;
                    if now.saturating_sub(waited_since) < self.config.max_wait {
                        return None;
                    }
                    let resume = self
                        .packets
                        .range(at..)
                        .find(|(_, p)| p.descriptor.start)
                        .map(|(&s, _)| s);
                    match resume {
                        Some(s) => {
                            self.drop_below(s);
                            self.next = Some(s);
                        }
                        None => {
                            let past = self.packets.keys().next_back().map_or(at, |&k| k + 1);
                            self.drop_below(past);
                            self.next = None;
                        }
                    }
                    self.pending_gap = true;
                    self.stats.gaps += 1;
                    continue;
                }
            }
        }
    }

    fn run_from(&self, next: u64) -> Run {
        let mut seq = next;
        let mut first = true;
        loop {
            let Some(p) = self.packets.get(&seq) else {
                return Run::Missing { at: seq };
            };
            if first != p.descriptor.start {
                // Either the frame's first packet lacks S, or a new frame starts mid-run.
                let resume = if first {
                    self.packets
                        .range(seq + 1..)
                        .find(|(_, p)| p.descriptor.start)
                        .map_or(seq + 1, |(&s, _)| s)
                } else {
                    seq
                };
                return Run::Broken { resume };
            }
            if p.descriptor.end {
                return Run::Complete { end: seq };
            }
            first = false;
            seq += 1;
        }
    }

    fn take_run(&mut self, from: u64, end: u64) -> Option<AssembledFrame> {
        let mut rest = self.packets.split_off(&(end + 1));
        std::mem::swap(&mut rest, &mut self.packets);
        let run = rest.split_off(&from);
        let timestamp = run.values().next().map(|p| p.timestamp)?;
        let len: usize = run.values().map(|p| p.payload.len()).sum();
        if len > self.config.max_frame_len || run.values().any(|p| p.timestamp != timestamp) {
            self.stats.dropped_frames += 1;
            return None;
        }
        let mut data = Vec::with_capacity(len);
        for p in run.values() {
            data.extend_from_slice(&p.payload);
        }
        let after_gap = std::mem::take(&mut self.pending_gap);
        Some(AssembledFrame {
            timestamp,
            data,
            after_gap,
        })
    }
}

enum Run {
    Complete { end: u64 },
    Missing { at: u64 },
    Broken { resume: u64 },
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: Duration = Duration::ZERO;

    fn payloads(frame: &[u8], max: usize) -> Vec<Vec<u8>> {
        packetize(frame, max)
            .map(|p| {
                let mut v = Vec::new();
                p.write_to(&mut v);
                v
            })
            .collect()
    }

    #[test]
    fn packets_are_at_most_the_limit_and_nearly_equal() {
        let frame: Vec<u8> = (0..5000u32).map(|i| i as u8).collect();
        let p: Vec<_> = packetize(&frame, 1200).collect();
        assert_eq!(p.len(), 5);
        assert!(p.iter().all(|x| x.chunk.len() < 1200));
        assert!(p.iter().all(|x| x.chunk.len() == 1000));
        assert!(p[0].descriptor.start && !p[0].descriptor.end);
        assert!(p[4].descriptor.end && p[4].marker());
        let joined: Vec<u8> = p.iter().flat_map(|x| x.chunk.iter().copied()).collect();
        assert_eq!(joined, frame);
        let one: Vec<_> = packetize(b"x", 1200).collect();
        assert_eq!(one.len(), 1);
        assert!(one[0].descriptor.start && one[0].descriptor.end);
        assert_eq!(packetize(b"", 1200).count(), 0);
    }

    #[test]
    fn frames_come_back_in_order_despite_reordering_and_duplicates() {
        let mut r = Reassembler::new(ReassemblyConfig::default());
        let a = vec![1u8; 3000];
        let b = vec![2u8; 2500];
        let mut seq = 65_530u16; // crosses the 16-bit wrap
        let mut all = Vec::new();
        for (ts, f) in [(100u32, &a), (200, &b)] {
            for p in payloads(f, 1200) {
                all.push((seq, ts, p));
                seq = seq.wrapping_add(1);
            }
        }
        all.swap(0, 3);
        all.swap(1, 5);
        let dup = all[2].clone();
        all.push(dup);
        let mut out = Vec::new();
        for (s, ts, p) in &all {
            r.push(T0, *s, *ts, p).unwrap();
            while let Some(f) = r.poll(T0) {
                out.push(f);
            }
        }
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].data, a);
        assert_eq!(out[0].timestamp, 100);
        assert!(!out[0].after_gap);
        assert_eq!(out[1].data, b);
        assert!(!out[1].after_gap);
        assert_eq!(r.stats().duplicates, 1);
        assert_eq!(r.buffered(), 0);
    }

    #[test]
    fn a_lost_packet_is_waited_for_then_reported_as_a_gap() {
        let mut r = Reassembler::new(ReassemblyConfig::default());
        let a = payloads(&[1u8; 2000], 1200);
        let b = payloads(&[2u8; 100], 1200);
        r.push(T0, 10, 1, &a[0]).unwrap();
        // a[1] (seq 11) lost; the next frame arrives.
        r.push(T0, 12, 2, &b[0]).unwrap();
        assert_eq!(r.poll(Duration::from_millis(100)), None, "still waiting");
        let f = r.poll(Duration::from_millis(151)).unwrap();
        assert_eq!(f.data, vec![2u8; 100]);
        assert!(f.after_gap);
        assert_eq!(r.stats().gaps, 1);
        // The late packet is now too old and dropped.
        r.push(Duration::from_millis(200), 11, 1, &a[1]).unwrap();
        assert_eq!(r.stats().duplicates, 1);
        assert_eq!(r.poll(Duration::from_millis(200)), None);
    }

    #[test]
    fn a_retransmission_in_time_completes_the_frame_without_a_gap() {
        let mut r = Reassembler::new(ReassemblyConfig::default());
        let a = payloads(&[1u8; 2000], 1200);
        r.push(T0, 10, 1, &a[1]).unwrap();
        assert_eq!(r.poll(T0), None);
        r.push(Duration::from_millis(40), 9, 1, &a[0]).unwrap();
        let f = r.poll(Duration::from_millis(40)).unwrap();
        assert!(!f.after_gap);
        assert_eq!(f.data.len(), 2000);
    }

    #[test]
    fn bad_descriptors_and_inconsistent_runs_are_refused() {
        let mut r = Reassembler::new(ReassemblyConfig::default());
        assert_eq!(r.push(T0, 1, 1, &[]), Err(PacketError::TooShort));
        assert_eq!(r.push(T0, 1, 1, &[0xc0]), Err(PacketError::TooShort));
        assert_eq!(
            r.push(T0, 1, 1, &[0xe0, 1]),
            Err(PacketError::PerPacketMode)
        );
        assert_eq!(r.push(T0, 1, 1, &[0xc1, 1]), Err(PacketError::ReservedBits));
        assert_eq!(
            r.push(T0, 1, 1, &vec![0xc0; MAX_RTP_PAYLOAD + 1]),
            Err(PacketError::TooLong)
        );
        assert_eq!(r.stats().malformed, 5);
        // Start and end with different timestamps: dropped whole, and the next frame is after a gap.
        r.push(T0, 1, 1, &[0x80, 1]).unwrap();
        r.push(T0, 2, 2, &[0x40, 2]).unwrap();
        r.push(T0, 3, 3, &[0xc0, 3]).unwrap();
        let f = r.poll(T0).unwrap();
        assert_eq!(f.data, vec![3]);
        assert!(f.after_gap);
        assert_eq!(r.stats().dropped_frames, 1);
    }

    #[test]
    fn oversized_frames_are_dropped_and_memory_is_bounded() {
        let config = ReassemblyConfig {
            max_frame_len: 1000,
            max_packets: 8,
            ..ReassemblyConfig::default()
        };
        let mut r = Reassembler::new(config);
        for (i, p) in payloads(&[7u8; 2000], 600).iter().enumerate() {
            r.push(T0, i as u16, 5, p).unwrap();
        }
        assert_eq!(r.poll(T0), None);
        assert_eq!(r.stats().dropped_frames, 1);
        // A start that never ends: held packets stay bounded.
        for s in 100..200u16 {
            let d = if s == 100 { 0x80 } else { 0x00 };
            r.push(T0, s, 9, &[d, 1]).unwrap();
            assert!(r.buffered() <= 8);
        }
    }

    #[test]
    fn a_stream_joined_mid_frame_starts_at_the_next_frame_after_a_gap() {
        let mut r = Reassembler::new(ReassemblyConfig::default());
        let a = payloads(&[1u8; 2000], 1200);
        let b = payloads(&[2u8; 10], 1200);
        r.push(T0, 5, 1, &a[1]).unwrap();
        r.push(T0, 6, 2, &b[0]).unwrap();
        assert_eq!(r.poll(T0), None, "the start of frame 5 may still come");
        let f = r.poll(Duration::from_millis(150)).unwrap();
        assert_eq!(f.data, vec![2u8; 10]);
        assert!(f.after_gap);
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_packets_never_panic_and_frames_stay_within_limits(
            packets in proptest::collection::vec(
                (proptest::prelude::any::<u16>(), 0u32..4, proptest::collection::vec(proptest::prelude::any::<u8>(), 0..40)),
                0..200,
            )
        ) {
            let config = ReassemblyConfig { max_frame_len: 200, max_packets: 32, ..ReassemblyConfig::default() };
            let mut r = Reassembler::new(config);
            let mut t = Duration::ZERO;
            for (seq, ts, payload) in packets {
                t += Duration::from_millis(7);
                let _ = r.push(t, seq, ts, &payload);
                proptest::prop_assert!(r.buffered() <= 32);
                while let Some(f) = r.poll(t) {
                    proptest::prop_assert!(f.data.len() <= 200);
                    proptest::prop_assert!(!f.data.is_empty());
                }
            }
        }

        #[test]
        fn any_frame_round_trips_through_any_packet_size(
            frame in proptest::collection::vec(proptest::prelude::any::<u8>(), 1..5000),
            max in 3usize..1300,
            start in proptest::prelude::any::<u16>(),
        ) {
            let mut r = Reassembler::new(ReassemblyConfig::default());
            let max = max.min(MAX_RTP_PAYLOAD);
            let mut seq = start;
            for p in payloads(&frame, max) {
                proptest::prop_assert!(p.len() <= max);
                r.push(Duration::ZERO, seq, 42, &p).unwrap();
                seq = seq.wrapping_add(1);
            }
            let f = r.poll(Duration::ZERO).unwrap();
            proptest::prop_assert_eq!(f.data, frame);
        }
    }
}
