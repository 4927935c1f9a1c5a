//! Names, identities, policy values and the policy object.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{NameProblem, PolicyError, echo};

/// Seconds since the Unix epoch, supplied by the caller (this crate never reads a clock).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Timestamp(pub u64);

/// Longest policy name, in characters.
pub const MAX_POLICY_NAME_CHARS: usize = 64;
/// Longest user or group identity, in characters.
pub const MAX_PRINCIPAL_CHARS: usize = 256;
/// Longest policy description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 1024;

/// The name of a custom (tag) policy, e.g. `ContosoE2EEUserPolicy`.
///
/// Names are 1 to [`MAX_POLICY_NAME_CHARS`] characters of ASCII letters, digits, `-`, `_` and `.`;
/// they can't contain spaces, and `Global` is reserved for the built-in policy. Names compare
/// case-insensitively (ASCII), as PowerShell does, and keep the spelling they were created with.
#[derive(Clone, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PolicyName(String);

impl PolicyName {
    /// Validates a bare policy name (without the `Tag:` prefix).
    pub fn new(name: &str) -> Result<Self, NameProblem> {
        if name.is_empty() {
            return Err(NameProblem::Empty);
        }
        if let Some(c) = name.chars().find(|c| !is_name_char(*c)) {
            return Err(if c.is_whitespace() {
                NameProblem::ContainsSpace
            } else {
                NameProblem::InvalidCharacter(c)
            });
        }
        if name.len() > MAX_POLICY_NAME_CHARS {
            return Err(NameProblem::TooLong {
                max: MAX_POLICY_NAME_CHARS,
            });
        }
        if name.eq_ignore_ascii_case("global") {
            return Err(NameProblem::Reserved);
        }
        Ok(Self(name.to_owned()))
    }

    /// The name as it was created.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The lookup key: the name in ASCII lower case (stores compare names with it).
    pub fn key(&self) -> String {
        self.0.to_ascii_lowercase()
    }
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')
}

impl PartialEq for PolicyName {
    fn eq(&self, other: &Self) -> bool {
        self.0.eq_ignore_ascii_case(&other.0)
    }
}
impl Eq for PolicyName {}
impl Hash for PolicyName {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.key().hash(state);
    }
}
impl PartialOrd for PolicyName {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for PolicyName {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key().cmp(&other.key())
    }
}
impl fmt::Debug for PolicyName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PolicyName({:?})", self.0)
    }
}
impl fmt::Display for PolicyName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl TryFrom<String> for PolicyName {
    type Error = NameProblem;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::new(&value)
    }
}
impl From<PolicyName> for String {
    fn from(value: PolicyName) -> Self {
        value.0
    }
}

/// The identity of an enhanced encryption policy: the built-in `Global` policy or a tag policy.
///
/// Parsed from `Global`, `Tag:Name` or `Name` (case-insensitive); displayed as `Global` or
/// `Tag:Name`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum PolicyIdentity {
    /// The organisation-wide default policy. It always exists and can't be removed.
    Global,
    /// A custom policy.
    Tag(PolicyName),
}

impl PolicyIdentity {
    /// Parses `Global`, `Tag:Name` or `Name`.
    pub fn parse(text: &str) -> Result<Self, NameProblem> {
        if text.eq_ignore_ascii_case("global") {
            return Ok(PolicyIdentity::Global);
        }
        let bare = match text.get(..4) {
            Some(prefix) if prefix.eq_ignore_ascii_case("tag:") => &text[4..],
            _ => {
                if text.contains(':') {
                    return Err(NameProblem::UnsupportedScope);
                }
                text
            }
        };
        PolicyName::new(bare).map(PolicyIdentity::Tag)
    }

    /// The tag name, or `None` for Global.
    pub fn tag(&self) -> Option<&PolicyName> {
        match self {
            PolicyIdentity::Global => None,
            PolicyIdentity::Tag(name) => Some(name),
        }
    }
}

