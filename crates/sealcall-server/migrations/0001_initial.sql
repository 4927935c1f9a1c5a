-- Sealcall server schema, version 1. Names compare case-insensitively: every `key` column holds
-- the ASCII-lower-case form (UserId::key, GroupId::key, PolicyName::key), the `id` columns keep
-- the spelling as created.

CREATE TABLE tenant (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    name        TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);

CREATE TABLE users (
    key            TEXT PRIMARY KEY,
    id             TEXT NOT NULL,
    display_name   TEXT NOT NULL,
    password_hash  TEXT NOT NULL,   -- argon2id PHC string
    created_at     INTEGER NOT NULL
);

CREATE TABLE user_roles (
    user_key  TEXT NOT NULL REFERENCES users(key) ON DELETE CASCADE,
    role      TEXT NOT NULL CHECK (role IN ('User', 'TeamsAdministrator', 'GlobalAdministrator')),
    PRIMARY KEY (user_key, role)
);

CREATE TABLE groups (
    key  TEXT PRIMARY KEY,
    id   TEXT NOT NULL
);

CREATE TABLE group_members (
    group_key  TEXT NOT NULL REFERENCES groups(key) ON DELETE CASCADE,
    user_key   TEXT NOT NULL REFERENCES users(key) ON DELETE CASCADE,
    PRIMARY KEY (group_key, user_key)
);

CREATE TABLE devices (
    id              TEXT PRIMARY KEY,
    user_key        TEXT NOT NULL REFERENCES users(key) ON DELETE CASCADE,
    identity_key    BLOB NOT NULL CHECK (length(identity_key) = 32),
    platform        TEXT NOT NULL,
    client_version  TEXT NOT NULL,
    created_at      INTEGER NOT NULL
);
CREATE INDEX devices_by_user ON devices(user_key);

CREATE TABLE sessions (
    token_hash  BLOB PRIMARY KEY CHECK (length(token_hash) = 32),  -- SHA-256 of the token
    user_key    TEXT NOT NULL REFERENCES users(key) ON DELETE CASCADE,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
);
CREATE INDEX sessions_by_user ON sessions(user_key);

-- Enhanced encryption policies as JSON (sealcall_policy::EnhancedEncryptionPolicy); the Global
-- policy has key ''.
CREATE TABLE policies (
    key   TEXT PRIMARY KEY,
    body  TEXT NOT NULL
);

CREATE TABLE user_assignments (
    user_key  TEXT PRIMARY KEY REFERENCES users(key) ON DELETE CASCADE,
    policy    TEXT NOT NULL
);

CREATE TABLE group_assignments (
    group_key  TEXT PRIMARY KEY REFERENCES groups(key) ON DELETE CASCADE,
    group_id   TEXT NOT NULL,
    policy     TEXT NOT NULL,
    rank       INTEGER NOT NULL CHECK (rank >= 1)
);

CREATE TABLE tenant_default (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    policy  TEXT NOT NULL
);

CREATE TABLE user_settings (
    user_key  TEXT PRIMARY KEY REFERENCES users(key) ON DELETE CASCADE,
    e2ee      INTEGER NOT NULL CHECK (e2ee IN (0, 1))
);

-- 'organization', or 'user:<key>'.
CREATE TABLE compliance_recording (
    scope  TEXT PRIMARY KEY
);

CREATE TABLE client_requirements (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    body  TEXT NOT NULL             -- JSON of sealcall_policy::ClientRequirements
);

CREATE TABLE audit_log (
    seq      INTEGER PRIMARY KEY AUTOINCREMENT,
    actor    TEXT NOT NULL,
    at       INTEGER NOT NULL,
    action   TEXT NOT NULL,
    target   TEXT NOT NULL,
    before   TEXT,
    after    TEXT,
    outcome  TEXT NOT NULL
);
