//! Screen capture on X11 (the whole screen or one window) with `GetImage`, and the window picker.
//!
//! Under Wayland without an X server (no `DISPLAY`), capture is refused with a message saying
//! so; XWayland windows can be captured through their `DISPLAY`.

use sealcall_vpx::{Content, I420Frame};
use x11rb::connection::Connection;
use x11rb::protocol::xproto::{AtomEnum, ConnectionExt, ImageFormat, MapState, Window};
use x11rb::rust_connection::RustConnection;

use super::convert::bgrx_to_i420;
use super::source::VideoSource;
use crate::error::{EngineError, Result};

/// Which part of the screen to share.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WindowChoice {
    /// The whole screen (the root window).
    Screen,
    /// The window with this X id.
    Id(u32),
    /// The first top-level window whose title contains this text.
    Title(String),
}

impl WindowChoice {
    /// `0x…` or a decimal number is a window id; anything else is a title to look for.
    pub fn parse(s: &str) -> Self {
        let id = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
            Some(hex) => u32::from_str_radix(hex, 16).ok(),
            None => s.parse().ok(),
        };
        match id {
            Some(id) => Self::Id(id),
            None => Self::Title(s.to_owned()),
        }
    }
}

/// A window the user can pick to share.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShareableWindow {
    /// X window id.
    pub id: u32,
    /// Its title (`WM_NAME` or `_NET_WM_NAME`).
    pub title: String,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

fn x11_err(what: &str) -> impl Fn(String) -> EngineError + '_ {
    move |e| EngineError::VideoSource(format!("screen capture: {what}: {e}"))
}

fn connect(display: Option<&str>) -> Result<(RustConnection, Window)> {
    let has_display =
        display.is_some() || std::env::var_os("DISPLAY").is_some_and(|d| !d.is_empty());
    if !has_display {
        let wayland = std::env::var_os("WAYLAND_DISPLAY").is_some_and(|d| !d.is_empty());
        return Err(EngineError::VideoSource(if wayland {
            "screen capture needs X11: this is a Wayland session without an X display (DISPLAY is \
             unset); Wayland screen capture (the desktop portal) is not supported yet"
                .to_owned()
        } else {
            "screen capture needs an X display, and DISPLAY is unset".to_owned()
        }));
    }
    let (conn, screen) = x11rb::connect(display).map_err(|e| x11_err("connect")(e.to_string()))?;
    let root = conn
        .setup()
        .roots
        .get(screen)
        .map(|s| s.root)
        .ok_or_else(|| EngineError::VideoSource("screen capture: no X screen".into()))?;
    Ok((conn, root))
}

fn title(conn: &RustConnection, window: Window) -> Option<String> {
    let net_name = conn
        .intern_atom(false, b"_NET_WM_NAME")
        .ok()?
        .reply()
        .ok()?
        .atom;
    let utf8 = conn
        .intern_atom(false, b"UTF8_STRING")
        .ok()?
        .reply()
        .ok()?
        .atom;
    for (prop, ty) in [
        (net_name, utf8),
        (AtomEnum::WM_NAME.into(), AtomEnum::STRING.into()),
    ] {
        if let Ok(cookie) = conn.get_property(false, window, prop, ty, 0, 1024)
            && let Ok(reply) = cookie.reply()
            && !reply.value.is_empty()
        {
            return Some(String::from_utf8_lossy(&reply.value).into_owned());
        }
    }
    None
}

/// The windows that can be shared on `display` (`None`: `DISPLAY`): mapped top-level windows
/// with a title (the picker's list).
pub fn list_windows(display: Option<&str>) -> Result<Vec<ShareableWindow>> {
    let (conn, root) = connect(display)?;
    list_on(&conn, root)
}

fn list_on(conn: &RustConnection, root: Window) -> Result<Vec<ShareableWindow>> {
    let tree = conn
        .query_tree(root)
        .map_err(|e| x11_err("query tree")(e.to_string()))?
        .reply()
        .map_err(|e| x11_err("query tree")(e.to_string()))?;
    let mut out = Vec::new();
    for &w in &tree.children {
        let Ok(Ok(attrs)) = conn.get_window_attributes(w).map(|c| c.reply()) else {
            continue;
        };
        if attrs.map_state != MapState::VIEWABLE {
            continue;
        }
        let Ok(Ok(geo)) = conn.get_geometry(w).map(|c| c.reply()) else {
            continue;
        };
        if let Some(title) = title(conn, w) {
            out.push(ShareableWindow {
                id: w,
                title,
                width: u32::from(geo.width),
                height: u32::from(geo.height),
            });
        }
    }
    Ok(out)
}

/// Captures the screen or a window, polled at the share's frame rate.
pub struct X11Capture {
    conn: RustConnection,
    window: Window,
    label: String,
    fps: u32,
}

impl X11Capture {
    /// Opens the display (`None`: `DISPLAY`) and finds the window.
    pub fn open(display: Option<&str>, choice: WindowChoice, fps: u32) -> Result<Self> {
        let (conn, root) = connect(display)?;
        let (window, label) = match choice {
            WindowChoice::Screen => (root, "the whole screen".to_owned()),
            WindowChoice::Id(id) => (id, format!("window 0x{id:x}")),
            WindowChoice::Title(t) => {
                let found = list_on(&conn, root)?
                    .into_iter()
                    .find(|w| w.title.contains(&t))
                    .ok_or_else(|| {
                        EngineError::VideoSource(format!(
                            "screen capture: no window titled like `{t}`"
                        ))
                    })?;
                (found.id, format!("window `{}`", found.title))
            }
        };
        let mut capture = Self {
            conn,
            window,
            label,
            fps: fps.clamp(1, 30),
        };
        // Fail now, not in the encoder thread, if the window cannot be read.
        capture.grab()?;
        Ok(capture)
    }

    fn grab(&mut self) -> Result<I420Frame> {
        let geo = self
            .conn
            .get_geometry(self.window)
            .map_err(|e| x11_err("window")(e.to_string()))?
            .reply()
            .map_err(|e| x11_err("window is gone")(e.to_string()))?;
        let (w, h) = (geo.width & !1, geo.height & !1);
        if w < 16 || h < 16 {
            return Err(EngineError::VideoSource(
                "screen capture: the window is too small to share".into(),
            ));
        }
        let image = self
            .conn
            .get_image(ImageFormat::Z_PIXMAP, self.window, 0, 0, w, h, !0)
            .map_err(|e| x11_err("get image")(e.to_string()))?
            .reply()
            .map_err(|e| x11_err("get image")(e.to_string()))?;
        if image.depth != 24 && image.depth != 32 {
            return Err(EngineError::VideoSource(format!(
                "screen capture: {}-bit displays are not supported (24 or 32 bits needed)",
                image.depth
            )));
        }
        let stride = 4 * usize::from(w);
        bgrx_to_i420(&image.data, u32::from(w), u32::from(h), stride).ok_or_else(|| {
            EngineError::VideoSource("screen capture: the X server sent a short image".into())
        })
    }
}

impl VideoSource for X11Capture {
    fn next_frame(&mut self) -> Result<Option<I420Frame>> {
        self.grab().map(Some)
    }

    fn fps(&self) -> u32 {
        self.fps
    }

    fn content(&self) -> Content {
        Content::Screen
    }

    fn describe(&self) -> String {
        format!("screen share of {} @{} fps", self.label, self.fps)
    }
}
