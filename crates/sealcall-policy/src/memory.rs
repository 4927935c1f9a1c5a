//! An in-memory [`PolicyStore`] for tests, fuzzing and examples.

use std::collections::{BTreeMap, BTreeSet};

use crate::client::ClientRequirements;
use crate::error::StoreError;
use crate::model::{EnhancedEncryptionPolicy, GroupId, PolicyIdentity, PolicyName, Rank, UserId};
use crate::store::{
    AuditRecord, Change, ComplianceScope, GroupAssignment, PolicyStore, PolicyUsage,
};

/// Everything a [`MemoryStore`] holds except its audit log; compare two snapshots to check that
/// an operation changed nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemoryState {
    users: BTreeMap<String, UserId>,
    groups: BTreeMap<String, GroupId>,
    members: BTreeSet<(String, String)>,
    policies: BTreeMap<String, EnhancedEncryptionPolicy>,
    user_assignments: BTreeMap<String, PolicyName>,
    group_assignments: BTreeMap<String, (GroupId, PolicyName, Rank)>,
    tenant_default: Option<PolicyName>,
    user_settings: BTreeMap<String, bool>,
    compliance_users: BTreeSet<String>,
    compliance_org: bool,
    client_requirements: ClientRequirements,
}

/// A [`PolicyStore`] in memory. Starts with the built-in Global policy and an empty directory;
/// tests add users, groups and memberships with [`add_user`](MemoryStore::add_user) and friends.
#[derive(Debug, Clone)]
pub struct MemoryStore {
    state: MemoryState,
    audit: Vec<AuditRecord>,
    fail_next_commit: bool,
}

const GLOBAL_KEY: &str = "";

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryStore {
    /// A store with only the built-in Global policy.
    pub fn new() -> Self {
        let mut policies = BTreeMap::new();
        policies.insert(
            GLOBAL_KEY.to_owned(),
            EnhancedEncryptionPolicy::builtin_global(),
        );
        Self {
            state: MemoryState {
                users: BTreeMap::new(),
                groups: BTreeMap::new(),
                members: BTreeSet::new(),
                policies,
                user_assignments: BTreeMap::new(),
                group_assignments: BTreeMap::new(),
                tenant_default: None,
                user_settings: BTreeMap::new(),
                compliance_users: BTreeSet::new(),
                compliance_org: false,
                client_requirements: ClientRequirements::default(),
            },
            audit: Vec::new(),
            fail_next_commit: false,
        }
    }

    /// Adds a user to the directory.
    pub fn add_user(&mut self, user: UserId) -> &mut Self {
        self.state.users.insert(user.key(), user);
        self
    }

    /// Adds a group to the directory.
    pub fn add_group(&mut self, group: GroupId) -> &mut Self {
        self.state.groups.insert(group.key(), group);
        self
    }

    /// Makes `user` a member of `group` (both are added to the directory if missing).
    pub fn add_member(&mut self, group: &GroupId, user: &UserId) -> &mut Self {
        self.add_user(user.clone());
        self.add_group(group.clone());
        self.state.members.insert((group.key(), user.key()));
        self
    }

    /// Removes `user` from `group`.
    pub fn remove_member(&mut self, group: &GroupId, user: &UserId) -> &mut Self {
        self.state.members.remove(&(group.key(), user.key()));
        self
    }

    /// A copy of everything but the audit log.
    pub fn snapshot(&self) -> MemoryState {
        self.state.clone()
    }

    /// The audit log, oldest first.
    pub fn audit_log(&self) -> &[AuditRecord] {
        &self.audit
    }

    /// Makes the next [`commit`](PolicyStore::commit) fail (to test that failures change
    /// nothing).
    pub fn fail_next_commit(&mut self) {
        self.fail_next_commit = true;
    }

    fn apply(state: &mut MemoryState, change: &Change) -> Result<(), StoreError> {
        match change {
            Change::PutPolicy(policy) => {
                let key = identity_key(&policy.identity);
                state.policies.insert(key, policy.clone());
            }
            Change::DeletePolicy(name) => {
                if state.policies.remove(&name.key()).is_none() {
                    return Err(StoreError::new("policy to delete does not exist"));
                }
            }
            Change::AssignUser { user, policy } => match policy {
                Some(p) => {
                    state.user_assignments.insert(user.key(), p.clone());
                }
                None => {
                    state.user_assignments.remove(&user.key());
                }
            },
            Change::AssignGroup { group, assignment } => match assignment {
                Some((p, rank)) => {
                    state
                        .group_assignments
                        .insert(group.key(), (group.clone(), p.clone(), *rank));
                }
                None => {
                    state.group_assignments.remove(&group.key());
                }
            },
            Change::AssignTenantDefault { policy } => state.tenant_default = policy.clone(),
            Change::UnassignEverywhere(name) => {
                state.user_assignments.retain(|_, p| p != name);
                state.group_assignments.retain(|_, (_, p, _)| p != name);
                if state.tenant_default.as_ref() == Some(name) {
                    state.tenant_default = None;
                }
            }
            Change::SetUserSetting { user, enabled } => {
                state.user_settings.insert(user.key(), *enabled);
            }
            Change::SetComplianceRecording { scope, enabled } => match scope {
                ComplianceScope::Organization => state.compliance_org = *enabled,
                ComplianceScope::User(user) => {
                    if *enabled {
                        state.compliance_users.insert(user.key());
                    } else {
                        state.compliance_users.remove(&user.key());
                    }
                }
            },
            Change::SetClientRequirements(req) => state.client_requirements = req.clone(),
        }
        Ok(())
    }
}

