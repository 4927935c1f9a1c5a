//! Jitter buffer behaviour and property tests.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use proptest::prelude::*;
use sealcall_engine::media::{JitterBuffer, JitterConfig, Playout, PushOutcome};

fn ms(v: u64) -> Duration {
    Duration::from_millis(v)
}

/// Payload identifying packet `i` (4 bytes, little endian).
fn payload(i: u32) -> [u8; 4] {
    i.to_le_bytes()
}

fn id(p: &[u8]) -> u32 {
    u32::from_le_bytes(p.try_into().unwrap())
}

#[derive(Debug, PartialEq, Eq)]
enum Out {
    Empty,
    Packet(u32),
    Missing { fec: bool },
}

fn pop(jb: &mut JitterBuffer, now: Duration) -> Out {
    match jb.pop(now) {
        Playout::Empty => Out::Empty,
        Playout::Packet { payload, .. } => Out::Packet(id(payload)),
        Playout::Missing { fec } => Out::Missing { fec: fec.is_some() },
    }
}

#[test]
fn in_order_stream_plays_every_packet_after_target_delay() {
    let mut jb = JitterBuffer::new(JitterConfig::fixed(3)).unwrap();
    assert_eq!(pop(&mut jb, ms(0)), Out::Empty);
    let mut played = Vec::new();
    for i in 0..100u32 {
        let t = ms(u64::from(i) * 20);
        let seq = 65_500u16.wrapping_add(i as u16); // wraps around
        assert_eq!(jb.push(seq, i * 960, &payload(i), t), PushOutcome::Accepted);
        match pop(&mut jb, t) {
            Out::Packet(p) => played.push(p),
            Out::Empty => assert!(i < 3, "still empty at {i}"),
            other => panic!("unexpected {other:?} at {i}"),
        }
    }
    assert_eq!(played, (0..played.len() as u32).collect::<Vec<_>>());
    assert_eq!(played.len(), 97);
    let s = jb.stats();
    assert_eq!((s.lost, s.late, s.duplicates, s.resets), (0, 0, 0, 0));
    assert_eq!(s.target_delay_frames, 3);
    assert_eq!(s.buffered_frames, 3);
}

#[test]
fn reordering_within_the_delay_is_repaired_and_duplicates_dropped() {
    let mut jb = JitterBuffer::new(JitterConfig::fixed(3)).unwrap();
    // Arrival order 0 2 1 3 3 5 4 ...: swaps of neighbours, one duplicate.
    let order = [0u32, 2, 1, 3, 3, 5, 4, 6, 7, 9, 8, 10, 11, 12];
    let mut played = Vec::new();
    for (k, &i) in order.iter().enumerate() {
        let t = ms(k as u64 * 20);
        let out = jb.push(i as u16, i * 960, &payload(i), t);
        if k == 4 {
            assert_eq!(out, PushOutcome::Duplicate);
        } else {
            assert_eq!(out, PushOutcome::Accepted);
        }
        if let Out::Packet(p) = pop(&mut jb, t) {
            played.push(p);
        }
    }
    assert_eq!(played, (0..played.len() as u32).collect::<Vec<_>>());
    assert!(played.len() >= 9);
    assert_eq!(jb.stats().lost, 0);
    // A duplicate of a packet already played is still a duplicate.
    assert_eq!(jb.push(0, 0, &payload(0), ms(400)), PushOutcome::Duplicate);
    assert_eq!(jb.stats().duplicates, 2);
}

#[test]
fn loss_gives_missing_with_fec_candidate_and_late_packets_are_dropped() {
    let mut jb = JitterBuffer::new(JitterConfig::fixed(2)).unwrap();
    jb.push(0, 0, &payload(0), ms(0));
    jb.push(1, 960, &payload(1), ms(20));
    // 2 is lost; 3 arrives.
    jb.push(3, 3 * 960, &payload(3), ms(60));
    assert_eq!(pop(&mut jb, ms(60)), Out::Packet(0));
    assert_eq!(pop(&mut jb, ms(80)), Out::Packet(1));
    assert_eq!(pop(&mut jb, ms(100)), Out::Missing { fec: true });
    assert_eq!(pop(&mut jb, ms(120)), Out::Packet(3));
    // 2 shows up after its slot was played: too late.
    assert_eq!(
        jb.push(2, 2 * 960, &payload(2), ms(130)),
        PushOutcome::TooLate
    );
    let s = jb.stats();
    assert_eq!((s.lost, s.late, s.concealed, s.played), (1, 1, 1, 3));
    assert!((s.loss_fraction() - 0.25).abs() < 1e-9);
}

