//! Client capability: which platforms and versions can negotiate end-to-end encryption.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{PolicyError, echo};

/// The platform a device reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Platform {
    /// Sealcall desktop client on Windows.
    Windows,
    /// Sealcall desktop client on macOS.
    Mac,
    /// Sealcall desktop client on Linux.
    Linux,
    /// Sealcall command-line client (any desktop OS).
    Cli,
    /// Sealcall mobile app on iOS / iPadOS.
    Ios,
    /// Sealcall mobile app on Android.
    Android,
    /// A meeting-room device running Windows.
    RoomsWindows,
    /// A meeting-room device running Android.
    RoomsAndroid,
    /// A web browser.
    Web,
    /// Anything else, or a platform the device did not report.
    Unknown,
}

impl Platform {
    /// Every platform.
    pub const ALL: [Platform; 10] = [
        Platform::Windows,
        Platform::Mac,
        Platform::Linux,
        Platform::Cli,
        Platform::Ios,
        Platform::Android,
        Platform::RoomsWindows,
        Platform::RoomsAndroid,
        Platform::Web,
        Platform::Unknown,
    ];

    /// Whether clients on this platform can make end-to-end encrypted calls at all (given a
    /// recent enough version): the desktop clients (Windows, Mac, Linux), the CLI, the mobile
    /// apps (iOS, Android) and rooms devices on Windows. Web, rooms devices on Android and
    /// unknown platforms never can.
    pub fn supports_e2ee(self) -> bool {
        matches!(
            self,
            Platform::Windows
                | Platform::Mac
                | Platform::Linux
                | Platform::Cli
                | Platform::Ios
                | Platform::Android
                | Platform::RoomsWindows
        )
    }

    /// The canonical spelling (as accepted by [`FromStr`]).
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Windows => "Windows",
            Platform::Mac => "Mac",
            Platform::Linux => "Linux",
            Platform::Cli => "Cli",
            Platform::Ios => "iOS",
            Platform::Android => "Android",
            Platform::RoomsWindows => "RoomsWindows",
            Platform::RoomsAndroid => "RoomsAndroid",
            Platform::Web => "Web",
            Platform::Unknown => "Unknown",
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Platform {
    type Err = PolicyError;
    /// Case-insensitive canonical spelling.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|p| p.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                let names: Vec<&str> = Self::ALL.iter().map(|p| p.as_str()).collect();
                PolicyError::InvalidValue {
                    parameter: "Platform".to_owned(),
                    value: echo(s),
                    expected: format!("one of {}", names.join(", ")),
                    suggestion: crate::suggest::nearest(s, names.iter().copied()),
                }
            })
    }
}

/// A client version `major.minor.patch`, ordered numerically.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ClientVersion {
    /// Major version.
    pub major: u32,
    /// Minor version.
    pub minor: u32,
    /// Patch version.
    pub patch: u32,
}

impl ClientVersion {
    /// `major.minor.patch`.
    pub const fn new(major: u32, minor: u32, patch: u32) -> Self {
        Self {
            major,
            minor,
            patch,
        }
    }
}

impl fmt::Display for ClientVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

impl FromStr for ClientVersion {
    type Err = PolicyError;
    /// Parses `major`, `major.minor` or `major.minor.patch` (missing parts are 0).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let invalid = || PolicyError::InvalidValue {
            parameter: "ClientVersion".to_owned(),
            value: echo(s),
            expected: "a version such as 1.4.0".to_owned(),
            suggestion: None,
        };
        let mut parts = [0u32; 3];
        for (index, piece) in s.split('.').enumerate() {
            let slot = parts.get_mut(index).ok_or_else(invalid)?;
            if piece.is_empty() || !piece.bytes().all(|b| b.is_ascii_digit()) {
                return Err(invalid());
            }
            *slot = piece.parse().map_err(|_| invalid())?;
        }
        let [major, minor, patch] = parts;
        Ok(Self::new(major, minor, patch))
    }
}

/// What a device reports about itself when it places or answers a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DeviceInfo {
    /// The platform.
    pub platform: Platform,
    /// The client version.
    pub version: ClientVersion,
}

impl DeviceInfo {
    /// A device report.
    pub fn new(platform: Platform, version: ClientVersion) -> Self {
        Self { platform, version }
    }
}

/// The organisation's minimum client versions for end-to-end encrypted calls ("the latest
/// version" of each client, as the organisation defines it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientRequirements {
    default_minimum: ClientVersion,
    per_platform: BTreeMap<Platform, ClientVersion>,
}

impl Default for ClientRequirements {
    /// Every supported platform needs at least 0.1.0 (the first Sealcall release, which already
    /// supports end-to-end encryption).
    fn default() -> Self {
        Self::uniform(ClientVersion::new(0, 1, 0))
    }
}

