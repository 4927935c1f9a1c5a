//! Key continuity: the peer devices this device has called with, and whether their keys changed.
//!
//! The directory hands out each device's identity key for a call, and the handshake pins it.
//! A lying directory could hand out a key of its own; key continuity catches that for every
//! peer device seen before. The [`ContactBook`] (sans-IO) remembers, per peer user and device,
//! the identity key, when it was first and last seen, and whether the user verified it (by
//! comparing the security code or the [`SafetyNumber`]); [`ContactStore`] keeps it in a file
//! next to the device identity, written atomically with owner-only permissions. A damaged
//! file is an error, never an empty book: trusting everyone again would hide a key change.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use sealcall_e2ee::{IdentityPublicKey, SafetyNumber};
use sealcall_signaling::SettingView;
use serde::{Deserialize, Serialize};

use crate::error::{EngineError, Result};
use crate::identity::write_private;

/// The file format version.
const VERSION: u32 = 1;

/// What this device knows about one device of a peer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeenDevice {
    /// The device's identity key (hex of the 32 bytes), as last confirmed by a handshake.
    pub identity_key: String,
    /// When this key was first seen (seconds since the Unix epoch).
    pub first_seen: u64,
    /// When a handshake last confirmed it.
    pub last_seen: u64,
    /// Whether the user verified this key (compared the security code or the safety number).
    pub verified: bool,
    /// When the key last changed under the same device id, if it ever did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_changed: Option<u64>,
}

/// How a peer device's key compares with what this device saw before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeerKeyStatus {
    /// Never in a call with this person before.
    FirstContact,
    /// The person is known, but not this device of theirs (a new device, or one the service
    /// added): `verified_devices` of their other devices are verified.
    NewDevice {
        /// How many of the person's other devices this device verified.
        verified_devices: usize,
    },
    /// The same key as before.
    Known {
        /// The user verified it.
        verified: bool,
    },
    /// The device is known under another key: a reinstall, or someone in the middle.
    Changed {
        /// The old key was verified (and no longer is).
        was_verified: bool,
    },
}

impl PeerKeyStatus {
    /// Whether this status deserves a loud warning (a known device with another key).
    pub fn is_warning(&self) -> bool {
        matches!(self, Self::Changed { .. })
    }

    /// A short, content-free explanation for `name` (the peer's display name) to show.
    pub fn user_message(&self, name: &str) -> String {
        match self {
            Self::FirstContact => format!(
                "First call with {name}: compare the security code or the safety number once to \
                 rule out someone in the middle."
            ),
            Self::NewDevice { verified_devices } if *verified_devices > 0 => format!(
                "{name} is on a device you have not verified: compare the security code or the \
                 safety number before you trust it."
            ),
            Self::NewDevice { .. } => format!(
                "{name} is on a new device: compare the security code or the safety number to \
                 rule out someone in the middle."
            ),
            Self::Known { verified: true } => {
                format!("Verified: {name}'s device key is unchanged.")
            }
            Self::Known { verified: false } => {
                format!("{name}'s device key is unchanged since your last call, but not verified.")
            }
            Self::Changed { was_verified } => format!(
                "{name}'s device key has changed since your last call{}. This happens when they \
                 reinstall, or when someone is in the middle: compare the security code or the \
                 safety number before you talk.",
                if *was_verified {
                    " and is no longer verified"
                } else {
                    ""
                }
            ),
        }
    }
}

/// One peer device as a contact list shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactDevice {
    /// The peer user.
    pub user: String,
    /// Their device id.
    pub device: String,
    /// What this device remembers of it.
    pub seen: SeenDevice,
}

#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Stored {
    version: u32,
    /// Peer user → device id → what was seen.
    contacts: BTreeMap<String, BTreeMap<String, SeenDevice>>,
    /// This user's own other devices, by id → identity key (hex), as last listed.
    #[serde(default)]
    own_devices: BTreeMap<String, String>,
    /// The user's setting and effective policy as last synced: the device's own state for its
    /// call intent until the server's next word, and what a change is compared with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    setting: Option<SettingView>,
}

/// The peer devices seen before (sans-IO: time comes in as seconds since the Unix epoch).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ContactBook {
    stored: Stored,
}

impl ContactBook {
    /// An empty book.
    pub fn new() -> Self {
        Self {
            stored: Stored {
                version: VERSION,
                contacts: BTreeMap::new(),
                own_devices: BTreeMap::new(),
                setting: None,
            },
        }
    }