#[test]
fn underrun_does_not_consume_sequence_numbers_and_burst_is_drained() {
    let mut jb = JitterBuffer::new(JitterConfig::default()).unwrap();
    let mut t = 0u64;
    let mut next = 0u32;
    let mut played = Vec::new();
    let step =
        |jb: &mut JitterBuffer, t: u64, push: bool, next: &mut u32, played: &mut Vec<u32>| {
            if push {
                jb.push(*next as u16, *next * 960, &payload(*next), ms(t));
                *next += 1;
            }
            if let Out::Packet(p) = pop(jb, ms(t)) {
                played.push(p);
            }
        };
    for _ in 0..50 {
        step(&mut jb, t, true, &mut next, &mut played);
        t += 20;
    }
    // Network stall: one second without packets, then all of them at once.
    for _ in 0..50 {
        step(&mut jb, t, false, &mut next, &mut played);
        t += 20;
    }
    for _ in 0..50 {
        jb.push(next as u16, next * 960, &payload(next), ms(t));
        next += 1;
    }
    for _ in 0..200 {
        step(&mut jb, t, true, &mut next, &mut played);
        t += 20;
    }
    // Nothing lost to the stall, nothing played twice, and the delay came back down.
    assert!(played.windows(2).all(|w| w[0] < w[1]));
    let s = jb.stats();
    assert!(s.underruns > 0);
    assert!(s.discarded > 0, "{s:?}");
    assert!(
        u32::from(s.buffered_frames) <= u32::from(s.target_delay_frames) + 2,
        "{s:?}"
    );
    assert_eq!(s.resets, 0);
}

#[test]
fn sequence_jump_resets_and_playout_continues() {
    let mut jb = JitterBuffer::new(JitterConfig::fixed(2)).unwrap();
    let mut played = Vec::new();
    for i in 0..20u32 {
        jb.push(i as u16, i * 960, &payload(i), ms(u64::from(i) * 20));
        if let Out::Packet(p) = pop(&mut jb, ms(u64::from(i) * 20)) {
            played.push(p);
        }
    }
    // The sender jumps far ahead.
    assert_eq!(
        jb.push(20_000, 0, &payload(1000), ms(400)),
        PushOutcome::Reset
    );
    for k in 1..20u32 {
        let t = ms(400 + u64::from(k) * 20);
        assert_eq!(
            jb.push(20_000 + k as u16, k * 960, &payload(1000 + k), t),
            PushOutcome::Accepted
        );
        if let Out::Packet(p) = pop(&mut jb, t) {
            played.push(p);
        }
    }
    assert!(played.contains(&1010));
    assert_eq!(jb.stats().resets, 1);
}

#[test]
fn sender_restart_behind_resyncs_after_a_run_of_late_packets() {
    let mut jb = JitterBuffer::new(JitterConfig::fixed(2)).unwrap();
    let mut t = 0;
    for i in 0..100u32 {
        jb.push(10_000 + i as u16, i * 960, &payload(i), ms(t));
        let _ = pop(&mut jb, ms(t));
        t += 20;
    }
    let mut played_new = 0;
    let mut reset = false;
    for k in 0..60u32 {
        let out = jb.push(5_000 + k as u16, k * 960, &payload(1000 + k), ms(t));
        reset |= out == PushOutcome::Reset;
        if let Out::Packet(p) = pop(&mut jb, ms(t)) {
            if p >= 1000 {
                played_new += 1;
            } else {
                // Only what was already buffered from the old stream, before the resync.
                assert!(!reset && p < 100, "{p}");
            }
        }
        t += 20;
    }
    assert!(reset);
    assert!(played_new > 30, "{played_new}");
}

#[test]
fn rejects_bad_payloads_and_bad_configs() {
    let mut jb = JitterBuffer::new(JitterConfig::default()).unwrap();
    assert_eq!(jb.push(1, 0, &[], ms(0)), PushOutcome::Rejected);
    assert_eq!(jb.push(1, 0, &[0; 1501], ms(0)), PushOutcome::Rejected);
    assert_eq!(pop(&mut jb, ms(1000)), Out::Empty);
    assert!(JitterBuffer::new(JitterConfig::fixed(0)).is_err());
    assert!(
        JitterBuffer::new(JitterConfig {
            capacity: 8,
            ..JitterConfig::default()
        })
        .is_err()
    );
    assert!(
        JitterBuffer::new(JitterConfig {
            min_delay_frames: 5,
            max_delay_frames: 4,
            ..JitterConfig::default()
        })
        .is_err()
    );
}

#[test]
fn adaptive_target_grows_with_jitter() {
    let mut jb = JitterBuffer::new(JitterConfig::default()).unwrap();
    let mut seed = 42u64;
    let mut rnd = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % 80
    };
    let mut arrivals: Vec<(u64, u32)> = (0..300u32)
        .map(|i| (u64::from(i) * 20 + rnd(), i))
        .collect();
    arrivals.sort();
    let mut k = 0;
    for tick in 0..400u64 {
        let now = tick * 20;
        while k < arrivals.len() && arrivals[k].0 <= now {
            let i = arrivals[k].1;
            jb.push(i as u16, i * 960, &payload(i), ms(arrivals[k].0));
            k += 1;
        }
        let _ = pop(&mut jb, ms(now));
    }
    let s = jb.stats();
    assert!(s.target_delay_frames > 3, "{s:?}");
    assert!(s.jitter_us > 5_000, "{s:?}");
}

