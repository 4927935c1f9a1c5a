//! Binds words to a cmdlet's parameters and builds a [`Command`].

use std::collections::BTreeMap;

use super::command::{Cmdlet, Command, GrantTarget, PolicySettings};
use super::lexer::{Value, Word, lex};
use crate::client::{ClientVersion, Platform};
use crate::error::{PolicyError, echo};
use crate::model::{
    CallingEncryptionType, GroupId, MeetingEncryptionType, PolicyIdentity, PolicyName, Rank,
    UserId, validate_description,
};
use crate::store::ComplianceScope;
use crate::suggest::nearest;

const IDENTITY: &str = "Identity";
const CALLING: &str = "CallingEndtoEndEncryptionEnabledType";
const MEETING: &str = "MeetingEndToEndEncryption";
const DESCRIPTION: &str = "Description";
const POLICY_NAME: &str = "PolicyName";
const GROUP: &str = "Group";
const RANK: &str = "Rank";
const GLOBAL: &str = "Global";
const FORCE: &str = "Force";
const ORGANIZATION: &str = "Organization";
const ENABLED: &str = "Enabled";
const PLATFORM: &str = "Platform";
const MINIMUM_VERSION: &str = "MinimumVersion";

#[derive(Clone, Copy)]
struct ParamSpec {
    name: &'static str,
    switch: bool,
}

const fn value(name: &'static str) -> ParamSpec {
    ParamSpec {
        name,
        switch: false,
    }
}

const fn switch(name: &'static str) -> ParamSpec {
    ParamSpec { name, switch: true }
}

const SETTINGS: [ParamSpec; 3] = [value(CALLING), value(MEETING), value(DESCRIPTION)];

impl Cmdlet {
    fn params(self) -> Vec<ParamSpec> {
        if self == Cmdlet::SetClientRequirements {
            return vec![value(PLATFORM), value(MINIMUM_VERSION)];
        }
        let mut params = vec![value(IDENTITY)];
        match self {
            Cmdlet::SetComplianceRecording => params.extend([switch(ORGANIZATION), value(ENABLED)]),
            Cmdlet::SetClientRequirements => {}
            Cmdlet::New | Cmdlet::Set => params.extend(SETTINGS),
            Cmdlet::Get => {}
            Cmdlet::Remove => params.push(switch(FORCE)),
            Cmdlet::Grant => {
                params.extend([
                    value(POLICY_NAME),
                    value(GROUP),
                    value(RANK),
                    switch(GLOBAL),
                ]);
                params.extend(SETTINGS);
            }
        }
        params
    }

    fn positional(self) -> &'static [&'static str] {
        match self {
            Cmdlet::Grant => &[IDENTITY, POLICY_NAME],
            Cmdlet::SetClientRequirements => &[],
            _ => &[IDENTITY],
        }
    }

    /// The parameters the cmdlet accepts, without the dash (for completion and help).
    pub fn parameters(self) -> Vec<&'static str> {
        self.params().iter().map(|p| p.name).collect()
    }
}

fn parse_cmdlet(word: &Word) -> Result<Cmdlet, PolicyError> {
    let typed = match word {
        Word::Value(v) => v.text.clone(),
        Word::Param { name, .. } => format!("-{name}"),
    };
    Cmdlet::ALL
        .into_iter()
        .find(|c| c.name().eq_ignore_ascii_case(&typed))
        .ok_or_else(|| PolicyError::UnknownCmdlet {
            name: echo(&typed),
            suggestion: nearest(&typed, Cmdlet::ALL.iter().map(|c| c.name())),
        })
}