fn identity_key(identity: &PolicyIdentity) -> String {
    match identity {
        PolicyIdentity::Global => GLOBAL_KEY.to_owned(),
        PolicyIdentity::Tag(name) => name.key(),
    }
}

impl PolicyStore for MemoryStore {
    fn user_exists(&self, user: &UserId) -> Result<bool, StoreError> {
        Ok(self.state.users.contains_key(&user.key()))
    }

    fn group_exists(&self, group: &GroupId) -> Result<bool, StoreError> {
        Ok(self.state.groups.contains_key(&group.key()))
    }

    fn groups_of(&self, user: &UserId) -> Result<Vec<GroupId>, StoreError> {
        let key = user.key();
        Ok(self
            .state
            .members
            .iter()
            .filter(|(_, u)| *u == key)
            .filter_map(|(g, _)| self.state.groups.get(g).cloned())
            .collect())
    }

    fn policy(
        &self,
        identity: &PolicyIdentity,
    ) -> Result<Option<EnhancedEncryptionPolicy>, StoreError> {
        Ok(self.state.policies.get(&identity_key(identity)).cloned())
    }

    fn policies(&self) -> Result<Vec<EnhancedEncryptionPolicy>, StoreError> {
        Ok(self.state.policies.values().cloned().collect())
    }

    fn user_assignment(&self, user: &UserId) -> Result<Option<PolicyName>, StoreError> {
        Ok(self.state.user_assignments.get(&user.key()).cloned())
    }

    fn group_assignments(&self) -> Result<Vec<GroupAssignment>, StoreError> {
        Ok(self
            .state
            .group_assignments
            .values()
            .map(|(group, policy, rank)| GroupAssignment {
                group: group.clone(),
                policy: policy.clone(),
                rank: *rank,
            })
            .collect())
    }

    fn tenant_default(&self) -> Result<Option<PolicyName>, StoreError> {
        Ok(self.state.tenant_default.clone())
    }

    fn policy_usage(&self, policy: &PolicyName) -> Result<PolicyUsage, StoreError> {
        Ok(PolicyUsage {
            users: self
                .state
                .user_assignments
                .values()
                .filter(|p| *p == policy)
                .count(),
            groups: self
                .state
                .group_assignments
                .values()
                .filter(|(_, p, _)| p == policy)
                .count(),
            tenant_default: self.state.tenant_default.as_ref() == Some(policy),
        })
    }

    fn user_setting(&self, user: &UserId) -> Result<Option<bool>, StoreError> {
        Ok(self.state.user_settings.get(&user.key()).copied())
    }

    fn compliance_recording(&self, scope: &ComplianceScope) -> Result<bool, StoreError> {
        Ok(match scope {
            ComplianceScope::Organization => self.state.compliance_org,
            ComplianceScope::User(user) => self.state.compliance_users.contains(&user.key()),
        })
    }

    fn client_requirements(&self) -> Result<ClientRequirements, StoreError> {
        Ok(self.state.client_requirements.clone())
    }

    fn commit(&mut self, changes: &[Change], audit: &AuditRecord) -> Result<(), StoreError> {
        if std::mem::take(&mut self.fail_next_commit) {
            return Err(StoreError::new("injected failure"));
        }
        // Apply to a copy and swap it in only if every change succeeded: all or nothing.
        let mut next = self.state.clone();
        for change in changes {
            Self::apply(&mut next, change)?;
        }
        self.state = next;
        self.audit.push(audit.clone());
        Ok(())
    }
}
