//! The views, one file each. They draw from the app's state (`crate::app`) and turn clicks into
//! bridge commands; anything beyond the session's own state goes back to the app as a
//! [`Request`].
//!
//! * [`sign_in`]: the sign-in form.
//! * [`session`]: the signed-in window (header, tabs, notices) around the views below.
//! * [`people`]: the directory with a Call button per person.
//! * [`incoming`]: the incoming-call banner.
//! * [`history`]: this session's calls.
//! * [`settings`]: Settings > Privacy, Audio and Video (and Help).
//! * [`help`]: where the log files are and "Open log folder" (sign-in page and Settings).
//! * [`audio`]: the input and output choosers (Settings and the call view).
//! * [`call`]: the call view: status, controls, camera and screen-share buttons.
//! * [`screen_picker`]: what to share (the whole screen, a window, the test pattern).
//! * [`video`]: the call's pictures (the peer's camera and screen, the self-views).
//! * [`security`]: the shield's panel (security code or why the call is not E2EE).
//! * [`stats`]: the call statistics, audio and per video stream.

pub mod audio;
pub mod call;
pub mod help;
pub mod history;
pub mod incoming;
pub mod people;
pub mod screen_picker;
pub mod security;
pub mod session;
pub mod settings;
pub mod sign_in;
pub mod stats;
pub mod video;

/// What a view asks the app to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request {
    /// Sign out.
    SignOut,
    /// Settings > Video: start calls with the camera on (or not), and remember it.
    CameraAtStart(bool),
    /// Settings > Privacy: require post-quantum protection on this device (or not), and
    /// remember it.
    RequirePostQuantum(bool),
    /// Settings > Audio: the audio processing on the microphone, applied at once and
    /// remembered.
    AudioProcessing(sealcall_engine::media::AudioProcessingSetting),
}
