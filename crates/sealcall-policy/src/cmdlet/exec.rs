//! Runs a [`Command`] against a [`PolicyStore`].

use super::command::{Command, GrantTarget, PolicySettings};
use super::format::format_policy_list;
use super::parse::parse_command;
use crate::actor::{ADMIN_ROLES, Actor};
use crate::error::{PolicyError, echo};
use crate::model::{EnhancedEncryptionPolicy, PolicyIdentity, PolicyName, Timestamp};
use crate::resolve::load_global;
use crate::settings::{applied, deny};
use crate::settings::{set_client_requirements, set_compliance_recording};
use crate::store::{AuditAction, Change, ComplianceScope, PolicyStore};
use crate::suggest::nearest;

/// What a successful cmdlet prints.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExecOutput {
    /// Standard output: the list view for `Get-` and `New-`, empty for the others (as in
    /// PowerShell).
    pub text: String,
    /// Warnings (PowerShell prints them as `WARNING: …`).
    pub warnings: Vec<String>,
}

fn action_of(command: &Command) -> AuditAction {
    match command {
        Command::New { .. } => AuditAction::NewPolicy,
        Command::Get { .. } => AuditAction::GetPolicy,
        Command::Set { .. } | Command::Grant(GrantTarget::GlobalSettings(_)) => {
            AuditAction::SetPolicy
        }
        Command::Remove { .. } => AuditAction::RemovePolicy,
        Command::Grant(GrantTarget::User { .. }) => AuditAction::GrantUser,
        Command::Grant(GrantTarget::Group { .. }) => AuditAction::GrantGroup,
        Command::Grant(GrantTarget::TenantDefault { .. }) => AuditAction::GrantTenantDefault,
        Command::SetComplianceRecording { .. } => AuditAction::SetComplianceRecording,
        Command::SetClientMinimum { .. } => AuditAction::SetClientRequirements,
    }
}

fn target_of(command: &Command) -> String {
    match command {
        Command::New { name, .. } => format!("Tag:{name}"),
        Command::Get { identity } => identity
            .as_ref()
            .map_or_else(|| "*".to_owned(), ToString::to_string),
        Command::Set { identity, .. } | Command::Remove { identity, .. } => identity.to_string(),
        Command::Grant(GrantTarget::User { user, .. }) => format!("user:{user}"),
        Command::Grant(GrantTarget::Group { group, .. }) => format!("group:{group}"),
        Command::Grant(GrantTarget::TenantDefault { .. }) => "tenant".to_owned(),
        Command::Grant(GrantTarget::GlobalSettings(_)) => "Global".to_owned(),
        Command::SetComplianceRecording { scope, .. } => match scope {
            ComplianceScope::User(user) => format!("user:{user}"),
            ComplianceScope::Organization => "organization".to_owned(),
        },
        Command::SetClientMinimum { .. } => "organization".to_owned(),
    }
}

fn not_found<S: PolicyStore + ?Sized>(
    store: &S,
    identity: &PolicyIdentity,
) -> Result<PolicyError, PolicyError> {
    let names: Vec<String> = store
        .policies()?
        .iter()
        .map(|p| p.identity.to_string())
        .collect();
    let typed = identity.to_string();
    Ok(PolicyError::PolicyNotFound {
        suggestion: nearest(&typed, names.iter().map(String::as_str)),
        identity: echo(&typed),
    })
}

fn load<S: PolicyStore + ?Sized>(
    store: &S,
    identity: &PolicyIdentity,
) -> Result<EnhancedEncryptionPolicy, PolicyError> {
    if *identity == PolicyIdentity::Global {
        return load_global(store);
    }
    match store.policy(identity)? {
        Some(policy) => Ok(policy),
        None => Err(not_found(store, identity)?),
    }
}

fn require_tag<S: PolicyStore + ?Sized>(store: &S, name: &PolicyName) -> Result<(), PolicyError> {
    load(store, &PolicyIdentity::Tag(name.clone())).map(|_| ())
}

fn assignment_text(policy: Option<&PolicyName>) -> String {
    policy.map_or_else(|| "(none)".to_owned(), |p| format!("Tag:{p}"))
}

fn apply_settings(policy: &mut EnhancedEncryptionPolicy, settings: &PolicySettings) {
    if let Some(calling) = settings.calling {
        policy.calling = calling;
    }
    if let Some(meeting) = settings.meeting {
        policy.meeting = meeting;
    }
    if let Some(description) = &settings.description {
        policy.description.clone_from(description);
    }
}

