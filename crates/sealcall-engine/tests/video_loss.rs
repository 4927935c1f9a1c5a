//! An end-to-end encrypted video call through a lossy network: both engines' signaling passes a
//! proxy that routes every ICE candidate they are given through UDP impairment proxies (10% of
//! media packets dropped, 10% duplicated, 15% delayed 30-70 ms), so everything either sends —
//! Ana's camera, Ken's NACKs and keyframe requests — crosses them. NACK repairs most losses; what it cannot repair must never reach
//! the decoder as a delta frame: after every gap the next picture shown is a keyframe, and the
//! picture comes back quickly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use common::impair::{Counters, impairing_signaling};
use common::*;
use sealcall_engine::media::video::{TestPattern, psnr_y};
use sealcall_engine::{EngineEvent, VideoSpec, VideoStream};

/// The bounds on recovery, from the last picture before a gap to the keyframe after it. One
/// recovery round is: the reassembler gives up on a lost packet (150 ms), the PLI goes out, the
/// sender encodes a keyframe in its next frame slot (at most 250 ms after its previous
/// keyframe), and the keyframe's packets cross the lossy link, where NACK repairs what it loses
/// (one retransmission round trip with up to 70 ms added each way, about 150 ms). A PLI or a
/// keyframe lost beyond repair costs one more round, so the worst freeze allows two rounds; the
/// median freeze allows one. Both add the sender's frame period, taken from its own reported
/// frame rate: congestion control lowers the frame rate with the bitrate (CI saw 4 fps under
/// load). Measured here over 20 runs: medians 250-350 ms, the worst 861 ms, at 20-25 fps.
const ONE_ROUND: Duration = Duration::from_millis(550);

/// The worst freeze allowed at the sender's frame period `period`.
fn worst_freeze(period: Duration) -> Duration {
    (ONE_ROUND + period) * 2
}

/// The median freeze allowed at the sender's frame period `period`.
fn median_freeze(period: Duration) -> Duration {
    ONE_ROUND + period
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_video_packets_never_let_a_delta_frame_through_and_recover_quickly() {
    let server = TestServer::start().await;
    let counters = Arc::new(Counters::default());
    counters.both_ways.store(true, Ordering::Relaxed);
    let proxy = impairing_signaling(&server.url, 7, counters.clone()).await;
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
                k.signaling = Some(proxy.clone());
                a.signaling = Some(proxy);
            },
            (true, true),
        )
        .await;
    ken.call(ANA).unwrap();
    assert!(connected(&mut ana_ev).await);
    // Ana's own stats: what she sent, and at what frame rate.
    let ana_stats = Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = ana_stats.clone();
    tokio::spawn(async move {
        while let Some(e) = ana_ev.recv().await {
            if let EngineEvent::Stats { stats, .. } = e {
                sink.lock().unwrap().push(stats.camera);
            }
        }
    });

    let pattern = TestPattern::new(640, 480).unwrap();
    let mut last: Option<(u16, Instant)> = None;
    let (mut pictures, mut discontinuities, mut worst_psnr) = (0u64, 0u64, f64::MAX);
    let mut freezes = Vec::new();
    let mut stats = None;
    let sent_before = ana_stats
        .lock()
        .unwrap()
        .last()
        .map_or(0, |c| c.frames_sent);
    let end = tokio::time::Instant::now() + Duration::from_secs(10);
    while tokio::time::Instant::now() < end {
        let Ok(Some(e)) = tokio::time::timeout_at(end, ken_ev.recv()).await else {
            break;
        };
        match e {
            EngineEvent::Video { picture, .. } if picture.stream == VideoStream::Camera => {
                let n = pattern
                    .read_counter(&picture.frame)
                    .expect("every picture shown is a whole test-pattern frame");
                let psnr = psnr_y(&pattern.frame(u64::from(n)), &picture.frame).unwrap();
                worst_psnr = worst_psnr.min(psnr);
                pictures += 1;
                let now = Instant::now();
                // A jump in the counter is a gap in the network, or a frame the sender skipped
                // (it lowers its frame rate when congestion control lowers its bitrate); only
                // the receiver knows which, and after a gap it must resume at a keyframe.
                if picture.after_gap {
                    discontinuities += 1;
                    assert!(
                        picture.keyframe,
                        "frame {n}: a delta frame was decoded after a gap"
                    );
                    if let Some((_, at)) = last {
                        freezes.push(now - at);
                    }
                }
                last = Some((n, now));
            }
            EngineEvent::Stats { stats: s, .. } => stats = Some(s),
            _ => {}
        }
    }
    let (sent, fps) = {
        let ana = ana_stats.lock().unwrap();
        let fps: Vec<f64> = ana
            .iter()
            .map(|c| c.sent_fps)
            .filter(|f| *f > 0.0)
            .collect();
        let sent = ana.last().map_or(0, |c| c.frames_sent) - sent_before;
        (sent, fps.iter().sum::<f64>() / fps.len().max(1) as f64)
    };
    ken.hangup().unwrap();
    let stats = stats.unwrap();
    let cam = &stats.camera;
    freezes.sort();
    assert!(fps > 0.0, "Ana reported her frame rate");
    let period = Duration::from_secs_f64(1.0 / fps);
    eprintln!(
        "proxies: {} media packets, {} dropped, {} duplicated, {} delayed; ken: {pictures} \
         pictures of {sent} sent at {fps:.1} fps, {discontinuities} gaps shown, freezes {:?}, worst PSNR-Y {worst_psnr:.1} dB; \
         camera stats {cam:?}",
        counters.media.load(Ordering::Relaxed),
        counters.dropped.load(Ordering::Relaxed),
        counters.duplicated.load(Ordering::Relaxed),
        counters.delayed.load(Ordering::Relaxed),
        freezes,
    );
    assert!(
        counters.dropped.load(Ordering::Relaxed) > 100,
        "the network did lose packets"
    );
    assert!(sent >= 30, "Ana kept sending video: {sent} frames in 10 s");
    // Outside the freezes every frame Ana sent is shown. Her count runs from her last report
    // before Ken's 10 s to her last report in them (one a second), so it is off by up to a
    // second of frames; that, and a frame at the edge of each freeze, is the slack.
    let frozen: Duration = freezes.iter().sum();
    let expected = sent as f64 * (1.0 - frozen.as_secs_f64() / 10.0);
    assert!(
        pictures as f64 >= expected - 1.5 * fps,
        "video kept flowing: {pictures} pictures shown of {sent} Ana sent, {frozen:?} frozen"
    );
    // A skipped picture is the engine's designed answer to an embedder (here this test, which
    // computes PSNR per picture) still holding the previous one, not a loss effect: it happens
    // only when the machine is loaded, and must stay rare.
    assert!(
        cam.pictures_skipped * 50 <= cam.frames_decoded,
        "at most 2% of decoded pictures skipped: {} of {}",
        cam.pictures_skipped,
        cam.frames_decoded
    );
    assert_eq!(
        cam.decode_errors, 0,
        "nothing undecodable reached the decoder"
    );
    assert_eq!(
        cam.frames_refused, 0,
        "loss is not an authentication failure"
    );
    assert!(worst_psnr >= 25.0, "no damaged picture was shown");
    if let (Some(worst), Some(median)) = (freezes.last(), freezes.get(freezes.len() / 2)) {
        assert!(
            *worst <= worst_freeze(period),
            "recovery took {worst:?} at a frame period of {period:?}"
        );
        assert!(
            *median <= median_freeze(period),
            "the median recovery took {median:?} at a frame period of {period:?}"
        );
    }
}
