//! The storage interface the server runs against, and what it stores.
//! [`SqliteStore`](crate::SqliteStore) (one node, one file) and
//! [`PostgresStore`](crate::PostgresStore) (any number of nodes on one database) implement it;
//! [`StoreLocation`] says which one a `--db` value means.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use sealcall_policy::{ClientVersion, GroupId, Platform, PolicyStore, Role, RoleSet, UserId};
use sealcall_signaling::{DeviceId, IdentityKey};

use crate::error::{Result, ServerError};
use crate::postgres::{PgUrl, PostgresStore};
use crate::sqlite::SqliteStore;

/// Where the server's data lives: what `--db` (or a configuration file's `db`) names.
#[derive(Debug, Clone)]
pub enum StoreLocation {
    /// A SQLite file (created if missing).
    Sqlite(PathBuf),
    /// A PostgreSQL database (its schema made by `sealcall server init` or
    /// `sealcall server migrate`).
    Postgres(PgUrl),
}

impl StoreLocation {
    /// `postgres://…` or `postgresql://…` is a PostgreSQL URL; anything else is a SQLite file
    /// path. Fails on an empty value or a URL that does not parse (the message never carries
    /// the password).
    pub fn parse(text: &str) -> Result<Self> {
        if text.trim().is_empty() {
            return Err(ServerError::Invalid {
                what: "database",
                reason: "is empty: give a SQLite file or a postgres:// URL".to_owned(),
            });
        }
        if PgUrl::is_pg_url(text) {
            Ok(Self::Postgres(PgUrl::parse(text)?))
        } else {
            Ok(Self::Sqlite(PathBuf::from(text)))
        }
    }

    /// Opens the store for serving: SQLite applies pending migrations; PostgreSQL only checks
    /// that the schema is this server's (see [`PostgresStore::open`]).
    pub fn open(&self) -> Result<Arc<dyn Storage>> {
        Ok(match self {
            Self::Sqlite(path) => Arc::new(SqliteStore::open(path)?),
            Self::Postgres(url) => Arc::new(PostgresStore::open(url)?),
        })
    }

    /// Opens the store after applying pending migrations (creating the schema if there is
    /// none), for `sealcall server init` and `sealcall server migrate`.
    pub fn migrate(&self) -> Result<Arc<dyn Storage>> {
        Ok(match self {
            Self::Sqlite(path) => Arc::new(SqliteStore::open(path)?),
            Self::Postgres(url) => Arc::new(PostgresStore::migrate(url)?),
        })
    }

    /// A file that belongs with the data (the default TLS certificate and key): next to the
    /// SQLite file, or in the current directory for PostgreSQL.
    pub fn sibling(&self, name: &str) -> PathBuf {
        match self {
            Self::Sqlite(path) => path.with_file_name(name),
            Self::Postgres(_) => PathBuf::from(name),
        }
    }
}

/// The SQLite file's path, or the PostgreSQL URL without its password.
impl std::fmt::Display for StoreLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Sqlite(path) => write!(f, "{}", path.display()),
            Self::Postgres(url) => url.fmt(f),
        }
    }
}

impl From<PathBuf> for StoreLocation {
    fn from(path: PathBuf) -> Self {
        Self::Sqlite(path)
    }
}

impl From<&PathBuf> for StoreLocation {
    fn from(path: &PathBuf) -> Self {
        Self::Sqlite(path.clone())
    }
}

impl From<&Path> for StoreLocation {
    fn from(path: &Path) -> Self {
        Self::Sqlite(path.to_owned())
    }
}

impl From<&StoreLocation> for StoreLocation {
    fn from(location: &StoreLocation) -> Self {
        location.clone()
    }
}

impl From<PgUrl> for StoreLocation {
    fn from(url: PgUrl) -> Self {
        Self::Postgres(url)
    }
}

/// A user as the directory holds it.
#[derive(Clone)]
pub struct UserRecord {
    /// Sign-in name.
    pub id: UserId,
    /// Display name.
    pub display_name: String,
    /// argon2id PHC string.
    pub password_hash: String,
    /// Roles.
    pub roles: RoleSet,
}

impl std::fmt::Debug for UserRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserRecord")
            .field("id", &self.id)
            .field("display_name", &self.display_name)
            .field("password_hash", &"<redacted>")
            .field("roles", &self.roles)
            .finish()
    }
}

/// A session: the user a token belongs to and when it expires. The token itself is never
/// stored, only its SHA-256 hash.
#[derive(Debug, Clone)]
pub struct SessionRecord {
    /// The SHA-256 of the token.
    pub token_hash: [u8; 32],
    /// Whose session.
    pub user: UserId,
    /// Expiry (Unix seconds).
    pub expires_at: u64,
    /// The device the session belongs to (`None` until one is bound: an administrator's
    /// command-line session, or a sign-in before its device registers).
    pub device: Option<DeviceId>,
}

/// A registered device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceRecord {
    /// Server-assigned id.
    pub id: DeviceId,
    /// Owner.
    pub user: UserId,
    /// Ed25519 identity public key.
    pub identity_key: IdentityKey,
    /// Platform it reported.
    pub platform: Platform,
    /// Client version it reported.
    pub client_version: ClientVersion,
}

