//! The PostgreSQL [`Storage`], for several server nodes on one database: the tables of the
//! SQLite store under the same schema version numbers (checked-in migrations under
//! `migrations/postgres/`, recorded in a `schema_version` table), a pool of connections, and
//! the [`PolicyStore`] of `sealcall-policy` inside one transaction per policy operation.
//!
//! `postgres` is synchronous, like `PolicyStore`: call it from blocking threads (the server does,
//! through `spawn_blocking`), never from an async task.
//!
//! Consistency, where the SQLite store has one connection and `BEGIN IMMEDIATE`:
//! - A method that makes more than one statement runs them in one `REPEATABLE READ`
//!   transaction, retried (up to [`RETRIES`] times) when PostgreSQL reports a serialization
//!   failure or a deadlock.
//! - A policy operation ([`Storage::with_policy`]) and every directory write that changes a
//!   table policy operations write (removing a user or a group) first lock the `policy_lock`
//!   table, and only then take their `REPEATABLE READ` snapshot: policy operations of every node
//!   run one after the other and each sees every commit before it. (An advisory lock would need a
//!   `SELECT`, which takes the snapshot before the lock is granted: a waiter would read the
//!   state from before the commit it waited for.)
//! - Migrations run under a transaction-scoped advisory lock in `READ COMMITTED`, so two nodes
//!   starting `sealcall server migrate` at once apply each migration once.
//!
//! A node never changes the schema when it starts: it refuses a database whose schema is older
//! or newer than its own ([`ServerError::SchemaTooOld`], [`ServerError::SchemaTooNew`]), and
//! `sealcall server init` or `sealcall server migrate` brings it up to date.

use std::cell::RefCell;
use std::collections::HashSet;
use std::sync::Mutex;
use std::time::Duration;

use postgres::config::Host;
use postgres::error::SqlState;
use postgres::{IsolationLevel, NoTls, Row, Transaction};
use r2d2_postgres::PostgresConnectionManager;
use sealcall_policy::{
    AuditRecord, Change, ClientRequirements, ComplianceScope, EnhancedEncryptionPolicy,
    GroupAssignment, GroupId, PolicyIdentity, PolicyName, PolicyStore, PolicyUsage, Role,
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

/// The migrations, in order; `schema_version.version` records how many are applied. Version
/// N has the same tables as version N of the SQLite store.
const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/postgres/0001_initial.sql"),
    include_str!("../migrations/postgres/0002_session_device.sql"),
];

/// The advisory lock key migrations hold (`pg_advisory_xact_lock`): "sealcall" in ASCII.
const MIGRATION_LOCK: i64 = 0x7365_616c_6361_6c6c;

/// Connections per node.
pub const POOL_SIZE: u32 = 16;

/// How long a request waits for a connection (for example while PostgreSQL is down) before it
/// fails with an error.
pub const CHECKOUT_TIMEOUT: Duration = Duration::from_secs(5);

/// How long connecting may take when the URL sets no `connect_timeout`.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How often a transaction is retried after a serialization failure or a deadlock.
pub const RETRIES: usize = 5;

/// A PostgreSQL connection URL (`postgres://user:password@host:port/database`, or
/// `postgresql://…`). It holds the password: [`Display`](std::fmt::Display) and
/// [`Debug`](std::fmt::Debug) show the URL without it (`postgres://user:***@host:port/db`), so it
/// can be logged.
#[derive(Clone)]
pub struct PgUrl {
    config: std::sync::Arc<postgres::Config>,
    shown: String,
}

impl PgUrl {
    /// Whether `text` is meant as a PostgreSQL URL (it starts with `postgres://` or
    /// `postgresql://`).
    pub fn is_pg_url(text: &str) -> bool {
        let lower = text.get(..13).unwrap_or(text).to_ascii_lowercase();
        lower.starts_with("postgres://") || lower.starts_with("postgresql://")
    }

    /// Parses a URL; the error names what is wrong, never the password.
    pub fn parse(text: &str) -> Result<Self> {
        if !Self::is_pg_url(text) {
            return Err(ServerError::Invalid {
                what: "PostgreSQL URL",
                reason: "must start with postgres:// or postgresql://".to_owned(),
            });
        }
        // The driver knows the scheme in lower case only.
        let (scheme, rest) = text.split_once("://").unwrap_or((text, ""));
        let text = format!("{}://{rest}", scheme.to_ascii_lowercase());
        let mut config: postgres::Config = text.parse().map_err(|e| ServerError::Invalid {
            what: "PostgreSQL URL",
            reason: pg_message(&e),
        })?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        config.application_name("sealcall-server");
        let shown = redacted(&config);
        Ok(Self {
            config: std::sync::Arc::new(config),
            shown,
        })
    }
}

impl PgUrl {
    /// The database's name (the user's name when the URL gives none).
    pub fn database(&self) -> &str {
        self.config
            .get_dbname()
            .or(self.config.get_user())
            .unwrap_or_default()
    }
}