    /// Reads a book from its JSON; anything unexpected is an error naming what is wrong.
    pub fn from_json(text: &str) -> std::result::Result<Self, String> {
        let stored: Stored = serde_json::from_str(text).map_err(|e| e.to_string())?;
        if stored.version != VERSION {
            return Err(format!("unknown version {}", stored.version));
        }
        for devices in stored.contacts.values() {
            for (device, seen) in devices {
                decode_key(&seen.identity_key)
                    .map_err(|e| format!("device {device}: identity key: {e}"))?;
            }
        }
        Ok(Self { stored })
    }

    /// The book as JSON.
    pub fn to_json(&self) -> String {
        // A map of strings and numbers always serializes.
        serde_json::to_string_pretty(&self.stored).unwrap_or_default()
    }

    /// How `key` for `user`'s `device` compares with what was seen before (changes nothing).
    pub fn check(&self, user: &str, device: &str, key: &[u8; 32]) -> PeerKeyStatus {
        let Some(devices) = self.stored.contacts.get(user) else {
            return PeerKeyStatus::FirstContact;
        };
        match devices.get(device) {
            None => PeerKeyStatus::NewDevice {
                verified_devices: devices.values().filter(|d| d.verified).count(),
            },
            Some(seen) if seen.identity_key == hex::encode(key) => PeerKeyStatus::Known {
                verified: seen.verified,
            },
            Some(seen) => PeerKeyStatus::Changed {
                was_verified: seen.verified,
            },
        }
    }

    /// Records that a handshake confirmed `key` for `user`'s `device` at `now`: a new device
    /// is added, a known one gets a new last-seen time, a changed key replaces the old one and
    /// loses its verified state. Returns the status before the change.
    pub fn record(&mut self, user: &str, device: &str, key: &[u8; 32], now: u64) -> PeerKeyStatus {
        let status = self.check(user, device, key);
        let devices = self.stored.contacts.entry(user.to_owned()).or_default();
        let fresh = SeenDevice {
            identity_key: hex::encode(key),
            first_seen: now,
            last_seen: now,
            verified: false,
            key_changed: None,
        };
        match status {
            PeerKeyStatus::Known { .. } => {
                if let Some(seen) = devices.get_mut(device) {
                    seen.last_seen = seen.last_seen.max(now);
                }
            }
            PeerKeyStatus::Changed { .. } => {
                devices.insert(
                    device.to_owned(),
                    SeenDevice {
                        key_changed: Some(now),
                        ..fresh
                    },
                );
            }
            PeerKeyStatus::FirstContact | PeerKeyStatus::NewDevice { .. } => {
                devices.insert(device.to_owned(), fresh);
            }
        }
        status
    }

    /// Marks `user`'s devices (or only `device`) verified with the keys on record. Returns how
    /// many were marked; an unknown user or device is an error.
    pub fn mark_verified(&mut self, user: &str, device: Option<&str>) -> Result<usize> {
        let devices = self.stored.contacts.get_mut(user).ok_or_else(|| {
            EngineError::ContactStore(format!(
                "no call with {user} yet: a contact is known after a first call"
            ))
        })?;
        let mut marked = 0;
        for (id, seen) in devices.iter_mut() {
            if device.is_none_or(|d| d == id) {
                seen.verified = true;
                marked += 1;
            }
        }
        if marked == 0 {
            return Err(EngineError::ContactStore(format!(
                "{user} has no device {} on record",
                device.unwrap_or_default()
            )));
        }
        Ok(marked)
    }

    /// Compares the account's devices as the server lists them now (`devices`: id and
    /// identity key, this device included) with the last list, remembers the new list, and
    /// returns the devices that joined (or changed key) since. The first list is taken as it
    /// is: those devices were there before this one.
    pub fn note_own_devices(&mut self, devices: &[(String, [u8; 32])]) -> Vec<String> {
        let first = self.stored.own_devices.is_empty();
        let mut joined = Vec::new();
        let mut now = BTreeMap::new();
        for (id, key) in devices {
            let key = hex::encode(key);
            if !first && self.stored.own_devices.get(id) != Some(&key) {
                joined.push(id.clone());
            }
            now.insert(id.clone(), key);
        }
        self.stored.own_devices = now;
        joined
    }

