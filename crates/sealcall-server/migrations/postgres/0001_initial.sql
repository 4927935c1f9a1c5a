-- Sealcall server schema for PostgreSQL, version 1: the tables of ../0001_initial.sql (SQLite)
-- with PostgreSQL's types. Text columns use the "C" collation, so sorting and lower() work on
-- bytes and ASCII as in SQLite, whatever the database's locale. Every `key` column holds the
-- ASCII-lower-case form (UserId::key, GroupId::key, PolicyName::key), the `id` columns keep the
-- spelling as created.

CREATE TABLE tenant (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    name        TEXT COLLATE "C" NOT NULL,
    created_at  BIGINT NOT NULL
);

CREATE TABLE users (
    key            TEXT COLLATE "C" PRIMARY KEY,
    id             TEXT COLLATE "C" NOT NULL,
    display_name   TEXT COLLATE "C" NOT NULL,
    password_hash  TEXT COLLATE "C" NOT NULL,   -- argon2id PHC string
    created_at     BIGINT NOT NULL
);

CREATE TABLE user_roles (
    user_key  TEXT COLLATE "C" NOT NULL REFERENCES users(key) ON DELETE CASCADE,
    role      TEXT COLLATE "C" NOT NULL CHECK (role IN ('User', 'TeamsAdministrator', 'GlobalAdministrator')),
    PRIMARY KEY (user_key, role)
);

CREATE TABLE groups (
    key  TEXT COLLATE "C" PRIMARY KEY,
    id   TEXT COLLATE "C" NOT NULL
);

CREATE TABLE group_members (
    group_key  TEXT COLLATE "C" NOT NULL REFERENCES groups(key) ON DELETE CASCADE,
    user_key   TEXT COLLATE "C" NOT NULL REFERENCES users(key) ON DELETE CASCADE,
    PRIMARY KEY (group_key, user_key)
);
CREATE INDEX group_members_by_user ON group_members(user_key);

CREATE TABLE devices (
    id              TEXT COLLATE "C" PRIMARY KEY,
    user_key        TEXT COLLATE "C" NOT NULL REFERENCES users(key) ON DELETE CASCADE,
    identity_key    BYTEA NOT NULL CHECK (octet_length(identity_key) = 32),
    platform        TEXT COLLATE "C" NOT NULL,
    client_version  TEXT COLLATE "C" NOT NULL,
    created_at      BIGINT NOT NULL
);
CREATE INDEX devices_by_user ON devices(user_key);

CREATE TABLE sessions (
    token_hash  BYTEA PRIMARY KEY CHECK (octet_length(token_hash) = 32),  -- SHA-256 of the token
    user_key    TEXT COLLATE "C" NOT NULL REFERENCES users(key) ON DELETE CASCADE,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX sessions_by_user ON sessions(user_key);

-- Enhanced encryption policies as JSON (sealcall_policy::EnhancedEncryptionPolicy); the Global
-- policy has key ''.
CREATE TABLE policies (
    key   TEXT COLLATE "C" PRIMARY KEY,
    body  TEXT NOT NULL
);

CREATE TABLE user_assignments (
    user_key  TEXT COLLATE "C" PRIMARY KEY REFERENCES users(key) ON DELETE CASCADE,
    policy    TEXT COLLATE "C" NOT NULL
);

CREATE TABLE group_assignments (
    group_key  TEXT COLLATE "C" PRIMARY KEY REFERENCES groups(key) ON DELETE CASCADE,
    group_id   TEXT COLLATE "C" NOT NULL,
    policy     TEXT COLLATE "C" NOT NULL,
    rank       INTEGER NOT NULL CHECK (rank >= 1)
);

CREATE TABLE tenant_default (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    policy  TEXT COLLATE "C" NOT NULL
);

CREATE TABLE user_settings (
    user_key  TEXT COLLATE "C" PRIMARY KEY REFERENCES users(key) ON DELETE CASCADE,
    e2ee      BOOLEAN NOT NULL
);

-- 'organization', or 'user:<key>'.
CREATE TABLE compliance_recording (
    scope  TEXT COLLATE "C" PRIMARY KEY
);

CREATE TABLE client_requirements (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    body  TEXT NOT NULL             -- JSON of sealcall_policy::ClientRequirements
);

CREATE TABLE audit_log (
    seq      BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    actor    TEXT COLLATE "C" NOT NULL,
    at       BIGINT NOT NULL,
    action   TEXT COLLATE "C" NOT NULL,
    target   TEXT COLLATE "C" NOT NULL,
    before   TEXT,
    after    TEXT,
    outcome  TEXT COLLATE "C" NOT NULL
);

-- PostgreSQL only: every policy operation (its reads and its commit) starts by locking this
-- table, before its REPEATABLE READ snapshot is taken, so policy operations of all server nodes
-- run one after the other and each sees the commits before it. It holds no rows.
CREATE TABLE policy_lock (
    id  INTEGER PRIMARY KEY
);