/// The URL of `config` without its password.
fn redacted(config: &postgres::Config) -> String {
    let user = config.get_user().unwrap_or_default();
    let auth = match (user.is_empty(), config.get_password().is_some()) {
        (true, false) => String::new(),
        (true, true) => ":***@".to_owned(),
        (false, false) => format!("{user}@"),
        (false, true) => format!("{user}:***@"),
    };
    let ports = config.get_ports();
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .enumerate()
        .map(|(i, host)| {
            let port = ports.get(i).or(ports.first()).copied().unwrap_or(5432);
            match host {
                Host::Tcp(name) => format!("{name}:{port}"),
                Host::Unix(dir) => format!("[{}]:{port}", dir.display()),
            }
        })
        .collect();
    format!(
        "postgres://{auth}{}/{}",
        hosts.join(","),
        config.get_dbname().unwrap_or(user)
    )
}

impl std::fmt::Display for PgUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.shown)
    }
}

impl std::fmt::Debug for PgUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PgUrl({})", self.shown)
    }
}

/// A PostgreSQL failure as text: for an error the server reported, its severity, SQLSTATE and
/// message, without the detail (which can quote row values); otherwise the client's description
/// (connection refused, timed out, …).
fn pg_message(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!(
            "PostgreSQL {} {}: {}",
            db.severity(),
            db.code().code(),
            db.message()
        ),
        None => e.to_string(),
    }
}

/// Whether `e` means PostgreSQL is not reachable (the connection broke, the server is shutting
/// down or starting), rather than that a statement failed.
fn unavailable(e: &postgres::Error) -> bool {
    if e.is_closed() {
        return true;
    }
    match e.as_db_error() {
        Some(db) => {
            let code = db.code().code();
            code.starts_with("08") || code.starts_with("57P")
        }
        None => std::error::Error::source(e).is_some_and(|s| s.is::<std::io::Error>()),
    }
}

impl From<postgres::Error> for ServerError {
    fn from(e: postgres::Error) -> Self {
        if unavailable(&e) {
            ServerError::StoreUnavailable(pg_message(&e))
        } else {
            ServerError::Storage(pg_message(&e))
        }
    }
}

/// A failure inside a transaction: PostgreSQL's (kept whole, to see whether a retry helps) or
/// the server's own (a user that exists already, …).
enum Fail {
    Pg(postgres::Error),
    Server(ServerError),
}

impl From<postgres::Error> for Fail {
    fn from(e: postgres::Error) -> Self {
        Fail::Pg(e)
    }
}

impl From<ServerError> for Fail {
    fn from(e: ServerError) -> Self {
        Fail::Server(e)
    }
}

/// Whether running the transaction again can succeed.
fn retryable(e: &postgres::Error) -> bool {
    matches!(
        e.code(),
        Some(c) if *c == SqlState::T_R_SERIALIZATION_FAILURE || *c == SqlState::T_R_DEADLOCK_DETECTED
    )
}

/// Logs the pool's failed connection attempts (the message names no password).
#[derive(Debug)]
struct LogConnectErrors;

impl r2d2::HandleError<postgres::Error> for LogConnectErrors {
    fn handle_error(&self, error: postgres::Error) {
        tracing::warn!(error = %pg_message(&error), "PostgreSQL connection failed");
    }
}

type Pool = r2d2::Pool<PostgresConnectionManager<NoTls>>;

/// The pool, closed off the async runtime: closing a `postgres` connection blocks on its own
/// runtime, which panics on an async worker thread (where the server's last reference to its
/// store may be dropped).
struct OwnedPool(Option<Pool>);

impl Drop for OwnedPool {
    fn drop(&mut self) {
        if let Some(pool) = self.0.take() {
            if tokio::runtime::Handle::try_current().is_ok() {
                std::thread::scope(|s| {
                    s.spawn(move || drop(pool));
                });
            } else {
                drop(pool);
            }
        }
    }
}

/// The PostgreSQL store.
pub struct PostgresStore {
    pool: OwnedPool,
    url: PgUrl,
    /// Per actor: denied attempts in the current window (memory only, per node).
    denials: Mutex<Denials>,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PostgresStore({})", self.url)
    }
}

impl PostgresStore {
    /// Connects and checks that the database has this server's schema; changes nothing. Fails
    /// with a message naming the problem: PostgreSQL unreachable, the password refused, no such
    /// database, no Sealcall schema ([`ServerError::NotInitialised`]), or a schema older or
    /// newer than this server's.
    pub fn open(url: &PgUrl) -> Result<Self> {
        let mut client = Self::connect(url)?;
        let found = schema_version(&mut client)?;
        let supported = supported_version();
        if found == 0 {
            return Err(ServerError::NotInitialised);
        }
        if found < supported {
            return Err(ServerError::SchemaTooOld { found, supported });
        }
        if found > supported {
            return Err(ServerError::SchemaTooNew { found, supported });
        }
        Ok(Self::pooled(url))
    }

