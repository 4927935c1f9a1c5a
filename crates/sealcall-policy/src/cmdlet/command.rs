//! The parsed form of a cmdlet and its canonical rendering.

use std::fmt;

use crate::client::{ClientVersion, Platform};
use crate::model::{
    CallingEncryptionType, GroupId, MeetingEncryptionType, PolicyIdentity, PolicyName, Rank, UserId,
};
use crate::store::ComplianceScope;

/// The cmdlets: the five of the reference's enhanced encryption policy family, and Sealcall's
/// two for what the organisation also sets (compliance recording, minimum client versions).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cmdlet {
    /// `New-CsTeamsEnhancedEncryptionPolicy`.
    New,
    /// `Get-CsTeamsEnhancedEncryptionPolicy`.
    Get,
    /// `Set-CsTeamsEnhancedEncryptionPolicy`.
    Set,
    /// `Remove-CsTeamsEnhancedEncryptionPolicy`.
    Remove,
    /// `Grant-CsTeamsEnhancedEncryptionPolicy`.
    Grant,
    /// `Set-SealcallComplianceRecording`: compliance recording for the organisation or a user.
    SetComplianceRecording,
    /// `Set-SealcallClientRequirements`: the minimum client versions.
    SetClientRequirements,
}

impl Cmdlet {
    /// Every cmdlet.
    pub const ALL: [Cmdlet; 7] = [
        Cmdlet::New,
        Cmdlet::Get,
        Cmdlet::Set,
        Cmdlet::Remove,
        Cmdlet::Grant,
        Cmdlet::SetComplianceRecording,
        Cmdlet::SetClientRequirements,
    ];

    /// The full cmdlet name.
    pub fn name(self) -> &'static str {
        match self {
            Cmdlet::New => "New-CsTeamsEnhancedEncryptionPolicy",
            Cmdlet::Get => "Get-CsTeamsEnhancedEncryptionPolicy",
            Cmdlet::Set => "Set-CsTeamsEnhancedEncryptionPolicy",
            Cmdlet::Remove => "Remove-CsTeamsEnhancedEncryptionPolicy",
            Cmdlet::Grant => "Grant-CsTeamsEnhancedEncryptionPolicy",
            Cmdlet::SetComplianceRecording => "Set-SealcallComplianceRecording",
            Cmdlet::SetClientRequirements => "Set-SealcallClientRequirements",
        }
    }
}

impl fmt::Display for Cmdlet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Policy settings given on a command line; `None` leaves a setting as it is (or at its default
/// for `New-`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PolicySettings {
    /// `-CallingEndtoEndEncryptionEnabledType`.
    pub calling: Option<CallingEncryptionType>,
    /// `-MeetingEndToEndEncryption`.
    pub meeting: Option<MeetingEncryptionType>,
    /// `-Description` (`$null` is the empty description).
    pub description: Option<String>,
}

impl PolicySettings {
    /// Whether no setting is given.
    pub fn is_empty(&self) -> bool {
        self.calling.is_none() && self.meeting.is_none() && self.description.is_none()
    }
}

/// What a `Grant-` assigns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GrantTarget {
    /// `-Identity <user> -PolicyName <name|$null>`: a direct assignment; `$null` removes it.
    User {
        /// The user.
        user: UserId,
        /// The policy, or `None` to fall back.
        policy: Option<PolicyName>,
    },
    /// `-Group <group> -PolicyName <name> -Rank <n>`, or `-PolicyName $null` to remove it.
    Group {
        /// The group.
        group: GroupId,
        /// The policy and rank, or `None` to remove the group's assignment.
        assignment: Option<(PolicyName, Rank)>,
    },
    /// `-Global -PolicyName <name|$null>`: the tenant-wide default; `$null` restores the
    /// built-in Global policy as the default.
    TenantDefault {
        /// The policy, or `None`.
        policy: Option<PolicyName>,
    },
    /// `-Identity Global` with settings: changes the Global policy's settings.
    GlobalSettings(PolicySettings),
}

/// A parsed command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Creates a tag policy.
    New {
        /// Its name.
        name: PolicyName,
        /// Its settings (unset ones default to `Disabled` and an empty description).
        settings: PolicySettings,
    },
    /// Shows one policy, or all with `None`.
    Get {
        /// The policy, or `None` for all.
        identity: Option<PolicyIdentity>,
    },
    /// Changes a policy's settings.
    Set {
        /// The policy (`Global` when `-Identity` is omitted).
        identity: PolicyIdentity,
        /// What to change (at least one setting).
        settings: PolicySettings,
    },
    /// Removes a tag policy.
    Remove {
        /// The policy.
        identity: PolicyIdentity,
        /// `-Force`: also unassign it everywhere (users fall back).
        force: bool,
    },
    /// Assigns a policy.
    Grant(GrantTarget),
    /// `Set-SealcallComplianceRecording -Organization|-Identity <user> -Enabled $true|$false`:
    /// turns a compliance-recording assignment on or off. Recorded calls are never end-to-end
    /// encrypted.
    SetComplianceRecording {
        /// Who it covers.
        scope: ComplianceScope,
        /// On or off.
        enabled: bool,
    },
    /// `Set-SealcallClientRequirements [-Platform <p>] -MinimumVersion <v|$null>`: the minimum
    /// client version for end-to-end encrypted calls, for every platform (no `-Platform`) or one
    /// (`$null` removes that platform's own minimum).
    SetClientMinimum {
        /// The platform, or `None` for the uniform minimum.
        platform: Option<Platform>,
        /// The minimum, or `None` (only with a platform) to follow the uniform one again.
        minimum: Option<ClientVersion>,
    },
}