/// A server-side audit event (user, group and role administration) besides the policy audit
/// records.
#[derive(Debug, Clone)]
pub struct ServerAudit<'a> {
    /// Who acted (`cli` for the local command line).
    pub actor: &'a str,
    /// When (Unix seconds).
    pub at: u64,
    /// What, e.g. `AddUser`.
    pub action: &'a str,
    /// On what, e.g. `user:ana@contoso.com`.
    pub target: &'a str,
}

/// One row of the audit log: a policy audit record or a server event.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AuditEntry {
    /// Who acted.
    pub actor: String,
    /// When (Unix seconds).
    pub at: u64,
    /// What (`sealcall_policy::AuditAction` name, or a server event such as `AddUser`).
    pub action: String,
    /// On what.
    pub target: String,
    /// State before, if recorded.
    pub before: Option<String>,
    /// State after, if recorded.
    pub after: Option<String>,
    /// `Applied` or `Denied`.
    pub outcome: String,
}

/// A closure run against the policy store inside one transaction.
pub type PolicyOp<'a> = &'a mut dyn FnMut(&mut dyn PolicyStore);

/// Everything the server stores. Implementations are synchronous (callers run them on a
/// blocking thread) and must make each method atomic.
pub trait Storage: Send + Sync + 'static {
    /// The tenant's name, if initialised.
    fn tenant(&self) -> Result<Option<String>>;
    /// Creates the tenant and its first administrator, atomically. Fails if initialised.
    fn init_tenant(&self, name: &str, admin: &UserRecord, now: u64) -> Result<()>;

    /// Adds a user. Fails with `UserExists`.
    fn add_user(&self, user: &UserRecord, now: u64) -> Result<()>;
    /// Removes a user with their devices, sessions, memberships, assignment and setting.
    /// Returns whether they existed.
    fn remove_user(&self, user: &UserId) -> Result<bool>;
    /// One user.
    fn user(&self, user: &UserId) -> Result<Option<UserRecord>>;
    /// Users whose sign-in or display name contains `search` (case-insensitive), sorted by
    /// sign-in name, at most `limit`.
    fn users(&self, search: Option<&str>, limit: usize) -> Result<Vec<UserRecord>>;
    /// Grants or revokes a role. Returns whether the user exists.
    fn set_role(&self, user: &UserId, role: Role, granted: bool) -> Result<bool>;

    /// Adds a group; returns false if it existed.
    fn add_group(&self, group: &GroupId) -> Result<bool>;
    /// Removes a group (memberships and assignment with it); returns whether it existed.
    fn remove_group(&self, group: &GroupId) -> Result<bool>;
    /// Adds a member (the group and the user must exist).
    fn add_member(&self, group: &GroupId, user: &UserId) -> Result<()>;
    /// Removes a member; returns whether they were one.
    fn remove_member(&self, group: &GroupId, user: &UserId) -> Result<bool>;
    /// Every group with its members, sorted.
    fn groups(&self) -> Result<Vec<(GroupId, Vec<UserId>)>>;

    /// Stores a session.
    fn put_session(&self, session: &SessionRecord, now: u64) -> Result<()>;
    /// The session with this token hash (expired ones included: the caller checks).
    fn session(&self, token_hash: &[u8; 32]) -> Result<Option<SessionRecord>>;
    /// Deletes a session; returns whether it existed.
    fn delete_session(&self, token_hash: &[u8; 32]) -> Result<bool>;
    /// Binds a session that has no device yet to `device`; returns whether it did.
    fn bind_session(&self, token_hash: &[u8; 32], device: &DeviceId) -> Result<bool>;
    /// Which of `hashes` are sessions that still exist and have not expired at `now`.
    fn live_sessions(&self, hashes: &[[u8; 32]], now: u64) -> Result<Vec<[u8; 32]>>;
    /// Deletes expired sessions.
    fn purge_sessions(&self, now: u64) -> Result<usize>;

    /// Registers a device.
    fn add_device(&self, device: &DeviceRecord, now: u64) -> Result<()>;
    /// One device.
    fn device(&self, id: &DeviceId) -> Result<Option<DeviceRecord>>;
    /// A user's devices.
    fn devices_of(&self, user: &UserId) -> Result<Vec<DeviceRecord>>;
    /// Removes a device of `user` (and, with it, its sessions); returns whether it existed.
    fn remove_device(&self, user: &UserId, id: &DeviceId) -> Result<bool>;

    /// Appends a server audit event.
    fn audit(&self, event: &ServerAudit<'_>) -> Result<()>;
    /// The newest `limit` audit records, newest first.
    fn audit_log(&self, limit: usize) -> Result<Vec<AuditEntry>> {
        self.audit_page(0, limit)
    }
    /// `limit` audit records after skipping the newest `offset`, newest first.
    fn audit_page(&self, offset: usize, limit: usize) -> Result<Vec<AuditEntry>>;

    /// Runs `op` against the policy store in one transaction: every read `op` makes and the
    /// store's commit see one consistent state, and a commit is atomic.
    fn with_policy(&self, op: PolicyOp<'_>) -> Result<()>;
}

/// Runs `f` against the policy store and returns its result.
pub fn policy<S: Storage + ?Sized, T>(
    storage: &S,
    mut f: impl FnMut(&mut dyn PolicyStore) -> T,
) -> Result<T> {
    let mut out = None;
    storage.with_policy(&mut |store| out = Some(f(store)))?;
    out.ok_or_else(|| crate::ServerError::Storage("policy operation did not run".to_owned()))
}