    /// Applies the pending migrations (creating the schema in an empty database) and seeds the
    /// Global policy and the client requirements, in one transaction; then opens the store.
    /// Fails on a schema newer than this server's.
    pub fn migrate(url: &PgUrl) -> Result<Self> {
        let mut client = Self::connect(url)?;
        let mut tx = client.transaction()?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
        tx.batch_execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")?;
        let found = schema_version(&mut tx)?;
        let supported = supported_version();
        if found > supported {
            return Err(ServerError::SchemaTooNew { found, supported });
        }
        for (index, sql) in MIGRATIONS
            .iter()
            .enumerate()
            .skip(usize::try_from(found).unwrap_or(0))
        {
            tx.batch_execute(sql)?;
            let version = i32::try_from(index + 1).unwrap_or(i32::MAX);
            tx.execute("DELETE FROM schema_version", &[])?;
            tx.execute(
                "INSERT INTO schema_version (version) VALUES ($1)",
                &[&version],
            )?;
            tracing::info!(version, "PostgreSQL schema migrated");
        }
        let (global, req) = seed_bodies()?;
        tx.execute(
            "INSERT INTO policies (key, body) VALUES ('', $1) ON CONFLICT DO NOTHING",
            &[&global],
        )?;
        tx.execute(
            "INSERT INTO client_requirements (id, body) VALUES (1, $1) ON CONFLICT DO NOTHING",
            &[&req],
        )?;
        tx.commit()?;
        Ok(Self::pooled(url))
    }

    /// The database's schema version (0 when it has no Sealcall schema).
    pub fn schema_version(&self) -> Result<i64> {
        schema_version(&mut *self.conn()?)
    }

    /// One connection, made now, for the start-up checks: its failure is the start-up error.
    fn connect(url: &PgUrl) -> Result<postgres::Client> {
        url.config.connect(NoTls).map_err(|e| {
            ServerError::StoreUnavailable(format!(
                "cannot connect to PostgreSQL at {url}: {}",
                pg_message(&e)
            ))
        })
    }

    fn pooled(url: &PgUrl) -> Self {
        let manager = PostgresConnectionManager::new((*url.config).clone(), NoTls);
        let pool = r2d2::Pool::builder()
            .max_size(POOL_SIZE)
            .min_idle(Some(0))
            .connection_timeout(CHECKOUT_TIMEOUT)
            .error_handler(Box::new(LogConnectErrors))
            .build_unchecked(manager);
        Self {
            pool: OwnedPool(Some(pool)),
            url: url.clone(),
            denials: Mutex::default(),
        }
    }

    fn conn(&self) -> Result<r2d2::PooledConnection<PostgresConnectionManager<NoTls>>> {
        let pool = self.pool.0.as_ref().ok_or_else(|| {
            ServerError::StoreUnavailable(format!("PostgreSQL at {} is closed", self.url))
        })?;
        pool.get().map_err(|e| {
            ServerError::StoreUnavailable(format!("PostgreSQL at {} is unavailable: {e}", self.url))
        })
    }

    /// Runs `f` in a `REPEATABLE READ` transaction (after locking `policy_lock` when
    /// `lock_policy`), retrying on serialization failures and deadlocks.
    fn tx<T>(
        &self,
        lock_policy: bool,
        mut f: impl FnMut(&mut Transaction<'_>) -> Result<T, Fail>,
    ) -> Result<T> {
        let mut conn = self.conn()?;
        let mut attempt = 0;
        loop {
            let result = begin(&mut conn, lock_policy)
                .map_err(Fail::from)
                .and_then(|mut tx| {
                    let value = f(&mut tx)?;
                    tx.commit()?;
                    Ok(value)
                });
            match result {
                Ok(value) => return Ok(value),
                Err(Fail::Pg(e)) if retryable(&e) && attempt < RETRIES => attempt += 1,
                Err(Fail::Pg(e)) => return Err(e.into()),
                Err(Fail::Server(e)) => return Err(e),
            }
        }
    }

    fn insert_user(tx: &mut Transaction<'_>, user: &UserRecord, now: u64) -> Result<(), Fail> {
        let inserted = tx.execute(
            "INSERT INTO users (key, id, display_name, password_hash, created_at)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
            &[
                &user.id.key(),
                &user.id.as_str(),
                &user.display_name,
                &user.password_hash,
                &unix_at(now),
            ],
        )?;
        if inserted == 0 {
            return Err(ServerError::UserExists(user.id.to_string()).into());
        }
        for role in ROLES {
            if user.roles.contains(role) {
                tx.execute(
                    "INSERT INTO user_roles (user_key, role) VALUES ($1, $2)",
                    &[&user.id.key(), &role_name(role)],
                )?;
            }
        }
        Ok(())
    }
}

/// Starts a `REPEATABLE READ` transaction, locking `policy_lock` first when `lock_policy`.
fn begin(
    client: &mut postgres::Client,
    lock_policy: bool,
) -> Result<Transaction<'_>, postgres::Error> {
    let mut tx = client
        .build_transaction()
        .isolation_level(IsolationLevel::RepeatableRead)
        .start()?;
    if lock_policy {
        tx.batch_execute("LOCK TABLE policy_lock IN EXCLUSIVE MODE")?;
    }
    Ok(tx)
}

