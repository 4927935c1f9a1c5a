//! Where video comes from: the test pattern, a camera, the screen, or frames fed in by the
//! application (the echo bot sends back what it receives).
//!
//! The CLI specs: `--video test-pattern|camera|none` and `--screen none|test-pattern|x11[:WINDOW]`
//! (see [`VideoSpec`] and [`ScreenSpec`]). A source that cannot open (no camera, no X display)
//! falls back to the test pattern with a notice, never a crash: see [`open_camera`] and
//! [`open_screen`].

use std::sync::{Arc, Mutex};

use sealcall_vpx::{Content, I420Frame};

use super::pattern::TestPattern;
use super::screen::{self, WindowChoice};
use crate::error::{EngineError, Result};

/// A source of raw video frames, polled by the encoder thread at its frame rate.
pub trait VideoSource: Send {
    /// The next picture, or `Ok(None)` when the source has nothing new (the previous picture
    /// is then sent again; after a second of nothing new the stream pauses until a picture
    /// comes) — an error ends the stream.
    fn next_frame(&mut self) -> Result<Option<I420Frame>>;
    /// Frames per second the source wants to be polled at.
    fn fps(&self) -> u32;
    /// Camera-like or screen-like content (picks encoder settings).
    fn content(&self) -> Content;
    /// A line for the UI and logs, e.g. `test pattern 640x480@30`.
    fn describe(&self) -> String;
}

/// The moving [`TestPattern`] as a source.
pub struct TestPatternSource {
    pattern: TestPattern,
    fps: u32,
    content: Content,
    next: u64,
}

impl TestPatternSource {
    /// A camera-like test pattern (640x480 at 30 fps is the default of the specs).
    pub fn new(width: u32, height: u32, fps: u32) -> Result<Self> {
        Ok(Self {
            pattern: TestPattern::new(width, height)
                .map_err(|e| EngineError::InvalidMedia(format!("test pattern: {e}")))?,
            fps: fps.clamp(1, 60),
            content: Content::Camera,
            next: 0,
        })
    }

    /// The same pattern sent as screen content.
    pub fn screen(width: u32, height: u32, fps: u32) -> Result<Self> {
        Ok(Self {
            content: Content::Screen,
            ..Self::new(width, height, fps)?
        })
    }

    /// The pattern drawn.
    pub fn pattern(&self) -> &TestPattern {
        &self.pattern
    }
}

impl VideoSource for TestPatternSource {
    fn next_frame(&mut self) -> Result<Option<I420Frame>> {
        let f = self.pattern.frame(self.next);
        self.next += 1;
        Ok(Some(f))
    }

    fn fps(&self) -> u32 {
        self.fps
    }

    fn content(&self) -> Content {
        self.content
    }

    fn describe(&self) -> String {
        format!(
            "test pattern {}x{}@{}",
            self.pattern.width(),
            self.pattern.height(),
            self.fps
        )
    }
}

/// A source the application feeds: the latest picture put in is what is sent (the echo bot
/// puts in what it decodes). Clone the [`FrameFeed`] handle to feed it from elsewhere.
pub struct FedSource {
    feed: FrameFeed,
    fps: u32,
    content: Content,
}

/// The feeding end of a [`FedSource`].
#[derive(Clone, Default)]
pub struct FrameFeed(Arc<Mutex<Option<I420Frame>>>);

impl FrameFeed {
    /// Replaces the picture to send next.
    pub fn put(&self, frame: I420Frame) {
        if let Ok(mut slot) = self.0.lock() {
            *slot = Some(frame);
        }
    }
}

impl FedSource {
    /// A source sending what `feed` is given, polled at `fps`.
    pub fn new(feed: FrameFeed, fps: u32, content: Content) -> Self {
        Self {
            feed,
            fps: fps.clamp(1, 60),
            content,
        }
    }
}

impl VideoSource for FedSource {
    fn next_frame(&mut self) -> Result<Option<I420Frame>> {
        Ok(self.feed.0.lock().ok().and_then(|mut s| s.take()))
    }

    fn fps(&self) -> u32 {
        self.fps
    }

    fn content(&self) -> Content {
        self.content
    }

    fn describe(&self) -> String {
        "echo of the received video".to_owned()
    }
}

/// What the camera stream sends (`--video`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum VideoSpec {
    /// No camera video.
    #[default]
    None,
    /// The moving test pattern at 640x480, 30 fps.
    TestPattern,
    /// The system's camera (falls back to the test pattern, with a notice, when there is none).
    Camera,
}

