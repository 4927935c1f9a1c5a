//! SHA-256 certificate fingerprints.

use std::fmt;
use std::str::FromStr;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::TlsError;

/// The SHA-256 of a certificate's DER encoding, shown as `SHA256:AB:CD:…` (as `openssl x509
/// -fingerprint -sha256` prints it, with the algorithm in front).
#[derive(Clone, Copy, Eq)]
pub struct Fingerprint([u8; 32]);

impl Fingerprint {
    /// The fingerprint of a DER-encoded certificate.
    pub fn of_der(der: &[u8]) -> Self {
        Self(Sha256::digest(der).into())
    }

    /// The fingerprint of the first certificate in a PEM file.
    pub fn of_pem_file(path: &std::path::Path) -> Result<Self, TlsError> {
        let certs = crate::client::read_certs(path)?;
        Ok(Self::of_der(certs.first().map_or(&[][..], |c| c.as_ref())))
    }

    /// The 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Whether the certificate `der` has this fingerprint (constant-time comparison).
    pub fn matches(&self, der: &[u8]) -> bool {
        bool::from(Self::of_der(der).0.ct_eq(&self.0))
    }
}

impl PartialEq for Fingerprint {
    fn eq(&self, other: &Self) -> bool {
        bool::from(self.0.ct_eq(&other.0))
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SHA256:")?;
        for (i, b) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(":")?;
            }
            write!(f, "{b:02X}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl FromStr for Fingerprint {
    type Err = TlsError;

    /// Accepts `SHA256:AB:CD:…`, `sha256/ab cd …` or plain hex, in any case, with or without
    /// colons or spaces.
    fn from_str(text: &str) -> Result<Self, TlsError> {
        let bad = || TlsError::BadFingerprint(text.chars().take(120).collect());
        let t = text.trim();
        let t = ["SHA256:", "SHA-256:", "SHA256/", "SHA256 "]
            .iter()
            .find_map(|p| {
                t.get(..p.len())
                    .filter(|head| head.eq_ignore_ascii_case(p))
                    .map(|_| &t[p.len()..])
            })
            .unwrap_or(t);
        let digits: String = t
            .chars()
            .filter(|c| !matches!(c, ':' | ' ' | '-'))
            .collect();
        if digits.len() != 64 {
            return Err(bad());
        }
        let bytes = hex::decode(&digits).map_err(|_| bad())?;
        bytes.try_into().map(Self).map_err(|_| bad())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_what_it_prints_and_common_forms() {
        let fp = Fingerprint::of_der(b"certificate");
        let shown = fp.to_string();
        assert!(shown.starts_with("SHA256:"));
        assert_eq!(shown.len(), 7 + 32 * 3 - 1);
        assert_eq!(shown.parse::<Fingerprint>().unwrap(), fp);
        let plain = hex::encode(fp.as_bytes());
        assert_eq!(plain.parse::<Fingerprint>().unwrap(), fp);
        assert_eq!(
            format!("sha256:{}", plain.to_uppercase())
                .parse::<Fingerprint>()
                .unwrap(),
            fp
        );
        assert!(fp.matches(b"certificate"));
        assert!(!fp.matches(b"another"));
    }

    #[test]
    fn refuses_what_is_not_a_fingerprint() {
        for bad in [
            "",
            "SHA256:",
            "zz",
            &"ab".repeat(31),
            &"ab".repeat(33),
            &"g".repeat(64),
        ] {
            let e = bad.parse::<Fingerprint>().unwrap_err();
            assert!(e.to_string().contains("64 hex digits"), "{e}");
        }
    }
}