fn set_policy<S: PolicyStore + ?Sized>(
    store: &mut S,
    actor: &Actor,
    now: Timestamp,
    identity: &PolicyIdentity,
    settings: &PolicySettings,
) -> Result<ExecOutput, PolicyError> {
    let before = load(store, identity)?;
    let mut after = before.clone();
    apply_settings(&mut after, settings);
    let record = applied(
        actor,
        now,
        AuditAction::SetPolicy,
        identity.to_string(),
        Some(before.summary()),
        Some(after.summary()),
    );
    store.commit(&[Change::PutPolicy(after)], &record)?;
    let mut warnings = Vec::new();
    if *identity == PolicyIdentity::Global
        && let Some(default) = store.tenant_default()?
    {
        warnings.push(format!(
                "the tenant-wide default is Tag:{default}, so the Global policy applies to no user; run 'Grant-CsTeamsEnhancedEncryptionPolicy -Global -PolicyName $null' to make it the default again"
            ));
    }
    Ok(ExecOutput {
        text: String::new(),
        warnings,
    })
}

/// Runs a parsed command as `actor` at time `now`.
///
/// Every cmdlet, `Get-` included, needs the Teams administrator or global administrator role;
/// anyone else gets [`PolicyError::AccessDenied`], nothing changes, and a `Denied` audit record
/// is appended. Each successful change is committed together with its audit record (who, when,
/// what, before, after) in one [`PolicyStore::commit`]; a failed command changes nothing.
pub fn execute<S: PolicyStore + ?Sized>(
    store: &mut S,
    actor: &Actor,
    now: Timestamp,
    command: &Command,
) -> Result<ExecOutput, PolicyError> {
    if !actor.roles.can_administer_policies() {
        return Err(deny(
            store,
            actor,
            now,
            action_of(command),
            target_of(command),
            command.cmdlet().name(),
            ADMIN_ROLES,
        ));
    }
    // Commands built by code (the admin page) get the parser's description check too.
    if let Command::New { settings, .. }
    | Command::Set { settings, .. }
    | Command::Grant(GrantTarget::GlobalSettings(settings)) = command
        && let Some(description) = &settings.description
    {
        crate::model::validate_description("Description", description)?;
    }
    let target = target_of(command);
    let action = action_of(command);
    match command {
        Command::Get { identity } => {
            let policies = match identity {
                Some(identity) => vec![load(store, identity)?],
                None => {
                    let mut all = store.policies()?;
                    if !all.iter().any(|p| p.identity == PolicyIdentity::Global) {
                        all.push(load_global(store)?);
                    }
                    all
                }
            };
            Ok(ExecOutput {
                text: format_policy_list(&policies),
                warnings: Vec::new(),
            })
        }
        Command::New { name, settings } => {
            let identity = PolicyIdentity::Tag(name.clone());
            if let Some(existing) = store.policy(&identity)? {
                return Err(PolicyError::PolicyAlreadyExists {
                    identity: existing.identity.to_string(),
                });
            }
            let mut policy = EnhancedEncryptionPolicy::new(identity);
            apply_settings(&mut policy, settings);
            let record = applied(actor, now, action, target, None, Some(policy.summary()));
            store.commit(&[Change::PutPolicy(policy.clone())], &record)?;
            Ok(ExecOutput {
                text: format_policy_list(&[policy]),
                warnings: Vec::new(),
            })
        }
        Command::Set { identity, settings } => set_policy(store, actor, now, identity, settings),
        Command::Grant(GrantTarget::GlobalSettings(settings)) => {
            set_policy(store, actor, now, &PolicyIdentity::Global, settings)
        }
        Command::Remove { identity, force } => {
            let PolicyIdentity::Tag(name) = identity else {
                return Err(PolicyError::GlobalPolicyCannotBeRemoved);
            };
            let policy = load(store, identity)?;
            let usage = store.policy_usage(name)?;
            if usage.is_assigned() && !force {
                return Err(PolicyError::PolicyStillAssigned {
                    identity: policy.identity.to_string(),
                    users: usage.users,
                    groups: usage.groups,
                    tenant_default: usage.tenant_default,
                });
            }
            let mut changes = Vec::new();
            let mut after = None;
            if usage.is_assigned() {
                changes.push(Change::UnassignEverywhere(name.clone()));
                after = Some(format!(
                    "removed; unassigned from {} user(s), {} group(s){}",
                    usage.users,
                    usage.groups,
                    if usage.tenant_default {
                        " and the tenant default"
                    } else {
                        ""
                    }
                ));
            }
            changes.push(Change::DeletePolicy(name.clone()));
            let record = applied(actor, now, action, target, Some(policy.summary()), after);
            store.commit(&changes, &record)?;
            Ok(ExecOutput::default())
        }
        Command::Grant(GrantTarget::User { user, policy }) => {
            if !store.user_exists(user)? {
                return Err(PolicyError::UserNotFound {
                    user: echo(user.as_str()),
                });
            }
            if let Some(name) = policy {
                require_tag(store, name)?;
            }
            let before = store.user_assignment(user)?;
            let record = applied(
                actor,
                now,
                action,
                target,
                Some(assignment_text(before.as_ref())),
                Some(assignment_text(policy.as_ref())),
            );
            store.commit(
                &[Change::AssignUser {
                    user: user.clone(),
                    policy: policy.clone(),
                }],
                &record,
            )?;
            Ok(ExecOutput::default())
        }
        Command::Grant(GrantTarget::Group { group, assignment }) => {
            if !store.group_exists(group)? {
                return Err(PolicyError::GroupNotFound {
                    group: echo(group.as_str()),
                });
            }
            let existing = store.group_assignments()?;
            if let Some((name, rank)) = assignment {
                require_tag(store, name)?;
                if let Some(holder) = existing
                    .iter()
                    .find(|a| a.rank == *rank && a.group != *group)
                {
                    return Err(PolicyError::RankInUse {
                        rank: rank.get(),
                        group: echo(holder.group.as_str()),
                    });
                }
            }
            let before = existing.iter().find(|a| a.group == *group).map_or_else(
                || "(none)".to_owned(),
                |a| format!("Tag:{} rank {}", a.policy, a.rank),
            );
            let after = assignment
                .as_ref()
                .map_or_else(|| "(none)".to_owned(), |(p, r)| format!("Tag:{p} rank {r}"));
            let record = applied(actor, now, action, target, Some(before), Some(after));
            store.commit(
                &[Change::AssignGroup {
                    group: group.clone(),
                    assignment: assignment.clone(),
                }],
                &record,
            )?;
            Ok(ExecOutput::default())
        }
        Command::Grant(GrantTarget::TenantDefault { policy }) => {
            if let Some(name) = policy {
                require_tag(store, name)?;
            }
            let before = store.tenant_default()?;
            let show = |p: Option<&PolicyName>| {
                p.map_or_else(|| "Global".to_owned(), |p| format!("Tag:{p}"))
            };
            let record = applied(
                actor,
                now,
                action,
                target,
                Some(show(before.as_ref())),
                Some(show(policy.as_ref())),
            );
            store.commit(
                &[Change::AssignTenantDefault {
                    policy: policy.clone(),
                }],
                &record,
            )?;
            Ok(ExecOutput::default())
        }
        Command::SetComplianceRecording { scope, enabled } => {
            set_compliance_recording(store, actor, scope, *enabled, now)?;
            Ok(ExecOutput::default())
        }
        Command::SetClientMinimum { platform, minimum } => {
            set_client_minimum(store, actor, now, *platform, *minimum)
        }
    }
}

