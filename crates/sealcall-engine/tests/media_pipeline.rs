//! End-to-end media pipelines with real Opus: clean and impaired networks.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use sealcall_engine::media::analysis::{dominant_frequency, tone_snr_db};
use sealcall_engine::media::{
    CODEC_NAME, EncoderConfig, FRAME_SAMPLES, FrameOutcome, JitterConfig, MAX_PACKET_BYTES,
    MediaStats, MemorySink, OpusEncoder, ReceivePipeline, SAMPLE_RATE, SendPipeline, ToneSource,
};

/// Stated bounds: clean path SNR ≥ 20 dB; with 10% loss, reordering and duplication ≥ 6 dB
/// (concealment artefacts count as noise in `tone_snr_db`).
const CLEAN_SNR_DB: f64 = 20.0;
const IMPAIRED_SNR_DB: f64 = 6.0;

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

struct Network {
    loss_percent: u64,
    dup_percent: u64,
    base_delay_ms: u64,
    jitter_ms: u64,
}

struct Run {
    samples: Vec<i16>,
    send: MediaStats,
    recv: MediaStats,
    reordered: usize,
    outcomes: [u64; 4],
}

/// Sends `seconds` of a tone over a simulated network, ticking both ends every 20 ms.
fn run(freq: f64, seconds: u64, net: &Network, fec: bool, seed: u64) -> Run {
    let encoder = OpusEncoder::with_config(EncoderConfig {
        inband_fec: fec,
        expected_loss_percent: if fec { net.loss_percent as u8 } else { 0 },
        ..EncoderConfig::default()
    })
    .unwrap();
    let mut send = SendPipeline::new(ToneSource::new(freq, 0.3).unwrap(), encoder)
        .with_rtp_start(65_000, 4_000_000_000);
    let mut recv = ReceivePipeline::new(
        JitterConfig::default(),
        MemorySink::with_capacity_frames(seconds as usize * 50 + 200),
    )
    .unwrap();
    let mut rng = Rng(seed);
    // (arrival ms, seq, ts, payload)
    let mut in_flight: Vec<(u64, u16, u32, Vec<u8>)> = Vec::new();
    let mut delivered_seqs: Vec<u16> = Vec::new();
    let mut buf = [0u8; MAX_PACKET_BYTES];
    let mut outcomes = [0u64; 4];
    let ticks = seconds * 50;
    for tick in 0..ticks + 50 {
        let now_ms = tick * 20;
        if tick < ticks {
            let p = send.next_rtp_packet(&mut buf).unwrap().unwrap();
            let bytes = buf[..p.len].to_vec();
            if !rng.chance(net.loss_percent) {
                let at = now_ms + net.base_delay_ms + rng.below(net.jitter_ms + 1);
                in_flight.push((at, p.seq, p.timestamp, bytes.clone()));
            }
            if rng.chance(net.dup_percent) {
                let at = now_ms + net.base_delay_ms + rng.below(net.jitter_ms + 1);
                in_flight.push((at, p.seq, p.timestamp, bytes));
            }
        }
        in_flight.sort_by_key(|p| p.0);
        let due = in_flight.partition_point(|p| p.0 <= now_ms);
        for (at, seq, ts, payload) in in_flight.drain(..due) {
            delivered_seqs.push(seq);
            recv.push_packet(seq, ts, &payload, Duration::from_millis(at));
        }
        let outcome = recv.tick(Duration::from_millis(now_ms)).unwrap();
        outcomes[match outcome {
            FrameOutcome::Silence => 0,
            FrameOutcome::Decoded => 1,
            FrameOutcome::FecRecovered => 2,
            FrameOutcome::Concealed => 3,
        }] += 1;
    }
    let reordered = delivered_seqs
        .windows(2)
        .filter(|w| (w[1].wrapping_sub(w[0]) as i16) < 0)
        .count();
    recv.finish().unwrap();
    let (send_stats, recv_stats) = (send.stats(), recv.stats());
    Run {
        samples: recv.into_sink().into_samples(),
        send: send_stats,
        recv: recv_stats,
        reordered,
        outcomes,
    }
}

/// Frequency and SNR of the received audio after the first half second.
fn measure(run: &Run, freq: f64) -> (f64, f64) {
    let steady = &run.samples[SAMPLE_RATE as usize / 2..];
    let (hz, _) = dominant_frequency(steady, SAMPLE_RATE, 100.0, 4000.0);
    (hz, tone_snr_db(steady, SAMPLE_RATE, freq))
}