fn resolve_param(cmdlet: Cmdlet, typed: &str) -> Result<ParamSpec, PolicyError> {
    let params = cmdlet.params();
    if let Some(p) = params.iter().find(|p| p.name.eq_ignore_ascii_case(typed)) {
        return Ok(*p);
    }
    let lower = typed.to_ascii_lowercase();
    let prefixed: Vec<ParamSpec> = if lower.is_empty() {
        Vec::new()
    } else {
        params
            .iter()
            .filter(|p| p.name.to_ascii_lowercase().starts_with(&lower))
            .copied()
            .collect()
    };
    match prefixed.as_slice() {
        [only] => Ok(*only),
        [] => Err(PolicyError::UnknownParameter {
            cmdlet: cmdlet.name().to_owned(),
            parameter: echo(typed),
            suggestion: nearest(typed, params.iter().map(|p| p.name)),
        }),
        many => Err(PolicyError::AmbiguousParameter {
            parameter: echo(typed),
            candidates: many.iter().map(|p| format!("-{}", p.name)).collect(),
        }),
    }
}

#[derive(Debug)]
enum Bound {
    Switch(bool),
    Value(Value),
}

/// Named and positional arguments bound to parameter names.
struct Bindings {
    cmdlet: Cmdlet,
    values: BTreeMap<&'static str, Bound>,
}

fn bind(cmdlet: Cmdlet, words: Vec<Word>) -> Result<Bindings, PolicyError> {
    let mut values: BTreeMap<&'static str, Bound> = BTreeMap::new();
    let mut positional: Vec<Value> = Vec::new();
    let mut words = words.into_iter().peekable();
    while let Some(word) = words.next() {
        match word {
            Word::Value(v) => positional.push(v),
            Word::Param { name, colon, value } => {
                let spec = resolve_param(cmdlet, &name)?;
                let value = match value {
                    Some(v) => Some(v),
                    // `-Name: value`, or a non-switch parameter's value in the next word.
                    None if colon || !spec.switch => match words.peek() {
                        Some(Word::Value(_)) => match words.next() {
                            Some(Word::Value(v)) => Some(v),
                            _ => None,
                        },
                        _ => None,
                    },
                    None => None,
                };
                let bound = if spec.switch {
                    match value {
                        None if !colon => Bound::Switch(true),
                        None => {
                            return Err(PolicyError::MissingValue {
                                parameter: spec.name.to_owned(),
                            });
                        }
                        Some(v) => match v.as_bool() {
                            Some(b) => Bound::Switch(b),
                            None => {
                                return Err(PolicyError::InvalidValue {
                                    parameter: spec.name.to_owned(),
                                    value: echo(&v.text),
                                    expected: "$true or $false".to_owned(),
                                    suggestion: nearest(&v.text, ["$true", "$false"]),
                                });
                            }
                        },
                    }
                } else {
                    match value {
                        Some(v) => Bound::Value(v),
                        None => {
                            return Err(PolicyError::MissingValue {
                                parameter: spec.name.to_owned(),
                            });
                        }
                    }
                };
                if values.insert(spec.name, bound).is_some() {
                    return Err(PolicyError::DuplicateParameter {
                        parameter: spec.name.to_owned(),
                    });
                }
            }
        }
    }
    let free: Vec<&'static str> = cmdlet
        .positional()
        .iter()
        .copied()
        .filter(|name| !values.contains_key(name))
        .collect();
    let mut free = free.into_iter();
    for v in positional {
        match free.next() {
            Some(name) => {
                values.insert(name, Bound::Value(v));
            }
            None => {
                return Err(PolicyError::UnexpectedArgument {
                    cmdlet: cmdlet.name().to_owned(),
                    argument: echo(&v.text),
                });
            }
        }
    }
    Ok(Bindings { cmdlet, values })
}

impl Bindings {
    fn has(&self, name: &str) -> bool {
        self.values.contains_key(name)
    }

    fn switch(&self, name: &str) -> bool {
        matches!(self.values.get(name), Some(Bound::Switch(true)))
    }

    /// The value of a parameter; errors on `$name` variables.
    fn value(&self, name: &'static str) -> Result<Option<&Value>, PolicyError> {
        match self.values.get(name) {
            Some(Bound::Value(v)) if v.is_variable() => Err(PolicyError::InvalidValue {
                parameter: name.to_owned(),
                value: echo(&v.text),
                expected:
                    "a literal value (variables aren't supported; $null, $true and $false are)"
                        .to_owned(),
                suggestion: nearest(&v.text, ["$null"]),
            }),
            Some(Bound::Value(v)) => Ok(Some(v)),
            _ => Ok(None),
        }
    }