    /// The setting and policy as last synced, if ever.
    pub fn setting(&self) -> Option<&SettingView> {
        self.stored.setting.as_ref()
    }

    /// Remembers the setting as synced now; returns a warning when the policy no longer
    /// requires end-to-end encrypted calls although it did at the last sync, or no longer
    /// requires them to be post-quantum protected although it did (changes worth knowing
    /// about: the service could use them to make calls standard, or not post-quantum).
    pub fn note_setting(&mut self, now: &SettingView) -> Option<String> {
        let before = self.stored.setting.replace(now.clone())?.calling;
        let dropped = if before.requires_end_to_end() && !now.calling.requires_end_to_end() {
            "end-to-end encrypted calls"
        } else if before.requires_post_quantum() && !now.calling.requires_post_quantum() {
            "post-quantum protection for end-to-end encrypted calls"
        } else {
            return None;
        };
        Some(format!(
            "Your organisation's policy, as the service reports it, no longer requires \
             {dropped} (it did when this device last synced). If you did not expect this, ask \
             your administrator."
        ))
    }

    /// Adds one device to the account's list (it was announced as it joined), so the next
    /// connect does not report it again.
    pub fn add_own_device(&mut self, id: &str, key: &[u8; 32]) {
        self.stored
            .own_devices
            .insert(id.to_owned(), hex::encode(key));
    }

    /// Every peer device on record, by user and device id.
    pub fn devices(&self) -> Vec<ContactDevice> {
        self.stored
            .contacts
            .iter()
            .flat_map(|(user, devices)| {
                devices.iter().map(|(device, seen)| ContactDevice {
                    user: user.clone(),
                    device: device.clone(),
                    seen: seen.clone(),
                })
            })
            .collect()
    }

    /// What is on record for one device.
    pub fn get(&self, user: &str, device: &str) -> Option<&SeenDevice> {
        self.stored.contacts.get(user)?.get(device)
    }
}

fn decode_key(text: &str) -> std::result::Result<IdentityPublicKey, String> {
    let bytes: [u8; 32] = hex::decode(text)
        .map_err(|e| e.to_string())?
        .try_into()
        .map_err(|_| "not 32 bytes".to_owned())?;
    IdentityPublicKey::from_bytes(&bytes).map_err(|e| e.to_string())
}

/// The safety number of this device (`user`, `key`) and a peer device on record.
pub fn safety_number(
    user: &str,
    key: &IdentityPublicKey,
    peer: &ContactDevice,
) -> Result<SafetyNumber> {
    let peer_key = decode_key(&peer.seen.identity_key).map_err(EngineError::ContactStore)?;
    Ok(SafetyNumber::new(user, key, &peer.user, &peer_key))
}

/// Where a device keeps its [`ContactBook`]: a file, or memory only.
#[derive(Debug)]
pub struct ContactStore {
    path: Option<PathBuf>,
    book: ContactBook,
}

impl ContactStore {
    /// A book in memory only (ephemeral identities: tests, throw-away bots).
    pub fn in_memory() -> Self {
        Self {
            path: None,
            book: ContactBook::new(),
        }
    }

    /// Opens the book at `path` (an empty one if there is no file yet). A file that cannot be
    /// read or parsed is an error: it is never replaced by an empty book.
    pub fn open(path: &Path) -> Result<Self> {
        Ok(Self {
            book: read(path)?,
            path: Some(path.to_owned()),
        })
    }

    /// The file, if any.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The book as last read or written.
    pub fn book(&self) -> &ContactBook {
        &self.book
    }

    /// Re-reads the file (another program, such as `sealcall contacts verify`, may have changed
    /// it since).
    pub fn reload(&mut self) -> Result<()> {
        if let Some(path) = &self.path {
            self.book = read(path)?;
        }
        Ok(())
    }

    /// Re-reads the file (another program, such as `sealcall contacts verify`, may have changed
    /// it), applies `change`, and writes the result atomically.
    pub fn update<T>(&mut self, change: impl FnOnce(&mut ContactBook) -> Result<T>) -> Result<T> {
        let Some(path) = self.path.clone() else {
            return change(&mut self.book);
        };
        let mut book = read(&path)?;
        let out = change(&mut book)?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| EngineError::ContactStore(format!("{}: {e}", dir.display())))?;
        }
        let tmp = path.with_extension("tmp");
        write_private(&tmp, book.to_json().as_bytes())
            .map_err(|e| EngineError::ContactStore(format!("{}: {e}", tmp.display())))?;
        std::fs::rename(&tmp, &path)
            .map_err(|e| EngineError::ContactStore(format!("{}: {e}", path.display())))?;
        self.book = book;
        Ok(out)
    }
}

