//! Resolving a user's effective policy, their setting and their call context from a store.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::client::DeviceInfo;
use crate::decision::Party;
use crate::error::{PolicyError, echo};
use crate::model::{
    CallingEncryptionType, EnhancedEncryptionPolicy, GroupId, PolicyIdentity, PolicyName, Rank,
    UserId,
};
use crate::store::{ComplianceScope, PolicyStore};

/// Where a user's effective policy comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum PolicySource {
    /// Assigned to the user directly (wins over everything else).
    Direct,
    /// Assigned to one of the user's groups; the lowest rank among their groups wins.
    Group {
        /// The group.
        group: GroupId,
        /// The assignment's rank.
        rank: Rank,
    },
    /// The tenant-wide default set with `Grant-CsTeamsEnhancedEncryptionPolicy -Global`.
    TenantDefault,
    /// The built-in Global policy (no other assignment applies).
    Global,
}

impl fmt::Display for PolicySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PolicySource::Direct => f.write_str("assigned directly to the user"),
            PolicySource::Group { group, rank } => {
                write!(f, "assigned to group '{group}' (rank {rank})")
            }
            PolicySource::TenantDefault => f.write_str("the tenant-wide default"),
            PolicySource::Global => f.write_str("the global, organization-wide default policy"),
        }
    }
}

/// A user's one effective policy and why it applies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EffectivePolicy {
    /// The policy in force.
    pub policy: EnhancedEncryptionPolicy,
    /// Where it comes from.
    pub source: PolicySource,
}

impl EffectivePolicy {
    /// A sentence for support staff, e.g.
    /// `Tag:Sales (DisabledUserOverride), assigned to group 'sales' (rank 1)`.
    pub fn explain(&self) -> String {
        format!(
            "{} ({}), {}",
            self.policy.identity, self.policy.calling, self.source
        )
    }
}

fn require_user<S: PolicyStore + ?Sized>(store: &S, user: &UserId) -> Result<(), PolicyError> {
    if store.user_exists(user)? {
        Ok(())
    } else {
        Err(PolicyError::UserNotFound {
            user: echo(user.as_str()),
        })
    }
}

fn load_tag<S: PolicyStore + ?Sized>(
    store: &S,
    name: &PolicyName,
) -> Result<EnhancedEncryptionPolicy, PolicyError> {
    let identity = PolicyIdentity::Tag(name.clone());
    store
        .policy(&identity)?
        .ok_or_else(|| PolicyError::DanglingAssignment {
            identity: identity.to_string(),
        })
}

/// The Global policy as stored, or the built-in one if a store has none.
pub(crate) fn load_global<S: PolicyStore + ?Sized>(
    store: &S,
) -> Result<EnhancedEncryptionPolicy, PolicyError> {
    Ok(store
        .policy(&PolicyIdentity::Global)?
        .unwrap_or_else(EnhancedEncryptionPolicy::builtin_global))
}

/// The user's one effective policy: their direct assignment, else the assignment with the lowest
/// rank among their groups (ties, which the executor prevents, go to the group whose identity
/// sorts first), else the tenant-wide default, else the Global policy.
pub fn effective_policy<S: PolicyStore + ?Sized>(
    store: &S,
    user: &UserId,
) -> Result<EffectivePolicy, PolicyError> {
    require_user(store, user)?;
    if let Some(name) = store.user_assignment(user)? {
        return Ok(EffectivePolicy {
            policy: load_tag(store, &name)?,
            source: PolicySource::Direct,
        });
    }
    let groups: BTreeSet<GroupId> = store.groups_of(user)?.into_iter().collect();
    let best = store
        .group_assignments()?
        .into_iter()
        .filter(|a| groups.contains(&a.group))
        .min_by(|a, b| a.rank.cmp(&b.rank).then_with(|| a.group.cmp(&b.group)));
    if let Some(assignment) = best {
        return Ok(EffectivePolicy {
            policy: load_tag(store, &assignment.policy)?,
            source: PolicySource::Group {
                group: assignment.group,
                rank: assignment.rank,
            },
        });
    }
    if let Some(name) = store.tenant_default()? {
        return Ok(EffectivePolicy {
            policy: load_tag(store, &name)?,
            source: PolicySource::TenantDefault,
        });
    }
    Ok(EffectivePolicy {
        policy: load_global(store)?,
        source: PolicySource::Global,
    })
}

