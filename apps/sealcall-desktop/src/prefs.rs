//! What the app remembers between runs: the server address, the sign-in name (never the
//! password), how to trust each private server's certificate, and whether calls start with the
//! camera on.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The remembered sign-in fields and choices.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Prefs {
    /// The last server address that worked.
    pub server: String,
    /// The last sign-in name that worked.
    pub user: String,
    /// Settings > Video: "Turn on my camera when a call starts" (off in files written before
    /// the choice existed).
    #[serde(default)]
    pub camera_at_start: bool,
    /// Settings > Security: "Require post-quantum protection" on this device (off in files
    /// written before the choice existed).
    #[serde(default)]
    pub require_post_quantum: bool,
    /// Settings > Audio: the audio processing on the microphone, in the `--audio-processing`
    /// form (`auto`, `on`, `off`, `aec,ns`, …); `None` (files written before the choice
    /// existed, or an unreadable value) is automatic.
    #[serde(default)]
    pub audio_processing: Option<String>,
    /// Per server address: the CA file or pinned fingerprint that worked.
    #[serde(default)]
    pub trust: std::collections::BTreeMap<String, ServerTrust>,
}

/// How to trust one server's certificate (empty fields: the system's roots).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerTrust {
    /// A CA certificate file (PEM).
    #[serde(default)]
    pub ca_file: String,
    /// A pinned certificate fingerprint.
    #[serde(default)]
    pub pin: String,
}

impl ServerTrust {
    /// Whether nothing is set.
    pub fn is_empty(&self) -> bool {
        self.ca_file.is_empty() && self.pin.is_empty()
    }
}

impl Prefs {
    /// Reads the file; a missing or unreadable file gives the defaults.
    pub fn load(path: &Path) -> Self {
        std::fs::read(path)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default()
    }

    /// Writes the file (creating its folder).
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let json = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
        std::fs::write(path, json)
    }
}

/// The user's data directory for Sealcall: `$XDG_DATA_HOME/sealcall`, else
/// `~/.local/share/sealcall`, else `./sealcall-data`.
pub fn data_dir() -> PathBuf {
    std::env::var_os("XDG_DATA_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .map_or_else(|| PathBuf::from("sealcall-data"), |d| d.join("sealcall"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_missing_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/desktop.json");
        assert_eq!(Prefs::load(&path), Prefs::default());
        let p = Prefs {
            server: "http://127.0.0.1:7878".into(),
            user: "alex@demo.example".into(),
            camera_at_start: true,
            require_post_quantum: true,
            audio_processing: Some("aec,ns".into()),
            trust: [(
                "https://calls.example:7878".to_owned(),
                ServerTrust {
                    ca_file: String::new(),
                    pin: "SHA256:00".into(),
                },
            )]
            .into(),
        };
        p.save(&path).unwrap();
        assert_eq!(Prefs::load(&path), p);
        // A file from before the camera choice existed still loads, with the camera off.
        std::fs::write(&path, br#"{"server":"http://h:1","user":"u"}"#).unwrap();
        let old = Prefs::load(&path);
        assert_eq!(
            (
                old.server.as_str(),
                old.camera_at_start,
                old.require_post_quantum
            ),
            ("http://h:1", false, false)
        );
        std::fs::write(&path, b"not json").unwrap();
        assert_eq!(Prefs::load(&path), Prefs::default());
    }
}
