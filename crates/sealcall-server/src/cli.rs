//! The command implementations behind `sealcall server init`, `sealcall user …`,
//! `sealcall group …`, `sealcall role …` and `sealcall admin …`. They take parsed arguments;
//! the binary only parses the command line and reads the password (from an environment
//! variable or a prompt, never from an argument).
//!
//! Directory commands work on the store directly: the SQLite file (run them on the server host;
//! SQLite allows this while the server runs) or the PostgreSQL database. They block: from async
//! code, call them through `spawn_blocking` (the PostgreSQL client refuses to run on an async
//! task). `admin_run` talks to a running server over HTTP.

use std::io::{BufRead, Write};
use std::sync::Arc;

use sealcall_policy::{GroupId, Role, RoleSet, UserId};
use serde_json::json;

use crate::Trust;
use crate::auth::{PasswordCost, hash_password};
use crate::client::HttpClient;
use crate::error::{Result, ServerError};
use crate::store::{ServerAudit, Storage, StoreLocation, UserRecord};

/// The environment variable `sealcall admin` (and `user add`) read the password from.
pub const PASSWORD_ENV: &str = "SEALCALL_PASSWORD";

/// Shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 8;

fn open(db: impl Into<StoreLocation>) -> Result<Arc<dyn Storage>> {
    db.into().open()
}

fn check_password(password: &str) -> Result<()> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(ServerError::Invalid {
            what: "password",
            reason: format!("must be at least {MIN_PASSWORD_CHARS} characters"),
        });
    }
    Ok(())
}

fn user_id(text: &str) -> Result<UserId> {
    UserId::new(text).map_err(|e| ServerError::Invalid {
        what: "user",
        reason: e.to_string(),
    })
}

fn group_id(text: &str) -> Result<GroupId> {
    GroupId::new(text).map_err(|e| ServerError::Invalid {
        what: "group",
        reason: e.to_string(),
    })
}

/// Parses a role: `user`, `teams-admin` (`TeamsAdministrator`) or `global-admin`
/// (`GlobalAdministrator`), case-insensitive.
pub fn parse_role(text: &str) -> Result<Role> {
    match text.to_ascii_lowercase().as_str() {
        "user" => Ok(Role::User),
        "teams-admin" | "teamsadministrator" | "teams-administrator" => {
            Ok(Role::TeamsAdministrator)
        }
        "global-admin" | "globaladministrator" | "global-administrator" => {
            Ok(Role::GlobalAdministrator)
        }
        _ => Err(ServerError::Invalid {
            what: "role",
            reason: format!(
                "'{}' is not one of user, teams-admin, global-admin",
                text.chars().take(64).collect::<String>()
            ),
        }),
    }
}

fn audit(store: &dyn Storage, action: &str, target: &str) -> Result<()> {
    store.audit(&ServerAudit {
        actor: "cli",
        at: crate::unix_now(),
        action,
        target,
    })
}

/// `sealcall server init --db PATH|URL --tenant NAME --admin USER [--display-name NAME]`: creates
/// the database, the tenant and its first administrator (global administrator).
pub fn server_init(
    db: impl Into<StoreLocation>,
    tenant: &str,
    admin: &str,
    display_name: &str,
    password: &str,
    cost: PasswordCost,
) -> Result<()> {
    if tenant.trim().is_empty() {
        return Err(ServerError::Invalid {
            what: "tenant",
            reason: "is empty".to_owned(),
        });
    }
    check_password(password)?;
    let store = db.into().migrate()?;
    let record = UserRecord {
        id: user_id(admin)?,
        display_name: display_name.to_owned(),
        password_hash: hash_password(password, cost)?,
        roles: RoleSet::of(&[Role::User, Role::GlobalAdministrator]),
    };
    store.init_tenant(tenant, &record, crate::unix_now())
}

/// `sealcall server migrate --db PATH|URL|URL`: applies the pending schema migrations (on SQLite,
/// opening the file does that anyway; on PostgreSQL, the nodes refuse to start until this ran).
pub fn server_migrate(db: impl Into<StoreLocation>) -> Result<()> {
    db.into().migrate().map(|_| ())
}

