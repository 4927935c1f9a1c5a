//! The device identity: created on first use, stored in a file, registered with the server.

use std::path::{Path, PathBuf};

use sealcall_e2ee::DeviceIdentity;
use sealcall_e2ee::rand_core::UnwrapErr;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::error::{EngineError, Result};

/// Where a device keeps its identity.
#[derive(Debug, Clone)]
pub enum IdentityStore {
    /// A file (created with owner-only permissions on first use).
    File(PathBuf),
    /// Memory only: a fresh identity each run (tests, throw-away bots).
    Ephemeral,
}

#[derive(Serialize, Deserialize)]
struct Stored {
    /// Per server and user: the device id the server assigned.
    device_id: Option<String>,
    /// The Ed25519 seed, hex.
    seed: String,
}

/// A loaded identity and, if it was registered before, its device id.
pub struct LoadedIdentity {
    /// The device's signing identity.
    pub identity: DeviceIdentity,
    /// The device id from an earlier registration.
    pub device_id: Option<String>,
}

impl IdentityStore {
    /// A file per server and user under `dir` (e.g. the app's data directory): a device
    /// registered with one server is never presented to another.
    pub fn in_dir(dir: &Path, server: &str, user: &str) -> Self {
        let safe = |text: &str| -> String {
            text.trim()
                .trim_end_matches('/')
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                        c
                    } else {
                        '_'
                    }
                })
                .collect()
        };
        Self::File(dir.join(format!(
            "{}--{}.identity.json",
            safe(user),
            safe(server.split_once("://").map_or(server, |(_, rest)| rest))
        )))
    }

    /// The key-continuity store that goes with this identity: a `.contacts.json` file beside
    /// the identity file, or memory only for an ephemeral identity.
    pub fn contacts(&self) -> Result<crate::contacts::ContactStore> {
        match self {
            Self::Ephemeral => Ok(crate::contacts::ContactStore::in_memory()),
            Self::File(path) => {
                let name = path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .unwrap_or("device");
                let stem = name.strip_suffix(".identity.json").unwrap_or(name);
                crate::contacts::ContactStore::open(
                    &path.with_file_name(format!("{stem}.contacts.json")),
                )
            }
        }
    }

    /// Loads the identity if it exists, without creating one.
    pub fn load(&self) -> Result<Option<LoadedIdentity>> {
        match self {
            Self::Ephemeral => Ok(None),
            Self::File(path) if !path.exists() => Ok(None),
            Self::File(_) => self.load_or_create().map(Some),
        }
    }

    /// Loads the identity, creating and saving a new one on first use.
    pub fn load_or_create(&self) -> Result<LoadedIdentity> {
        let path = match self {
            Self::Ephemeral => {
                return Ok(LoadedIdentity {
                    identity: DeviceIdentity::generate(&mut UnwrapErr(getrandom::SysRng)),
                    device_id: None,
                });
            }
            Self::File(path) => path,
        };
        match std::fs::read_to_string(path) {
            Ok(text) => {
                let stored: Zeroizing<String> = Zeroizing::new(text);
                let stored: Stored = serde_json::from_str(&stored)
                    .map_err(|e| EngineError::IdentityStore(format!("{}: {e}", path.display())))?;
                let seed = Zeroizing::new(hex::decode(&stored.seed).map_err(|_| {
                    EngineError::IdentityStore(format!("{}: bad seed", path.display()))
                })?);
                let seed: [u8; 32] = seed.as_slice().try_into().map_err(|_| {
                    EngineError::IdentityStore(format!("{}: bad seed length", path.display()))
                })?;
                let seed = Zeroizing::new(seed);
                Ok(LoadedIdentity {
                    identity: DeviceIdentity::from_secret_bytes(&seed),
                    device_id: stored.device_id,
                })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let identity = DeviceIdentity::generate(&mut UnwrapErr(getrandom::SysRng));
                self.save(&identity, None)?;
                Ok(LoadedIdentity {
                    identity,
                    device_id: None,
                })
            }
            Err(e) => Err(EngineError::IdentityStore(format!(
                "{}: {e}",
                path.display()
            ))),
        }
    }

    /// Saves the identity and its device id.
    pub fn save(&self, identity: &DeviceIdentity, device_id: Option<&str>) -> Result<()> {
        let Self::File(path) = self else {
            return Ok(());
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| EngineError::IdentityStore(format!("{}: {e}", dir.display())))?;
        }
        let seed = identity.to_secret_bytes();
        let text = Zeroizing::new(
            serde_json::to_string(&Stored {
                device_id: device_id.map(str::to_owned),
                seed: hex::encode(*seed),
            })
            .map_err(|e| EngineError::IdentityStore(e.to_string()))?,
        );
        let tmp = path.with_extension("tmp");
        write_private(&tmp, text.as_bytes())
            .map_err(|e| EngineError::IdentityStore(format!("{}: {e}", tmp.display())))?;
        std::fs::rename(&tmp, path)
            .map_err(|e| EngineError::IdentityStore(format!("{}: {e}", path.display())))
    }
}

/// Writes a new file readable by its owner only: a file already at `path` (a stale temporary
/// file, perhaps with wider permissions, or a planted link) is removed first, and the new one
/// is created exclusively with mode 0600.
#[cfg(unix)]
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

#[cfg(not(unix))]
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)
}
