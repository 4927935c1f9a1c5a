//! Who is asking: the authenticated caller of an administrative or user operation.

use serde::{Deserialize, Serialize};

use crate::model::UserId;

/// A directory role relevant to encryption policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Role {
    /// An ordinary user.
    User,
    /// The Teams administrator role: may manage enhanced encryption policies.
    TeamsAdministrator,
    /// The global administrator role: may manage enhanced encryption policies.
    GlobalAdministrator,
}

/// The set of roles an actor holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RoleSet {
    user: bool,
    teams_administrator: bool,
    global_administrator: bool,
}

impl RoleSet {
    /// No roles.
    pub fn empty() -> Self {
        Self::default()
    }

    /// The set holding exactly `roles`.
    pub fn of(roles: &[Role]) -> Self {
        roles
            .iter()
            .fold(Self::empty(), |set, role| set.with(*role))
    }

    /// This set plus `role`.
    #[must_use]
    pub fn with(mut self, role: Role) -> Self {
        match role {
            Role::User => self.user = true,
            Role::TeamsAdministrator => self.teams_administrator = true,
            Role::GlobalAdministrator => self.global_administrator = true,
        }
        self
    }

    /// Whether `role` is in the set.
    pub fn contains(self, role: Role) -> bool {
        match role {
            Role::User => self.user,
            Role::TeamsAdministrator => self.teams_administrator,
            Role::GlobalAdministrator => self.global_administrator,
        }
    }

    /// Whether these roles may manage enhanced encryption policies, compliance recording and
    /// client requirements: the Teams administrator or global administrator role.
    pub fn can_administer_policies(self) -> bool {
        self.teams_administrator || self.global_administrator
    }
}

/// The authenticated caller. The server builds it from the signed-in session; this crate trusts
/// it as given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    /// Who is acting.
    pub user: UserId,
    /// The roles they hold.
    pub roles: RoleSet,
}

impl Actor {
    /// An actor with the given roles.
    pub fn new(user: UserId, roles: RoleSet) -> Self {
        Self { user, roles }
    }
}

/// The roles that may manage policies, as named in access-denied errors.
pub(crate) const ADMIN_ROLES: &str = "the Teams administrator or global administrator role";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_teams_and_global_admins_administer() {
        assert!(!RoleSet::empty().can_administer_policies());
        assert!(!RoleSet::of(&[Role::User]).can_administer_policies());
        assert!(RoleSet::of(&[Role::TeamsAdministrator]).can_administer_policies());
        assert!(RoleSet::of(&[Role::User, Role::GlobalAdministrator]).can_administer_policies());
        let set = RoleSet::of(&[Role::User]);
        assert!(set.contains(Role::User));
        assert!(!set.contains(Role::GlobalAdministrator));
    }
}