/// One packet's fate on the network.
#[derive(Debug, Clone)]
struct Fate {
    drop: bool,
    dup: bool,
    delay_ms: u64,
    dup_delay_ms: u64,
}

fn fates(max_delay_ms: u64) -> impl Strategy<Value = Vec<Fate>> {
    prop::collection::vec(
        (
            prop::bool::weighted(0.1),
            prop::bool::weighted(0.1),
            0..=max_delay_ms,
            0..=max_delay_ms,
        )
            .prop_map(|(drop, dup, delay_ms, dup_delay_ms)| Fate {
                drop,
                dup,
                delay_ms,
                dup_delay_ms,
            }),
        1..300,
    )
}

/// Runs a stream through the network fates with a 20 ms tick; returns the packet ids played.
fn simulate(config: JitterConfig, start_seq: u16, fates: &[Fate]) -> (Vec<u32>, JitterBuffer) {
    let mut jb = JitterBuffer::new(config).unwrap();
    let mut arrivals: Vec<(u64, u32)> = Vec::new();
    for (i, f) in fates.iter().enumerate() {
        let sent = i as u64 * 20;
        if !f.drop {
            arrivals.push((sent + f.delay_ms, i as u32));
        }
        if f.dup {
            arrivals.push((sent + f.dup_delay_ms, i as u32));
        }
    }
    arrivals.sort();
    let mut played = Vec::new();
    let mut k = 0;
    let end = fates.len() as u64 * 20 + 2_000;
    let mut now = 0;
    while now <= end {
        while k < arrivals.len() && arrivals[k].0 <= now {
            let (at, i) = arrivals[k];
            let seq = start_seq.wrapping_add(i as u16);
            jb.push(seq, i.wrapping_mul(960), &payload(i), ms(at));
            k += 1;
        }
        if let Playout::Packet {
            payload: p, seq, ..
        } = jb.pop(ms(now))
        {
            let i = id(p);
            assert_eq!(seq, start_seq.wrapping_add(i as u16));
            played.push(i);
        }
        now += 20;
    }
    (played, jb)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Loss, duplication and reordering (delays up to 200 ms, i.e. displacement of up to 10
    /// frames): never panics, plays each packet at most once, in sequence order, only packets
    /// that were sent, and never resets.
    #[test]
    fn impaired_streams_play_in_order_without_repeats(
        start in any::<u16>(),
        fates in fates(200),
        adaptive in any::<bool>(),
    ) {
        let config = if adaptive { JitterConfig::default() } else { JitterConfig::fixed(3) };
        let (played, jb) = simulate(config, start, &fates);
        prop_assert!(played.windows(2).all(|w| w[0] < w[1]), "{:?}", played);
        let all_sent = played.iter().all(|&i| fates.get(i as usize).is_some_and(|f| !f.drop || f.dup));
        prop_assert!(all_sent, "played a packet that was never delivered");
        let s = jb.stats();
        prop_assert_eq!(s.resets, 0);
        prop_assert_eq!(s.played, played.len() as u64);
        prop_assert!(s.received <= fates.len() as u64);
    }

    /// With no loss and a constant network delay, every packet is played.
    #[test]
    fn constant_delay_loses_nothing(start in any::<u16>(), n in 1usize..200, delay in 0u64..100) {
        let fates: Vec<Fate> = (0..n).map(|_| Fate { drop: false, dup: false, delay_ms: delay, dup_delay_ms: 0 }).collect();
        let (played, jb) = simulate(JitterConfig::default(), start, &fates);
        prop_assert_eq!(played, (0..n as u32).collect::<Vec<_>>());
        prop_assert_eq!(jb.stats().lost, 0);
    }

    /// Arbitrary garbage (any sequence numbers, timestamps, sizes and times, interleaved with
    /// pops): never panics, and the counters stay consistent.
    #[test]
    fn arbitrary_input_never_panics(
        ops in prop::collection::vec(
            (any::<u16>(), any::<u32>(), 0usize..1600, 0u64..100_000, 0u8..3),
            0..400,
        ),
        adaptive in any::<bool>(),
    ) {
        let config = if adaptive { JitterConfig::default() } else { JitterConfig::fixed(4) };
        let mut jb = JitterBuffer::new(config).unwrap();
        let buf = vec![7u8; 1600];
        let mut pops = 0u64;
        for (seq, ts, len, at, npop) in ops {
            let _ = jb.push(seq, ts, &buf[..len], ms(at));
            for _ in 0..npop {
                let _ = jb.pop(ms(at));
                pops += 1;
            }
        }
        let s = jb.stats();
        prop_assert!(s.played + s.lost <= pops);
        prop_assert!(s.target_delay_frames >= 2 && s.target_delay_frames <= 10);
    }
}
