//! `sealcall server …`, `sealcall user …`, `sealcall group …`, `sealcall role …`,
//! `sealcall admin …`: thin wrappers over `sealcall_server`.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use sealcall_server::{Config, PasswordCost, TurnConfig, cli};

/// Reads a password from `SEALCALL_PASSWORD` or, on a terminal, a prompt without echo.
pub fn password(prompt: &str) -> Result<String> {
    if let Ok(p) = std::env::var(cli::PASSWORD_ENV) {
        return Ok(p);
    }
    if !std::io::stdin().is_terminal() {
        bail!(
            "set {} (no terminal to prompt for a password)",
            cli::PASSWORD_ENV
        );
    }
    rpassword::prompt_password(prompt).context("reading the password")
}

/// `sealcall server`.
#[derive(Debug, Args)]
pub struct ServerArgs {
    #[command(subcommand)]
    command: Option<ServerCommand>,
    /// The SQLite database file.
    #[arg(long, default_value = "sealcall.db", global = true)]
    db: PathBuf,
    /// HTTP/WebSocket listen address.
    #[arg(long, default_value = "127.0.0.1:7878")]
    listen: SocketAddr,
    /// UDP address of the embedded TURN relay (`off` to disable).
    #[arg(long, default_value = "127.0.0.1:3478")]
    turn: String,
}

#[derive(Debug, Subcommand)]
enum ServerCommand {
    /// Create the tenant and its first administrator (password from SEALCALL_PASSWORD or a prompt).
    Init {
        /// Tenant (organisation) name.
        #[arg(long)]
        tenant: String,
        /// The administrator's sign-in name.
        #[arg(long)]
        admin: String,
        /// The administrator's display name.
        #[arg(long, default_value = "Administrator")]
        display_name: String,
    },
}

/// Runs `sealcall server [init]`.
pub async fn server(args: ServerArgs) -> Result<()> {
    match args.command {
        Some(ServerCommand::Init {
            tenant,
            admin,
            display_name,
        }) => {
            let pw = password("Administrator password: ")?;
            cli::server_init(
                &args.db,
                &tenant,
                &admin,
                &display_name,
                &pw,
                PasswordCost::default(),
            )?;
            println!(
                "created tenant {tenant:?} with administrator {admin} in {}",
                args.db.display()
            );
            Ok(())
        }
        None => {
            let mut config = Config::new(&args.db);
            config.turn = if args.turn == "off" {
                None
            } else {
                Some(TurnConfig {
                    listen: args
                        .turn
                        .parse()
                        .context("--turn must be host:port or off")?,
                    ..TurnConfig::default()
                })
            };
            let listener = tokio::net::TcpListener::bind(args.listen)
                .await
                .with_context(|| format!("binding {}", args.listen))?;
            println!(
                "sealcall server on http://{} (database {})",
                args.listen,
                args.db.display()
            );
            sealcall_server::run(config, listener, async {
                let _ = tokio::signal::ctrl_c().await;
                println!("shutting down");
            })
            .await?;
            Ok(())
        }
    }
}

/// `sealcall user …`.
#[derive(Debug, Args)]
pub struct UserArgs {
    #[command(subcommand)]
    command: UserCommand,
    /// The SQLite database file.
    #[arg(long, default_value = "sealcall.db", global = true)]
    db: PathBuf,
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Add a user (password from SEALCALL_PASSWORD or a prompt).
    Add {
        /// Sign-in name, e.g. kenmeyer@contoso.onmicrosoft.com.
        user: String,
        /// Display name.
        #[arg(long)]
        display_name: String,
        /// Roles: user, teams-admin, global-admin.
        #[arg(long = "role")]
        roles: Vec<String>,
    },
    /// Remove a user.
    Remove {
        /// Sign-in name.
        user: String,
    },
    /// List users.
    List,
}

