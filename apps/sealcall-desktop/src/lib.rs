//! # sealcall-desktop
//!
//! The Sealcall desktop app: sign in, find people, place and answer calls with audio, video and
//! screen sharing, see whether a call is end-to-end encrypted (the shield) and compare its
//! security code, and manage the "End-to-end encrypted calls" setting. The UI state lives in
//! [`app`] (pictures and textures in [`video`]), each view in its own file under `views`; the
//! binary only parses arguments and starts things ([`launch`]).
//!
//! The app talks to the engine only through its API and events, via the [`bridge`]: no
//! crypto, policy or WebRTC code lives here.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod app;
pub mod bridge;
pub mod demo;
pub mod launch;
pub mod logs;
pub mod prefs;
pub mod screenshot;
pub mod text;
pub mod video;
mod views;
mod widgets;

pub use app::{AppOptions, AutoPilot, SealcallApp, SignInForm, labels};
pub use bridge::{Bridge, EngineSettings, UiEvent};