impl fmt::Display for PolicyIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PolicyIdentity::Global => f.write_str("Global"),
            PolicyIdentity::Tag(name) => write!(f, "Tag:{name}"),
        }
    }
}
impl FromStr for PolicyIdentity {
    type Err = NameProblem;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}
impl TryFrom<String> for PolicyIdentity {
    type Error = NameProblem;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}
impl From<PolicyIdentity> for String {
    fn from(value: PolicyIdentity) -> Self {
        value.to_string()
    }
}
impl From<PolicyName> for PolicyIdentity {
    fn from(value: PolicyName) -> Self {
        PolicyIdentity::Tag(value)
    }
}

fn validate_principal(text: &str) -> Result<(), NameProblem> {
    if text.trim().is_empty() {
        return Err(NameProblem::Empty);
    }
    if text.starts_with(char::is_whitespace) || text.ends_with(char::is_whitespace) {
        return Err(NameProblem::ContainsSpace);
    }
    if let Some(c) = text.chars().find(|c| c.is_control()) {
        return Err(NameProblem::InvalidCharacter(c));
    }
    if text.chars().count() > MAX_PRINCIPAL_CHARS {
        return Err(NameProblem::TooLong {
            max: MAX_PRINCIPAL_CHARS,
        });
    }
    Ok(())
}

macro_rules! principal {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Validates an identity: 1 to [`MAX_PRINCIPAL_CHARS`] characters, no control
            /// characters, no leading or trailing whitespace.
            pub fn new(text: &str) -> Result<Self, NameProblem> {
                validate_principal(text)?;
                Ok(Self(text.to_owned()))
            }

            /// The identity as given.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The lookup key: ASCII lower case (identities compare case-insensitively).
            pub fn key(&self) -> String {
                self.0.to_ascii_lowercase()
            }
        }

        impl PartialEq for $name {
            fn eq(&self, other: &Self) -> bool {
                self.0.eq_ignore_ascii_case(&other.0)
            }
        }
        impl Eq for $name {}
        impl Hash for $name {
            fn hash<H: Hasher>(&self, state: &mut H) {
                self.key().hash(state);
            }
        }
        impl PartialOrd for $name {
            fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
                Some(self.cmp(other))
            }
        }
        impl Ord for $name {
            fn cmp(&self, other: &Self) -> Ordering {
                self.key().cmp(&other.key())
            }
        }
        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($name), self.0)
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl TryFrom<String> for $name {
            type Error = NameProblem;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::new(&value)
            }
        }
        impl From<$name> for String {
            fn from(value: $name) -> Self {
                value.0
            }
        }
        impl FromStr for $name {
            type Err = NameProblem;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::new(s)
            }
        }
    };
}

principal!(
    /// A user's identity in the directory (typically a sign-in address such as
    /// `kenmeyer@contoso.onmicrosoft.com`). Compares case-insensitively (ASCII).
    UserId
);
principal!(
    /// A group's identity in the directory. Compares case-insensitively (ASCII).
    GroupId
);

/// A group assignment's rank: 1 is the highest priority. When a user is in several groups
/// with assignments, the one with the lowest rank number applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub struct Rank(u32);

impl Rank {
    /// A rank of at least 1.
    pub fn new(rank: u32) -> Option<Self> {
        (rank >= 1).then_some(Self(rank))
    }

    /// The rank number.
    pub fn get(self) -> u32 {
        self.0
    }
}