/// `sealcall user add --db PATH|URL USER --display-name NAME [--role ROLE]…`.
pub fn user_add(
    db: impl Into<StoreLocation>,
    user: &str,
    display_name: &str,
    password: &str,
    roles: &[Role],
    cost: PasswordCost,
) -> Result<()> {
    let store = open_for_new_users(db, password)?;
    let record = user_record(user, display_name, password, roles, cost)?;
    store.add_user(&record, crate::unix_now())?;
    audit(&*store, "AddUser", &format!("user:{}", record.id))
}

/// The store of an initialised tenant, for adding users with `password` (checked first).
fn open_for_new_users(db: impl Into<StoreLocation>, password: &str) -> Result<Arc<dyn Storage>> {
    check_password(password)?;
    let store = open(db)?;
    if store.tenant()?.is_none() {
        return Err(ServerError::NotInitialised);
    }
    Ok(store)
}

/// A new user's record (its password hashed with `cost`).
fn user_record(
    user: &str,
    display_name: &str,
    password: &str,
    roles: &[Role],
    cost: PasswordCost,
) -> Result<UserRecord> {
    Ok(UserRecord {
        id: user_id(user)?,
        display_name: display_name.to_owned(),
        password_hash: hash_password(password, cost)?,
        roles: RoleSet::of(roles).with(Role::User),
    })
}

/// Adds many users with one password at once (one open of the store; a benchmark's or an
/// import's tenant): `users` as (sign-in name, display name). Stops at the first that fails.
pub fn users_add(
    db: impl Into<StoreLocation>,
    users: &[(String, String)],
    password: &str,
    cost: PasswordCost,
) -> Result<()> {
    let store = open_for_new_users(db, password)?;
    for (user, display_name) in users {
        let record = user_record(user, display_name, password, &[], cost)?;
        store.add_user(&record, crate::unix_now())?;
    }
    audit(&*store, "AddUser", &format!("users:{}", users.len()))
}

/// `sealcall user remove --db PATH|URL USER`: the user, their devices, sessions, memberships,
/// assignment and setting.
pub fn user_remove(db: impl Into<StoreLocation>, user: &str) -> Result<()> {
    let store = open(db)?;
    let id = user_id(user)?;
    if !store.remove_user(&id)? {
        return Err(ServerError::UserNotFound(id.to_string()));
    }
    audit(&*store, "RemoveUser", &format!("user:{id}"))
}

/// `sealcall user list --db PATH|URL`: one line per user: sign-in name, display name, roles.
pub fn user_list(db: impl Into<StoreLocation>, out: &mut dyn Write) -> Result<()> {
    let store = open(db)?;
    for user in store.users(None, usize::MAX >> 1)? {
        let roles: Vec<&str> = [
            (Role::TeamsAdministrator, "teams-admin"),
            (Role::GlobalAdministrator, "global-admin"),
        ]
        .into_iter()
        .filter(|(r, _)| user.roles.contains(*r))
        .map(|(_, n)| n)
        .collect();
        writeln!(
            out,
            "{}\t{}\t{}",
            user.id,
            user.display_name,
            if roles.is_empty() {
                "user".to_owned()
            } else {
                roles.join(",")
            }
        )?;
    }
    Ok(())
}

/// `sealcall group add --db PATH|URL GROUP`.
pub fn group_add(db: impl Into<StoreLocation>, group: &str) -> Result<()> {
    let store = open(db)?;
    let id = group_id(group)?;
    if !store.add_group(&id)? {
        return Err(ServerError::Invalid {
            what: "group",
            reason: format!("'{id}' already exists"),
        });
    }
    audit(&*store, "AddGroup", &format!("group:{id}"))
}

/// `sealcall group remove --db PATH|URL GROUP`.
pub fn group_remove(db: impl Into<StoreLocation>, group: &str) -> Result<()> {
    let store = open(db)?;
    let id = group_id(group)?;
    if !store.remove_group(&id)? {
        return Err(ServerError::GroupNotFound(id.to_string()));
    }
    audit(&*store, "RemoveGroup", &format!("group:{id}"))
}

