//! Video calls between two engines: a real server on 127.0.0.1:0 with a real SQLite file, real
//! WebRTC peers over loopback, real VP8 (libvpx) and the moving test pattern both ways.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::*;
use sealcall_e2ee::{RekeySchedule, StreamConfig};
use sealcall_engine::media::video::{TestPattern, psnr_y};
use sealcall_engine::{CallStats, EngineEvent, EngineEvents, VideoSpec, VideoStream};

/// What one side measured on the camera pictures it received.
#[derive(Debug, Default)]
struct Seen {
    pictures: u64,
    with_counter: u64,
    psnr_sum: f64,
    marker_ok: u64,
    first_picture: Option<Instant>,
    keys_at: Option<Instant>,
    last_stats: Option<Box<CallStats>>,
    plis_after_first_picture: Option<u64>,
}

/// Collects camera pictures for `secs`, checking each against the pattern frame its counter names.
async fn watch(events: &mut EngineEvents, secs: u64, pattern: &TestPattern) -> Seen {
    let mut seen = Seen::default();
    let end = tokio::time::Instant::now() + Duration::from_secs(secs);
    while tokio::time::Instant::now() < end {
        let Ok(Some(e)) = tokio::time::timeout_at(end, events.recv()).await else {
            break;
        };
        match e {
            EngineEvent::SecurityCode { .. } => seen.keys_at = Some(Instant::now()),
            EngineEvent::Video { picture, .. } if picture.stream == VideoStream::Camera => {
                seen.pictures += 1;
                seen.first_picture.get_or_insert_with(Instant::now);
                let Some(n) = pattern.read_counter(&picture.frame) else {
                    continue;
                };
                seen.with_counter += 1;
                let sent = pattern.frame(u64::from(n));
                seen.psnr_sum += psnr_y(&sent, &picture.frame).unwrap();
                let (ex, ey) = pattern.marker_center(u64::from(n));
                if let Some((x, y)) = pattern.find_marker(&picture.frame)
                    && (x - ex).abs() <= 2.0
                    && (y - ey).abs() <= 2.0
                {
                    seen.marker_ok += 1;
                }
            }
            EngineEvent::Stats { stats, .. } => {
                if seen.first_picture.is_some() && seen.plis_after_first_picture.is_none() {
                    seen.plis_after_first_picture = Some(stats.camera.keyframe_requests_sent);
                }
                seen.last_stats = Some(stats);
            }
            _ => {}
        }
    }
    seen
}

