//! The pictures of a call and their textures.
//!
//! The engine hands out each decoded picture as an `Arc` and bounds how many are in flight, so
//! the app keeps only the newest picture of each stream ([`VideoTile::receive`] drops the one
//! before), converts it to RGBA once per UI frame ([`CallVideo::upload`]) and drops it as soon
//! as its texture is updated. A stream that stops or a call that ends drops its texture.

use std::sync::Arc;

use egui::{ColorImage, TextureHandle, TextureOptions};
use sealcall_engine::ScreenSpec;
use sealcall_engine::VideoStream;
use sealcall_engine::media::video::VideoFrame;
use sealcall_engine::media::video::convert::i420_to_rgba;
use sealcall_engine::media::video::screen::ShareableWindow;

/// One picture shown in the call: the newest picture waiting to be uploaded and its texture.
#[derive(Default)]
pub struct VideoTile {
    pending: Option<Arc<VideoFrame>>,
    texture: Option<TextureHandle>,
    rgba: Vec<u8>,
    received: u64,
    uploads: u64,
}

impl std::fmt::Debug for VideoTile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VideoTile")
            .field("size", &self.size())
            .field("pending", &self.pending.is_some())
            .field("received", &self.received)
            .field("uploads", &self.uploads)
            .finish()
    }
}

impl VideoTile {
    /// Keeps `frame` as the picture to show next, dropping any older one not yet shown.
    pub fn receive(&mut self, frame: Arc<VideoFrame>) {
        self.pending = Some(frame);
        self.received += 1;
    }

    /// Converts the waiting picture (if any) and updates the texture; returns whether it did.
    /// The picture is dropped once uploaded, so the engine may hand out the next one.
    pub fn upload(&mut self, ctx: &egui::Context, name: &str) -> bool {
        let Some(frame) = self.pending.take() else {
            return false;
        };
        let size = [frame.width() as usize, frame.height() as usize];
        i420_to_rgba(&frame, &mut self.rgba);
        drop(frame);
        // Every pixel is opaque, so the premultiplied and unmultiplied forms are the same.
        let image = ColorImage::from_rgba_premultiplied(size, &self.rgba);
        match &mut self.texture {
            Some(texture) => texture.set(image, TextureOptions::LINEAR),
            None => self.texture = Some(ctx.load_texture(name, image, TextureOptions::LINEAR)),
        }
        self.uploads += 1;
        true
    }

    /// Stops showing this picture: drops the texture and any waiting picture.
    pub fn clear(&mut self) {
        self.pending = None;
        self.texture = None;
    }

    /// The texture to draw, once a picture was uploaded.
    pub fn texture(&self) -> Option<&TextureHandle> {
        self.texture.as_ref()
    }

    /// Whether there is a picture to show.
    pub fn is_shown(&self) -> bool {
        self.texture.is_some()
    }

    /// The size of the shown picture, in pixels.
    pub fn size(&self) -> Option<[usize; 2]> {
        self.texture.as_ref().map(TextureHandle::size)
    }

    /// Pictures received for this tile (over the call).
    pub fn received(&self) -> u64 {
        self.received
    }

    /// Times the texture was updated (over the call): one per UI frame at most, for the newest
    /// picture only.
    pub fn uploads(&self) -> u64 {
        self.uploads
    }
}

/// The pictures of one call: the peer's camera and screen share, and this device's self-views.
#[derive(Debug, Default)]
pub struct CallVideo {
    /// The peer's camera.
    pub remote_camera: VideoTile,
    /// The peer's shared screen.
    pub remote_screen: VideoTile,
    /// This device's camera, as it is sent.
    pub local_camera: VideoTile,
    /// This device's shared screen, as it is sent.
    pub local_screen: VideoTile,
}

impl CallVideo {
    /// The tile of one of the peer's streams.
    pub fn remote(&mut self, stream: VideoStream) -> &mut VideoTile {
        match stream {
            VideoStream::Camera => &mut self.remote_camera,
            VideoStream::Screen => &mut self.remote_screen,
        }
    }

    /// The self-view of one of this device's streams.
    pub fn local(&mut self, stream: VideoStream) -> &mut VideoTile {
        match stream {
            VideoStream::Camera => &mut self.local_camera,
            VideoStream::Screen => &mut self.local_screen,
        }
    }

    /// Uploads the newest picture of each stream (call once per UI frame, before drawing).
    pub fn upload(&mut self, ctx: &egui::Context) {
        self.remote_camera.upload(ctx, "remote-camera");
        self.remote_screen.upload(ctx, "remote-screen");
        self.local_camera.upload(ctx, "local-camera");
        self.local_screen.upload(ctx, "local-screen");
    }

    /// Whether any picture is shown (the call then has a video area).
    pub fn any_shown(&self) -> bool {
        [
            &self.remote_camera,
            &self.remote_screen,
            &self.local_camera,
            &self.local_screen,
        ]
        .iter()
        .any(|t| t.is_shown())
    }
}

/// The "Share screen" picker while it is open.
#[derive(Debug, Default, Clone)]
pub struct ScreenPicker {
    /// The windows that can be shared, once listed (`Err`: why the screen cannot be captured).
    pub windows: Option<Result<Vec<ShareableWindow>, String>>,
}

/// A short description of what a screen share sends, for the "You are sharing" indicator.
pub fn describe_share(spec: &ScreenSpec) -> String {
    use sealcall_engine::media::video::screen::WindowChoice;
    match spec {
        ScreenSpec::None => "nothing".to_owned(),
        ScreenSpec::TestPattern => "the test pattern".to_owned(),
        ScreenSpec::X11 { window, .. } => match window {
            WindowChoice::Screen => "your entire screen".to_owned(),
            WindowChoice::Id(id) => format!("window 0x{id:x}"),
            WindowChoice::Title(title) => format!("the window “{title}”"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(w: u32, h: u32) -> Arc<VideoFrame> {
        Arc::new(VideoFrame::new(w, h).unwrap())
    }

    #[test]
    fn only_the_newest_picture_is_uploaded_and_then_released() {
        let ctx = egui::Context::default();
        let mut tile = VideoTile::default();
        assert!(!tile.upload(&ctx, "t"), "nothing to upload yet");
        let older = frame(64, 48);
        let newer = frame(32, 16);
        tile.receive(Arc::clone(&older));
        tile.receive(Arc::clone(&newer));
        assert_eq!(Arc::strong_count(&older), 1, "the older picture is dropped");
        assert!(tile.upload(&ctx, "t"));
        assert_eq!(tile.size(), Some([32, 16]), "the newest picture is shown");
        assert_eq!(Arc::strong_count(&newer), 1, "released once uploaded");
        assert!(!tile.upload(&ctx, "t"), "one upload per picture");
        assert_eq!((tile.received(), tile.uploads()), (2, 1));
        tile.clear();
        assert!(!tile.is_shown());
    }

    #[test]
    fn a_call_has_video_once_any_tile_has_a_picture() {
        let ctx = egui::Context::default();
        let mut video = CallVideo::default();
        assert!(!video.any_shown());
        video.local(VideoStream::Screen).receive(frame(16, 16));
        video.upload(&ctx);
        assert!(video.any_shown() && video.local_screen.is_shown());
        assert!(!video.remote(VideoStream::Screen).is_shown());
    }

    #[test]
    fn shares_are_described() {
        assert_eq!(describe_share(&ScreenSpec::TestPattern), "the test pattern");
        let window = ScreenSpec::X11 {
            display: None,
            window: sealcall_engine::media::video::screen::WindowChoice::Id(0x1e),
        };
        assert_eq!(describe_share(&window), "window 0x1e");
    }
}