fn set_client_minimum<S: PolicyStore + ?Sized>(
    store: &mut S,
    actor: &Actor,
    now: Timestamp,
    platform: Option<crate::client::Platform>,
    minimum: Option<crate::client::ClientVersion>,
) -> Result<ExecOutput, PolicyError> {
    let current = store.client_requirements()?;
    let next = match (platform, minimum) {
        (Some(platform), Some(minimum)) => current.with_platform_minimum(platform, minimum),
        (Some(platform), None) => current.without_platform_minimum(platform),
        (None, Some(minimum)) => current.with_default_minimum(minimum),
        (None, None) => {
            return Err(PolicyError::MissingParameter {
                cmdlet: super::command::Cmdlet::SetClientRequirements
                    .name()
                    .to_owned(),
                requirement: "-MinimumVersion".to_owned(),
            });
        }
    };
    set_client_requirements(store, actor, &next, now)?;
    Ok(ExecOutput::default())
}

/// Parses and runs one command line (see [`parse_command`] and [`execute`]).
pub fn run_cmdlet<S: PolicyStore + ?Sized>(
    store: &mut S,
    actor: &Actor,
    now: Timestamp,
    line: &str,
) -> Result<ExecOutput, PolicyError> {
    let command = parse_command(line)?;
    execute(store, actor, now, &command)
}
