//! Glass-to-glass video latency on loopback: from the moment the sender's picture is captured
//! to the moment the receiver's engine hands out the decoded picture, over 10 s of an end-to-end
//! encrypted call with the 640x480 test pattern (real server on 127.0.0.1, real SQLite file, real
//! WebRTC, real VP8). Each picture carries its capture time on the stream's 90 kHz clock (the RTP
//! timestamp), counted from the moment the sender's encoder started. That moment is estimated from
//! the sender's self-view events (`LocalVideo`, emitted at the engine's next 20 ms tick after
//! each capture, with the same timestamp): the earliest of (event time - capture offset) over
//! some 300 frames is within about a millisecond of it. Latency = when the receiver's engine
//! hands out the decoded picture - (encoder start + capture offset). Display (the UI's texture
//! upload and the screen's refresh) is not included.
//!
//! Run with `cargo bench -p sealcall-engine --bench video_latency` (release build).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use common::*;
use sealcall_engine::media::video::TestPattern;
use sealcall_engine::{EngineEvent, EngineEvents, VideoSpec, VideoStream};

const SECONDS: u64 = 10;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run());
}

/// When each frame number was seen in `events` (self-view when `local`, else received), and its
/// capture offset from the encoder's start.
async fn moments(
    events: &mut EngineEvents,
    local: bool,
    pattern: &TestPattern,
) -> HashMap<u16, (Instant, Duration)> {
    let mut seen = HashMap::new();
    let end = tokio::time::Instant::now() + Duration::from_secs(SECONDS);
    while tokio::time::Instant::now() < end {
        let Ok(Some(e)) = tokio::time::timeout_at(end, events.recv()).await else {
            break;
        };
        let picture = match e {
            EngineEvent::LocalVideo { picture, .. } if local => picture,
            EngineEvent::Video { picture, .. } if !local => picture,
            _ => continue,
        };
        let now = Instant::now();
        let offset = Duration::from_micros(u64::from(picture.timestamp) * 1000 / 90);
        if picture.stream == VideoStream::Camera
            && let Some(n) = pattern.read_counter(&picture.frame)
        {
            seen.entry(n).or_insert((now, offset));
        }
    }
    seen
}

async fn run() {
    let server = TestServer::start().await;
    let Pair {
        ken,
        mut ken_ev,
        ana: _ana,
        mut ana_ev,
    } = server
        .pair(
            ("k.wav", "a.wav"),
            |k, _| k.video = VideoSpec::TestPattern,
            (true, true),
        )
        .await;
    let pattern = TestPattern::new(640, 480).unwrap();
    ken.call(ANA).unwrap();
    let (sent, received) = tokio::join!(
        moments(&mut ken_ev, true, &pattern),
        moments(&mut ana_ev, false, &pattern)
    );
    ken.hangup().unwrap();
    // The encoder's start: the earliest self-view event less its capture offset.
    let start = sent
        .values()
        .filter_map(|(at, offset)| at.checked_sub(*offset))
        .min()
        .expect("self-view events");
    let mut latency: Vec<Duration> = received
        .iter()
        .filter(|(n, _)| sent.contains_key(n))
        .map(|(_, (at, offset))| at.saturating_duration_since(start + *offset))
        .collect();
    latency.sort();
    let n = latency.len();
    assert!(n > 0, "no picture matched");
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "glass-to-glass (capture to decoded picture), 640x480 E2EE on loopback: {n} frames \
         matched of {} received, min {:.0} ms, median {:.0} ms, p90 {:.0} ms, max {:.0} ms \
         (goal: median <= 150 ms)",
        received.len(),
        ms(latency[0]),
        ms(latency[n / 2]),
        ms(latency[(n * 9) / 10]),
        ms(latency[n - 1]),
    );
}