impl Command {
    /// Which cmdlet this is.
    pub fn cmdlet(&self) -> Cmdlet {
        match self {
            Command::New { .. } => Cmdlet::New,
            Command::Get { .. } => Cmdlet::Get,
            Command::Set { .. } => Cmdlet::Set,
            Command::Remove { .. } => Cmdlet::Remove,
            Command::Grant(_) => Cmdlet::Grant,
            Command::SetComplianceRecording { .. } => Cmdlet::SetComplianceRecording,
            Command::SetClientMinimum { .. } => Cmdlet::SetClientRequirements,
        }
    }
}

/// Quotes `text` for a command line when it needs it: double quotes, with a backtick before
/// any backtick or double-quote character inside (no variable expansion happens in Sealcall).
pub(crate) fn quote(text: &str) -> String {
    let plain = !text.is_empty()
        && !text.starts_with(['-', '$', '#'])
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '@' | '.' | '_' | ':' | '-'));
    if plain {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        if matches!(c, '`' | '"' | '\u{201c}' | '\u{201d}' | '\u{201e}') {
            out.push('`');
        }
        out.push(c);
    }
    out.push('"');
    out
}

fn name_or_null(name: Option<&PolicyName>) -> String {
    name.map_or_else(|| "$null".to_owned(), |n| quote(n.as_str()))
}

fn write_settings(f: &mut fmt::Formatter<'_>, settings: &PolicySettings) -> fmt::Result {
    if let Some(calling) = settings.calling {
        write!(f, " -CallingEndtoEndEncryptionEnabledType {calling}")?;
    }
    if let Some(meeting) = settings.meeting {
        write!(f, " -MeetingEndToEndEncryption {meeting}")?;
    }
    if let Some(description) = &settings.description {
        write!(f, " -Description {}", quote(description))?;
    }
    Ok(())
}

/// The canonical command line; parsing it gives back the same command.
impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.cmdlet().name())?;
        match self {
            Command::New { name, settings } => {
                write!(f, " -Identity {}", quote(&format!("Tag:{name}")))?;
                write_settings(f, settings)
            }
            Command::Get { identity } => match identity {
                Some(identity) => write!(f, " -Identity {}", quote(&identity.to_string())),
                None => Ok(()),
            },
            Command::Set { identity, settings } => {
                write!(f, " -Identity {}", quote(&identity.to_string()))?;
                write_settings(f, settings)
            }
            Command::Remove { identity, force } => {
                write!(f, " -Identity {}", quote(&identity.to_string()))?;
                if *force {
                    f.write_str(" -Force")?;
                }
                Ok(())
            }
            Command::Grant(target) => match target {
                GrantTarget::User { user, policy } => write!(
                    f,
                    " -Identity {} -PolicyName {}",
                    quote(user.as_str()),
                    name_or_null(policy.as_ref())
                ),
                GrantTarget::Group { group, assignment } => match assignment {
                    Some((policy, rank)) => write!(
                        f,
                        " -Group {} -PolicyName {} -Rank {rank}",
                        quote(group.as_str()),
                        quote(policy.as_str())
                    ),
                    None => write!(f, " -Group {} -PolicyName $null", quote(group.as_str())),
                },
                GrantTarget::TenantDefault { policy } => {
                    write!(f, " -Global -PolicyName {}", name_or_null(policy.as_ref()))
                }
                GrantTarget::GlobalSettings(settings) => {
                    f.write_str(" -Identity Global")?;
                    write_settings(f, settings)
                }
            },
            Command::SetComplianceRecording { scope, enabled } => {
                match scope {
                    ComplianceScope::Organization => f.write_str(" -Organization")?,
                    ComplianceScope::User(user) => {
                        write!(f, " -Identity {}", quote(user.as_str()))?
                    }
                }
                write!(f, " -Enabled {}", if *enabled { "$true" } else { "$false" })
            }
            Command::SetClientMinimum { platform, minimum } => {
                if let Some(platform) = platform {
                    write!(f, " -Platform {platform}")?;
                }
                match minimum {
                    Some(minimum) => write!(f, " -MinimumVersion {minimum}"),
                    None => f.write_str(" -MinimumVersion $null"),
                }
            }
        }
    }
}