fn supported_version() -> i64 {
    i64::try_from(MIGRATIONS.len()).unwrap_or(i64::MAX)
}

fn schema_version(client: &mut impl postgres::GenericClient) -> Result<i64> {
    let table: Option<String> = client
        .query_one("SELECT to_regclass('schema_version')::text", &[])?
        .get(0);
    if table.is_none() {
        return Ok(0);
    }
    let row = client.query_opt("SELECT max(version) FROM schema_version", &[])?;
    Ok(row
        .and_then(|r| r.get::<_, Option<i32>>(0))
        .map_or(0, i64::from))
}

fn user_row(row: &Row) -> Result<UserRecord> {
    let roles: Vec<String> = row.get(3);
    user_record(
        row.get(0),
        row.get(1),
        row.get(2),
        role_set(roles.iter().map(String::as_str)),
    )
}

/// A user with their roles: `id, display_name, password_hash, roles`.
const USER_SELECT: &str = "SELECT u.id, u.display_name, u.password_hash,
     COALESCE(array_agg(r.role) FILTER (WHERE r.role IS NOT NULL), '{}')
     FROM users u LEFT JOIN user_roles r ON r.user_key = u.key";

const DEVICE_SELECT: &str = "SELECT d.id, u.id, d.identity_key, d.platform, d.client_version
     FROM devices d JOIN users u ON u.key = d.user_key";

fn device_row(row: &Row) -> DeviceRow {
    DeviceRow {
        id: row.get(0),
        user: row.get(1),
        key: row.get(2),
        platform: row.get(3),
        version: row.get(4),
    }
}

impl Storage for PostgresStore {
    fn tenant(&self) -> Result<Option<String>> {
        Ok(self
            .conn()?
            .query_opt("SELECT name FROM tenant WHERE id = 1", &[])?
            .map(|r| r.get(0)))
    }

    fn init_tenant(&self, name: &str, admin: &UserRecord, now: u64) -> Result<()> {
        self.tx(false, |tx| {
            if let Some(row) = tx.query_opt("SELECT name FROM tenant WHERE id = 1", &[])? {
                return Err(ServerError::AlreadyInitialised(row.get(0)).into());
            }
            tx.execute(
                "INSERT INTO tenant (id, name, created_at) VALUES (1, $1, $2)",
                &[&name, &unix_at(now)],
            )?;
            Self::insert_user(tx, admin, now)?;
            tx.execute(
                "INSERT INTO audit_log (actor, at, action, target, outcome)
                 VALUES ('cli', $1, 'InitTenant', $2, 'Applied')",
                &[&unix_at(now), &format!("user:{}", admin.id)],
            )?;
            Ok(())
        })
    }

    fn add_user(&self, user: &UserRecord, now: u64) -> Result<()> {
        self.tx(false, |tx| Self::insert_user(tx, user, now))
    }

    fn remove_user(&self, user: &UserId) -> Result<bool> {
        let key = user.key();
        self.tx(true, |tx| {
            tx.execute(
                "DELETE FROM compliance_recording WHERE scope = $1",
                &[&format!("user:{key}")],
            )?;
            Ok(tx.execute("DELETE FROM users WHERE key = $1", &[&key])? > 0)
        })
    }

    fn user(&self, user: &UserId) -> Result<Option<UserRecord>> {
        self.conn()?
            .query_opt(
                &format!("{USER_SELECT} WHERE u.key = $1 GROUP BY u.key"),
                &[&user.key()],
            )?
            .as_ref()
            .map(user_row)
            .transpose()
    }

    fn users(&self, search: Option<&str>, limit: usize) -> Result<Vec<UserRecord>> {
        self.conn()?
            .query(
                &format!(
                    "{USER_SELECT}
                     WHERE u.key LIKE $1 ESCAPE '\\' OR lower(u.display_name) LIKE $1 ESCAPE '\\'
                     GROUP BY u.key ORDER BY u.key LIMIT $2"
                ),
                &[&like_pattern(search), &count(limit)],
            )?
            .iter()
            .map(user_row)
            .collect()
    }

    fn set_role(&self, user: &UserId, role: Role, granted: bool) -> Result<bool> {
        let key = user.key();
        self.tx(false, |tx| {
            if tx
                .query_opt("SELECT 1 FROM users WHERE key = $1", &[&key])?
                .is_none()
            {
                return Ok(false);
            }
            let sql = if granted {
                "INSERT INTO user_roles (user_key, role) VALUES ($1, $2) ON CONFLICT DO NOTHING"
            } else {
                "DELETE FROM user_roles WHERE user_key = $1 AND role = $2"
            };
            tx.execute(sql, &[&key, &role_name(role)])?;
            Ok(true)
        })
    }

    fn add_group(&self, group: &GroupId) -> Result<bool> {
        Ok(self.conn()?.execute(
            "INSERT INTO groups (key, id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            &[&group.key(), &group.as_str()],
        )? > 0)
    }

    fn remove_group(&self, group: &GroupId) -> Result<bool> {
        let key = group.key();
        self.tx(true, |tx| {
            Ok(tx.execute("DELETE FROM groups WHERE key = $1", &[&key])? > 0)
        })
    }