/// `sealcall group add-member --db PATH|URL GROUP USER`.
pub fn group_add_member(db: impl Into<StoreLocation>, group: &str, user: &str) -> Result<()> {
    let store = open(db)?;
    let (g, u) = (group_id(group)?, user_id(user)?);
    store.add_member(&g, &u)?;
    audit(&*store, "AddMember", &format!("group:{g} user:{u}"))
}

/// `sealcall group remove-member --db PATH|URL GROUP USER`.
pub fn group_remove_member(db: impl Into<StoreLocation>, group: &str, user: &str) -> Result<()> {
    let store = open(db)?;
    let (g, u) = (group_id(group)?, user_id(user)?);
    if !store.remove_member(&g, &u)? {
        return Err(ServerError::Invalid {
            what: "membership",
            reason: format!("'{u}' is not a member of '{g}'"),
        });
    }
    audit(&*store, "RemoveMember", &format!("group:{g} user:{u}"))
}

/// `sealcall group list --db PATH|URL`: `group: member, member`.
pub fn group_list(db: impl Into<StoreLocation>, out: &mut dyn Write) -> Result<()> {
    let store = open(db)?;
    for (group, members) in store.groups()? {
        let names: Vec<String> = members.iter().map(ToString::to_string).collect();
        writeln!(out, "{group}: {}", names.join(", "))?;
    }
    Ok(())
}

/// `sealcall role grant|revoke --db PATH|URL USER ROLE`.
pub fn role_set(db: impl Into<StoreLocation>, user: &str, role: Role, granted: bool) -> Result<()> {
    let store = open(db)?;
    let id = user_id(user)?;
    if !store.set_role(&id, role, granted)? {
        return Err(ServerError::UserNotFound(id.to_string()));
    }
    let action = if granted { "GrantRole" } else { "RevokeRole" };
    audit(&*store, action, &format!("user:{id} role:{role:?}"))
}

/// What `admin_run` did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AdminSummary {
    /// Cmdlet lines run successfully.
    pub succeeded: usize,
    /// Cmdlet lines that failed (each printed as `ERROR: …`).
    pub failed: usize,
}

/// `sealcall admin --server URL [--ca-file FILE | --pin SHA256:…] [--user USER] ['<cmdlet line>']`.
///
/// Connects trusting the server's certificate as `trust` says, signs in as `user` with `password` (the binary reads it from [`PASSWORD_ENV`] or a prompt),
/// then runs `line` if given; otherwise every line of `input` (a script on standard input), with
/// a `PS> ` prompt before each line when `interactive`. Prints each cmdlet's output, warnings as
/// `WARNING: …` and failures as `ERROR: …` to `out`, signs out, and returns the counts (the
/// binary exits non-zero if any line failed). Blank lines and `#` comments are skipped.
#[allow(clippy::too_many_arguments)]
pub async fn admin_run<R: BufRead, W: Write>(
    server: &str,
    trust: &Trust,
    user: &str,
    password: &str,
    line: Option<&str>,
    mut input: R,
    out: &mut W,
    interactive: bool,
) -> Result<AdminSummary> {
    let client = HttpClient::with_trust(server, trust)?;
    let token = sign_in(&client, user, password).await?;
    let mut summary = AdminSummary::default();
    let mut run_line = async |text: &str, out: &mut W| -> Result<()> {
        let trimmed = text.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            return Ok(());
        }
        let response = client
            .request(
                "POST",
                "/admin/cmdlet",
                Some(&token),
                Some(&json!({ "line": trimmed })),
            )
            .await?;
        if response.status == 200 {
            summary.succeeded += 1;
            if let Some(warnings) = response.body.get("warnings").and_then(|w| w.as_array()) {
                for w in warnings.iter().filter_map(|w| w.as_str()) {
                    writeln!(out, "WARNING: {w}")?;
                }
            }
            let text = response
                .body
                .get("output")
                .and_then(|o| o.as_str())
                .unwrap_or("");
            if !text.is_empty() {
                write!(out, "{text}")?;
                if !text.ends_with('\n') {
                    writeln!(out)?;
                }
            }
        } else {
            summary.failed += 1;
            writeln!(out, "ERROR: {}", response.error())?;
        }
        Ok(())
    };
    let result: Result<()> = async {
        if let Some(line) = line {
            run_line(line, out).await?;
        } else {
            let mut buf = String::new();
            loop {
                if interactive {
                    write!(out, "PS> ")?;
                    out.flush()?;
                }
                buf.clear();
                if input.read_line(&mut buf)? == 0 {
                    break;
                }
                let text = buf.trim();
                if interactive && matches!(text, "exit" | "quit") {
                    break;
                }
                run_line(text, out).await?;
            }
        }
        Ok(())
    }
    .await;
    let _ = client
        .request("POST", "/sign-out", Some(&token), None)
        .await;
    result?;
    Ok(summary)
}