fn check(who: &str, seen: &Seen, peer_sent: u64) {
    let stats = seen.last_stats.as_ref().expect("stats arrived");
    let psnr = seen.psnr_sum / seen.with_counter.max(1) as f64;
    // Both counts from the same moment's stats: decoded and handed out, against sent.
    let shown = (stats.camera.frames_decoded - stats.camera.pictures_skipped) as f64
        / peer_sent.max(1) as f64;
    let marker = seen.marker_ok as f64 / seen.with_counter.max(1) as f64;
    eprintln!(
        "{who}: {} pictures of {peer_sent} sent ({:.1}%), PSNR-Y {psnr:.1} dB, marker within 2 px in \
         {:.1}%, camera stats {:?}",
        seen.pictures,
        shown * 100.0,
        marker * 100.0,
        stats.camera
    );
    assert!(
        shown >= 0.9,
        "{who}: only {:.1}% of frames shown",
        shown * 100.0
    );
    assert!(psnr >= 35.0, "{who}: PSNR-Y {psnr:.1} dB");
    assert!(
        marker >= 0.9,
        "{who}: marker found in {:.1}%",
        marker * 100.0
    );
    assert_eq!(
        stats.inbound.auth_failures, 0,
        "{who}: authentication failures"
    );
    assert_eq!(stats.camera.frames_refused, 0, "{who}: refused frames");
    assert_eq!(stats.camera.decode_errors, 0, "{who}: decode errors");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_e2ee_video_call_carries_the_test_pattern_both_ways_for_ten_seconds() {
    let server = TestServer::start().await;
    let rekey = StreamConfig {
        rekey: RekeySchedule {
            every_frames: Some(50),
            every: None,
        },
        ..StreamConfig::default()
    };
    let Pair {
        ken,
        mut ken_ev,
        ana: _ana,
        mut ana_ev,
    } = server
        .pair(
            ("ken-hears.wav", "ana-hears.wav"),
            |k, a| {
                k.video = VideoSpec::TestPattern;
                a.video = VideoSpec::TestPattern;
                k.stream = rekey;
                a.stream = rekey;
            },
            (true, true),
        )
        .await;
    let pattern = TestPattern::new(640, 480).unwrap();
    ken.call(ANA).unwrap();
    let (ken_seen, ana_seen) = tokio::join!(
        watch(&mut ken_ev, 11, &pattern),
        watch(&mut ana_ev, 11, &pattern)
    );
    let ken_stats = ken_seen.last_stats.as_ref().unwrap();
    let ana_stats = ana_seen.last_stats.as_ref().unwrap();
    assert!(ken_stats.end_to_end && ana_stats.end_to_end);
    check("ken", &ken_seen, ana_stats.camera.frames_sent);
    check("ana", &ana_seen, ken_stats.camera.frames_sent);

    // First decoded picture within 1 s of both sides having keys.
    let both_keys = ken_seen.keys_at.unwrap().max(ana_seen.keys_at.unwrap());
    for (who, seen) in [("ken", &ken_seen), ("ana", &ana_seen)] {
        let first = seen
            .first_picture
            .unwrap()
            .saturating_duration_since(both_keys);
        eprintln!(
            "{who}: first picture {} ms after both had keys",
            first.as_millis()
        );
        assert!(
            first <= Duration::from_secs(1),
            "{who}: first picture after {first:?}"
        );
    }

    // Rekeying every 50 frames: at least 5 epochs each way, with no keyframe request because of it.
    for (who, seen, stats) in [("ken", &ken_seen, ken_stats), ("ana", &ana_seen, ana_stats)] {
        let epoch = stats.camera.receive_epoch.unwrap();
        eprintln!(
            "{who}: camera receive epoch {epoch}, send epoch {:?}",
            stats.camera.send_epoch
        );
        assert!(epoch >= 5, "{who}: only {epoch} epochs");
        assert_eq!(
            stats.camera.keyframe_requests_sent,
            seen.plis_after_first_picture.unwrap(),
            "{who}: keyframe requests after the first picture (rekeying must not cause any)"
        );
        assert_eq!(stats.camera.gaps, 0, "{who}: gaps on loopback");
    }
    ken.hangup().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_echo_bot_echoes_the_camera_and_stops_when_the_camera_is_turned_off() {
    let server = TestServer::start().await;
    let Pair {
        ken,
        mut ken_ev,
        ana: _bot,
        ana_ev: _bot_ev,
    } = server
        .pair(
            ("ken-hears.wav", "bot-hears.wav"),
            |k, bot| {
                k.video = VideoSpec::TestPattern;
                bot.audio = sealcall_engine::AudioRoute::Echo;
            },
            (true, true),
        )
        .await;
    let pattern = TestPattern::new(640, 480).unwrap();
    ken.call(ANA).unwrap();
    // Pictures of Ken's own test pattern come back through the bot.
    let echoed = wait_for(&mut ken_ev, 15, |e| match e {
        EngineEvent::Video { picture, .. } if picture.stream == VideoStream::Camera => {
            pattern.read_counter(&picture.frame)
        }
        _ => None,
    })
    .await;
    eprintln!("first echoed frame: {echoed}");
    ken.set_camera(VideoSpec::None).unwrap();
    let stopped = wait_for(&mut ken_ev, 6, |e| match e {
        EngineEvent::VideoStopped { stream, .. } => Some(*stream),
        _ => None,
    })
    .await;
    assert_eq!(stopped, VideoStream::Camera);
    ken.hangup().unwrap();
}
