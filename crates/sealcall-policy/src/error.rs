//! The crate's one error type.

use std::fmt;

/// Longest piece of caller-supplied text echoed back in an error message.
const MAX_ECHO_CHARS: usize = 64;

/// Shortens caller-supplied text before it is echoed in an error message, so that a hostile or
/// accidental megabyte-long argument does not end up in logs verbatim.
pub(crate) fn echo(text: &str) -> String {
    let mut out: String = text
        .chars()
        .take(MAX_ECHO_CHARS)
        .map(|c| if c.is_control() { '\u{fffd}' } else { c })
        .collect();
    if text.chars().count() > MAX_ECHO_CHARS {
        out.push('…');
    }
    out
}

/// Renders ` (did you mean 'x'?)` for an optional suggestion.
struct Hint<'a>(&'a Option<String>);

impl fmt::Display for Hint<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(s) => write!(f, " (did you mean '{s}'?)"),
            None => Ok(()),
        }
    }
}

fn hint(s: &Option<String>) -> Hint<'_> {
    Hint(s)
}

/// A failure reported by a [`PolicyStore`](crate::PolicyStore) implementation.
///
/// The message must describe the failure without user content or secrets (for example
/// "database is locked", not a query with its parameters).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("policy storage failed: {message}")]
pub struct StoreError {
    message: String,
}

impl StoreError {
    /// A storage failure with a content-free description.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }

    /// The description given to [`StoreError::new`].
    pub fn message(&self) -> &str {
        &self.message
    }
}

/// Why a policy or principal name was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum NameProblem {
    /// The name is empty.
    Empty,
    /// The name contains a space or other whitespace ("policy names can't contain spaces").
    ContainsSpace,
    /// The name contains a character outside the allowed set.
    InvalidCharacter(char),
    /// The name is longer than the allowed maximum.
    TooLong {
        /// The maximum number of characters.
        max: usize,
    },
    /// The name is reserved (`Global` is the built-in policy).
    Reserved,
    /// The identity uses a scope other than `Global` or `Tag:` (for example `Site:`).
    UnsupportedScope,
}

impl fmt::Display for NameProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NameProblem::Empty => f.write_str("it is empty"),
            NameProblem::ContainsSpace => f.write_str("names can't contain spaces"),
            NameProblem::InvalidCharacter(c) => write!(
                f,
                "character {c:?} is not allowed (use letters, digits, '-', '_' and '.')"
            ),
            NameProblem::TooLong { max } => write!(f, "it is longer than {max} characters"),
            NameProblem::Reserved => f.write_str(
                "'Global' is the built-in policy (use -Identity Global, or -PolicyName $null to fall back to it)",
            ),
            NameProblem::UnsupportedScope => {
                f.write_str("only 'Global', 'Tag:Name' and 'Name' identities are supported")
            }
        }
    }
}