impl ClientRequirements {
    /// The same minimum for every supported platform.
    pub fn uniform(minimum: ClientVersion) -> Self {
        Self {
            default_minimum: minimum,
            per_platform: BTreeMap::new(),
        }
    }

    /// Sets a platform-specific minimum (overrides the uniform one for that platform).
    #[must_use]
    pub fn with_platform_minimum(mut self, platform: Platform, minimum: ClientVersion) -> Self {
        self.per_platform.insert(platform, minimum);
        self
    }

    /// Removes a platform-specific minimum (the platform follows the uniform one again).
    #[must_use]
    pub fn without_platform_minimum(mut self, platform: Platform) -> Self {
        self.per_platform.remove(&platform);
        self
    }

    /// Replaces the uniform minimum (platform-specific ones stay).
    #[must_use]
    pub fn with_default_minimum(mut self, minimum: ClientVersion) -> Self {
        self.default_minimum = minimum;
        self
    }

    /// The minimum for every supported platform without a specific one.
    pub fn default_minimum(&self) -> ClientVersion {
        self.default_minimum
    }

    /// The platform-specific minimums, by platform.
    pub fn platform_minimums(&self) -> impl Iterator<Item = (Platform, ClientVersion)> + '_ {
        self.per_platform.iter().map(|(p, v)| (*p, *v))
    }

    /// The minimum version for `platform`, or `None` if the platform can't do end-to-end
    /// encryption at any version.
    pub fn minimum_for(&self, platform: Platform) -> Option<ClientVersion> {
        if !platform.supports_e2ee() {
            return None;
        }
        Some(
            self.per_platform
                .get(&platform)
                .copied()
                .unwrap_or(self.default_minimum),
        )
    }

    /// Whether `device` can negotiate end-to-end encryption.
    pub fn assess(&self, device: &DeviceInfo) -> Capability {
        match self.minimum_for(device.platform) {
            None => Capability::UnsupportedPlatform {
                platform: device.platform,
            },
            Some(minimum) if device.version < minimum => Capability::OutdatedClient {
                platform: device.platform,
                version: device.version,
                minimum,
            },
            Some(_) => Capability::Capable,
        }
    }
}

/// `default 0.1.0; Windows 1.2.0; iOS 2.0.0` (the audit log's form).
impl fmt::Display for ClientRequirements {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "default {}", self.default_minimum)?;
        for (platform, minimum) in &self.per_platform {
            write!(f, "; {platform} {minimum}")?;
        }
        Ok(())
    }
}

/// Whether a device can take part in an end-to-end encrypted call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Capability {
    /// Supported platform at or above the organisation's minimum version.
    Capable,
    /// The platform never supports end-to-end encryption.
    UnsupportedPlatform {
        /// The reported platform.
        platform: Platform,
    },
    /// The client is older than the organisation's minimum.
    OutdatedClient {
        /// The reported platform.
        platform: Platform,
        /// The reported version.
        version: ClientVersion,
        /// The minimum for that platform.
        minimum: ClientVersion,
    },
}

impl Capability {
    /// Whether the device is capable.
    pub fn is_capable(self) -> bool {
        matches!(self, Capability::Capable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse_and_order() {
        assert_eq!(
            "1.2.3".parse::<ClientVersion>().unwrap(),
            ClientVersion::new(1, 2, 3)
        );
        assert_eq!(
            "2".parse::<ClientVersion>().unwrap(),
            ClientVersion::new(2, 0, 0)
        );
        for bad in ["", "1..2", "1.2.3.4", "a.b", "-1", "1.2.", "99999999999"] {
            assert!(bad.parse::<ClientVersion>().is_err(), "{bad}");
        }
        assert!(ClientVersion::new(1, 10, 0) > ClientVersion::new(1, 9, 9));
    }

    #[test]
    fn assessment_follows_platform_and_minimum() {
        let req = ClientRequirements::uniform(ClientVersion::new(1, 4, 0))
            .with_platform_minimum(Platform::Ios, ClientVersion::new(2, 0, 0));
        let dev = |p, v: &str| DeviceInfo::new(p, v.parse().unwrap());
        assert_eq!(
            req.assess(&dev(Platform::Linux, "1.4.0")),
            Capability::Capable
        );
        assert!(matches!(
            req.assess(&dev(Platform::Linux, "1.3.9")),
            Capability::OutdatedClient { .. }
        ));
        assert!(matches!(
            req.assess(&dev(Platform::Ios, "1.9.0")),
            Capability::OutdatedClient { .. }
        ));
        assert_eq!(
            req.assess(&dev(Platform::Web, "99.0.0")),
            Capability::UnsupportedPlatform {
                platform: Platform::Web
            }
        );
        assert_eq!("ios".parse::<Platform>().unwrap(), Platform::Ios);
        assert!("Windoes".parse::<Platform>().is_err());
    }
}