    fn add_member(&self, group: &GroupId, user: &UserId) -> Result<()> {
        let (g, u) = (group.key(), user.key());
        self.tx(false, |tx| {
            if tx
                .query_opt("SELECT 1 FROM groups WHERE key = $1", &[&g])?
                .is_none()
            {
                return Err(ServerError::GroupNotFound(group.to_string()).into());
            }
            if tx
                .query_opt("SELECT 1 FROM users WHERE key = $1", &[&u])?
                .is_none()
            {
                return Err(ServerError::UserNotFound(user.to_string()).into());
            }
            tx.execute(
                "INSERT INTO group_members (group_key, user_key) VALUES ($1, $2)
                 ON CONFLICT DO NOTHING",
                &[&g, &u],
            )?;
            Ok(())
        })
    }

    fn remove_member(&self, group: &GroupId, user: &UserId) -> Result<bool> {
        Ok(self.conn()?.execute(
            "DELETE FROM group_members WHERE group_key = $1 AND user_key = $2",
            &[&group.key(), &user.key()],
        )? > 0)
    }

    fn groups(&self) -> Result<Vec<(GroupId, Vec<UserId>)>> {
        let rows = self.conn()?.query(
            "SELECT g.id, COALESCE(array_agg(u.id ORDER BY u.key) FILTER (WHERE u.id IS NOT NULL), '{}')
             FROM groups g LEFT JOIN group_members m ON m.group_key = g.key
             LEFT JOIN users u ON u.key = m.user_key
             GROUP BY g.key, g.id ORDER BY g.key",
            &[],
        )?;
        rows.iter()
            .map(|row| {
                let members: Vec<String> = row.get(1);
                Ok((
                    GroupId::new(row.get(0)).map_err(|_| bad_row("group id"))?,
                    members
                        .iter()
                        .map(|u| UserId::new(u).map_err(|_| bad_row("user id")))
                        .collect::<Result<_>>()?,
                ))
            })
            .collect()
    }

    fn put_session(&self, session: &SessionRecord, now: u64) -> Result<()> {
        self.conn()?.execute(
            "INSERT INTO sessions (token_hash, user_key, created_at, expires_at, device_id)
             VALUES ($1, $2, $3, $4, $5)",
            &[
                &session.token_hash.as_slice(),
                &session.user.key(),
                &unix_at(now),
                &unix_at(session.expires_at),
                &session.device.as_ref().map(DeviceId::as_str),
            ],
        )?;
        Ok(())
    }

    fn session(&self, token_hash: &[u8; 32]) -> Result<Option<SessionRecord>> {
        self.conn()?
            .query_opt(
                "SELECT s.token_hash, u.id, s.expires_at, s.device_id FROM sessions s
                 JOIN users u ON u.key = s.user_key WHERE s.token_hash = $1",
                &[&token_hash.as_slice()],
            )?
            .map(|r| session_record(r.get(0), r.get(1), r.get(2), r.get(3)))
            .transpose()
    }

    fn delete_session(&self, token_hash: &[u8; 32]) -> Result<bool> {
        Ok(self.conn()?.execute(
            "DELETE FROM sessions WHERE token_hash = $1",
            &[&token_hash.as_slice()],
        )? > 0)
    }

    fn bind_session(&self, token_hash: &[u8; 32], device: &DeviceId) -> Result<bool> {
        Ok(self.conn()?.execute(
            "UPDATE sessions SET device_id = $2 WHERE token_hash = $1 AND device_id IS NULL",
            &[&token_hash.as_slice(), &device.as_str()],
        )? > 0)
    }

    fn live_sessions(&self, hashes: &[[u8; 32]], now: u64) -> Result<Vec<[u8; 32]>> {
        let wanted: Vec<&[u8]> = hashes.iter().map(<[u8; 32]>::as_slice).collect();
        let live: HashSet<Vec<u8>> = self
            .conn()?
            .query(
                "SELECT token_hash FROM sessions WHERE token_hash = ANY($1) AND expires_at > $2",
                &[&wanted, &unix_at(now)],
            )?
            .iter()
            .map(|r| r.get(0))
            .collect();
        Ok(hashes
            .iter()
            .filter(|h| live.contains(h.as_slice()))
            .copied()
            .collect())
    }

    fn purge_sessions(&self, now: u64) -> Result<usize> {
        let n = self.conn()?.execute(
            "DELETE FROM sessions WHERE expires_at <= $1",
            &[&unix_at(now)],
        )?;
        Ok(usize::try_from(n).unwrap_or(usize::MAX))
    }

