//! The SQLite [`Storage`]: one file, WAL journal, migrations applied on open, and the
//! [`PolicyStore`] of `sealcall-policy` on the same tables.
//!
//! rusqlite is synchronous, like `PolicyStore`; the server calls it from blocking threads. One
//! connection behind a mutex serialises writers (SQLite allows one writer anyway) and makes
//! each policy operation — its reads and its commit — one transaction.

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use rusqlite::{Connection, OptionalExtension, params};
use sealcall_policy::{
    AuditRecord, Change, ClientRequirements, ComplianceScope, EnhancedEncryptionPolicy,
    GroupAssignment, GroupId, PolicyIdentity, PolicyName, PolicyStore, PolicyUsage, Role, RoleSet,
    StoreError, UserId,
};
use sealcall_signaling::DeviceId;

use crate::error::{Result, ServerError};
use crate::sql::{
    Denial, Denials, DeviceRow, ROLES, as_u64, audit_name, bad_row, count, group_assignment,
    group_ids, identity_key, json_err, like_pattern, log_audit, name_from, policy_body,
    requirements_body, role_name, role_set, scope_key, seed_bodies, session_record, unix_at,
    user_record,
};
use crate::store::{
    AuditEntry, DeviceRecord, PolicyOp, ServerAudit, SessionRecord, Storage, UserRecord,
};

/// The migrations, in order; `PRAGMA user_version` records how many are applied.
const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/0001_initial.sql"),
    include_str!("../migrations/0002_session_device.sql"),
];

/// The SQLite store.
pub struct SqliteStore {
    conn: Mutex<Connection>,
    /// Per actor: denied attempts in the current window (memory only).
    denials: Mutex<Denials>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SqliteStore")
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and applies pending migrations.
    pub fn open(path: &Path) -> Result<Self> {
        let conn = Connection::open(path)?;
        Self::init(conn)
    }

    /// An in-memory database (for unit tests).
    pub fn open_in_memory() -> Result<Self> {
        Self::init(Connection::open_in_memory()?)
    }

