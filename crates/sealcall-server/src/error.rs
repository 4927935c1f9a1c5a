//! The crate's one error type.

use sealcall_policy::PolicyError;

/// Every error of the server library. Messages never carry passwords, tokens or keys.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    /// The database failed (content-free description).
    #[error("storage failed: {0}")]
    Storage(String),
    /// The database cannot be reached (PostgreSQL down, restarting or unreachable): the request
    /// failed without changing anything and can be retried.
    #[error("storage unavailable: {0}")]
    StoreUnavailable(String),
    /// Redis, which several nodes share (`--redis`), cannot be reached or refused the request:
    /// the request failed and can be retried.
    #[error("cluster unavailable: {0}")]
    ClusterUnavailable(String),
    /// The database was written by a newer server (schema version too high).
    #[error("database schema version {found} is newer than this server's {supported}")]
    SchemaTooNew {
        /// Version in the database.
        found: i64,
        /// Newest version this build knows.
        supported: i64,
    },
    /// The PostgreSQL database has an older schema than this server's: a node never migrates
    /// it by itself while others may still run on it.
    #[error(
        "database schema version {found} is older than this server's {supported}: run `sealcall server migrate --db …` first"
    )]
    SchemaTooOld {
        /// Version in the database.
        found: i64,
        /// The version this build needs.
        supported: i64,
    },
    /// A policy operation failed (parse error, access denied, refused setting, …).
    #[error(transparent)]
    Policy(#[from] PolicyError),
    /// The tenant is already initialised.
    #[error("the server is already initialised (tenant '{0}')")]
    AlreadyInitialised(String),
    /// The tenant is not initialised yet (run `sealcall server init`).
    #[error("the server is not initialised: run `sealcall server init` first")]
    NotInitialised,
    /// A user with this sign-in name exists already.
    #[error("user '{0}' already exists")]
    UserExists(String),
    /// No such user.
    #[error("user '{0}' not found")]
    UserNotFound(String),
    /// No such group.
    #[error("group '{0}' not found")]
    GroupNotFound(String),
    /// A value given by the operator or a client is not valid.
    #[error("invalid {what}: {reason}")]
    Invalid {
        /// Which value.
        what: &'static str,
        /// Why.
        reason: String,
    },
    /// Password hashing failed.
    #[error("password hashing failed")]
    PasswordHash,
    /// Randomness was unavailable.
    #[error("the system random number generator failed")]
    Random,
    /// An I/O failure (binding a socket, reading input, …).
    #[error("i/o failed: {0}")]
    Io(#[from] std::io::Error),
    /// The TURN relay failed to start or stop.
    #[error("TURN relay failed: {0}")]
    Turn(String),
    /// A TLS configuration could not be built, a server address is refused (plain `http://`
    /// off loopback), or a server's certificate is not trusted (the message says how to trust
    /// it).
    #[error(transparent)]
    Tls(#[from] sealcall_tls::TlsError),
    /// The HTTP client (used by `sealcall admin`) failed or the server refused the request.
    #[error("{0}")]
    Client(String),
}

impl From<rusqlite::Error> for ServerError {
    fn from(e: rusqlite::Error) -> Self {
        // rusqlite's messages describe the failure (e.g. "database is locked"), not parameters.
        ServerError::Storage(e.to_string())
    }
}

/// Shorthand.
pub type Result<T, E = ServerError> = std::result::Result<T, E>;