impl TryFrom<u32> for Rank {
    type Error = &'static str;
    fn try_from(value: u32) -> Result<Self, Self::Error> {
        Rank::new(value).ok_or("rank must be at least 1")
    }
}
impl From<Rank> for u32 {
    fn from(value: Rank) -> Self {
        value.0
    }
}
impl fmt::Display for Rank {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// `CallingEndtoEndEncryptionEnabledType`: whether end-to-end encrypted one-to-one calls are
/// allowed for the users the policy applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum CallingEncryptionType {
    /// "Not enabled": end-to-end encryption is off and users can't turn it on.
    Disabled,
    /// "Not enabled, but users can enable": off by default; users can turn on
    /// "End-to-end encrypted calls" in their settings.
    DisabledUserOverride,
    /// Sealcall extension, fail closed: the user's setting is forced on and locked, and a call
    /// that can't be end-to-end encrypted is refused.
    Required,
    /// Sealcall extension, fail closed and post-quantum: everything [`Required`] does, and the
    /// device also refuses an end-to-end encrypted call whose key agreement is not the hybrid
    /// X25519 + ML-KEM-768 one.
    ///
    /// [`Required`]: CallingEncryptionType::Required
    RequiredPostQuantum,
}

impl CallingEncryptionType {
    /// Every value, in the order they are listed in errors.
    pub const ALL: [CallingEncryptionType; 4] = [
        CallingEncryptionType::Disabled,
        CallingEncryptionType::DisabledUserOverride,
        CallingEncryptionType::Required,
        CallingEncryptionType::RequiredPostQuantum,
    ];

    /// The cmdlet spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            CallingEncryptionType::Disabled => "Disabled",
            CallingEncryptionType::DisabledUserOverride => "DisabledUserOverride",
            CallingEncryptionType::Required => "Required",
            CallingEncryptionType::RequiredPostQuantum => "RequiredPostQuantum",
        }
    }

    /// The label of the "End-to-end call encryption" choice in an admin console.
    pub fn admin_label(self) -> &'static str {
        match self {
            CallingEncryptionType::Disabled => "Not enabled",
            CallingEncryptionType::DisabledUserOverride => "Not enabled, but users can enable",
            CallingEncryptionType::Required => "Required",
            CallingEncryptionType::RequiredPostQuantum => "Required, post-quantum",
        }
    }

    /// Whether a user under this value may have end-to-end encrypted calls at all.
    pub fn allows_e2ee(self) -> bool {
        !matches!(self, CallingEncryptionType::Disabled)
    }

    /// Whether this value requires end-to-end encrypted calls (`Required` or
    /// `RequiredPostQuantum`): the user's setting is forced on and locked, and a call that can't
    /// be end-to-end encrypted is refused (by the server) or ended (by the device).
    pub fn requires_end_to_end(self) -> bool {
        matches!(
            self,
            CallingEncryptionType::Required | CallingEncryptionType::RequiredPostQuantum
        )
    }

    /// Whether this value also requires a post-quantum key agreement (`RequiredPostQuantum`
    /// only): the device refuses an end-to-end encrypted call whose handshake is not the hybrid
    /// X25519 + ML-KEM-768 one. Implies [`requires_end_to_end`](Self::requires_end_to_end).
    pub fn requires_post_quantum(self) -> bool {
        matches!(self, CallingEncryptionType::RequiredPostQuantum)
    }
}

impl fmt::Display for CallingEncryptionType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for CallingEncryptionType {
    type Err = PolicyError;
    /// Case-insensitive.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|v| v.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| invalid_enum("CallingEndtoEndEncryptionEnabledType", s, &Self::ALL))
    }
}

/// `MeetingEndToEndEncryption`: stored and shown; meetings are out of Sealcall's scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum MeetingEncryptionType {
    /// End-to-end encrypted meetings are off.
    Disabled,
    /// Off by default; organisers may turn them on.
    DisabledUserOverride,
}

impl MeetingEncryptionType {
    /// Every value.
    pub const ALL: [MeetingEncryptionType; 2] = [
        MeetingEncryptionType::Disabled,
        MeetingEncryptionType::DisabledUserOverride,
    ];

    /// The cmdlet spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            MeetingEncryptionType::Disabled => "Disabled",
            MeetingEncryptionType::DisabledUserOverride => "DisabledUserOverride",
        }
    }
}

