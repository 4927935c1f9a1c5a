//! The crate's one error type.

use crate::Fingerprint;

/// Everything that can go wrong building TLS configurations or checking a server address.
/// Messages name files and hosts, never key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// A certificate or key file could not be read.
    #[error("{path}: {reason}")]
    File {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// A file holds no PEM certificate.
    #[error("{0}: no PEM certificate (-----BEGIN CERTIFICATE-----) in the file")]
    NoCertificate(String),
    /// A file holds no PEM private key.
    #[error("{0}: no PEM private key in the file")]
    NoKey(String),
    /// rustls refused a configuration (for example a key that does not match the certificate).
    #[error("TLS configuration: {0}")]
    Config(String),
    /// Making a certificate failed.
    #[error("creating a certificate: {0}")]
    Generate(String),
    /// A pinned fingerprint is not 32 bytes of hex.
    #[error(
        "not a SHA-256 certificate fingerprint: expected 64 hex digits (colons allowed), e.g. \
         SHA256:AB:CD:…, got {0:?}"
    )]
    BadFingerprint(String),
    /// A server address is not a URL this client can use.
    #[error("invalid server address {url:?}: {reason}")]
    BadUrl {
        /// What was given.
        url: String,
        /// Why.
        reason: String,
    },
    /// Plain `http://` to a host that is not loopback.
    #[error(
        "refusing plain http:// to {host}: passwords, session tokens and call set-up would cross \
         the network readable. Use https://{host}… (the server needs --tls-cert and --tls-key, or \
         the certificate `sealcall server init` made)"
    )]
    InsecureUrl {
        /// The host.
        host: String,
    },
    /// The server's certificate is not trusted.
    #[error(
        "the server's TLS certificate is not trusted ({reason}). Its SHA-256 fingerprint is \
         {fingerprint}. If this is your organisation's own server, trust it with --ca-file FILE \
         (its CA certificate, or the server's certificate file) or, after checking the \
         fingerprint with your administrator (`sealcall server init` printed it), with --pin \
         {fingerprint}"
    )]
    Untrusted {
        /// Why the certificate was refused.
        reason: String,
        /// The presented certificate's fingerprint.
        fingerprint: Fingerprint,
    },
    /// The server's certificate is not the pinned one.
    #[error(
        "the server's TLS certificate does not match the pinned fingerprint: expected \
         {expected}, the server presented {presented}. Someone may be intercepting the \
         connection, or the server has a new certificate: ask your administrator for its \
         fingerprint"
    )]
    PinMismatch {
        /// The pin.
        expected: Fingerprint,
        /// What the server presented.
        presented: Fingerprint,
    },
}