    fn add_device(&self, device: &DeviceRecord, now: u64) -> Result<()> {
        self.conn()?.execute(
            "INSERT INTO devices (id, user_key, identity_key, platform, client_version, created_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                &device.id.as_str(),
                &device.user.key(),
                &device.identity_key.0.as_slice(),
                &device.platform.as_str(),
                &device.client_version.to_string(),
                &unix_at(now),
            ],
        )?;
        Ok(())
    }

    fn device(&self, id: &DeviceId) -> Result<Option<DeviceRecord>> {
        self.conn()?
            .query_opt(&format!("{DEVICE_SELECT} WHERE d.id = $1"), &[&id.as_str()])?
            .map(|r| device_row(&r).record())
            .transpose()
    }

    fn devices_of(&self, user: &UserId) -> Result<Vec<DeviceRecord>> {
        self.conn()?
            .query(
                &format!("{DEVICE_SELECT} WHERE d.user_key = $1 ORDER BY d.created_at, d.id"),
                &[&user.key()],
            )?
            .iter()
            .map(|r| device_row(r).record())
            .collect()
    }

    fn remove_device(&self, user: &UserId, id: &DeviceId) -> Result<bool> {
        Ok(self.conn()?.execute(
            "DELETE FROM devices WHERE id = $1 AND user_key = $2",
            &[&id.as_str(), &user.key()],
        )? > 0)
    }

    fn audit(&self, event: &ServerAudit<'_>) -> Result<()> {
        let seq: i64 = self
            .conn()?
            .query_one(
                "INSERT INTO audit_log (actor, at, action, target, outcome)
                 VALUES ($1, $2, $3, $4, 'Applied') RETURNING seq",
                &[
                    &event.actor,
                    &unix_at(event.at),
                    &event.action,
                    &event.target,
                ],
            )?
            .get(0);
        log_audit(seq, event.actor, event.action, event.target, "Applied");
        Ok(())
    }

    fn audit_page(&self, offset: usize, limit: usize) -> Result<Vec<AuditEntry>> {
        Ok(self
            .conn()?
            .query(
                "SELECT actor, at, action, target, before, after, outcome FROM audit_log
                 ORDER BY seq DESC LIMIT $1 OFFSET $2",
                &[&count(limit), &count(offset)],
            )?
            .iter()
            .map(|r| AuditEntry {
                actor: r.get(0),
                at: as_u64(r.get(1)),
                action: r.get(2),
                target: r.get(3),
                before: r.get(4),
                after: r.get(5),
                outcome: r.get(6),
            })
            .collect())
    }

    fn with_policy(&self, op: PolicyOp<'_>) -> Result<()> {
        let mut conn = self.conn()?;
        let tx = begin(&mut conn, true)?;
        let mut denials = self.denials.lock().unwrap_or_else(|e| e.into_inner());
        let mut store = PgPolicy {
            tx: RefCell::new(tx),
            denials: &mut denials,
        };
        op(&mut store);
        store.tx.into_inner().commit()?;
        Ok(())
    }
}

/// [`PolicyStore`] over an open transaction (which holds the policy lock).
struct PgPolicy<'c> {
    tx: RefCell<Transaction<'c>>,
    denials: &'c mut Denials,
}

fn se(e: postgres::Error) -> StoreError {
    StoreError::new(pg_message(&e))
}

impl PgPolicy<'_> {
    fn query_opt(
        &self,
        sql: &str,
        params: &[&(dyn postgres::types::ToSql + Sync)],
    ) -> Result<Option<Row>, StoreError> {
        self.tx.borrow_mut().query_opt(sql, params).map_err(se)
    }

    fn query(
        &self,
        sql: &str,
        params: &[&(dyn postgres::types::ToSql + Sync)],
    ) -> Result<Vec<Row>, StoreError> {
        self.tx.borrow_mut().query(sql, params).map_err(se)
    }

    fn exists(&self, sql: &str, key: &str) -> Result<bool, StoreError> {
        Ok(self.query_opt(sql, &[&key])?.is_some())
    }

    /// Whether a denied attempt by `actor` at `at` gets its own audit row (see [`Denials`]).
    fn count_denial(&mut self, actor: &str, at: u64) -> Result<bool, StoreError> {
        match self.denials.note(actor, at) {
            Denial::Write => return Ok(true),
            Denial::Count {
                row: Some(seq),
                target,
            } => {
                self.tx
                    .get_mut()
                    .execute(
                        "UPDATE audit_log SET target = $2, at = $3 WHERE seq = $1",
                        &[&seq, &target, &unix_at(at)],
                    )
                    .map_err(se)?;
            }
            Denial::Count { row: None, target } => {
                let seq: i64 = self
                    .tx
                    .get_mut()
                    .query_one(
                        "INSERT INTO audit_log (actor, at, action, target, outcome)
                         VALUES ($1, $2, 'DeniedAttemptsCounted', $3, 'Denied') RETURNING seq",
                        &[&actor, &unix_at(at), &target],
                    )
                    .map_err(se)?
                    .get(0);
                self.denials.summary_written(actor, seq);
            }
        }
        Ok(false)
    }
}

