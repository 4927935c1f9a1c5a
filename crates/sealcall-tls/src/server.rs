//! The server's certificate and key, and self-signed certificates.

use std::path::Path;
use std::sync::Arc;

use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use zeroize::Zeroizing;

use crate::client::read_certs;
use crate::{Fingerprint, TlsError, provider};

/// The server's TLS set-up: the rustls configuration and its certificate's fingerprint.
#[derive(Clone)]
pub struct ServerTls {
    config: Arc<ServerConfig>,
    fingerprint: Fingerprint,
}

impl std::fmt::Debug for ServerTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerTls")
            .field("fingerprint", &self.fingerprint)
            .finish_non_exhaustive()
    }
}

impl ServerTls {
    /// Loads a PEM certificate chain (server certificate first) and its PEM private key
    /// (PKCS#8, PKCS#1 or SEC1).
    pub fn from_pem_files(cert: &Path, key: &Path) -> Result<Self, TlsError> {
        let certs = read_certs(cert)?;
        let key_bytes = Zeroizing::new(std::fs::read(key).map_err(|e| TlsError::File {
            path: key.display().to_string(),
            reason: e.to_string(),
        })?);
        let key = PrivateKeyDer::from_pem_slice(&key_bytes)
            .map_err(|_| TlsError::NoKey(key.display().to_string()))?;
        Self::new(certs, key)
    }

    /// From PEM text.
    pub fn from_pem(cert_pem: &str, key_pem: &str) -> Result<Self, TlsError> {
        let certs = CertificateDer::pem_slice_iter(cert_pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| TlsError::NoCertificate("certificate".into()))?;
        if certs.is_empty() {
            return Err(TlsError::NoCertificate("certificate".into()));
        }
        let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes())
            .map_err(|_| TlsError::NoKey("key".into()))?;
        Self::new(certs, key)
    }

    fn new(
        certs: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
    ) -> Result<Self, TlsError> {
        let fingerprint = Fingerprint::of_der(certs.first().map_or(&[][..], |c| c.as_ref()));
        let mut config = ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError::Config(e.to_string()))?
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .map_err(|e| TlsError::Config(e.to_string()))?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Self {
            config: Arc::new(config),
            fingerprint,
        })
    }

    /// The rustls configuration (for a `tokio_rustls::TlsAcceptor`).
    pub fn config(&self) -> Arc<ServerConfig> {
        Arc::clone(&self.config)
    }

    /// The SHA-256 fingerprint of the server certificate (what clients pin).
    pub fn fingerprint(&self) -> Fingerprint {
        self.fingerprint
    }
}

/// A freshly made self-signed certificate and its key, as PEM.
pub struct SelfSigned {
    /// The certificate.
    pub cert_pem: String,
    key_pem: Zeroizing<String>,
    /// Its SHA-256 fingerprint.
    pub fingerprint: Fingerprint,
}

impl std::fmt::Debug for SelfSigned {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SelfSigned")
            .field("fingerprint", &self.fingerprint)
            .finish_non_exhaustive()
    }
}

impl SelfSigned {
    /// A certificate (ECDSA P-256) for these DNS names and IP addresses.
    pub fn generate(names: &[String]) -> Result<Self, TlsError> {
        if names.is_empty() {
            return Err(TlsError::Generate("at least one name is needed".into()));
        }
        let made = rcgen::generate_simple_self_signed(names.to_vec())
            .map_err(|e| TlsError::Generate(e.to_string()))?;
        Ok(Self {
            fingerprint: Fingerprint::of_der(made.cert.der()),
            cert_pem: made.cert.pem(),
            key_pem: Zeroizing::new(made.signing_key.serialize_pem()),
        })
    }

    /// The names a server certificate gets by default: `localhost`, `127.0.0.1` and `::1`.
    pub fn default_names() -> Vec<String> {
        vec!["localhost".into(), "127.0.0.1".into(), "::1".into()]
    }

    /// The server configuration for this certificate.
    pub fn server_tls(&self) -> Result<ServerTls, TlsError> {
        ServerTls::from_pem(&self.cert_pem, &self.key_pem)
    }

    /// Writes the certificate (mode 0644) and the key (mode 0600, replacing any file there).
    pub fn write(&self, cert: &Path, key: &Path) -> Result<(), TlsError> {
        let fail = |path: &Path, e: std::io::Error| TlsError::File {
            path: path.display().to_string(),
            reason: e.to_string(),
        };
        write_file(key, self.key_pem.as_bytes(), 0o600).map_err(|e| fail(key, e))?;
        write_file(cert, self.cert_pem.as_bytes(), 0o644).map_err(|e| fail(cert, e))
    }
}

/// Writes a new file with `mode` (on Unix): an existing file is removed first, so its
/// permissions never carry over.
pub(crate) fn write_file(path: &Path, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    use std::io::Write;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn self_signed_round_trips_through_files() {
        let dir = tempfile::tempdir().unwrap();
        let made = SelfSigned::generate(&SelfSigned::default_names()).unwrap();
        let (cert, key) = (dir.path().join("c.pem"), dir.path().join("k.pem"));
        std::fs::write(&key, "old").unwrap();
        made.write(&cert, &key).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        let loaded = ServerTls::from_pem_files(&cert, &key).unwrap();
        assert_eq!(loaded.fingerprint(), made.fingerprint);
        assert!(!format!("{made:?}").contains("PRIVATE KEY"));
    }

    #[test]
    fn bad_files_are_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "nothing here").unwrap();
        let missing = dir.path().join("missing.pem");
        let e = ServerTls::from_pem_files(&missing, &empty).unwrap_err();
        assert!(e.to_string().contains("missing.pem"), "{e}");
        let e = ServerTls::from_pem_files(&empty, &empty).unwrap_err();
        assert!(matches!(e, TlsError::NoCertificate(_)), "{e}");
        let made = SelfSigned::generate(&["a.test".into()]).unwrap();
        let cert = dir.path().join("c.pem");
        std::fs::write(&cert, &made.cert_pem).unwrap();
        let e = ServerTls::from_pem_files(&cert, &empty).unwrap_err();
        assert!(matches!(e, TlsError::NoKey(_)), "{e}");
        assert!(SelfSigned::generate(&[]).is_err());
    }
}