    /// A value that must not be `$null`.
    fn text(&self, name: &'static str) -> Result<Option<&str>, PolicyError> {
        match self.value(name)? {
            Some(v) if v.is_null() => Err(PolicyError::InvalidValue {
                parameter: name.to_owned(),
                value: "$null".to_owned(),
                expected: expected_for(name).to_owned(),
                suggestion: None,
            }),
            Some(v) => Ok(Some(v.text.as_str())),
            None => Ok(None),
        }
    }

    fn missing(&self, requirement: &str) -> PolicyError {
        PolicyError::MissingParameter {
            cmdlet: self.cmdlet.name().to_owned(),
            requirement: requirement.to_owned(),
        }
    }

    fn conflict(&self, first: &str, second: &str, detail: Option<&str>) -> PolicyError {
        PolicyError::ConflictingParameters {
            cmdlet: self.cmdlet.name().to_owned(),
            first: first.to_owned(),
            second: second.to_owned(),
            detail: detail.map(str::to_owned),
        }
    }

    fn identity(&self, name: &'static str) -> Result<Option<PolicyIdentity>, PolicyError> {
        self.text(name)?
            .map(|text| {
                PolicyIdentity::parse(text).map_err(|problem| PolicyError::InvalidName {
                    parameter: name.to_owned(),
                    name: echo(text),
                    problem,
                })
            })
            .transpose()
    }

    fn settings(&self) -> Result<PolicySettings, PolicyError> {
        let calling = self
            .text(CALLING)?
            .map(str::parse::<CallingEncryptionType>)
            .transpose()?;
        let meeting = self
            .text(MEETING)?
            .map(str::parse::<MeetingEncryptionType>)
            .transpose()?;
        let description = match self.value(DESCRIPTION)? {
            Some(v) if v.is_null() => Some(String::new()),
            Some(v) => {
                validate_description(DESCRIPTION, &v.text)?;
                Some(v.text.clone())
            }
            None => None,
        };
        Ok(PolicySettings {
            calling,
            meeting,
            description,
        })
    }

    fn first_setting(&self) -> Option<&'static str> {
        [CALLING, MEETING, DESCRIPTION]
            .into_iter()
            .find(|p| self.has(p))
    }

    /// `-PolicyName`: a policy name (`Name` or `Tag:Name`) or `$null`.
    fn policy_name(&self) -> Result<Option<PolicyName>, PolicyError> {
        let Some(v) = self.value(POLICY_NAME)? else {
            return Err(
                self.missing("-PolicyName (a policy name, or $null to remove the assignment)")
            );
        };
        if v.is_null() {
            return Ok(None);
        }
        match PolicyIdentity::parse(&v.text) {
            Ok(PolicyIdentity::Tag(name)) => Ok(Some(name)),
            Ok(PolicyIdentity::Global) => Err(PolicyError::InvalidName {
                parameter: POLICY_NAME.to_owned(),
                name: echo(&v.text),
                problem: crate::error::NameProblem::Reserved,
            }),
            Err(problem) => Err(PolicyError::InvalidName {
                parameter: POLICY_NAME.to_owned(),
                name: echo(&v.text),
                problem,
            }),
        }
    }

    fn rank(&self) -> Result<Option<Rank>, PolicyError> {
        let Some(text) = self.text(RANK)? else {
            return Ok(None);
        };
        let rank = text
            .bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| text.parse::<u32>().ok())
            .flatten()
            .and_then(Rank::new);
        rank.map(Some).ok_or_else(|| PolicyError::InvalidValue {
            parameter: RANK.to_owned(),
            value: echo(text),
            expected: expected_for(RANK).to_owned(),
            suggestion: None,
        })
    }
}