impl fmt::Display for MeetingEncryptionType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for MeetingEncryptionType {
    type Err = PolicyError;
    /// Case-insensitive.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|v| v.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| invalid_enum("MeetingEndToEndEncryption", s, &Self::ALL))
    }
}

fn invalid_enum<T: fmt::Display>(parameter: &str, value: &str, all: &[T]) -> PolicyError {
    let names: Vec<String> = all.iter().map(ToString::to_string).collect();
    PolicyError::InvalidValue {
        parameter: parameter.to_owned(),
        value: echo(value),
        expected: format!("one of {}", names.join(", ")),
        suggestion: crate::suggest::nearest(value, names.iter().map(String::as_str)),
    }
}

/// An enhanced encryption policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnhancedEncryptionPolicy {
    /// `Global` or `Tag:Name`.
    pub identity: PolicyIdentity,
    /// `CallingEndtoEndEncryptionEnabledType`.
    pub calling: CallingEncryptionType,
    /// `MeetingEndToEndEncryption` (stored and shown only).
    pub meeting: MeetingEncryptionType,
    /// Free text for administrators (may be empty).
    pub description: String,
}

impl EnhancedEncryptionPolicy {
    /// The built-in Global policy as every organisation starts with it: end-to-end encryption
    /// disabled.
    pub fn builtin_global() -> Self {
        Self::new(PolicyIdentity::Global)
    }

    /// A policy with the default settings (`Disabled`, `Disabled`, empty description).
    pub fn new(identity: PolicyIdentity) -> Self {
        Self {
            identity,
            calling: CallingEncryptionType::Disabled,
            meeting: MeetingEncryptionType::Disabled,
            description: String::new(),
        }
    }

    /// A one-line summary for audit records:
    /// `Identity=Tag:X; CallingEndtoEndEncryptionEnabledType=...; MeetingEndToEndEncryption=...; Description=...`.
    pub fn summary(&self) -> String {
        format!(
            "Identity={}; CallingEndtoEndEncryptionEnabledType={}; MeetingEndToEndEncryption={}; Description={:?}",
            self.identity, self.calling, self.meeting, self.description
        )
    }
}