/// Every error of this crate: parsing and running cmdlets, resolving policies, changing the user
/// setting, and storage failures.
///
/// Messages name the parameter, value or object at fault and never carry secrets; caller-supplied
/// text is shortened before it is echoed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// The command line is empty (or only a comment).
    #[error("empty command: expected a cmdlet such as Get-CsTeamsEnhancedEncryptionPolicy")]
    EmptyCommand,
    /// A quoted string is not closed.
    #[error("unbalanced {quote} quote starting at character {position}")]
    UnbalancedQuote {
        /// The quote character that was opened (`'` or `"`).
        quote: char,
        /// 0-based character position of the opening quote.
        position: usize,
    },
    /// The first word is not one of the supported cmdlets.
    #[error("unknown cmdlet '{name}'{}", hint(suggestion))]
    UnknownCmdlet {
        /// The cmdlet name as typed (shortened).
        name: String,
        /// The nearest supported cmdlet, if one is close.
        suggestion: Option<String>,
    },
    /// A parameter is not accepted by the cmdlet.
    #[error("{cmdlet} has no parameter -{parameter}{}", hint(suggestion))]
    UnknownParameter {
        /// The cmdlet being run.
        cmdlet: String,
        /// The parameter as typed, without the dash (shortened).
        parameter: String,
        /// The nearest valid parameter, if one is close.
        suggestion: Option<String>,
    },
    /// A parameter abbreviation matches more than one parameter.
    #[error("parameter -{parameter} is ambiguous: it could be {}", candidates.join(", "))]
    AmbiguousParameter {
        /// The abbreviation as typed.
        parameter: String,
        /// The full names it matches, each with a leading dash.
        candidates: Vec<String>,
    },
    /// A parameter that needs a value is last on the line or followed by another parameter.
    #[error("missing value for parameter -{parameter}")]
    MissingValue {
        /// The parameter's full name.
        parameter: String,
    },
    /// A parameter was given more than once.
    #[error("parameter -{parameter} was given more than once")]
    DuplicateParameter {
        /// The parameter's full name.
        parameter: String,
    },
    /// A value that no parameter takes (too many positional arguments).
    #[error("unexpected argument '{argument}': {cmdlet} takes no further positional arguments")]
    UnexpectedArgument {
        /// The cmdlet being run.
        cmdlet: String,
        /// The argument as typed (shortened).
        argument: String,
    },
    /// A value is not valid for its parameter.
    #[error(
        "invalid value '{value}' for -{parameter}: expected {expected}{}",
        hint(suggestion)
    )]
    InvalidValue {
        /// The parameter's full name.
        parameter: String,
        /// The value as typed (shortened).
        value: String,
        /// What the parameter accepts.
        expected: String,
        /// The nearest valid value, if one is close.
        suggestion: Option<String>,
    },
    /// A policy or principal name is malformed.
    #[error("invalid name '{name}' for -{parameter}: {problem}")]
    InvalidName {
        /// The parameter's full name.
        parameter: String,
        /// The name as typed (shortened).
        name: String,
        /// What is wrong with it.
        problem: NameProblem,
    },
    /// A required parameter is missing.
    #[error("{cmdlet} needs {requirement}")]
    MissingParameter {
        /// The cmdlet being run.
        cmdlet: String,
        /// What is missing, e.g. "-Identity" or "-Rank when assigning a policy to a group".
        requirement: String,
    },
    /// Two parameters cannot be used together.
    #[error("{cmdlet}: -{first} can't be used with -{second}{}", detail.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    ConflictingParameters {
        /// The cmdlet being run.
        cmdlet: String,
        /// One parameter.
        first: String,
        /// The other parameter.
        second: String,
        /// What to do instead, if there is a simple answer.
        detail: Option<String>,
    },
    /// The caller lacks the role the operation needs; nothing was changed.
    #[error("access denied: {operation} requires {required}")]
    AccessDenied {
        /// What was attempted, e.g. "Set-CsTeamsEnhancedEncryptionPolicy".
        operation: String,
        /// Who may do it, e.g. "the Teams administrator or global administrator role".
        required: String,
    },
    /// No policy has this identity.
    #[error("policy '{identity}' not found{}", hint(suggestion))]
    PolicyNotFound {
        /// The identity as typed, in `Tag:Name` form.
        identity: String,
        /// The nearest existing policy, if one is close.
        suggestion: Option<String>,
    },
    /// A policy with this identity already exists.
    #[error(
        "policy '{identity}' already exists (use Set-CsTeamsEnhancedEncryptionPolicy to change it)"
    )]
    PolicyAlreadyExists {
        /// The identity in `Global` / `Tag:Name` form.
        identity: String,
    },
    /// `Remove-` of the Global policy.
    #[error(
        "the Global policy can't be removed; change it with Set-CsTeamsEnhancedEncryptionPolicy -Identity Global"
    )]
    GlobalPolicyCannotBeRemoved,
    /// `Remove-` of a policy that is still assigned (without `-Force`).
    #[error("policy '{identity}' is still assigned to {users} user(s), {groups} group(s){}; unassign it first or add -Force to unassign it everywhere", if *tenant_default { " and the whole tenant" } else { "" })]
    PolicyStillAssigned {
        /// The policy's identity in `Tag:Name` form.
        identity: String,
        /// Number of users with a direct assignment.
        users: usize,
        /// Number of groups with a group assignment.
        groups: usize,
        /// Whether the policy is the tenant-wide default.
        tenant_default: bool,
    },
    /// The user is not in the directory.
    #[error("user '{user}' not found")]
    UserNotFound {
        /// The user identity as typed (shortened).
        user: String,
    },
    /// The group is not in the directory.
    #[error("group '{group}' not found")]
    GroupNotFound {
        /// The group identity as typed (shortened).
        group: String,
    },
    /// Another group already has a policy assignment with this rank.
    #[error("rank {rank} is already used by group '{group}'; choose another rank")]
    RankInUse {
        /// The rank that was requested.
        rank: u32,
        /// The group that holds it.
        group: String,
    },
    /// The user tried to turn on end-to-end encrypted calls, but their policy doesn't allow it.
    #[error(
        "your organisation hasn't allowed end-to-end encrypted calls for you (policy {policy})"
    )]
    SettingNotAllowed {
        /// The effective policy, in `Global` / `Tag:Name` form.
        policy: String,
    },
    /// The user tried to turn off end-to-end encrypted calls, but their policy requires them.
    #[error(
        "your organisation requires end-to-end encrypted{} calls (policy {policy}); the setting can't be turned off",
        if *post_quantum { ", post-quantum protected" } else { "" }
    )]
    SettingLocked {
        /// The effective policy, in `Global` / `Tag:Name` form.
        policy: String,
        /// Whether the policy also requires post-quantum protection (`RequiredPostQuantum`).
        post_quantum: bool,
    },
    /// An assignment names a policy that the store does not have (an integrity failure of the
    /// store; the executor never creates one).
    #[error("assignment refers to policy '{identity}', which does not exist")]
    DanglingAssignment {
        /// The identity the assignment names.
        identity: String,
    },
    /// The store failed; nothing was changed.
    #[error(transparent)]
    Storage(#[from] StoreError),
}