fn expected_for(parameter: &str) -> &'static str {
    match parameter {
        IDENTITY => "a policy identity (Global, Tag:Name or Name) or, for Grant-, a user",
        CALLING => "one of Disabled, DisabledUserOverride, Required, RequiredPostQuantum",
        MEETING => "one of Disabled, DisabledUserOverride",
        POLICY_NAME => "a policy name or $null",
        GROUP => "a group",
        RANK => "a whole number from 1 to 4294967295",
        ENABLED => "$true or $false",
        PLATFORM => "a platform such as Windows, Mac, Linux, iOS or Android",
        MINIMUM_VERSION => "a version such as 1.4.0, or $null with -Platform",
        _ => "a value",
    }
}

fn build(b: &Bindings) -> Result<Command, PolicyError> {
    match b.cmdlet {
        Cmdlet::New => {
            let identity = b
                .identity(IDENTITY)?
                .ok_or_else(|| b.missing("-Identity"))?;
            let name = match identity {
                PolicyIdentity::Tag(name) => name,
                PolicyIdentity::Global => {
                    return Err(PolicyError::PolicyAlreadyExists {
                        identity: "Global".to_owned(),
                    });
                }
            };
            Ok(Command::New {
                name,
                settings: b.settings()?,
            })
        }
        Cmdlet::Get => Ok(Command::Get {
            identity: b.identity(IDENTITY)?,
        }),
        Cmdlet::Set => {
            let identity = b.identity(IDENTITY)?.unwrap_or(PolicyIdentity::Global);
            let settings = b.settings()?;
            if settings.is_empty() {
                return Err(b.missing(
                    "at least one of -CallingEndtoEndEncryptionEnabledType, -MeetingEndToEndEncryption, -Description",
                ));
            }
            Ok(Command::Set { identity, settings })
        }
        Cmdlet::Remove => Ok(Command::Remove {
            identity: b
                .identity(IDENTITY)?
                .ok_or_else(|| b.missing("-Identity"))?,
            force: b.switch(FORCE),
        }),
        Cmdlet::Grant => build_grant(b).map(Command::Grant),
        Cmdlet::SetComplianceRecording => build_compliance(b),
        Cmdlet::SetClientRequirements => build_client_minimum(b),
    }
}

fn build_compliance(b: &Bindings) -> Result<Command, PolicyError> {
    let organization = b.switch(ORGANIZATION);
    let scope = match (b.text(IDENTITY)?, organization) {
        (Some(_), true) => return Err(b.conflict(ORGANIZATION, IDENTITY, None)),
        (None, false) => return Err(b.missing("-Identity <user> or -Organization")),
        (None, true) => ComplianceScope::Organization,
        (Some(text), false) => ComplianceScope::User(UserId::new(text).map_err(|problem| {
            PolicyError::InvalidName {
                parameter: IDENTITY.to_owned(),
                name: echo(text),
                problem,
            }
        })?),
    };
    let Some(value) = b.value(ENABLED)? else {
        return Err(b.missing("-Enabled $true or -Enabled $false"));
    };
    let enabled = value.as_bool().ok_or_else(|| PolicyError::InvalidValue {
        parameter: ENABLED.to_owned(),
        value: echo(&value.text),
        expected: expected_for(ENABLED).to_owned(),
        suggestion: nearest(&value.text, ["$true", "$false"]),
    })?;
    Ok(Command::SetComplianceRecording { scope, enabled })
}

fn build_client_minimum(b: &Bindings) -> Result<Command, PolicyError> {
    let platform = b.text(PLATFORM)?.map(str::parse::<Platform>).transpose()?;
    if let Some(platform) = platform
        && !platform.supports_e2ee()
    {
        return Err(PolicyError::InvalidValue {
            parameter: PLATFORM.to_owned(),
            value: platform.to_string(),
            expected:
                "a platform that supports end-to-end encryption (not Web, RoomsAndroid or Unknown)"
                    .to_owned(),
            suggestion: None,
        });
    }
    let Some(value) = b.value(MINIMUM_VERSION)? else {
        return Err(b.missing("-MinimumVersion"));
    };
    let minimum = if value.is_null() {
        if platform.is_none() {
            return Err(PolicyError::InvalidValue {
                parameter: MINIMUM_VERSION.to_owned(),
                value: "$null".to_owned(),
                expected: "a version such as 1.4.0 (only a platform's own minimum can be removed)"
                    .to_owned(),
                suggestion: None,
            });
        }
        None
    } else {
        Some(value.text.parse::<ClientVersion>()?)
    };
    Ok(Command::SetClientMinimum { platform, minimum })
}