/// Runs `sealcall user …`.
pub fn user(args: UserArgs) -> Result<()> {
    match args.command {
        UserCommand::Add {
            user,
            display_name,
            roles,
        } => {
            let roles = roles
                .iter()
                .map(|r| cli::parse_role(r))
                .collect::<Result<Vec<_>, _>>()?;
            let pw = password(&format!("Password for {user}: "))?;
            cli::user_add(
                &args.db,
                &user,
                &display_name,
                &pw,
                &roles,
                PasswordCost::default(),
            )?;
            println!("added {user}");
        }
        UserCommand::Remove { user } => {
            cli::user_remove(&args.db, &user)?;
            println!("removed {user}");
        }
        UserCommand::List => cli::user_list(&args.db, &mut std::io::stdout())?,
    }
    Ok(())
}

/// `sealcall group …`.
#[derive(Debug, Args)]
pub struct GroupArgs {
    #[command(subcommand)]
    command: GroupCommand,
    /// The SQLite database file.
    #[arg(long, default_value = "sealcall.db", global = true)]
    db: PathBuf,
}

#[derive(Debug, Subcommand)]
enum GroupCommand {
    /// Create a group.
    Add {
        /// Group name.
        group: String,
    },
    /// Delete a group.
    Remove {
        /// Group name.
        group: String,
    },
    /// Add a member.
    AddMember {
        /// Group name.
        group: String,
        /// Sign-in name.
        user: String,
    },
    /// Remove a member.
    RemoveMember {
        /// Group name.
        group: String,
        /// Sign-in name.
        user: String,
    },
    /// List groups and members.
    List,
}

/// Runs `sealcall group …`.
pub fn group(args: GroupArgs) -> Result<()> {
    match args.command {
        GroupCommand::Add { group } => cli::group_add(&args.db, &group)?,
        GroupCommand::Remove { group } => cli::group_remove(&args.db, &group)?,
        GroupCommand::AddMember { group, user } => cli::group_add_member(&args.db, &group, &user)?,
        GroupCommand::RemoveMember { group, user } => {
            cli::group_remove_member(&args.db, &group, &user)?
        }
        GroupCommand::List => cli::group_list(&args.db, &mut std::io::stdout())?,
    }
    Ok(())
}

/// `sealcall role grant|revoke`.
#[derive(Debug, Args)]
pub struct RoleArgs {
    #[command(subcommand)]
    command: RoleCommand,
    /// The SQLite database file.
    #[arg(long, default_value = "sealcall.db", global = true)]
    db: PathBuf,
}

#[derive(Debug, Subcommand)]
enum RoleCommand {
    /// Grant a role (user, teams-admin, global-admin).
    Grant {
        /// Sign-in name.
        user: String,
        /// Role.
        role: String,
    },
    /// Revoke a role.
    Revoke {
        /// Sign-in name.
        user: String,
        /// Role.
        role: String,
    },
}

/// Runs `sealcall role …`.
pub fn role(args: RoleArgs) -> Result<()> {
    let (user, role, granted) = match args.command {
        RoleCommand::Grant { user, role } => (user, role, true),
        RoleCommand::Revoke { user, role } => (user, role, false),
    };
    cli::role_set(&args.db, &user, cli::parse_role(&role)?, granted)?;
    Ok(())
}

/// `sealcall admin`.
#[derive(Debug, Args)]
pub struct AdminArgs {
    /// Server URL.
    #[arg(long, default_value = "http://127.0.0.1:7878")]
    server: String,
    /// Administrator sign-in name (password from SEALCALL_PASSWORD or a prompt).
    #[arg(long)]
    user: String,
    /// One cmdlet line; without it, lines are read from standard input (a prompt on a terminal).
    line: Option<String>,
}

/// Runs `sealcall admin`: exits non-zero when any cmdlet failed.
pub async fn admin(args: AdminArgs) -> Result<()> {
    let pw = password(&format!("Password for {}: ", args.user))?;
    let stdin = std::io::stdin();
    let interactive = args.line.is_none() && stdin.is_terminal();
    let summary = cli::admin_run(
        &args.server,
        &args.user,
        &pw,
        args.line.as_deref(),
        stdin.lock(),
        &mut std::io::stdout(),
        interactive,
    )
    .await?;
    if summary.failed > 0 {
        bail!("{} cmdlet(s) failed", summary.failed);
    }
    Ok(())
}
