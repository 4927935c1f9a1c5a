//! What the two SQL stores ([`SqliteStore`](crate::SqliteStore) and
//! [`PostgresStore`](crate::PostgresStore)) share: how values map to columns and back, the
//! seeded rows, and the per-node counter that folds floods of denied attempts into one audit row.
//! Both stores keep the same tables under the same schema version numbers, so a row means the
//! same thing in either.

use std::collections::HashMap;

use sealcall_policy::{
    ClientRequirements, ClientVersion, ComplianceScope, EnhancedEncryptionPolicy, GroupAssignment,
    GroupId, Platform, PolicyIdentity, PolicyName, Rank, Role, RoleSet, StoreError, UserId,
};
use sealcall_signaling::{DeviceId, IdentityKey};

use crate::error::{Result, ServerError};
use crate::store::{DeviceRecord, SessionRecord, UserRecord};

/// The roles, as stored in `user_roles.role`.
pub(crate) const ROLES: [Role; 3] = [
    Role::User,
    Role::TeamsAdministrator,
    Role::GlobalAdministrator,
];

/// A role's name in `user_roles.role`.
pub(crate) fn role_name(role: Role) -> &'static str {
    match role {
        Role::User => "User",
        Role::TeamsAdministrator => "TeamsAdministrator",
        Role::GlobalAdministrator => "GlobalAdministrator",
    }
}

/// The role set of these `user_roles.role` names (unknown names are skipped).
pub(crate) fn role_set<'a>(names: impl IntoIterator<Item = &'a str>) -> RoleSet {
    names.into_iter().fold(RoleSet::empty(), |set, name| {
        match ROLES.iter().find(|r| role_name(**r) == name) {
            Some(r) => set.with(*r),
            None => set,
        }
    })
}

/// Denied attempts written per actor per window; the rest are counted in one row.
pub const DENIED_AUDITS_PER_WINDOW: u32 = 10;

/// The window for [`DENIED_AUDITS_PER_WINDOW`] (seconds).
pub const DENIED_AUDIT_WINDOW_SECS: u64 = 60;

/// A stored value that does not parse.
pub(crate) fn bad_row(what: &str) -> ServerError {
    ServerError::Storage(format!("invalid {what} in the database"))
}

/// Unix seconds as a column value.
pub(crate) fn unix_at(at: u64) -> i64 {
    i64::try_from(at).unwrap_or(i64::MAX)
}

/// A column value as Unix seconds.
pub(crate) fn as_u64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