/// Signs in over HTTP; the session token (erased on drop).
async fn sign_in(
    client: &HttpClient,
    user: &str,
    password: &str,
) -> Result<zeroize::Zeroizing<String>> {
    let signed = client
        .request(
            "POST",
            "/sign-in",
            None,
            Some(&json!({ "user": user, "password": password })),
        )
        .await?;
    if signed.status != 200 {
        return Err(ServerError::Client(format!(
            "sign-in failed: {}",
            signed.error()
        )));
    }
    signed
        .body
        .get("token")
        .and_then(|t| t.as_str())
        .map(|t| zeroize::Zeroizing::new(t.to_owned()))
        .ok_or_else(|| ServerError::Client("sign-in response has no token".to_owned()))
}

/// Where `sealcall device` works: the server, how to trust it, and who signs in.
#[derive(Debug, Clone, Copy)]
pub struct DeviceTarget<'a> {
    /// Server URL.
    pub server: &'a str,
    /// How to trust its certificate.
    pub trust: &'a Trust,
    /// Who signs in.
    pub user: &'a str,
    /// Whose devices: `None` for the signed-in user's own; another user needs the administrator
    /// role.
    pub of: Option<&'a str>,
}

impl DeviceTarget<'_> {
    fn path(&self) -> String {
        match self.of {
            Some(other) => format!("/admin/users/{other}/devices"),
            None => "/devices".to_owned(),
        }
    }

    /// Signs in, sends one request to `path` under [`DeviceTarget::path`], signs out.
    async fn run(
        &self,
        password: &str,
        method: &str,
        tail: &str,
    ) -> Result<crate::client::HttpResponse> {
        let client = HttpClient::with_trust(self.server, self.trust)?;
        let token = sign_in(&client, self.user, password).await?;
        let result = client
            .request(
                method,
                &format!("{}{tail}", self.path()),
                Some(&token),
                None,
            )
            .await;
        let _ = client
            .request("POST", "/sign-out", Some(&token), None)
            .await;
        let response = result?;
        if !(200..300).contains(&response.status) {
            return Err(ServerError::Client(response.error()));
        }
        Ok(response)
    }
}

/// `sealcall device list [--of USER]`: one line per device: id, platform, client version,
/// identity key fingerprint (hex).
pub async fn device_list(
    target: DeviceTarget<'_>,
    password: &str,
    out: &mut dyn Write,
) -> Result<()> {
    let response = target.run(password, "GET", "").await?;
    for d in response.body.as_array().into_iter().flatten() {
        let field = |name: &str| d.get(name).and_then(|v| v.as_str()).unwrap_or("?");
        writeln!(
            out,
            "{}\t{}\t{}\t{}",
            field("device_id"),
            field("platform"),
            field("client_version"),
            field("identity_key")
        )?;
    }
    Ok(())
}

/// `sealcall device remove ID [--of USER]`: removes the device; its sessions end and its live
/// connection closes at once.
pub async fn device_remove(target: DeviceTarget<'_>, password: &str, id: &str) -> Result<()> {
    if sealcall_signaling::DeviceId::new(id).is_err() {
        return Err(ServerError::Invalid {
            what: "device id",
            reason: "expected the id `sealcall device list` shows (letters, digits, - and _)"
                .to_owned(),
        });
    }
    target
        .run(password, "DELETE", &format!("/{id}"))
        .await
        .map(|_| ())
}
