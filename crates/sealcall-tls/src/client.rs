//! Which server certificates a client accepts, and the rustls client configuration for it.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, SignatureScheme};

use crate::{Fingerprint, TlsError, provider};

/// Which server certificates a client trusts. The default trusts the system's roots only.
///
/// With a [`pin`](Trust::pin), exactly the certificate with that SHA-256 fingerprint is
/// accepted (its names, issuer and dates are not checked: the pin names the certificate), and
/// the CA file is not used. With a [`ca_file`](Trust::ca_file), its certificates are trusted as
/// roots besides the system's (a self-signed server certificate file works as its own root).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Trust {
    /// PEM file of extra root certificates (`--ca-file`).
    pub ca_file: Option<PathBuf>,
    /// The one server certificate to accept (`--pin`).
    pub pin: Option<Fingerprint>,
}

impl Trust {
    /// Trust only the certificate with this fingerprint.
    pub fn pinned(pin: Fingerprint) -> Self {
        Self {
            ca_file: None,
            pin: Some(pin),
        }
    }

    /// Trust the certificates in this PEM file (besides the system's roots).
    pub fn ca_file(path: impl Into<PathBuf>) -> Self {
        Self {
            ca_file: Some(path.into()),
            pin: None,
        }
    }
}

/// Reads every PEM certificate of a file.
pub(crate) fn read_certs(path: &std::path::Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let shown = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| TlsError::File {
        path: shown.clone(),
        reason: e.to_string(),
    })?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::File {
            path: shown.clone(),
            reason: format!("not a PEM certificate file: {e}"),
        })?;
    if certs.is_empty() {
        return Err(TlsError::NoCertificate(shown));
    }
    Ok(certs)
}

enum Check {
    Pin(Fingerprint),
    Roots(Arc<dyn ServerCertVerifier>),
}

/// Wraps the real check and remembers why the last certificate was refused.
struct Verifier {
    check: Check,
    provider: Arc<rustls::crypto::CryptoProvider>,
    rejected: Mutex<Option<TlsError>>,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match &self.check {
            Check::Pin(fp) => format!("pin {fp}"),
            Check::Roots(_) => "roots".to_owned(),
        };
        f.debug_struct("Verifier").field("check", &kind).finish()
    }
}

fn describe(e: &rustls::Error) -> String {
    match e {
        rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer) => {
            "it is not signed by an authority this computer trusts; it may be self-signed".into()
        }
        rustls::Error::InvalidCertificate(CertificateError::NotValidForName)
        | rustls::Error::InvalidCertificate(CertificateError::NotValidForNameContext { .. }) => {
            "it is not valid for this server's name".into()
        }
        rustls::Error::InvalidCertificate(CertificateError::Expired)
        | rustls::Error::InvalidCertificate(CertificateError::ExpiredContext { .. }) => {
            "it has expired".into()
        }
        other => other.to_string(),
    }
}

/// rustls' check that the handshake was signed by the certificate's key.
type SignatureCheck = fn(
    &[u8],
    &CertificateDer<'_>,
    &DigitallySignedStruct,
    &rustls::crypto::WebPkiSupportedAlgorithms,
) -> Result<HandshakeSignatureValid, rustls::Error>;

impl Verifier {
    /// A pinned certificate still has to sign the handshake: checked with the provider's
    /// algorithms.
    fn signed_by(
        &self,
        check: SignatureCheck,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        check(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn remember(&self, e: TlsError) {
        if let Ok(mut slot) = self.rejected.lock() {
            *slot = Some(e);
        }
    }
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let presented = Fingerprint::of_der(end_entity);
        match &self.check {
            Check::Pin(pin) if pin.matches(end_entity) => Ok(ServerCertVerified::assertion()),
            Check::Pin(pin) => {
                self.remember(TlsError::PinMismatch {
                    expected: *pin,
                    presented,
                });
                Err(rustls::Error::InvalidCertificate(
                    CertificateError::ApplicationVerificationFailure,
                ))
            }
            Check::Roots(inner) => inner
                .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
                .inspect_err(|e| {
                    self.remember(TlsError::Untrusted {
                        reason: describe(e),
                        fingerprint: presented,
                    });
                }),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        match &self.check {
            Check::Roots(inner) => inner.verify_tls12_signature(message, cert, dss),
            Check::Pin(_) => {
                self.signed_by(rustls::crypto::verify_tls12_signature, message, cert, dss)
            }
        }
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        match &self.check {
            Check::Roots(inner) => inner.verify_tls13_signature(message, cert, dss),
            Check::Pin(_) => {
                self.signed_by(rustls::crypto::verify_tls13_signature, message, cert, dss)
            }
        }
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        match &self.check {
            Check::Roots(inner) => inner.supported_verify_schemes(),
            Check::Pin(_) => self
                .provider
                .signature_verification_algorithms
                .supported_schemes(),
        }
    }
}

/// A client's TLS set-up for one [`Trust`]: the rustls configuration, and the reason it last
/// refused a server certificate.
#[derive(Debug, Clone)]
pub struct ClientTls {
    config: Arc<ClientConfig>,
    verifier: Arc<Verifier>,
}

impl ClientTls {
    /// Builds the configuration (reads the CA file now, so a bad file fails here).
    pub fn new(trust: &Trust) -> Result<Self, TlsError> {
        let provider = provider();
        let check = match (&trust.pin, &trust.ca_file) {
            (Some(pin), _) => Check::Pin(*pin),
            (None, ca_file) => {
                let extra = match ca_file {
                    Some(path) => read_certs(path)?,
                    None => Vec::new(),
                };
                let roots = rustls_platform_verifier::Verifier::new_with_extra_roots(
                    extra,
                    Arc::clone(&provider),
                )
                .map_err(|e| TlsError::Config(e.to_string()))?;
                Check::Roots(Arc::new(roots))
            }
        };
        let verifier = Arc::new(Verifier {
            check,
            provider: Arc::clone(&provider),
            rejected: Mutex::new(None),
        });
        let config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError::Config(e.to_string()))?
            .dangerous()
            .with_custom_certificate_verifier(Arc::clone(&verifier) as Arc<dyn ServerCertVerifier>)
            .with_no_client_auth();
        Ok(Self {
            config: Arc::new(config),
            verifier,
        })
    }

    /// The rustls configuration (for reqwest's `use_preconfigured_tls` and tungstenite's
    /// `Connector::Rustls`).
    pub fn config(&self) -> Arc<ClientConfig> {
        Arc::clone(&self.config)
    }

    /// Why the last server certificate was refused (taken: a second call returns `None`), as a
    /// message that says how to trust the server.
    pub fn rejection(&self) -> Option<TlsError> {
        self.verifier.rejected.lock().ok()?.take()
    }
}

/// An HTTP client (reqwest, no proxy from the environment) that uses `tls` for `https://` and
/// gives up on a request after `timeout`.
pub fn http_client(
    tls: &ClientTls,
    timeout: std::time::Duration,
) -> Result<reqwest::Client, TlsError> {
    reqwest::Client::builder()
        .use_preconfigured_tls((*tls.config()).clone())
        .timeout(timeout)
        .connect_timeout(timeout.min(std::time::Duration::from_secs(10)))
        .no_proxy()
        .build()
        .map_err(|e| TlsError::Config(format!("HTTP client: {e}")))
}