/// Validates a description: at most [`MAX_DESCRIPTION_CHARS`] characters and no control
/// characters other than tab.
pub(crate) fn validate_description(parameter: &str, text: &str) -> Result<(), PolicyError> {
    let bad = text.chars().find(|c| c.is_control() && *c != '\t');
    if let Some(c) = bad {
        return Err(PolicyError::InvalidName {
            parameter: parameter.to_owned(),
            name: echo(text),
            problem: NameProblem::InvalidCharacter(c),
        });
    }
    if text.chars().count() > MAX_DESCRIPTION_CHARS {
        return Err(PolicyError::InvalidName {
            parameter: parameter.to_owned(),
            name: echo(text),
            problem: NameProblem::TooLong {
                max: MAX_DESCRIPTION_CHARS,
            },
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_names_reject_spaces_and_reserved() {
        assert_eq!(
            PolicyName::new("Contoso Policy"),
            Err(NameProblem::ContainsSpace)
        );
        assert_eq!(PolicyName::new(""), Err(NameProblem::Empty));
        assert_eq!(PolicyName::new("GLOBAL"), Err(NameProblem::Reserved));
        assert_eq!(
            PolicyName::new("a/b"),
            Err(NameProblem::InvalidCharacter('/'))
        );
        assert!(PolicyName::new(&"a".repeat(MAX_POLICY_NAME_CHARS)).is_ok());
        assert!(matches!(
            PolicyName::new(&"a".repeat(MAX_POLICY_NAME_CHARS + 1)),
            Err(NameProblem::TooLong { .. })
        ));
    }

    #[test]
    fn identity_forms() {
        let a = PolicyIdentity::parse("Tag:ContosoE2EEUserPolicy").unwrap();
        let b = PolicyIdentity::parse("contosoe2eeuserpolicy").unwrap();
        assert_eq!(a, b);
        assert_eq!(a.to_string(), "Tag:ContosoE2EEUserPolicy");
        assert_eq!(
            PolicyIdentity::parse("gLoBaL").unwrap(),
            PolicyIdentity::Global
        );
        assert_eq!(
            PolicyIdentity::parse("Site:Redmond"),
            Err(NameProblem::UnsupportedScope)
        );
        assert_eq!(
            PolicyIdentity::parse("Tag:Global"),
            Err(NameProblem::Reserved)
        );
    }

    #[test]
    fn principals_compare_case_insensitively() {
        let a = UserId::new("KenMeyer@Contoso.onmicrosoft.com").unwrap();
        let b = UserId::new("kenmeyer@contoso.onmicrosoft.com").unwrap();
        assert_eq!(a, b);
        assert_eq!(a.as_str(), "KenMeyer@Contoso.onmicrosoft.com");
        assert!(UserId::new(" ken").is_err());
        assert!(UserId::new("").is_err());
        assert!(UserId::new("a\u{0}b").is_err());
        assert!(GroupId::new("Sales Team").is_ok());
    }

    #[test]
    fn enum_values_parse_case_insensitively_and_suggest() {
        assert_eq!(
            "disableduseroverride"
                .parse::<CallingEncryptionType>()
                .unwrap(),
            CallingEncryptionType::DisabledUserOverride
        );
        let err = "DisabledUserOveride"
            .parse::<CallingEncryptionType>()
            .unwrap_err();
        match err {
            PolicyError::InvalidValue { suggestion, .. } => {
                assert_eq!(suggestion.as_deref(), Some("DisabledUserOverride"));
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!("Required".parse::<MeetingEncryptionType>().is_err());
    }

    #[test]
    fn required_post_quantum_parses_prints_and_requires_both() {
        let pq = "requiredpostquantum"
            .parse::<CallingEncryptionType>()
            .unwrap();
        assert_eq!(pq, CallingEncryptionType::RequiredPostQuantum);
        assert_eq!(pq.to_string(), "RequiredPostQuantum");
        assert_eq!(pq.to_string().parse::<CallingEncryptionType>().unwrap(), pq);
        assert_eq!(pq.admin_label(), "Required, post-quantum");
        assert_eq!(
            serde_json::to_string(&pq).unwrap(),
            "\"RequiredPostQuantum\""
        );
        let wanted = |v: CallingEncryptionType| {
            (
                v.allows_e2ee(),
                v.requires_end_to_end(),
                v.requires_post_quantum(),
            )
        };
        let table: Vec<_> = CallingEncryptionType::ALL.into_iter().map(wanted).collect();
        assert_eq!(
            table,
            [
                (false, false, false),
                (true, false, false),
                (true, true, false),
                (true, true, true),
            ]
        );
        // A near miss suggests the post-quantum value; the error lists all four.
        match "RequiredPostQuantm".parse::<CallingEncryptionType>() {
            Err(PolicyError::InvalidValue {
                suggestion,
                expected,
                ..
            }) => {
                assert_eq!(suggestion.as_deref(), Some("RequiredPostQuantum"));
                assert_eq!(
                    expected,
                    "one of Disabled, DisabledUserOverride, Required, RequiredPostQuantum"
                );
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn serde_validates_names() {
        let ok: PolicyName = serde_json::from_str("\"Abc\"").unwrap();
        assert_eq!(ok.as_str(), "Abc");
        assert!(serde_json::from_str::<PolicyName>("\"a b\"").is_err());
        let id: PolicyIdentity = serde_json::from_str("\"Tag:Abc\"").unwrap();
        assert_eq!(serde_json::to_string(&id).unwrap(), "\"Tag:Abc\"");
    }
}