impl VideoSpec {
    /// Parses `none`, `test-pattern` or `camera`.
    pub fn parse(spec: &str) -> Result<Self> {
        match spec {
            "none" | "off" => Ok(Self::None),
            "test-pattern" | "pattern" => Ok(Self::TestPattern),
            "camera" => Ok(Self::Camera),
            other => Err(EngineError::InvalidMedia(format!(
                "unknown video source `{other}`: use none, test-pattern or camera"
            ))),
        }
    }
}

/// What the screen-share stream sends (`--screen`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ScreenSpec {
    /// No screen share.
    #[default]
    None,
    /// The test pattern as screen content (1280x720, 5 fps).
    TestPattern,
    /// The X11 screen, whole or one window.
    X11 {
        /// The X display (`:0`); `None` takes `DISPLAY` from the environment.
        display: Option<String>,
        /// The whole screen or one window.
        window: WindowChoice,
    },
}

impl ScreenSpec {
    /// Parses `none`, `test-pattern`, `x11` (the whole screen), `x11:0x1e00007` (a window id)
    /// or `x11:TITLE` (the first window whose title contains TITLE).
    pub fn parse(spec: &str) -> Result<Self> {
        match spec {
            "none" | "off" => Ok(Self::None),
            "test-pattern" | "pattern" => Ok(Self::TestPattern),
            "x11" => Ok(Self::X11 {
                display: None,
                window: WindowChoice::Screen,
            }),
            other => match other.strip_prefix("x11:") {
                Some("") | None => Err(EngineError::InvalidMedia(format!(
                    "unknown screen source `{other}`: use none, test-pattern, x11 or x11:WINDOW"
                ))),
                Some(w) => Ok(Self::X11 {
                    display: None,
                    window: WindowChoice::parse(w),
                }),
            },
        }
    }
}

/// Frame rate of a screen share (screen content changes little; 5-15 fps is usual).
pub const SCREEN_FPS: u32 = 10;

/// Opens the camera stream's source. Without a camera it returns the test pattern and a notice
/// saying so.
pub fn open_camera(spec: &VideoSpec) -> (Option<Box<dyn VideoSource>>, Option<String>) {
    let pattern = || {
        TestPatternSource::new(640, 480, 30)
            .ok()
            .map(|p| Box::new(p) as Box<dyn VideoSource>)
    };
    match spec {
        VideoSpec::None => (None, None),
        VideoSpec::TestPattern => (pattern(), None),
        VideoSpec::Camera => (
            pattern(),
            Some(
                "no camera support on this device (V4L2 capture is not built in): sending the \
                 test pattern"
                    .to_owned(),
            ),
        ),
    }
}

/// Opens the screen-share source. When the screen cannot be captured it returns an error that
/// says why (no X display, Wayland without X, no such window).
pub fn open_screen(spec: &ScreenSpec) -> Result<Option<Box<dyn VideoSource>>> {
    match spec {
        ScreenSpec::None => Ok(None),
        ScreenSpec::TestPattern => Ok(Some(Box::new(TestPatternSource::screen(
            1280, 720, SCREEN_FPS,
        )?))),
        ScreenSpec::X11 { display, window } => Ok(Some(Box::new(screen::X11Capture::open(
            display.as_deref(),
            window.clone(),
            SCREEN_FPS,
        )?))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse_and_refuse_clearly() {
        assert_eq!(VideoSpec::parse("none").unwrap(), VideoSpec::None);
        assert_eq!(
            VideoSpec::parse("test-pattern").unwrap(),
            VideoSpec::TestPattern
        );
        assert!(
            VideoSpec::parse("webcam")
                .unwrap_err()
                .to_string()
                .contains("camera")
        );
        let x11 = |window| ScreenSpec::X11 {
            display: None,
            window,
        };
        assert_eq!(ScreenSpec::parse("x11").unwrap(), x11(WindowChoice::Screen));
        assert_eq!(
            ScreenSpec::parse("x11:0x1e00007").unwrap(),
            x11(WindowChoice::Id(0x1e0_0007))
        );
        assert_eq!(
            ScreenSpec::parse("x11:Editor").unwrap(),
            x11(WindowChoice::Title("Editor".into()))
        );
        assert!(ScreenSpec::parse("x11:").is_err());
        assert!(ScreenSpec::parse("vnc").is_err());
    }

    #[test]
    fn no_camera_means_the_test_pattern_with_a_notice() {
        let (src, notice) = open_camera(&VideoSpec::Camera);
        let mut src = src.unwrap();
        assert!(notice.unwrap().contains("test pattern"));
        assert!(src.next_frame().unwrap().is_some());
    }
}