#[test]
fn clean_network_delivers_both_tones() {
    let net = Network {
        loss_percent: 0,
        dup_percent: 0,
        base_delay_ms: 30,
        jitter_ms: 5,
    };
    for freq in [440.0, 880.0] {
        let r = run(freq, 4, &net, false, 1);
        let (hz, snr) = measure(&r, freq);
        println!(
            "clean {freq} Hz: detected {hz:.2} Hz, SNR {snr:.1} dB, stats {:?}",
            r.recv
        );
        assert!((hz - freq).abs() <= 5.0, "{hz}");
        assert!(snr >= CLEAN_SNR_DB, "{snr}");
        assert_eq!(r.recv.packets_lost, 0);
        assert_eq!(r.recv.packets_received, 200);
        assert_eq!(r.send.packets_sent, 200);
        assert_eq!(r.samples.len(), 250 * FRAME_SAMPLES);
    }
}

#[test]
fn lossy_reordering_duplicating_network_still_delivers_the_tone() {
    let net = Network {
        loss_percent: 10,
        dup_percent: 10,
        base_delay_ms: 40,
        jitter_ms: 50,
    };
    for (freq, fec, seed) in [(440.0, false, 7), (880.0, false, 11), (440.0, true, 13)] {
        let r = run(freq, 6, &net, fec, seed);
        let (hz, snr) = measure(&r, freq);
        println!(
            "impaired {freq} Hz (fec {fec}): detected {hz:.2} Hz, SNR {snr:.1} dB, reordered {}, outcomes {:?}, stats {:?}",
            r.reordered, r.outcomes, r.recv
        );
        assert!(r.reordered > 0, "the network did not reorder");
        assert!((hz - freq).abs() <= 5.0, "{hz}");
        assert!(snr >= IMPAIRED_SNR_DB, "{snr}");
        assert!(r.recv.packets_lost > 0);
        assert!(r.recv.concealed_frames + r.recv.fec_recovered_frames > 0);
        assert!(r.recv.duplicates > 0);
        assert!(
            r.recv.loss_fraction > 0.03 && r.recv.loss_fraction < 0.3,
            "{}",
            r.recv.loss_fraction
        );
        assert_eq!(r.recv.jitter_resets, 0);
    }
}

#[test]
fn stats_for_the_panel() {
    let net = Network {
        loss_percent: 10,
        dup_percent: 0,
        base_delay_ms: 20,
        jitter_ms: 10,
    };
    let r = run(440.0, 3, &net, false, 3);
    let s = r.send.combine(&r.recv);
    assert_eq!(s.codec, CODEC_NAME);
    assert_eq!(s.codec, "opus/48000/1");
    assert_eq!(s.target_bitrate_bps, 32_000);
    assert!(
        (16_000..=48_000).contains(&s.send_bitrate_bps),
        "{}",
        s.send_bitrate_bps
    );
    assert!(s.receive_bitrate_bps > 0);
    assert_eq!(s.packets_sent, 150);
    assert!(s.packets_lost > 0 && s.loss_fraction > 0.0);
    assert!(s.jitter_target_delay >= Duration::from_millis(40));
}

#[test]
fn source_end_stops_the_sender() {
    struct Short(u32);
    impl sealcall_engine::media::AudioSource for Short {
        fn read_frame(&mut self, out: &mut [i16; FRAME_SAMPLES]) -> sealcall_engine::Result<bool> {
            out.fill(0);
            self.0 = self.0.saturating_sub(1);
            Ok(self.0 > 0)
        }
        fn describe(&self) -> String {
            "short".into()
        }
    }
    let mut send = SendPipeline::new(Short(4), OpusEncoder::new().unwrap());
    let mut buf = [0u8; MAX_PACKET_BYTES];
    let mut n = 0;
    while send.next_packet(&mut buf).unwrap().is_some() {
        n += 1;
    }
    assert_eq!(n, 3);
    assert!(send.is_ended());
    assert_eq!(send.next_packet(&mut buf).unwrap(), None);
}

#[test]
fn garbage_packets_are_concealed_not_fatal() {
    let mut recv = ReceivePipeline::new(JitterConfig::fixed(2), MemorySink::new()).unwrap();
    for i in 0..20u16 {
        let t = Duration::from_millis(u64::from(i) * 20);
        recv.push_packet(i, u32::from(i) * 960, &[0xff; 3], t);
        recv.tick(t).unwrap();
    }
    let s = recv.stats();
    assert_eq!(
        s.decoded_frames + s.decode_errors,
        s.packets_received.min(18)
    );
    assert_eq!(recv.sink().samples().len(), 20 * FRAME_SAMPLES);
}