/// A count or offset as a column value.
pub(crate) fn count(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// The `LIKE` pattern (escape character `\`) for a user search.
pub(crate) fn like_pattern(search: Option<&str>) -> String {
    format!(
        "%{}%",
        search
            .unwrap_or("")
            .to_ascii_lowercase()
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_")
    )
}

/// The columns `id, display_name, password_hash` and the user's roles as a record.
pub(crate) fn user_record(
    id: &str,
    display_name: String,
    password_hash: String,
    roles: RoleSet,
) -> Result<UserRecord> {
    Ok(UserRecord {
        id: UserId::new(id).map_err(|_| bad_row("user id"))?,
        display_name,
        password_hash,
        roles,
    })
}

/// The columns of a device row (with its owner's `users.id`).
pub(crate) struct DeviceRow {
    pub id: String,
    pub user: String,
    pub key: Vec<u8>,
    pub platform: String,
    pub version: String,
}

impl DeviceRow {
    /// The record, or an error naming the column that does not parse.
    pub(crate) fn record(self) -> Result<DeviceRecord> {
        Ok(DeviceRecord {
            id: DeviceId::new(&self.id).map_err(|_| bad_row("device id"))?,
            user: UserId::new(&self.user).map_err(|_| bad_row("user id"))?,
            identity_key: IdentityKey(self.key.try_into().map_err(|_| bad_row("identity key"))?),
            platform: self
                .platform
                .parse::<Platform>()
                .map_err(|_| bad_row("platform"))?,
            client_version: self
                .version
                .parse::<ClientVersion>()
                .map_err(|_| bad_row("client version"))?,
        })
    }
}

/// A session row (`token_hash`, owner's `users.id`, `expires_at`, `device_id`) as a record.
pub(crate) fn session_record(
    hash: Vec<u8>,
    user: &str,
    expires_at: i64,
    device: Option<String>,
) -> Result<SessionRecord> {
    Ok(SessionRecord {
        token_hash: hash.try_into().map_err(|_| bad_row("session"))?,
        user: UserId::new(user).map_err(|_| bad_row("user id"))?,
        expires_at: as_u64(expires_at),
        device: device
            .map(|d| DeviceId::new(&d).map_err(|_| bad_row("device id")))
            .transpose()?,
    })
}

/// Group ids from the `id` column.
pub(crate) fn group_ids(ids: &[String]) -> Result<Vec<GroupId>, StoreError> {
    ids.iter()
        .map(|g| GroupId::new(g).map_err(|_| StoreError::new("invalid group id in the database")))
        .collect()
}

/// A `group_assignments` row (`group_id`, `policy`, `rank`).
pub(crate) fn group_assignment(
    group: &str,
    policy: &str,
    rank: i64,
) -> Result<GroupAssignment, StoreError> {
    Ok(GroupAssignment {
        group: GroupId::new(group)
            .map_err(|_| StoreError::new("invalid group id in the database"))?,
        policy: name_from(policy)?,
        rank: u32::try_from(rank)
            .ok()
            .and_then(Rank::new)
            .ok_or_else(|| StoreError::new("invalid rank in the database"))?,
    })
}

/// The rows every store is seeded with once: the Global policy (`policies` key `''`) and the
/// client requirements (`client_requirements` id 1), as JSON.
pub(crate) fn seed_bodies() -> Result<(String, String)> {
    let global = serde_json::to_string(&EnhancedEncryptionPolicy::builtin_global())
        .map_err(|e| ServerError::Storage(e.to_string()))?;
    let requirements = serde_json::to_string(&ClientRequirements::default())
        .map_err(|e| ServerError::Storage(e.to_string()))?;
    Ok((global, requirements))
}

/// A stored policy body, or the built-in Global policy when the Global row is missing.
pub(crate) fn policy_body(
    identity: &PolicyIdentity,
    body: Option<String>,
) -> Result<Option<EnhancedEncryptionPolicy>, StoreError> {
    match body {
        Some(b) => Ok(Some(serde_json::from_str(&b).map_err(json_err)?)),
        None if *identity == PolicyIdentity::Global => {
            Ok(Some(EnhancedEncryptionPolicy::builtin_global()))
        }
        None => Ok(None),
    }
}

/// The stored client requirements, or the defaults.
pub(crate) fn requirements_body(body: Option<String>) -> Result<ClientRequirements, StoreError> {
    match body {
        Some(b) => serde_json::from_str(&b).map_err(json_err),
        None => Ok(ClientRequirements::default()),
    }
}

/// Logs one written audit row by its id (`seq`), so an operator can find it in the audit log;
/// the before and after states stay in the audit log only.
pub(crate) fn log_audit(audit_id: i64, actor: &str, action: &str, target: &str, outcome: &str) {
    tracing::info!(audit_id, actor, action, target, outcome, "audit");
}

/// A JSON failure, without the value.
pub(crate) fn json_err(e: serde_json::Error) -> StoreError {
    let kind = match e.classify() {
        serde_json::error::Category::Io => "i/o",
        serde_json::error::Category::Syntax => "syntax",
        serde_json::error::Category::Data => "data",
        serde_json::error::Category::Eof => "eof",
    };
    StoreError::new(format!("invalid stored value: {kind}"))
}

/// The `policies.key` of a policy identity (`''` for Global).
pub(crate) fn identity_key(identity: &PolicyIdentity) -> String {
    match identity {
        PolicyIdentity::Global => String::new(),
        PolicyIdentity::Tag(name) => name.key(),
    }
}

/// A stored policy name.
pub(crate) fn name_from(text: &str) -> Result<PolicyName, StoreError> {
    PolicyName::new(text).map_err(|_| StoreError::new("invalid policy name in the database"))
}

/// An audit enum's serialized name (`Applied`, `SetPolicy`, …).
pub(crate) fn audit_name<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| "Unknown".to_owned())
}