fn read(path: &Path) -> Result<ContactBook> {
    match std::fs::read_to_string(path) {
        Ok(text) => ContactBook::from_json(&text).map_err(|e| {
            EngineError::ContactStore(format!(
                "{} is damaged ({e}). Sealcall will not start over silently, since that would \
                 hide a changed key: move the file away to start over.",
                path.display()
            ))
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(ContactBook::new()),
        Err(e) => Err(EngineError::ContactStore(format!(
            "{}: {e}",
            path.display()
        ))),
    }
}

/// Seconds since the Unix epoch, for [`ContactBook::record`].
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;
    use sealcall_e2ee::DeviceIdentity;
    use sealcall_policy::CallingEncryptionType;

    fn key(seed: u64) -> [u8; 32] {
        DeviceIdentity::generate(&mut sealcall_e2ee::__test_rng(seed))
            .public()
            .to_bytes()
    }

    #[test]
    fn statuses_follow_what_was_seen() {
        let mut book = ContactBook::new();
        let (k1, k2) = (key(1), key(2));
        assert_eq!(book.check("ana", "d1", &k1), PeerKeyStatus::FirstContact);
        assert_eq!(
            book.record("ana", "d1", &k1, 10),
            PeerKeyStatus::FirstContact
        );
        assert_eq!(
            book.check("ana", "d1", &k1),
            PeerKeyStatus::Known { verified: false }
        );
        assert_eq!(book.mark_verified("ana", None).unwrap(), 1);
        assert_eq!(
            book.record("ana", "d1", &k1, 20),
            PeerKeyStatus::Known { verified: true }
        );
        let seen = book.get("ana", "d1").unwrap();
        assert_eq!((seen.first_seen, seen.last_seen), (10, 20));
        assert_eq!(
            book.check("ana", "d2", &k2),
            PeerKeyStatus::NewDevice {
                verified_devices: 1
            }
        );
        // The same device id under another key: a change, and the verified state is lost.
        assert_eq!(
            book.record("ana", "d1", &k2, 30),
            PeerKeyStatus::Changed { was_verified: true }
        );
        let seen = book.get("ana", "d1").unwrap();
        assert!(!seen.verified);
        assert_eq!(seen.key_changed, Some(30));
        assert_eq!(
            book.check("ana", "d1", &k2),
            PeerKeyStatus::Known { verified: false }
        );
        assert!(book.mark_verified("bob", None).is_err());
        assert!(book.mark_verified("ana", Some("d9")).is_err());
    }

    #[test]
    fn the_file_survives_a_restart_and_a_damaged_one_is_refused() {
        let dir = std::env::temp_dir().join(format!("sealcall-contacts-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("ken.contacts.json");
        let mut store = ContactStore::open(&path).unwrap();
        store
            .update(|b| Ok(b.record("ana", "d1", &key(1), 5)))
            .unwrap();
        store.update(|b| b.mark_verified("ana", None)).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let reopened = ContactStore::open(&path).unwrap();
        assert_eq!(reopened.book(), store.book());
        assert_eq!(
            reopened.book().check("ana", "d1", &key(1)),
            PeerKeyStatus::Known { verified: true }
        );
        for damaged in [
            "{",
            "",
            r#"{"version":2,"contacts":{}}"#,
            r#"{"version":1,"contacts":{"ana":{"d1":{"identity_key":"00","first_seen":1,"last_seen":1,"verified":true}}}}"#,
            r#"{"version":1,"contacts":{},"extra":1}"#,
        ] {
            std::fs::write(&path, damaged).unwrap();
            let err = ContactStore::open(&path).unwrap_err().to_string();
            assert!(err.contains("is damaged"), "{damaged}: {err}");
            // An update never overwrites a damaged file with a fresh book.
            assert!(store.update(|b| Ok(b.devices().len())).is_err());
            assert_eq!(std::fs::read_to_string(&path).unwrap(), damaged);
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn own_devices_that_joined_are_told_apart_from_the_first_list() {
        let mut book = ContactBook::new();
        let list = |ids: &[(&str, u64)]| -> Vec<(String, [u8; 32])> {
            ids.iter()
                .map(|(id, k)| ((*id).to_owned(), key(*k)))
                .collect()
        };
        assert!(
            book.note_own_devices(&list(&[("me", 1), ("old", 2)]))
                .is_empty()
        );
        assert!(
            book.note_own_devices(&list(&[("me", 1), ("old", 2)]))
                .is_empty()
        );
        assert_eq!(
            book.note_own_devices(&list(&[("me", 1), ("old", 3), ("new", 4)])),
            ["old", "new"]
        );
        // A removed device is simply gone from the list.
        assert!(book.note_own_devices(&list(&[("me", 1)])).is_empty());
    }

    /// A synced setting under `calling`.
    fn view(calling: CallingEncryptionType) -> SettingView {
        SettingView {
            stored_choice: true,
            effective: true,
            lock: None,
            policy: "Global".to_owned(),
            calling,
            compliance_recording: false,
        }
    }

    #[test]
    fn the_synced_setting_is_kept_and_a_dropped_requirement_is_told() {
        let mut book = ContactBook::new();
        assert!(book.setting().is_none());
        assert!(
            book.note_setting(&view(CallingEncryptionType::DisabledUserOverride))
                .is_none()
        );
        assert!(
            book.note_setting(&view(CallingEncryptionType::Required))
                .is_none()
        );
        assert!(
            book.note_setting(&view(CallingEncryptionType::Required))
                .is_none()
        );
        let told = book
            .note_setting(&view(CallingEncryptionType::Disabled))
            .unwrap();
        assert!(told.contains("no longer requires end-to-end"), "{told}");
        let again = ContactBook::from_json(&book.to_json()).unwrap();
        assert_eq!(
            again.setting().map(|s| s.calling),
            Some(CallingEncryptionType::Disabled)
        );
    }

    #[test]
    fn a_dropped_post_quantum_requirement_is_told_too() {
        use CallingEncryptionType::{
            Disabled, DisabledUserOverride, Required, RequiredPostQuantum,
        };
        // (last synced, now) -> what the device is told, if anything.
        let cases = [
            (
                RequiredPostQuantum,
                Disabled,
                Some("no longer requires end-to-end"),
            ),
            (
                RequiredPostQuantum,
                DisabledUserOverride,
                Some("no longer requires end-to-end"),
            ),
            (
                RequiredPostQuantum,
                Required,
                Some("no longer requires post-quantum"),
            ),
            (RequiredPostQuantum, RequiredPostQuantum, None),
            (Required, RequiredPostQuantum, None),
            (DisabledUserOverride, RequiredPostQuantum, None),
        ];
        for (before, now, told) in cases {
            let mut book = ContactBook::new();
            assert!(book.note_setting(&view(before)).is_none());
            let got = book.note_setting(&view(now));
            match told {
                Some(part) => {
                    let got = got.unwrap_or_default();
                    assert!(got.contains(part), "{before:?} -> {now:?}: {got}");
                }
                None => assert_eq!(got, None, "{before:?} -> {now:?}"),
            }
        }
    }

    #[test]
    fn the_safety_number_is_the_same_on_both_sides() {
        let ken = DeviceIdentity::generate(&mut sealcall_e2ee::__test_rng(1));
        let ana = DeviceIdentity::generate(&mut sealcall_e2ee::__test_rng(2));
        let mut kens_book = ContactBook::new();
        kens_book.record("ana", "a1", &ana.public().to_bytes(), 1);
        let mut anas_book = ContactBook::new();
        anas_book.record("ken", "k1", &ken.public().to_bytes(), 1);
        let at_ken = safety_number("ken", &ken.public(), &kens_book.devices()[0]).unwrap();
        let at_ana = safety_number("ana", &ana.public(), &anas_book.devices()[0]).unwrap();
        assert_eq!(at_ken, at_ana);
    }

    #[test]
    fn messages_name_the_person_and_warn_only_on_a_change() {
        for (status, warn) in [
            (PeerKeyStatus::FirstContact, false),
            (
                PeerKeyStatus::NewDevice {
                    verified_devices: 0,
                },
                false,
            ),
            (PeerKeyStatus::Known { verified: true }, false),
            (
                PeerKeyStatus::Changed {
                    was_verified: false,
                },
                true,
            ),
        ] {
            assert_eq!(status.is_warning(), warn);
            assert!(status.user_message("Ana").contains("Ana"));
        }
    }
}
