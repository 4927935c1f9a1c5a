//! Non-cmdlet changes: a user's own setting, compliance recording, minimum client versions.

use crate::actor::{ADMIN_ROLES, Actor};
use crate::client::ClientRequirements;
use crate::error::{PolicyError, echo};
use crate::model::{CallingEncryptionType, Timestamp, UserId};
use crate::resolve::{UserSettingState, user_e2ee_setting};
use crate::store::{AuditAction, AuditOutcome, AuditRecord, Change, ComplianceScope, PolicyStore};

/// Records a denied attempt (nothing else changes) and returns the access-denied error.
pub(crate) fn deny<S: PolicyStore + ?Sized>(
    store: &mut S,
    actor: &Actor,
    now: Timestamp,
    action: AuditAction,
    target: String,
    operation: &str,
    required: &str,
) -> PolicyError {
    let record = AuditRecord {
        actor: actor.user.clone(),
        at: now,
        action,
        target,
        before: None,
        after: None,
        outcome: AuditOutcome::Denied,
    };
    match store.commit(&[], &record) {
        Ok(()) => PolicyError::AccessDenied {
            operation: operation.to_owned(),
            required: required.to_owned(),
        },
        Err(e) => PolicyError::Storage(e),
    }
}

pub(crate) fn applied(
    actor: &Actor,
    now: Timestamp,
    action: AuditAction,
    target: String,
    before: Option<String>,
    after: Option<String>,
) -> AuditRecord {
    AuditRecord {
        actor: actor.user.clone(),
        at: now,
        action,
        target,
        before,
        after,
        outcome: AuditOutcome::Applied,
    }
}

fn on_off(b: bool) -> String {
    if b { "On" } else { "Off" }.to_owned()
}

/// The user turns their own "End-to-end encrypted calls" setting on or off.
///
/// Only the user themselves may change it (anyone else gets [`PolicyError::AccessDenied`],
/// audited). Turning it on needs a policy that allows it (`DisabledUserOverride`, `Required` or
/// `RequiredPostQuantum`), else [`PolicyError::SettingNotAllowed`]; turning it off under a
/// policy that requires end-to-end encryption (`Required`, `RequiredPostQuantum`) gives
/// [`PolicyError::SettingLocked`]. Turning it off is always possible otherwise. The choice is
/// stored per user, so it applies on every device, and is kept when a policy later overrides
/// it. Returns the new state.
pub fn set_user_e2ee<S: PolicyStore + ?Sized>(
    store: &mut S,
    actor: &Actor,
    user: &UserId,
    enabled: bool,
    now: Timestamp,
) -> Result<UserSettingState, PolicyError> {
    if actor.user != *user {
        return Err(deny(
            store,
            actor,
            now,
            AuditAction::SetUserSetting,
            format!("user:{user}"),
            "changing another user's end-to-end encrypted calls setting",
            "being that user",
        ));
    }
    let state = user_e2ee_setting(store, user)?;
    let policy = state.policy.policy.identity.to_string();
    match state.policy.policy.calling {
        CallingEncryptionType::Disabled if enabled => {
            return Err(PolicyError::SettingNotAllowed { policy });
        }
        calling if calling.requires_end_to_end() && !enabled => {
            return Err(PolicyError::SettingLocked {
                policy,
                post_quantum: calling.requires_post_quantum(),
            });
        }
        _ => {}
    }
    let record = applied(
        actor,
        now,
        AuditAction::SetUserSetting,
        format!("user:{user}"),
        Some(on_off(state.stored_choice)),
        Some(on_off(enabled)),
    );
    store.commit(
        &[Change::SetUserSetting {
            user: user.clone(),
            enabled,
        }],
        &record,
    )?;
    Ok(UserSettingState::compute(enabled, state.policy))
}

/// An administrator turns a compliance-recording assignment on or off for one user or for the
/// whole organisation. Needs the Teams administrator or global administrator role.
pub fn set_compliance_recording<S: PolicyStore + ?Sized>(
    store: &mut S,
    actor: &Actor,
    scope: &ComplianceScope,
    enabled: bool,
    now: Timestamp,
) -> Result<(), PolicyError> {
    let target = match scope {
        ComplianceScope::User(user) => format!("user:{user}"),
        ComplianceScope::Organization => "organization".to_owned(),
    };
    if !actor.roles.can_administer_policies() {
        return Err(deny(
            store,
            actor,
            now,
            AuditAction::SetComplianceRecording,
            target,
            "changing compliance recording",
            ADMIN_ROLES,
        ));
    }
    if let ComplianceScope::User(user) = scope
        && !store.user_exists(user)?
    {
        return Err(PolicyError::UserNotFound {
            user: echo(user.as_str()),
        });
    }
    let before = store.compliance_recording(scope)?;
    let record = applied(
        actor,
        now,
        AuditAction::SetComplianceRecording,
        target,
        Some(on_off(before)),
        Some(on_off(enabled)),
    );
    store.commit(
        &[Change::SetComplianceRecording {
            scope: scope.clone(),
            enabled,
        }],
        &record,
    )?;
    Ok(())
}

/// An administrator sets the minimum client versions for end-to-end encrypted calls. Needs the
/// Teams administrator or global administrator role.
pub fn set_client_requirements<S: PolicyStore + ?Sized>(
    store: &mut S,
    actor: &Actor,
    requirements: &ClientRequirements,
    now: Timestamp,
) -> Result<(), PolicyError> {
    if !actor.roles.can_administer_policies() {
        return Err(deny(
            store,
            actor,
            now,
            AuditAction::SetClientRequirements,
            "organization".to_owned(),
            "changing the minimum client versions",
            ADMIN_ROLES,
        ));
    }
    let before = store.client_requirements()?;
    let record = applied(
        actor,
        now,
        AuditAction::SetClientRequirements,
        "organization".to_owned(),
        Some(before.to_string()),
        Some(requirements.to_string()),
    );
    store.commit(
        &[Change::SetClientRequirements(requirements.clone())],
        &record,
    )?;
    Ok(())
}
