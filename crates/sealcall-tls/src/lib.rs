//! TLS for Sealcall's server and its clients, with rustls (ring provider; no OpenSSL).
//!
//! - [`Trust`] says which server certificates a client accepts: the system's roots (through
//!   `rustls-platform-verifier`), plus the CA certificates of a `--ca-file`, or exactly one
//!   certificate by its SHA-256 [`Fingerprint`] (`--pin`). [`ClientTls`] builds the rustls client
//!   configuration from it and remembers why it refused a certificate, so that callers can say
//!   how to trust the server ([`ClientTls::rejection`]).
//! - [`ServerTls`] loads a certificate chain and key from PEM files for the server;
//!   [`SelfSigned`] makes a self-signed certificate (what `sealcall server init` and the demo
//!   use) and prints its fingerprint.
//! - [`check_server_url`] refuses plain `http://` to anything but a loopback host.
//!
//! This crate opens no sockets: it only builds configurations and checks names.

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod client;
mod error;
mod fingerprint;
mod server;
mod urls;

pub use client::{ClientTls, Trust, http_client};
pub use error::TlsError;
pub use fingerprint::Fingerprint;
pub use rustls;
pub use server::{SelfSigned, ServerTls};
pub use urls::{ServerUrl, check_server_url, is_loopback_host};

/// The crypto provider every configuration of this crate uses (rustls' ring provider).
pub fn provider() -> std::sync::Arc<rustls::crypto::CryptoProvider> {
    std::sync::Arc::new(rustls::crypto::ring::default_provider())
}