/// Why the "End-to-end encrypted calls" setting can't be changed by the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SettingLock {
    /// The policy is `Disabled`: the setting is off and takes no effect.
    OffByPolicy,
    /// The policy is `Required`: the setting is on and can't be turned off.
    OnByPolicy,
    /// The policy is `RequiredPostQuantum`: the setting is on and can't be turned off, and
    /// end-to-end encrypted calls must also use a post-quantum key agreement.
    OnByPolicyPostQuantum,
}

impl SettingLock {
    /// What the settings screen shows next to the locked switch.
    pub fn user_message(self) -> &'static str {
        match self {
            SettingLock::OffByPolicy => {
                "Your organisation has turned off end-to-end encrypted calls."
            }
            SettingLock::OnByPolicy => "Your organisation requires end-to-end encrypted calls.",
            SettingLock::OnByPolicyPostQuantum => {
                "Your organisation requires end-to-end encrypted, post-quantum protected calls."
            }
        }
    }
}

/// The state of a user's "End-to-end encrypted calls" setting (Settings > Privacy). The setting
/// belongs to the user, not to a device: every device of the user sees the same state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserSettingState {
    /// What the user chose (off if they never chose). Kept while the policy overrides it.
    pub stored_choice: bool,
    /// Whether the setting is in effect: the choice under `DisabledUserOverride`, always off
    /// under `Disabled`, always on under `Required` and `RequiredPostQuantum`.
    pub effective: bool,
    /// Why the user can't change it, if they can't.
    pub lock: Option<SettingLock>,
    /// The policy deciding this.
    pub policy: EffectivePolicy,
}

impl UserSettingState {
    pub(crate) fn compute(stored_choice: bool, policy: EffectivePolicy) -> Self {
        let (effective, lock) = match policy.policy.calling {
            CallingEncryptionType::Disabled => (false, Some(SettingLock::OffByPolicy)),
            CallingEncryptionType::DisabledUserOverride => (stored_choice, None),
            CallingEncryptionType::Required => (true, Some(SettingLock::OnByPolicy)),
            CallingEncryptionType::RequiredPostQuantum => {
                (true, Some(SettingLock::OnByPolicyPostQuantum))
            }
        };
        Self {
            stored_choice,
            effective,
            lock,
            policy,
        }
    }
}

/// The user's "End-to-end encrypted calls" setting as stored and as in effect.
pub fn user_e2ee_setting<S: PolicyStore + ?Sized>(
    store: &S,
    user: &UserId,
) -> Result<UserSettingState, PolicyError> {
    let policy = effective_policy(store, user)?;
    let stored = store.user_setting(user)?.unwrap_or(false);
    Ok(UserSettingState::compute(stored, policy))
}

/// Whether the user's calls are recorded for compliance, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ComplianceStatus {
    /// No compliance recording applies.
    NotRecorded,
    /// The user has a compliance-recording assignment.
    User,
    /// The whole organisation records calls for compliance.
    Organization,
}

impl ComplianceStatus {
    /// Whether calls are recorded.
    pub fn is_recorded(self) -> bool {
        !matches!(self, ComplianceStatus::NotRecorded)
    }
}

/// Whether compliance recording applies to the user (an organisation-wide assignment covers
/// everyone).
pub fn compliance_status<S: PolicyStore + ?Sized>(
    store: &S,
    user: &UserId,
) -> Result<ComplianceStatus, PolicyError> {
    if store.compliance_recording(&ComplianceScope::Organization)? {
        Ok(ComplianceStatus::Organization)
    } else if store.compliance_recording(&ComplianceScope::User(user.clone()))? {
        Ok(ComplianceStatus::User)
    } else {
        Ok(ComplianceStatus::NotRecorded)
    }
}

/// Everything [`decide`](crate::decide) needs about one side of a call, resolved from the store
/// and the device's report.
pub fn resolve_party<S: PolicyStore + ?Sized>(
    store: &S,
    user: &UserId,
    device: &DeviceInfo,
) -> Result<Party, PolicyError> {
    let setting = user_e2ee_setting(store, user)?;
    let capability = store.client_requirements()?.assess(device);
    let compliance = compliance_status(store, user)?;
    Ok(Party {
        user: user.clone(),
        policy: setting.policy.policy.calling,
        policy_source: setting.policy.source,
        user_choice: setting.stored_choice,
        capability,
        compliance_recording: compliance.is_recorded(),
    })
}