/// Applies one change inside the commit's savepoint.
fn apply(c: &mut Transaction<'_>, change: &Change) -> Result<(), StoreError> {
    match change {
        Change::PutPolicy(policy) => {
            let body = serde_json::to_string(policy).map_err(json_err)?;
            c.execute(
                "INSERT INTO policies (key, body) VALUES ($1, $2)
                 ON CONFLICT (key) DO UPDATE SET body = excluded.body",
                &[&identity_key(&policy.identity), &body],
            )
            .map_err(se)?;
        }
        Change::DeletePolicy(name) => {
            if c.execute("DELETE FROM policies WHERE key = $1", &[&name.key()])
                .map_err(se)?
                == 0
            {
                return Err(StoreError::new("policy to delete does not exist"));
            }
        }
        Change::AssignUser { user, policy } => {
            match policy {
                Some(p) => c.execute(
                    "INSERT INTO user_assignments (user_key, policy) VALUES ($1, $2)
                     ON CONFLICT (user_key) DO UPDATE SET policy = excluded.policy",
                    &[&user.key(), &p.as_str()],
                ),
                None => c.execute(
                    "DELETE FROM user_assignments WHERE user_key = $1",
                    &[&user.key()],
                ),
            }
            .map_err(se)?;
        }
        Change::AssignGroup { group, assignment } => {
            match assignment {
                Some((p, rank)) => c.execute(
                    "INSERT INTO group_assignments (group_key, group_id, policy, rank)
                     VALUES ($1, $2, $3, $4)
                     ON CONFLICT (group_key) DO UPDATE SET policy = excluded.policy, rank = excluded.rank",
                    &[
                        &group.key(),
                        &group.as_str(),
                        &p.as_str(),
                        &i32::try_from(rank.get()).unwrap_or(i32::MAX),
                    ],
                ),
                None => c.execute(
                    "DELETE FROM group_assignments WHERE group_key = $1",
                    &[&group.key()],
                ),
            }
            .map_err(se)?;
        }
        Change::AssignTenantDefault { policy } => {
            match policy {
                Some(p) => c.execute(
                    "INSERT INTO tenant_default (id, policy) VALUES (1, $1)
                     ON CONFLICT (id) DO UPDATE SET policy = excluded.policy",
                    &[&p.as_str()],
                ),
                None => c.execute("DELETE FROM tenant_default", &[]),
            }
            .map_err(se)?;
        }
        Change::UnassignEverywhere(name) => {
            let key = name.key();
            for table in ["user_assignments", "group_assignments", "tenant_default"] {
                c.execute(
                    &format!("DELETE FROM {table} WHERE lower(policy) = $1"),
                    &[&key],
                )
                .map_err(se)?;
            }
        }
        Change::SetUserSetting { user, enabled } => {
            c.execute(
                "INSERT INTO user_settings (user_key, e2ee) VALUES ($1, $2)
                 ON CONFLICT (user_key) DO UPDATE SET e2ee = excluded.e2ee",
                &[&user.key(), enabled],
            )
            .map_err(se)?;
        }
        Change::SetComplianceRecording { scope, enabled } => {
            let sql = if *enabled {
                "INSERT INTO compliance_recording (scope) VALUES ($1) ON CONFLICT DO NOTHING"
            } else {
                "DELETE FROM compliance_recording WHERE scope = $1"
            };
            c.execute(sql, &[&scope_key(scope)]).map_err(se)?;
        }
        Change::SetClientRequirements(req) => {
            let body = serde_json::to_string(req).map_err(json_err)?;
            c.execute(
                "INSERT INTO client_requirements (id, body) VALUES (1, $1)
                 ON CONFLICT (id) DO UPDATE SET body = excluded.body",
                &[&body],
            )
            .map_err(se)?;
        }
    }
    Ok(())
}