    fn init(mut conn: Connection) -> Result<Self> {
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        let supported = i64::try_from(MIGRATIONS.len()).unwrap_or(i64::MAX);
        if version > supported {
            return Err(ServerError::SchemaTooNew {
                found: version,
                supported,
            });
        }
        for (index, sql) in MIGRATIONS
            .iter()
            .enumerate()
            .skip(usize::try_from(version).unwrap_or(0))
        {
            let tx = conn.transaction()?;
            tx.execute_batch(sql)?;
            tx.pragma_update(
                None,
                "user_version",
                i64::try_from(index + 1).unwrap_or(i64::MAX),
            )?;
            tx.commit()?;
        }
        // Seed the Global policy and the client requirements once.
        let (global, req) = seed_bodies()?;
        conn.execute(
            "INSERT OR IGNORE INTO policies (key, body) VALUES ('', ?1)",
            params![global],
        )?;
        conn.execute(
            "INSERT OR IGNORE INTO client_requirements (id, body) VALUES (1, ?1)",
            params![req],
        )?;
        Ok(Self {
            conn: Mutex::new(conn),
            denials: Mutex::default(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock can't leave a half-applied transaction (SQLite rolls
        // back an unfinished one), so a poisoned lock is safe to reuse.
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn roles_of(conn: &Connection, key: &str) -> Result<RoleSet> {
        let mut stmt = conn.prepare_cached("SELECT role FROM user_roles WHERE user_key = ?1")?;
        let names: Vec<String> = stmt
            .query_map(params![key], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(role_set(names.iter().map(String::as_str)))
    }

    fn insert_user(conn: &Connection, user: &UserRecord, now: u64) -> Result<()> {
        let inserted = conn.execute(
            "INSERT OR IGNORE INTO users (key, id, display_name, password_hash, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![user.id.key(), user.id.as_str(), user.display_name, user.password_hash, unix_at(now)],
        )?;
        if inserted == 0 {
            return Err(ServerError::UserExists(user.id.to_string()));
        }
        for role in ROLES {
            if user.roles.contains(role) {
                conn.execute(
                    "INSERT INTO user_roles (user_key, role) VALUES (?1, ?2)",
                    params![user.id.key(), role_name(role)],
                )?;
            }
        }
        Ok(())
    }

    fn row_to_user(
        conn: &Connection,
        id: String,
        display: String,
        hash: String,
    ) -> Result<UserRecord> {
        let roles = Self::roles_of(conn, &id.to_ascii_lowercase())?;
        user_record(&id, display, hash, roles)
    }
}

fn device_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<DeviceRow> {
    Ok(DeviceRow {
        id: r.get(0)?,
        user: r.get(1)?,
        key: r.get(2)?,
        platform: r.get(3)?,
        version: r.get(4)?,
    })
}

impl Storage for SqliteStore {
    fn tenant(&self) -> Result<Option<String>> {
        let conn = self.lock();
        Ok(conn
            .query_row("SELECT name FROM tenant WHERE id = 1", [], |r| r.get(0))
            .optional()?)
    }

    fn init_tenant(&self, name: &str, admin: &UserRecord, now: u64) -> Result<()> {
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        if let Some(existing) = tx
            .query_row("SELECT name FROM tenant WHERE id = 1", [], |r| {
                r.get::<_, String>(0)
            })
            .optional()?
        {
            return Err(ServerError::AlreadyInitialised(existing));
        }
        tx.execute(
            "INSERT INTO tenant (id, name, created_at) VALUES (1, ?1, ?2)",
            params![name, unix_at(now)],
        )?;
        Self::insert_user(&tx, admin, now)?;
        tx.execute(
            "INSERT INTO audit_log (actor, at, action, target, outcome) VALUES ('cli', ?1, 'InitTenant', ?2, 'Applied')",
            params![unix_at(now), format!("user:{}", admin.id)],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn add_user(&self, user: &UserRecord, now: u64) -> Result<()> {
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        Self::insert_user(&tx, user, now)?;
        tx.commit()?;
        Ok(())
    }

    fn remove_user(&self, user: &UserId) -> Result<bool> {
        let conn = self.lock();
        let key = user.key();
        conn.execute(
            "DELETE FROM compliance_recording WHERE scope = ?1",
            params![format!("user:{key}")],
        )?;
        Ok(conn.execute("DELETE FROM users WHERE key = ?1", params![key])? > 0)
    }

    fn user(&self, user: &UserId) -> Result<Option<UserRecord>> {
        let conn = self.lock();
        let row = conn
            .query_row(
                "SELECT id, display_name, password_hash FROM users WHERE key = ?1",
                params![user.key()],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        row.map(|(id, d, h)| Self::row_to_user(&conn, id, d, h))
            .transpose()
    }

    fn users(&self, search: Option<&str>, limit: usize) -> Result<Vec<UserRecord>> {
        let conn = self.lock();
        let pattern = like_pattern(search);
        let mut stmt = conn.prepare_cached(
            "SELECT id, display_name, password_hash FROM users
             WHERE key LIKE ?1 ESCAPE '\\' OR lower(display_name) LIKE ?1 ESCAPE '\\'
             ORDER BY key LIMIT ?2",
        )?;
        let rows: Vec<(String, String, String)> = stmt
            .query_map(params![pattern, count(limit)], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })?
            .collect::<rusqlite::Result<_>>()?;
        rows.into_iter()
            .map(|(id, d, h)| Self::row_to_user(&conn, id, d, h))
            .collect()
    }

    fn set_role(&self, user: &UserId, role: Role, granted: bool) -> Result<bool> {
        let conn = self.lock();
        let exists: bool = row_exists(&conn, "SELECT 1 FROM users WHERE key = ?1", &user.key())?;
        if !exists {
            return Ok(false);
        }
        if granted {
            conn.execute(
                "INSERT OR IGNORE INTO user_roles (user_key, role) VALUES (?1, ?2)",
                params![user.key(), role_name(role)],
            )?;
        } else {
            conn.execute(
                "DELETE FROM user_roles WHERE user_key = ?1 AND role = ?2",
                params![user.key(), role_name(role)],
            )?;
        }
        Ok(true)
    }

    fn add_group(&self, group: &GroupId) -> Result<bool> {
        let conn = self.lock();
        Ok(conn.execute(
            "INSERT OR IGNORE INTO groups (key, id) VALUES (?1, ?2)",
            params![group.key(), group.as_str()],
        )? > 0)
    }

    fn remove_group(&self, group: &GroupId) -> Result<bool> {
        let conn = self.lock();
        Ok(conn.execute("DELETE FROM groups WHERE key = ?1", params![group.key()])? > 0)
    }

    fn add_member(&self, group: &GroupId, user: &UserId) -> Result<()> {
        let conn = self.lock();
        let group_ok = row_exists(&conn, "SELECT 1 FROM groups WHERE key = ?1", &group.key())?;
        if !group_ok {
            return Err(ServerError::GroupNotFound(group.to_string()));
        }
        let user_ok = row_exists(&conn, "SELECT 1 FROM users WHERE key = ?1", &user.key())?;
        if !user_ok {
            return Err(ServerError::UserNotFound(user.to_string()));
        }
        conn.execute(
            "INSERT OR IGNORE INTO group_members (group_key, user_key) VALUES (?1, ?2)",
            params![group.key(), user.key()],
        )?;
        Ok(())
    }

    fn remove_member(&self, group: &GroupId, user: &UserId) -> Result<bool> {
        let conn = self.lock();
        Ok(conn.execute(
            "DELETE FROM group_members WHERE group_key = ?1 AND user_key = ?2",
            params![group.key(), user.key()],
        )? > 0)
    }

    fn groups(&self) -> Result<Vec<(GroupId, Vec<UserId>)>> {
        let conn = self.lock();
        let mut stmt = conn.prepare_cached("SELECT key, id FROM groups ORDER BY key")?;
        let groups: Vec<(String, String)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        let mut members = conn.prepare_cached(
            "SELECT u.id FROM group_members m JOIN users u ON u.key = m.user_key
             WHERE m.group_key = ?1 ORDER BY u.key",
        )?;
        let mut out = Vec::new();
        for (key, id) in groups {
            let users: Vec<String> = members
                .query_map(params![key], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            out.push((
                GroupId::new(&id).map_err(|_| bad_row("group id"))?,
                users
                    .iter()
                    .map(|u| UserId::new(u).map_err(|_| bad_row("user id")))
                    .collect::<Result<_>>()?,
            ));
        }
        Ok(out)
    }

    fn put_session(&self, session: &SessionRecord, now: u64) -> Result<()> {
        let conn = self.lock();
        conn.execute(
            "INSERT INTO sessions (token_hash, user_key, created_at, expires_at, device_id)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                session.token_hash.as_slice(),
                session.user.key(),
                unix_at(now),
                unix_at(session.expires_at),
                session.device.as_ref().map(DeviceId::as_str)
            ],
        )?;
        Ok(())
    }

    fn session(&self, token_hash: &[u8; 32]) -> Result<Option<SessionRecord>> {
        let conn = self.lock();
        let row: Option<(Vec<u8>, String, i64, Option<String>)> = conn
            .query_row(
                "SELECT s.token_hash, u.id, s.expires_at, s.device_id FROM sessions s
                 JOIN users u ON u.key = s.user_key WHERE s.token_hash = ?1",
                params![token_hash.as_slice()],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()?;
        row.map(|(hash, user, expires, device)| session_record(hash, &user, expires, device))
            .transpose()
    }

    fn delete_session(&self, token_hash: &[u8; 32]) -> Result<bool> {
        let conn = self.lock();
        Ok(conn.execute(
            "DELETE FROM sessions WHERE token_hash = ?1",
            params![token_hash.as_slice()],
        )? > 0)
    }

    fn bind_session(&self, token_hash: &[u8; 32], device: &DeviceId) -> Result<bool> {
        let conn = self.lock();
        Ok(conn.execute(
            "UPDATE sessions SET device_id = ?2 WHERE token_hash = ?1 AND device_id IS NULL",
            params![token_hash.as_slice(), device.as_str()],
        )? > 0)
    }

    fn live_sessions(&self, hashes: &[[u8; 32]], now: u64) -> Result<Vec<[u8; 32]>> {
        let conn = self.lock();
        let mut stmt = conn
            .prepare_cached("SELECT 1 FROM sessions WHERE token_hash = ?1 AND expires_at > ?2")?;
        let mut live = Vec::new();
        for hash in hashes {
            if stmt.exists(params![hash.as_slice(), unix_at(now)])? {
                live.push(*hash);
            }
        }
        Ok(live)
    }

    fn purge_sessions(&self, now: u64) -> Result<usize> {
        let conn = self.lock();
        Ok(conn.execute(
            "DELETE FROM sessions WHERE expires_at <= ?1",
            params![unix_at(now)],
        )?)
    }

    fn add_device(&self, device: &DeviceRecord, now: u64) -> Result<()> {
        let conn = self.lock();
        conn.execute(
            "INSERT INTO devices (id, user_key, identity_key, platform, client_version, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                device.id.as_str(),
                device.user.key(),
                device.identity_key.0.as_slice(),
                device.platform.as_str(),
                device.client_version.to_string(),
                unix_at(now)
            ],
        )?;
        Ok(())
    }

    fn device(&self, id: &DeviceId) -> Result<Option<DeviceRecord>> {
        let conn = self.lock();
        let row = conn
            .query_row(
                "SELECT d.id, u.id, d.identity_key, d.platform, d.client_version
                 FROM devices d JOIN users u ON u.key = d.user_key WHERE d.id = ?1",
                params![id.as_str()],
                device_row,
            )
            .optional()?;
        row.map(DeviceRow::record).transpose()
    }

    fn devices_of(&self, user: &UserId) -> Result<Vec<DeviceRecord>> {
        let conn = self.lock();
        let mut stmt = conn.prepare_cached(
            "SELECT d.id, u.id, d.identity_key, d.platform, d.client_version
             FROM devices d JOIN users u ON u.key = d.user_key WHERE d.user_key = ?1 ORDER BY d.created_at, d.id",
        )?;
        let rows: Vec<DeviceRow> = stmt
            .query_map(params![user.key()], device_row)?
            .collect::<rusqlite::Result<_>>()?;
        rows.into_iter().map(DeviceRow::record).collect()
    }

    fn remove_device(&self, user: &UserId, id: &DeviceId) -> Result<bool> {
        let conn = self.lock();
        Ok(conn.execute(
            "DELETE FROM devices WHERE id = ?1 AND user_key = ?2",
            params![id.as_str(), user.key()],
        )? > 0)
    }

    fn audit(&self, event: &ServerAudit<'_>) -> Result<()> {
        let conn = self.lock();
        conn.execute(
            "INSERT INTO audit_log (actor, at, action, target, outcome) VALUES (?1, ?2, ?3, ?4, 'Applied')",
            params![event.actor, unix_at(event.at), event.action, event.target],
        )?;
        log_audit(
            conn.last_insert_rowid(),
            event.actor,
            event.action,
            event.target,
            "Applied",
        );
        Ok(())
    }

    fn audit_page(&self, offset: usize, limit: usize) -> Result<Vec<AuditEntry>> {
        let conn = self.lock();
        let mut stmt = conn.prepare_cached(
            "SELECT actor, at, action, target, before, after, outcome FROM audit_log
             ORDER BY seq DESC LIMIT ?1 OFFSET ?2",
        )?;
        let rows = stmt
            .query_map(params![count(limit), count(offset)], |r| {
                Ok(AuditEntry {
                    actor: r.get(0)?,
                    at: as_u64(r.get(1)?),
                    action: r.get(2)?,
                    target: r.get(3)?,
                    before: r.get(4)?,
                    after: r.get(5)?,
                    outcome: r.get(6)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    fn with_policy(&self, op: PolicyOp<'_>) -> Result<()> {
        let conn = self.lock();
        conn.execute_batch("BEGIN IMMEDIATE")?;
        let mut denials = self.denials.lock().unwrap_or_else(|e| e.into_inner());
        let mut store = SqlPolicy {
            conn: &conn,
            denials: &mut denials,
        };
        op(&mut store);
        if let Err(e) = conn.execute_batch("COMMIT") {
            let _ = conn.execute_batch("ROLLBACK");
            return Err(e.into());
        }
        Ok(())
    }
}

/// [`PolicyStore`] over an open transaction of the SQLite connection.
struct SqlPolicy<'c> {
    conn: &'c Connection,
    denials: &'c mut Denials,
}

impl SqlPolicy<'_> {
    /// Whether a denied attempt by `actor` at `at` gets its own audit row. Past
    /// [`DENIED_AUDITS_PER_WINDOW`] in a window, it is counted in one summary row instead, so no
    /// one can fill the disk with refusals.
    fn count_denial(&mut self, actor: &str, at: u64) -> Result<bool, StoreError> {
        match self.denials.note(actor, at) {
            Denial::Write => return Ok(true),
            Denial::Count {
                row: Some(seq),
                target,
            } => {
                self.conn
                    .execute(
                        "UPDATE audit_log SET target = ?2, at = ?3 WHERE seq = ?1",
                        params![seq, target, unix_at(at)],
                    )
                    .map_err(se)?;
            }
            Denial::Count { row: None, target } => {
                self.conn
                    .execute(
                        "INSERT INTO audit_log (actor, at, action, target, outcome)
                         VALUES (?1, ?2, 'DeniedAttemptsCounted', ?3, 'Denied')",
                        params![actor, unix_at(at), target],
                    )
                    .map_err(se)?;
                self.denials
                    .summary_written(actor, self.conn.last_insert_rowid());
            }
        }
        Ok(false)
    }
}

fn se(e: rusqlite::Error) -> StoreError {
    StoreError::new(e.to_string())
}

/// Whether `sql` (a `SELECT 1 … WHERE … = ?1`) finds a row for `key`.
fn row_exists(conn: &Connection, sql: &str, key: &str) -> rusqlite::Result<bool> {
    Ok(conn
        .query_row(sql, params![key], |_| Ok(()))
        .optional()?
        .is_some())
}

impl SqlPolicy<'_> {
    fn exists(&self, sql: &str, key: &str) -> Result<bool, StoreError> {
        row_exists(self.conn, sql, key).map_err(se)
    }

    fn apply(&self, change: &Change) -> Result<(), StoreError> {
        let c = self.conn;
        match change {
            Change::PutPolicy(policy) => {
                let body = serde_json::to_string(policy).map_err(json_err)?;
                c.execute(
                    "INSERT INTO policies (key, body) VALUES (?1, ?2)
                     ON CONFLICT(key) DO UPDATE SET body = excluded.body",
                    params![identity_key(&policy.identity), body],
                )
                .map_err(se)?;
            }
            Change::DeletePolicy(name) => {
                if c.execute("DELETE FROM policies WHERE key = ?1", params![name.key()])
                    .map_err(se)?
                    == 0
                {
                    return Err(StoreError::new("policy to delete does not exist"));
                }
            }
            Change::AssignUser { user, policy } => match policy {
                Some(p) => {
                    c.execute(
                        "INSERT INTO user_assignments (user_key, policy) VALUES (?1, ?2)
                         ON CONFLICT(user_key) DO UPDATE SET policy = excluded.policy",
                        params![user.key(), p.as_str()],
                    )
                    .map_err(se)?;
                }
                None => {
                    c.execute(
                        "DELETE FROM user_assignments WHERE user_key = ?1",
                        params![user.key()],
                    )
                    .map_err(se)?;
                }
            },
            Change::AssignGroup { group, assignment } => match assignment {
                Some((p, rank)) => {
                    c.execute(
                        "INSERT INTO group_assignments (group_key, group_id, policy, rank) VALUES (?1, ?2, ?3, ?4)
                         ON CONFLICT(group_key) DO UPDATE SET policy = excluded.policy, rank = excluded.rank",
                        params![group.key(), group.as_str(), p.as_str(), rank.get()],
                    )
                    .map_err(se)?;
                }
                None => {
                    c.execute(
                        "DELETE FROM group_assignments WHERE group_key = ?1",
                        params![group.key()],
                    )
                    .map_err(se)?;
                }
            },
            Change::AssignTenantDefault { policy } => match policy {
                Some(p) => {
                    c.execute(
                        "INSERT INTO tenant_default (id, policy) VALUES (1, ?1)
                         ON CONFLICT(id) DO UPDATE SET policy = excluded.policy",
                        params![p.as_str()],
                    )
                    .map_err(se)?;
                }
                None => {
                    c.execute("DELETE FROM tenant_default", []).map_err(se)?;
                }
            },
            Change::UnassignEverywhere(name) => {
                let key = name.key();
                c.execute(
                    "DELETE FROM user_assignments WHERE lower(policy) = ?1",
                    params![key],
                )
                .map_err(se)?;
                c.execute(
                    "DELETE FROM group_assignments WHERE lower(policy) = ?1",
                    params![key],
                )
                .map_err(se)?;
                c.execute(
                    "DELETE FROM tenant_default WHERE lower(policy) = ?1",
                    params![key],
                )
                .map_err(se)?;
            }
            Change::SetUserSetting { user, enabled } => {
                c.execute(
                    "INSERT INTO user_settings (user_key, e2ee) VALUES (?1, ?2)
                     ON CONFLICT(user_key) DO UPDATE SET e2ee = excluded.e2ee",
                    params![user.key(), i64::from(*enabled)],
                )
                .map_err(se)?;
            }
            Change::SetComplianceRecording { scope, enabled } => {
                let scope = scope_key(scope);
                if *enabled {
                    c.execute(
                        "INSERT OR IGNORE INTO compliance_recording (scope) VALUES (?1)",
                        params![scope],
                    )
                    .map_err(se)?;
                } else {
                    c.execute(
                        "DELETE FROM compliance_recording WHERE scope = ?1",
                        params![scope],
                    )
                    .map_err(se)?;
                }
            }
            Change::SetClientRequirements(req) => {
                let body = serde_json::to_string(req).map_err(json_err)?;
                c.execute(
                    "INSERT INTO client_requirements (id, body) VALUES (1, ?1)
                     ON CONFLICT(id) DO UPDATE SET body = excluded.body",
                    params![body],
                )
                .map_err(se)?;
            }
        }
        Ok(())
    }
}

impl PolicyStore for SqlPolicy<'_> {
    fn user_exists(&self, user: &UserId) -> Result<bool, StoreError> {
        self.exists("SELECT 1 FROM users WHERE key = ?1", &user.key())
    }

    fn group_exists(&self, group: &GroupId) -> Result<bool, StoreError> {
        self.exists("SELECT 1 FROM groups WHERE key = ?1", &group.key())
    }

    fn groups_of(&self, user: &UserId) -> Result<Vec<GroupId>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT g.id FROM group_members m JOIN groups g ON g.key = m.group_key WHERE m.user_key = ?1",
            )
            .map_err(se)?;
        let ids: Vec<String> = stmt
            .query_map(params![user.key()], |r| r.get(0))
            .map_err(se)?
            .collect::<rusqlite::Result<_>>()
            .map_err(se)?;
        group_ids(&ids)
    }

    fn policy(
        &self,
        identity: &PolicyIdentity,
    ) -> Result<Option<EnhancedEncryptionPolicy>, StoreError> {
        let body: Option<String> = self
            .conn
            .query_row(
                "SELECT body FROM policies WHERE key = ?1",
                params![identity_key(identity)],
                |r| r.get(0),
            )
            .optional()
            .map_err(se)?;
        policy_body(identity, body)
    }

    fn policies(&self) -> Result<Vec<EnhancedEncryptionPolicy>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT body FROM policies ORDER BY key")
            .map_err(se)?;
        let bodies: Vec<String> = stmt
            .query_map([], |r| r.get(0))
            .map_err(se)?
            .collect::<rusqlite::Result<_>>()
            .map_err(se)?;
        bodies
            .iter()
            .map(|b| serde_json::from_str(b).map_err(json_err))
            .collect()
    }

    fn user_assignment(&self, user: &UserId) -> Result<Option<PolicyName>, StoreError> {
        let name: Option<String> = self
            .conn
            .query_row(
                "SELECT policy FROM user_assignments WHERE user_key = ?1",
                params![user.key()],
                |r| r.get(0),
            )
            .optional()
            .map_err(se)?;
        name.as_deref().map(name_from).transpose()
    }

    fn group_assignments(&self) -> Result<Vec<GroupAssignment>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT group_id, policy, rank FROM group_assignments")
            .map_err(se)?;
        let rows: Vec<(String, String, i64)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .map_err(se)?
            .collect::<rusqlite::Result<_>>()
            .map_err(se)?;
        rows.iter()
            .map(|(g, p, rank)| group_assignment(g, p, *rank))
            .collect()
    }

    fn tenant_default(&self) -> Result<Option<PolicyName>, StoreError> {
        let name: Option<String> = self
            .conn
            .query_row("SELECT policy FROM tenant_default WHERE id = 1", [], |r| {
                r.get(0)
            })
            .optional()
            .map_err(se)?;
        name.as_deref().map(name_from).transpose()
    }

    fn policy_usage(&self, policy: &PolicyName) -> Result<PolicyUsage, StoreError> {
        let key = policy.key();
        let count = |sql: &str| -> Result<usize, StoreError> {
            let n: i64 = self
                .conn
                .query_row(sql, params![key], |r| r.get(0))
                .map_err(se)?;
            Ok(usize::try_from(n).unwrap_or(0))
        };
        Ok(PolicyUsage {
            users: count("SELECT count(*) FROM user_assignments WHERE lower(policy) = ?1")?,
            groups: count("SELECT count(*) FROM group_assignments WHERE lower(policy) = ?1")?,
            tenant_default: count("SELECT count(*) FROM tenant_default WHERE lower(policy) = ?1")?
                > 0,
        })
    }

    fn user_setting(&self, user: &UserId) -> Result<Option<bool>, StoreError> {
        let v: Option<i64> = self
            .conn
            .query_row(
                "SELECT e2ee FROM user_settings WHERE user_key = ?1",
                params![user.key()],
                |r| r.get(0),
            )
            .optional()
            .map_err(se)?;
        Ok(v.map(|v| v != 0))
    }

    fn compliance_recording(&self, scope: &ComplianceScope) -> Result<bool, StoreError> {
        self.exists(
            "SELECT 1 FROM compliance_recording WHERE scope = ?1",
            &scope_key(scope),
        )
    }

    fn client_requirements(&self) -> Result<ClientRequirements, StoreError> {
        let body: Option<String> = self
            .conn
            .query_row(
                "SELECT body FROM client_requirements WHERE id = 1",
                [],
                |r| r.get(0),
            )
            .optional()
            .map_err(se)?;
        requirements_body(body)
    }

    fn commit(&mut self, changes: &[Change], audit: &AuditRecord) -> Result<(), StoreError> {
        if changes.is_empty()
            && audit.outcome == sealcall_policy::AuditOutcome::Denied
            && !self.count_denial(audit.actor.as_str(), audit.at.0)?
        {
            return Ok(());
        }
        self.conn
            .execute_batch("SAVEPOINT policy_commit")
            .map_err(se)?;
        let result = (|| {
            for change in changes {
                self.apply(change)?;
            }
            self.conn
                .execute(
                    "INSERT INTO audit_log (actor, at, action, target, before, after, outcome)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    params![
                        audit.actor.as_str(),
                        unix_at(audit.at.0),
                        audit_name(&audit.action),
                        audit.target,
                        audit.before,
                        audit.after,
                        audit_name(&audit.outcome)
                    ],
                )
                .map_err(se)?;
            Ok(self.conn.last_insert_rowid())
        })();
        match result {
            Ok(audit_id) => {
                self.conn
                    .execute_batch("RELEASE policy_commit")
                    .map_err(se)?;
                log_audit(
                    audit_id,
                    audit.actor.as_str(),
                    &audit_name(&audit.action),
                    &audit.target,
                    &audit_name(&audit.outcome),
                );
                Ok(())
            }
            Err(e) => {
                let _ = self
                    .conn
                    .execute_batch("ROLLBACK TO policy_commit; RELEASE policy_commit");
                Err(e)
            }
        }
    }
}