/// The `compliance_recording.scope` of a scope.
pub(crate) fn scope_key(scope: &ComplianceScope) -> String {
    match scope {
        ComplianceScope::Organization => "organization".to_owned(),
        ComplianceScope::User(user) => format!("user:{}", user.key()),
    }
}

/// One actor's denied attempts in the current window.
#[derive(Debug, Clone, Copy)]
struct Window {
    since: u64,
    written: u32,
    suppressed: u32,
    /// The row counting the suppressed ones, once there is one.
    summary: Option<i64>,
}

/// What to do with a denied attempt that changes nothing.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Denial {
    /// Write it as its own audit row.
    Write,
    /// Count it in the actor's summary row: update row `Some(seq)`, or insert one (and report
    /// its id with [`Denials::summary_written`]); `target` is the summary's text.
    Count {
        /// The summary row, once there is one.
        row: Option<i64>,
        /// The summary's `target` column.
        target: String,
    },
}

/// Per actor, denied attempts in the current window (memory only, per server node). Past
/// [`DENIED_AUDITS_PER_WINDOW`] in a window they are counted in one summary row instead, so no
/// one can fill the disk with refusals.
#[derive(Debug, Default)]
pub(crate) struct Denials(HashMap<String, Window>);

impl Denials {
    /// Notes a denied attempt by `actor` at `at` and says how to record it.
    pub(crate) fn note(&mut self, actor: &str, at: u64) -> Denial {
        if self.0.len() > 10_000 {
            self.0
                .retain(|_, d| at.saturating_sub(d.since) < DENIED_AUDIT_WINDOW_SECS);
        }
        let fresh = Window {
            since: at,
            written: 0,
            suppressed: 0,
            summary: None,
        };
        let d = self.0.entry(actor.to_owned()).or_insert(fresh);
        if at.saturating_sub(d.since) >= DENIED_AUDIT_WINDOW_SECS {
            *d = fresh;
        }
        if d.written < DENIED_AUDITS_PER_WINDOW {
            d.written += 1;
            return Denial::Write;
        }
        d.suppressed += 1;
        Denial::Count {
            row: d.summary,
            target: format!(
                "{} more denied attempts in the {DENIED_AUDIT_WINDOW_SECS} s from {} (counted, not written one by one)",
                d.suppressed, d.since
            ),
        }
    }

    /// Records the id of the summary row just inserted for `actor`.
    pub(crate) fn summary_written(&mut self, actor: &str, row: i64) {
        if let Some(d) = self.0.get_mut(actor) {
            d.summary = Some(row);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn denials_past_the_window_limit_are_counted_in_one_row() {
        let mut d = Denials::default();
        for _ in 0..DENIED_AUDITS_PER_WINDOW {
            assert_eq!(d.note("eve", 100), Denial::Write);
        }
        let Denial::Count { row: None, target } = d.note("eve", 101) else {
            panic!("expected a new summary row")
        };
        assert!(target.starts_with("1 more denied attempts"), "{target}");
        d.summary_written("eve", 7);
        let Denial::Count { row, target } = d.note("eve", 102) else {
            panic!("expected the summary row")
        };
        assert_eq!(row, Some(7));
        assert!(target.starts_with("2 more"), "{target}");
        assert_eq!(d.note("mallory", 102), Denial::Write, "per actor");
        assert_eq!(
            d.note("eve", 100 + DENIED_AUDIT_WINDOW_SECS),
            Denial::Write,
            "a new window"
        );
    }

    #[test]
    fn search_patterns_escape_like_wildcards() {
        assert_eq!(like_pattern(Some("A_b%c\\")), "%a\\_b\\%c\\\\%");
        assert_eq!(like_pattern(None), "%%");
    }
}