fn build_grant(b: &Bindings) -> Result<GrantTarget, PolicyError> {
    let identity = b.text(IDENTITY)?;
    let group = b.text(GROUP)?;
    let global = b.switch(GLOBAL);
    if global && identity.is_some() {
        return Err(b.conflict(
            GLOBAL,
            IDENTITY,
            Some("-Global assigns the tenant-wide default; -Identity assigns to one user"),
        ));
    }
    if global && group.is_some() {
        return Err(b.conflict(GLOBAL, GROUP, None));
    }
    if identity.is_some() && group.is_some() {
        return Err(b.conflict(IDENTITY, GROUP, None));
    }
    let identity_is_global = identity.is_some_and(|i| i.eq_ignore_ascii_case("global"));
    if identity_is_global {
        if b.has(POLICY_NAME) {
            return Err(b.conflict(
                "Identity Global",
                POLICY_NAME,
                Some("use -Global -PolicyName <name> to make a policy the tenant-wide default"),
            ));
        }
        if b.has(RANK) {
            return Err(b.conflict("Identity Global", RANK, None));
        }
        let settings = b.settings()?;
        if settings.is_empty() {
            return Err(b.missing(
                "-CallingEndtoEndEncryptionEnabledType (or -MeetingEndToEndEncryption, -Description) with -Identity Global",
            ));
        }
        return Ok(GrantTarget::GlobalSettings(settings));
    }
    let target_param = if global {
        GLOBAL
    } else if group.is_some() {
        GROUP
    } else {
        IDENTITY
    };
    if let Some(setting) = b.first_setting() {
        return Err(b.conflict(
            setting,
            target_param,
            Some("use Set-CsTeamsEnhancedEncryptionPolicy to change a policy's settings"),
        ));
    }
    if let Some(text) = group {
        let group = GroupId::new(text).map_err(|problem| PolicyError::InvalidName {
            parameter: GROUP.to_owned(),
            name: echo(text),
            problem,
        })?;
        let policy = b.policy_name()?;
        let rank = b.rank()?;
        let assignment = match (policy, rank) {
            (Some(policy), Some(rank)) => Some((policy, rank)),
            (Some(_), None) => return Err(b.missing("-Rank when assigning a policy to a group")),
            (None, Some(_)) => {
                return Err(b.conflict(
                    RANK,
                    "PolicyName $null",
                    Some("removing a group assignment takes no rank"),
                ));
            }
            (None, None) => None,
        };
        return Ok(GrantTarget::Group { group, assignment });
    }
    if b.has(RANK) {
        return Err(b.conflict(RANK, target_param, Some("-Rank is only used with -Group")));
    }
    if global {
        return Ok(GrantTarget::TenantDefault {
            policy: b.policy_name()?,
        });
    }
    let Some(text) = identity else {
        return Err(b.missing("-Identity <user>, -Group <group> or -Global"));
    };
    let user = UserId::new(text).map_err(|problem| PolicyError::InvalidName {
        parameter: IDENTITY.to_owned(),
        name: echo(text),
        problem,
    })?;
    Ok(GrantTarget::User {
        user,
        policy: b.policy_name()?,
    })
}

/// Parses one command line into a [`Command`]. Never panics; every malformed line is a
/// [`PolicyError`] naming the bad cmdlet, parameter or value.
pub fn parse_command(line: &str) -> Result<Command, PolicyError> {
    let mut words = lex(line)?;
    if words.is_empty() {
        return Err(PolicyError::EmptyCommand);
    }
    let first = words.remove(0);
    let cmdlet = parse_cmdlet(&first)?;
    let bindings = bind(cmdlet, words)?;
    build(&bindings)
}
