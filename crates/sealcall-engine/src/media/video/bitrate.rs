//! Splitting the send bandwidth that congestion control estimates among a call's video streams.
//!
//! Sans-IO: the call feeds in the transport's send estimate and which streams are sending, and
//! gets back each stream's encoder target. Audio is served first (it is small and what a call
//! cannot do without), a share of the estimate is kept back for keyframe bursts, RTCP and
//! retransmissions, and what is left goes to video: a screen share, when there is one, gets the
//! larger part, as its text must stay readable. No stream goes above the bitrate it asks for (a
//! fast path does not make a test pattern bigger) or below [`MIN_STREAM_KBPS`].

use super::VideoStream;

/// What the audio stream takes on the wire, in bit/s: Opus at 32 kbit/s plus RTP, SRTP, SFrame,
/// UDP and IP headers at 50 packets a second.
pub const AUDIO_WIRE_BPS: f64 = 64_000.0;
/// The part of the estimate video targets may use; the rest absorbs keyframes (which overshoot
/// the average), RTCP and NACK retransmissions.
pub const VIDEO_SHARE_OF_ESTIMATE: f64 = 0.85;
/// The least a sending stream is given, in kbit/s: VP8 still makes a coarse picture at it.
pub const MIN_STREAM_KBPS: u32 = 40;
/// The screen share's part of the video budget when the camera is on too.
pub const SCREEN_SHARE_OF_VIDEO: f64 = 0.65;
/// A new target reaches an encoder only when it differs from the current one by at least this
/// fraction, so a jittery estimate does not reconfigure the encoder every tick.
pub const MIN_CHANGE: f64 = 0.08;

/// Encoder targets, kbit/s, for the streams that are sending.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Allocation {
    /// The camera's target, if it is sending.
    pub camera: Option<u32>,
    /// The screen share's target, if it is sending.
    pub screen: Option<u32>,
}

impl Allocation {
    /// The target of one stream.
    pub fn get(&self, stream: VideoStream) -> Option<u32> {
        match stream {
            VideoStream::Camera => self.camera,
            VideoStream::Screen => self.screen,
        }
    }
}

/// Splits `estimate_bps` (the transport's send estimate) between the sending streams, each
/// given as its ceiling in kbit/s (`None`: not sending).
pub fn allocate(estimate_bps: f64, camera: Option<u32>, screen: Option<u32>) -> Allocation {
    let estimate = if estimate_bps.is_finite() {
        estimate_bps.max(0.0)
    } else {
        0.0
    };
    let budget = ((estimate * VIDEO_SHARE_OF_ESTIMATE - AUDIO_WIRE_BPS) / 1000.0).max(0.0);
    let fit = |want: f64, ceiling: u32| -> u32 {
        let floor = MIN_STREAM_KBPS.min(ceiling);
        (want.min(f64::from(ceiling)).round() as u32).max(floor)
    };
    match (camera, screen) {
        (None, None) => Allocation::default(),
        (Some(c), None) => Allocation {
            camera: Some(fit(budget, c)),
            screen: None,
        },
        (None, Some(s)) => Allocation {
            camera: None,
            screen: Some(fit(budget, s)),
        },
        (Some(c), Some(s)) => {
            // The screen's share first; what either cannot use goes to the other.
            let screen_want = (budget * SCREEN_SHARE_OF_VIDEO).min(f64::from(s));
            let camera_want = (budget - screen_want).min(f64::from(c));
            let screen_want = (budget - camera_want).min(f64::from(s));
            Allocation {
                camera: Some(fit(camera_want, c)),
                screen: Some(fit(screen_want, s)),
            }
        }
    }
}

/// The fewest bits per pixel a frame should get: below it VP8 at its coarsest quantizer still
/// overshoots, so the frame rate comes down instead (a 640x480 camera at 64 kbit/s sends about
/// 10 frames a second rather than 30 frames it cannot afford).
pub const MIN_BITS_PER_PIXEL: f64 = 0.02;
/// The frame rate is never brought below this.
pub const MIN_FPS: f64 = 5.0;

