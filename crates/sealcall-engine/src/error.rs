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
    /// The VP8 codec refused an operation.
    #[error("vp8: {0}")]
    Video(String),
    /// A video file could not be written or read.
    #[error("video file: {0}")]
    VideoFile(String),
    /// A video source (camera, screen capture) is unavailable or failed.
    #[error("video source: {0}")]
    VideoSource(String),

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

    // ── Server and sign-in ───────────────────────────────────────────────────────────────
    /// The server could not be reached at this address.
    #[error("server unreachable at {0}")]
    Unreachable(String),
    /// Sign-in failed (wrong name or password, or throttled): the server's reason.
    #[error("sign-in failed: {0}")]
    SignIn(String),
    /// The server refused a change (for example the policy does not allow the setting).
    #[error("refused: {0}")]
    Refused(String),
    /// TLS: the server's certificate is not trusted (the message says how to trust it), a
    /// plain `http://` address is not loopback, or a CA file cannot be read.
    #[error(transparent)]
    Tls(#[from] sealcall_tls::TlsError),
    /// The server answered with an error or something unexpected.
    #[error("server: {0}")]
    Server(String),
    /// The engine's configuration is invalid.
    #[error("configuration: {0}")]
    Config(String),
    /// The device identity could not be loaded or stored.
    #[error("device identity store: {0}")]
    IdentityStore(String),
    /// The key-continuity store (the peer devices seen before) could not be read or written;
    /// a damaged file is this error, never an empty store.
    #[error("contact store: {0}")]
    ContactStore(String),
    /// The engine has stopped.
    #[error("the engine has stopped")]
    Stopped,
    /// A call feature is not available in this call (the policy's user-facing reason).
    #[error("{0}")]
    FeatureBlocked(String),
}

/// Shorthand for results of this crate.
pub type Result<T, E = EngineError> = core::result::Result<T, E>;
