//! The storage trait the executor and resolvers run against, and what it stores.

use serde::{Deserialize, Serialize};

use crate::client::ClientRequirements;
use crate::error::StoreError;
use crate::model::{
    EnhancedEncryptionPolicy, GroupId, PolicyIdentity, PolicyName, Rank, Timestamp, UserId,
};

/// A group's policy assignment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupAssignment {
    /// The group.
    pub group: GroupId,
    /// The policy assigned to its members.
    pub policy: PolicyName,
    /// Its rank: among a user's groups, the lowest rank number wins.
    pub rank: Rank,
}

/// How widely a policy is assigned (used to refuse removing a policy still in use).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyUsage {
    /// Users with a direct assignment of the policy.
    pub users: usize,
    /// Groups with an assignment of the policy.
    pub groups: usize,
    /// Whether the policy is the tenant-wide default.
    pub tenant_default: bool,
}

impl PolicyUsage {
    /// Whether the policy is assigned anywhere.
    pub fn is_assigned(&self) -> bool {
        self.users > 0 || self.groups > 0 || self.tenant_default
    }
}

/// Who a compliance-recording assignment covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ComplianceScope {
    /// One user.
    User(UserId),
    /// Every user of the organisation.
    Organization,
}

/// One state change. [`PolicyStore::commit`] applies a list of them atomically.
///
/// Deliberately not `#[non_exhaustive]`: a store must handle every change, so a new variant
/// should fail to compile in every implementation rather than be silently ignored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Change {
    /// Inserts the policy, or replaces the one with the same identity (case-insensitive).
    PutPolicy(EnhancedEncryptionPolicy),
    /// Deletes a tag policy (never Global).
    DeletePolicy(PolicyName),
    /// Sets (`Some`) or clears (`None`) a user's direct assignment.
    AssignUser {
        /// The user.
        user: UserId,
        /// The policy, or `None` to fall back.
        policy: Option<PolicyName>,
    },
    /// Sets (`Some`) or clears (`None`) a group's assignment.
    AssignGroup {
        /// The group.
        group: GroupId,
        /// The policy and rank, or `None` to remove the group's assignment.
        assignment: Option<(PolicyName, Rank)>,
    },
    /// Sets (`Some`) or clears (`None`) the tenant-wide default; `None` restores the built-in
    /// Global policy as the default.
    AssignTenantDefault {
        /// The policy, or `None`.
        policy: Option<PolicyName>,
    },
    /// Removes every user, group and tenant-default assignment of the policy.
    UnassignEverywhere(PolicyName),
    /// Stores a user's "End-to-end encrypted calls" choice.
    SetUserSetting {
        /// The user.
        user: UserId,
        /// Their choice.
        enabled: bool,
    },
    /// Turns a compliance-recording assignment on or off.
    SetComplianceRecording {
        /// Who it covers.
        scope: ComplianceScope,
        /// Whether calls are recorded for compliance.
        enabled: bool,
    },
    /// Replaces the minimum client versions.
    SetClientRequirements(ClientRequirements),
}

/// What an audited operation was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AuditAction {
    /// `New-CsTeamsEnhancedEncryptionPolicy`.
    NewPolicy,
    /// `Get-CsTeamsEnhancedEncryptionPolicy` (audited only when denied).
    GetPolicy,
    /// `Set-CsTeamsEnhancedEncryptionPolicy`, or `Grant-` with `-Identity Global` and settings.
    SetPolicy,
    /// `Remove-CsTeamsEnhancedEncryptionPolicy`.
    RemovePolicy,
    /// `Grant-` to a user.
    GrantUser,
    /// `Grant-` to a group.
    GrantGroup,
    /// `Grant-` with `-Global`.
    GrantTenantDefault,
    /// A user changed their own "End-to-end encrypted calls" setting.
    SetUserSetting,
    /// A compliance-recording assignment changed.
    SetComplianceRecording,
    /// The minimum client versions changed.
    SetClientRequirements,
}

/// Whether an audited operation took effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AuditOutcome {
    /// The change was applied.
    Applied,
    /// The actor lacked the required role; nothing changed.
    Denied,
}

/// One audit record: who, when, what, the state before and after.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// Who acted.
    pub actor: UserId,
    /// When (as passed in by the caller).
    pub at: Timestamp,
    /// What kind of operation.
    pub action: AuditAction,
    /// The object acted on, e.g. `Tag:ContosoE2EEUserPolicy`, `user:ken@contoso.com`,
    /// `group:sales`, `tenant`, `organization`.
    pub target: String,
    /// The relevant state before (`None` when there was none, e.g. a new policy).
    pub before: Option<String>,
    /// The relevant state after (`None` when there is none, e.g. a removed policy or a
    /// denied attempt).
    pub after: Option<String>,
    /// Applied or denied.
    pub outcome: AuditOutcome,
}

/// Where policies, assignments, user settings and the directory live.
///
/// Reads take `&self`; the only write is [`commit`](PolicyStore::commit), which applies every
/// change and appends the audit record atomically (all or nothing). Callers that share a store
/// between threads or processes should run one operation (its reads and its commit) inside one
/// transaction or under one lock, so a decision is never made on a half-read state.
///
/// Names compare case-insensitively (ASCII): use [`PolicyName::key`], [`UserId::key`] and
/// [`GroupId::key`] as lookup keys (SQLite: `COLLATE NOCASE`).
pub trait PolicyStore {
    /// Whether the user is in the directory.
    fn user_exists(&self, user: &UserId) -> Result<bool, StoreError>;
    /// Whether the group is in the directory.
    fn group_exists(&self, group: &GroupId) -> Result<bool, StoreError>;
    /// The groups the user is a member of (any order).
    fn groups_of(&self, user: &UserId) -> Result<Vec<GroupId>, StoreError>;

    /// The policy with this identity. For [`PolicyIdentity::Global`] a store must always return
    /// the Global policy (its initial state is [`EnhancedEncryptionPolicy::builtin_global`]).
    fn policy(
        &self,
        identity: &PolicyIdentity,
    ) -> Result<Option<EnhancedEncryptionPolicy>, StoreError>;
    /// Every policy, Global included (any order).
    fn policies(&self) -> Result<Vec<EnhancedEncryptionPolicy>, StoreError>;

    /// The user's direct assignment, if any.
    fn user_assignment(&self, user: &UserId) -> Result<Option<PolicyName>, StoreError>;
    /// Every group assignment (any order).
    fn group_assignments(&self) -> Result<Vec<GroupAssignment>, StoreError>;
    /// The tenant-wide default set with `Grant- -Global`, if any.
    fn tenant_default(&self) -> Result<Option<PolicyName>, StoreError>;
    /// How widely the policy is assigned.
    fn policy_usage(&self, policy: &PolicyName) -> Result<PolicyUsage, StoreError>;

    /// The user's stored "End-to-end encrypted calls" choice (`None` if never set: off).
    fn user_setting(&self, user: &UserId) -> Result<Option<bool>, StoreError>;
    /// Whether a compliance-recording assignment for exactly this scope is on.
    fn compliance_recording(&self, scope: &ComplianceScope) -> Result<bool, StoreError>;
    /// The organisation's minimum client versions.
    fn client_requirements(&self) -> Result<ClientRequirements, StoreError>;

    /// Applies `changes` in order and appends `audit`, atomically: on error nothing is applied.
    /// `changes` is empty for a denied attempt, which only appends its audit record.
    fn commit(&mut self, changes: &[Change], audit: &AuditRecord) -> Result<(), StoreError>;
}