/// The frame rate a stream of `width`x`height` pictures can afford at `kbps`, at most the
/// source's `source_fps`.
pub fn affordable_fps(kbps: u32, width: u32, height: u32, source_fps: u32) -> f64 {
    let pixels = f64::from(width.max(1)) * f64::from(height.max(1));
    let fps = f64::from(kbps) * 1000.0 / (pixels * MIN_BITS_PER_PIXEL);
    let source = f64::from(source_fps.max(1));
    fps.clamp(MIN_FPS.min(source), source)
}

/// Whether an encoder now at `current` kbit/s should move to `target`.
pub fn worth_changing(current: u32, target: u32) -> bool {
    let current = f64::from(current.max(1));
    (f64::from(target) - current).abs() / current >= MIN_CHANGE
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fast_path_gives_each_stream_what_it_asks_for() {
        let a = allocate(20_000_000.0, Some(800), Some(1200));
        assert_eq!(a.camera, Some(800));
        assert_eq!(a.screen, Some(1200));
    }

    #[test]
    fn a_lone_camera_gets_the_budget_after_audio_and_headroom() {
        // 300 kbit/s: 255 usable, 64 for audio, 191 for the camera.
        let a = allocate(300_000.0, Some(800), None);
        assert_eq!(a.camera, Some(191));
        assert_eq!(a.screen, None);
    }

    #[test]
    fn the_screen_share_gets_the_larger_part_and_nothing_is_wasted() {
        let a = allocate(1_000_000.0, Some(800), Some(1200));
        let (c, s) = (a.camera.unwrap(), a.screen.unwrap());
        assert!(s > c, "screen {s} camera {c}");
        assert_eq!(
            c + s,
            786,
            "850 usable minus 64 for audio, split without loss"
        );
        // The camera asks for little: the screen gets the rest.
        let a = allocate(1_000_000.0, Some(100), Some(1200));
        assert_eq!((a.camera, a.screen), (Some(100), Some(686)));
        // The screen asks for little: the camera gets the rest.
        let a = allocate(1_000_000.0, Some(800), Some(200));
        assert_eq!((a.camera, a.screen), (Some(586), Some(200)));
    }

    #[test]
    fn a_starved_link_keeps_every_stream_at_its_floor() {
        for estimate in [0.0, 50_000.0, -1.0, f64::NAN, f64::NEG_INFINITY] {
            let a = allocate(estimate, Some(800), Some(1200));
            assert_eq!(a.camera, Some(MIN_STREAM_KBPS), "{estimate}");
            assert_eq!(a.screen, Some(MIN_STREAM_KBPS), "{estimate}");
        }
        // A stream that asks for less than the floor gets what it asks for.
        assert_eq!(allocate(0.0, Some(10), None).camera, Some(10));
    }

    #[test]
    fn no_stream_no_allocation() {
        assert_eq!(allocate(5_000_000.0, None, None), Allocation::default());
    }

    #[test]
    fn small_wobbles_do_not_reconfigure_the_encoder() {
        assert!(!worth_changing(800, 780));
        assert!(!worth_changing(800, 850));
        assert!(worth_changing(800, 700));
        assert!(worth_changing(200, 800));
        assert!(worth_changing(0, 40));
    }

    #[test]
    fn a_low_bitrate_lowers_the_frame_rate_not_below_the_floor() {
        assert_eq!(affordable_fps(800, 640, 480, 30), 30.0);
        let fps = affordable_fps(64, 640, 480, 30);
        assert!((10.0..11.0).contains(&fps), "{fps}");
        assert_eq!(affordable_fps(40, 1920, 1080, 15), MIN_FPS);
        // The screen share at its default keeps its 15 frames a second.
        assert_eq!(affordable_fps(1200, 1280, 720, 15), 15.0);
        // A slow source is never asked for more than it gives, nor a degenerate one for less.
        assert_eq!(affordable_fps(10_000, 320, 240, 3), 3.0);
        assert_eq!(affordable_fps(0, 0, 0, 0), 1.0);
    }

    #[test]
    fn the_allocation_is_monotonic_in_the_estimate() {
        let mut last = (0, 0);
        for k in (0..40).map(|i| f64::from(i) * 100_000.0) {
            let a = allocate(k, Some(800), Some(1200));
            let now = (a.camera.unwrap(), a.screen.unwrap());
            assert!(
                now.0 >= last.0 && now.1 >= last.1,
                "{k}: {now:?} after {last:?}"
            );
            last = now;
        }
    }
}