impl PolicyStore for PgPolicy<'_> {
    fn user_exists(&self, user: &UserId) -> Result<bool, StoreError> {
        self.exists("SELECT 1 FROM users WHERE key = $1", &user.key())
    }

    fn group_exists(&self, group: &GroupId) -> Result<bool, StoreError> {
        self.exists("SELECT 1 FROM groups WHERE key = $1", &group.key())
    }

    fn groups_of(&self, user: &UserId) -> Result<Vec<GroupId>, StoreError> {
        let ids: Vec<String> = self
            .query(
                "SELECT g.id FROM group_members m JOIN groups g ON g.key = m.group_key
                 WHERE m.user_key = $1",
                &[&user.key()],
            )?
            .iter()
            .map(|r| r.get(0))
            .collect();
        group_ids(&ids)
    }

    fn policy(
        &self,
        identity: &PolicyIdentity,
    ) -> Result<Option<EnhancedEncryptionPolicy>, StoreError> {
        let body = self
            .query_opt(
                "SELECT body FROM policies WHERE key = $1",
                &[&identity_key(identity)],
            )?
            .map(|r| r.get(0));
        policy_body(identity, body)
    }

    fn policies(&self) -> Result<Vec<EnhancedEncryptionPolicy>, StoreError> {
        self.query("SELECT body FROM policies ORDER BY key", &[])?
            .iter()
            .map(|r| serde_json::from_str(r.get(0)).map_err(json_err))
            .collect()
    }

    fn user_assignment(&self, user: &UserId) -> Result<Option<PolicyName>, StoreError> {
        self.query_opt(
            "SELECT policy FROM user_assignments WHERE user_key = $1",
            &[&user.key()],
        )?
        .map(|r| name_from(r.get(0)))
        .transpose()
    }

    fn group_assignments(&self) -> Result<Vec<GroupAssignment>, StoreError> {
        self.query("SELECT group_id, policy, rank FROM group_assignments", &[])?
            .iter()
            .map(|r| group_assignment(r.get(0), r.get(1), i64::from(r.get::<_, i32>(2))))
            .collect()
    }

    fn tenant_default(&self) -> Result<Option<PolicyName>, StoreError> {
        self.query_opt("SELECT policy FROM tenant_default WHERE id = 1", &[])?
            .map(|r| name_from(r.get(0)))
            .transpose()
    }

    fn policy_usage(&self, policy: &PolicyName) -> Result<PolicyUsage, StoreError> {
        let row = self
            .query_opt(
                "SELECT (SELECT count(*) FROM user_assignments WHERE lower(policy) = $1),
                        (SELECT count(*) FROM group_assignments WHERE lower(policy) = $1),
                        (SELECT count(*) FROM tenant_default WHERE lower(policy) = $1)",
                &[&policy.key()],
            )?
            .ok_or_else(|| StoreError::new("policy usage query returned nothing"))?;
        let n = |i: usize| usize::try_from(row.get::<_, i64>(i)).unwrap_or(0);
        Ok(PolicyUsage {
            users: n(0),
            groups: n(1),
            tenant_default: n(2) > 0,
        })
    }

    fn user_setting(&self, user: &UserId) -> Result<Option<bool>, StoreError> {
        Ok(self
            .query_opt(
                "SELECT e2ee FROM user_settings WHERE user_key = $1",
                &[&user.key()],
            )?
            .map(|r| r.get(0)))
    }

    fn compliance_recording(&self, scope: &ComplianceScope) -> Result<bool, StoreError> {
        self.exists(
            "SELECT 1 FROM compliance_recording WHERE scope = $1",
            &scope_key(scope),
        )
    }

    fn client_requirements(&self) -> Result<ClientRequirements, StoreError> {
        let body = self
            .query_opt("SELECT body FROM client_requirements WHERE id = 1", &[])?
            .map(|r| r.get(0));
        requirements_body(body)
    }

    fn commit(&mut self, changes: &[Change], audit: &AuditRecord) -> Result<(), StoreError> {
        if changes.is_empty()
            && audit.outcome == sealcall_policy::AuditOutcome::Denied
            && !self.count_denial(audit.actor.as_str(), audit.at.0)?
        {
            return Ok(());
        }
        let (action, outcome) = (audit_name(&audit.action), audit_name(&audit.outcome));
        let tx = self.tx.get_mut();
        let mut savepoint = tx.savepoint("policy_commit").map_err(se)?;
        for change in changes {
            // Dropping the savepoint unfinished rolls back to it.
            apply(&mut savepoint, change)?;
        }
        let seq: i64 = savepoint
            .query_one(
                "INSERT INTO audit_log (actor, at, action, target, before, after, outcome)
                 VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING seq",
                &[
                    &audit.actor.as_str(),
                    &unix_at(audit.at.0),
                    &action,
                    &audit.target,
                    &audit.before,
                    &audit.after,
                    &outcome,
                ],
            )
            .map_err(se)?
            .get(0);
        savepoint.commit().map_err(se)?;
        log_audit(seq, audit.actor.as_str(), &action, &audit.target, &outcome);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::StoreLocation;

    #[test]
    fn urls_show_everything_but_the_password() {
        for text in [
            "postgres://sealcall:s3cret-pw@db.example:5433/calls",
            "postgresql://sealcall@db.example:5433/calls?password=s3cret-pw",
            "POSTGRES://sealcall:s3cret-pw@db.example:5433/calls",
        ] {
            let url = PgUrl::parse(text).unwrap();
            assert_eq!(
                url.to_string(),
                "postgres://sealcall:***@db.example:5433/calls"
            );
            assert!(!format!("{url:?}").contains("s3cret"), "{url:?}");
            let location = StoreLocation::parse(text).unwrap();
            assert!(matches!(location, StoreLocation::Postgres(_)));
            assert!(!format!("{location} {location:?}").contains("s3cret"));
            assert_eq!(url.database(), "calls");
        }
        let bare = PgUrl::parse("postgres://ana@localhost").unwrap();
        assert_eq!(bare.to_string(), "postgres://ana@localhost:5432/ana");
    }

    #[test]
    fn anything_else_is_a_sqlite_path_and_bad_urls_are_refused_without_the_password() {
        assert!(matches!(
            StoreLocation::parse("/var/lib/sealcall/sealcall.db").unwrap(),
            StoreLocation::Sqlite(p) if p == std::path::Path::new("/var/lib/sealcall/sealcall.db")
        ));
        assert!(StoreLocation::parse("  ").is_err());
        let err = StoreLocation::parse("postgres://u:s3cret@host:notaport/db").unwrap_err();
        assert!(
            err.to_string().starts_with("invalid PostgreSQL URL"),
            "{err}"
        );
        assert!(!err.to_string().contains("s3cret"), "{err}");
    }
}
