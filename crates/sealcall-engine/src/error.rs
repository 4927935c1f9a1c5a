//! The engine's single error type.

/// Everything that can go wrong in the engine. Messages carry no key material and no media.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    // ── Media (audio codec, devices, files) ──────────────────────────────────────────────
    /// The Opus codec refused an operation.
    #[error("opus: {0}")]
    Codec(String),
    /// An audio file could not be read or written, or has a format the engine cannot use.
    #[error("audio file: {0}")]
    AudioFile(String),
    /// No usable audio input or output device (normal on servers and CI: use a tone or a file).
    #[error("no audio device: {0}")]
    NoAudioDevice(String),
    /// An audio device failed while open.
    #[error("audio device: {0}")]
    AudioDevice(String),
    /// A media argument is out of range (e.g. a frequency above Nyquist or a wrong frame size).
    #[error("invalid media parameter: {0}")]
    InvalidMedia(String),

    // ── Transport (WebRTC) ───────────────────────────────────────────────────────────────
    /// The WebRTC transport failed (set-up, negotiation or sending).
    #[error("transport: {0}")]
    Transport(String),

    // ── End-to-end protection ─────────────────────────────────────────────────────────────
    /// The crypto core refused an operation.
    #[error("end-to-end encryption: {0}")]
    Crypto(#[from] sealcall_e2ee::Error),
    /// A frame-protection rule was violated (for example a standard call asked for keys).
    #[error("media protection: {0}")]
    Protection(String),

    // ── Calls ────────────────────────────────────────────────────────────────────────────
    /// A command that makes no sense in the call's current state.
    #[error("{0}")]
    InvalidCommand(String),
}

/// Shorthand for results of this crate.
pub type Result<T, E = EngineError> = core::result::Result<T, E>;
