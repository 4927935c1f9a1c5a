//! An end-to-end encrypted video call over a 300 kbit/s link: both engines' media crosses
//! bottleneck proxies (300 kbit/s each way, a 250 ms buffer, drop-tail) while both send their
//! camera, which asks for 800 kbit/s. Congestion control (TWCC feedback, GCC) must find the
//! link, the encoders must follow it, and the call must keep working: video keeps arriving at the
//! lower bitrate and voice keeps arriving, neither collapsing under the queue.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::impair::{Counters, impairing_signaling};
use common::*;
use sealcall_engine::{CallStats, EngineEvent, VideoSpec, VideoStream};

const CAP_BPS: u64 = 300_000;
/// How long the call runs, and the final part of it that is judged (after adapting).
const CALL: Duration = Duration::from_secs(15);
const JUDGED: Duration = Duration::from_secs(6);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_300_kbit_link_lowers_the_video_bitrate_and_keeps_video_and_voice_flowing() {
    let server = TestServer::start().await;
    let counters = Arc::new(Counters::default());
    counters.cap_bps.store(CAP_BPS, Ordering::Relaxed);
    // Whichever address ICE settles on for each direction, the media crosses a capped link.
    counters.both_ways.store(true, Ordering::Relaxed);
    let proxy = impairing_signaling(&server.url, 11, counters.clone()).await;
    let Pair {
        ken,
        mut ken_ev,
        ana: _ana,
        mut ana_ev,
    } = server
        .pair(
            ("ken-hears.wav", "ana-hears.wav"),
            |k, a| {
                a.video = VideoSpec::TestPattern;
                k.video = VideoSpec::TestPattern;
                k.signaling = Some(proxy.clone());
                a.signaling = Some(proxy);
            },
            (true, true),
        )
        .await;
    ken.call(ANA).unwrap();
    assert!(connected(&mut ana_ev).await);
    let ana_stats: Arc<Mutex<Vec<(Instant, CallStats)>>> = Arc::default();
    let a = ana_stats.clone();
    tokio::spawn(async move {
        while let Some(e) = ana_ev.recv().await {
            if let EngineEvent::Stats { stats, .. } = e {
                a.lock().unwrap().push((Instant::now(), *stats));
            }
        }
    });

    let start = Instant::now();
    let judged_from = start + CALL - JUDGED;
    let mut ken_stats: Vec<(Instant, CallStats)> = Vec::new();
    let mut pictures_judged = 0u64;
    let end = tokio::time::Instant::now() + CALL;
    while tokio::time::Instant::now() < end {
        let Ok(Some(e)) = tokio::time::timeout_at(end, ken_ev.recv()).await else {
            break;
        };
        match e {
            EngineEvent::Video { picture, .. }
                if picture.stream == VideoStream::Camera && Instant::now() >= judged_from =>
            {
                pictures_judged += 1;
            }
            EngineEvent::Stats { stats, .. } => ken_stats.push((Instant::now(), *stats)),
            _ => {}
        }
    }
    ken.hangup().unwrap();
    let elapsed = start.elapsed().as_secs_f64();
    let ana_stats = ana_stats.lock().unwrap().clone();

    // Ana's camera: what she aimed at and what congestion control told her, over time.
    let trace = |stats: &[(Instant, CallStats)]| -> Vec<(u64, u32, u32, u32)> {
        stats
            .iter()
            .map(|(at, s)| {
                (
                    at.duration_since(start).as_secs(),
                    s.send_estimate_kbps,
                    s.camera.target_kbps,
                    s.camera.sent_kbps as u32,
                )
            })
            .collect()
    };
    let ana_trace = trace(&ana_stats);
    let ken_trace = trace(&ken_stats);
    let delivered_kbps =
        counters.delivered_bytes.load(Ordering::Relaxed) as f64 * 8.0 / 1000.0 / elapsed;
    // Ken's voice from Ana over the judged part.
    let window = |stats: &[(Instant, CallStats)]| {
        let inside: Vec<&CallStats> = stats
            .iter()
            .filter(|(at, _)| *at >= judged_from)
            .map(|(_, s)| s)
            .collect();
        let (first, last) = (inside.first().copied(), inside.last().copied());
        let (first, last) = (first.unwrap(), last.unwrap());
        let secs = (inside.len() - 1) as f64;
        (
            (last.media.packets_received - first.media.packets_received) as f64 / secs,
            (last.media.concealed_frames - first.media.concealed_frames) as f64 / secs,
        )
    };
    let (voice_pps, concealed_ps) = window(&ken_stats);
    eprintln!(
        "cap {} kbit/s each way; links delivered {delivered_kbps:.0} kbit/s in all, dropped {} of \
         {} media packets\n(second, estimate kbit/s, camera target, camera sent) ana: {ana_trace:?}\n\
         ken: {ken_trace:?}\nken in the last {JUDGED:?}: {pictures_judged} pictures of Ana's camera, \
         voice {voice_pps:.1} packets/s, {concealed_ps:.1} concealed frames/s",
        CAP_BPS / 1000,
        counters.dropped.load(Ordering::Relaxed),
        counters.media.load(Ordering::Relaxed),
    );

    assert!(
        counters.dropped.load(Ordering::Relaxed) > 0,
        "the link was the bottleneck at first (the encoders start at 800 kbit/s)"
    );
    // Congestion control probes upwards and backs off when the link drops packets, so the
    // estimate saw-tooths around the cap: judge the averages over the last seconds.
    let late: Vec<_> = ana_trace
        .iter()
        .filter(|(s, ..)| *s >= (CALL - JUDGED).as_secs())
        .collect();
    assert!(late.len() >= 4, "ana reported stats: {late:?}");
    let mean = |f: fn(&(u64, u32, u32, u32)) -> u32| {
        late.iter().map(|x| f(x) as f64).sum::<f64>() / late.len() as f64
    };
    let (estimate, target, sent) = (mean(|x| x.1), mean(|x| x.2), mean(|x| x.3));
    assert!(
        target < CAP_BPS as f64 / 1000.0,
        "the camera kept aiming at {target:.0} kbit/s on average over a 300 kbit/s link"
    );
    assert!(
        sent < CAP_BPS as f64 / 1000.0,
        "the camera kept sending {sent:.0} kbit/s on average over a 300 kbit/s link"
    );
    assert!(
        estimate < 2.0 * CAP_BPS as f64 / 1000.0,
        "the estimate ({estimate:.0} kbit/s on average) did not find the 300 kbit/s link"
    );
    assert!(
        late.iter().all(|x| x.2 >= 40),
        "the camera keeps a usable bitrate"
    );
    let judged_secs = JUDGED.as_secs_f64();
    assert!(
        pictures_judged as f64 >= 5.0 * judged_secs,
        "video kept flowing: {pictures_judged} pictures in {JUDGED:?}"
    );
    assert!(
        voice_pps >= 40.0,
        "voice kept arriving: {voice_pps:.1} of 50 packets a second"
    );
    assert!(
        concealed_ps <= 7.5,
        "voice played without gaps: {concealed_ps:.1} frames a second concealed"
    );
}
