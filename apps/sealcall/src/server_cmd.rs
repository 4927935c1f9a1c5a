//! `sealcall server …`, `sealcall user …`, `sealcall group …`, `sealcall role …`,
//! `sealcall admin …`: thin wrappers over `sealcall_server`.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use sealcall_server::{
    Config, Fingerprint, IpNet, PasswordCost, SelfSigned, ServerTls, StoreLocation, Trust,
    TurnConfig, TurnSecret, cli,
};

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

/// How a client trusts the server's TLS certificate (`--ca-file`, `--pin`).
#[derive(Debug, Clone, Args)]
pub struct TrustArgs {
    /// Trust the CA certificate(s) in this PEM file besides the system's roots (for a private
    /// server: its CA, or the certificate file `sealcall server init` wrote).
    #[arg(long, value_name = "FILE", global = true)]
    ca_file: Option<PathBuf>,
    /// Trust exactly the server certificate with this SHA-256 fingerprint (as `sealcall server
    /// init` printed it: SHA256:AB:CD:…).
    #[arg(
        long,
        value_name = "FINGERPRINT",
        conflicts_with = "ca_file",
        value_parser = parse_pin,
        global = true
    )]
    pin: Option<Fingerprint>,
}

fn parse_pin(text: &str) -> std::result::Result<Fingerprint, String> {
    text.parse::<Fingerprint>().map_err(|e| e.to_string())
}

impl TrustArgs {
    /// The trust these options describe.
    pub fn trust(&self) -> Trust {
        Trust {
            ca_file: self.ca_file.clone(),
            pin: self.pin,
        }
    }
}

/// `sealcall server`.
#[derive(Debug, Args)]
pub struct ServerArgs {
    #[command(subcommand)]
    command: Option<ServerCommand>,
    /// The store: a SQLite file, or a PostgreSQL URL (postgres://user:password@host/db).
    #[arg(long, default_value = "sealcall.db", global = true, value_parser = parse_db)]
    db: StoreLocation,
    /// HTTPS/WSS and HTTP listen address.
    #[arg(long, default_value = "127.0.0.1:7878")]
    listen: SocketAddr,
    /// UDP address of the embedded TURN relay (`off` to disable).
    #[arg(long, default_value = "127.0.0.1:3478")]
    turn: String,
    /// The server's TLS certificate chain (PEM). Default: `sealcall-cert.pem` next to the
    /// database when it exists (`server init` creates it).
    #[arg(long, value_name = "FILE", global = true, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The certificate's private key (PEM). Default: `sealcall-key.pem` next to the database.
    #[arg(long, value_name = "FILE", global = true, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Serve plain HTTP even on a non-loopback address (only behind a TLS-terminating proxy).
    #[arg(long)]
    insecure_http: bool,
    /// A peer range the TURN relay may reach although it is loopback, private, link-local or
    /// CGNAT (refused by default), e.g. `10.0.0.0/8` (repeat for more).
    #[arg(long = "relay-allow", value_name = "CIDR", value_parser = parse_cidr)]
    relay_allow: Vec<IpNet>,
    /// A file with the TURN credential secret (32 bytes or more) shared by every server node;
    /// default: a random secret per run.
    #[arg(long, value_name = "FILE")]
    turn_secret_file: Option<PathBuf>,
    /// A reverse proxy (address or CIDR range) whose X-Forwarded-For header names the client,
    /// for sign-in throttling per address (repeat for more).
    #[arg(long = "trusted-proxy", value_name = "CIDR", value_parser = parse_cidr)]
    trusted_proxies: Vec<IpNet>,
}

/// `--db`: a PostgreSQL URL or a SQLite file (`StoreLocation::parse`).
fn parse_db(text: &str) -> std::result::Result<StoreLocation, String> {
    StoreLocation::parse(text).map_err(|e| e.to_string())
}

/// An address (`10.0.0.1`, `::1`) or a range (`10.0.0.0/8`).
fn parse_cidr(text: &str) -> std::result::Result<IpNet, String> {
    text.parse::<IpNet>()
        .or_else(|_| text.parse::<std::net::IpAddr>().map(IpNet::from))
        .map_err(|_| format!("{text:?} is not an address or CIDR range (e.g. 10.0.0.0/8)"))
}

impl ServerArgs {
    /// The certificate and key files: the given ones, or the defaults next to the database.
    fn tls_files(&self) -> (PathBuf, PathBuf, bool) {
        match (&self.tls_cert, &self.tls_key) {
            (Some(c), Some(k)) => (c.clone(), k.clone(), true),
            _ => (
                self.db.sibling("sealcall-cert.pem"),
                self.db.sibling("sealcall-key.pem"),
                false,
            ),
        }
    }
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
        /// A DNS name or IP address for the self-signed certificate (repeat for more; default
        /// localhost, 127.0.0.1 and ::1). Not used with --tls-cert.
        #[arg(long = "tls-name", value_name = "NAME")]
        tls_names: Vec<String>,
    },
    /// Apply pending schema migrations (PostgreSQL: run once, before starting upgraded nodes).
    Migrate,
}

/// Runs `sealcall server [init]`.
pub async fn server(args: ServerArgs) -> Result<()> {
    let (cert, key, given) = args.tls_files();
    match args.command {
        Some(ServerCommand::Init {
            tenant,
            admin,
            display_name,
            tls_names,
        }) => {
            let pw = password("Administrator password: ")?;
            let (db, name, user, display) = (
                args.db.clone(),
                tenant.clone(),
                admin.clone(),
                display_name.clone(),
            );
            tokio::task::spawn_blocking(move || {
                cli::server_init(db, &name, &user, &display, &pw, PasswordCost::default())
            })
            .await??;
            println!(
                "created tenant {tenant:?} with administrator {admin} in {}",
                args.db
            );
            let fingerprint = if given {
                ServerTls::from_pem_files(&cert, &key)?.fingerprint()
            } else {
                let names = if tls_names.is_empty() {
                    SelfSigned::default_names()
                } else {
                    tls_names
                };
                let made = SelfSigned::generate(&names)?;
                made.write(&cert, &key)?;
                println!(
                    "created a self-signed TLS certificate for {} in {} (key {}, mode 0600)",
                    names.join(", "),
                    cert.display(),
                    key.display()
                );
                made.fingerprint
            };
            println!("certificate SHA-256 fingerprint: {fingerprint}");
            println!(
                "clients trust it with --pin {fingerprint} or --ca-file {}",
                cert.display()
            );
            Ok(())
        }
        Some(ServerCommand::Migrate) => {
            let db = args.db.clone();
            tokio::task::spawn_blocking(move || cli::server_migrate(db)).await??;
            println!("the schema of {} is up to date", args.db);
            Ok(())
        }
        None => {
            let mut config = Config::new(args.db.clone());
            config.turn = if args.turn == "off" {
                None
            } else {
                let secret = match &args.turn_secret_file {
                    Some(path) => Some(TurnSecret::from_file(path)?),
                    None => None,
                };
                Some(TurnConfig {
                    listen: args
                        .turn
                        .parse()
                        .context("--turn must be host:port or off")?,
                    allow: args.relay_allow.clone(),
                    secret,
                    ..TurnConfig::default()
                })
            };
            if given || (cert.exists() && key.exists()) {
                let tls = ServerTls::from_pem_files(&cert, &key)?;
                println!(
                    "TLS certificate {} (SHA-256 fingerprint {})",
                    cert.display(),
                    tls.fingerprint()
                );
                config.tls = Some(tls);
            }
            config.allow_plain_http = args.insecure_http;
            config.trusted_proxies = args.trusted_proxies.clone();
            let scheme = if config.tls.is_some() {
                "https"
            } else {
                "http"
            };
            let listener = tokio::net::TcpListener::bind(args.listen)
                .await
                .with_context(|| format!("binding {}", args.listen))?;
            let server = sealcall_server::Server::start(config, listener).await?;
            println!(
                "sealcall server on {scheme}://{} (database {})",
                server.addr(),
                args.db
            );
            let _ = tokio::signal::ctrl_c().await;
            println!("shutting down");
            server.shutdown().await?;
            Ok(())
        }
    }
}

/// `sealcall user …`.
#[derive(Debug, Args)]
pub struct UserArgs {
    #[command(subcommand)]
    command: UserCommand,
    /// The store: a SQLite file, or a PostgreSQL URL (postgres://user:password@host/db).
    #[arg(long, default_value = "sealcall.db", global = true, value_parser = parse_db)]
    db: StoreLocation,
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
    /// The store: a SQLite file, or a PostgreSQL URL (postgres://user:password@host/db).
    #[arg(long, default_value = "sealcall.db", global = true, value_parser = parse_db)]
    db: StoreLocation,
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
    /// The store: a SQLite file, or a PostgreSQL URL (postgres://user:password@host/db).
    #[arg(long, default_value = "sealcall.db", global = true, value_parser = parse_db)]
    db: StoreLocation,
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
    #[arg(long, default_value = "https://127.0.0.1:7878")]
    server: String,
    #[command(flatten)]
    trust: TrustArgs,
    /// Administrator sign-in name (password from SEALCALL_PASSWORD or a prompt).
    #[arg(long)]
    user: String,
    /// One cmdlet line; without it, lines are read from standard input (a prompt on a terminal).
    line: Option<String>,
}

/// Runs `sealcall admin`: exits non-zero when any cmdlet failed.
pub async fn admin(args: AdminArgs) -> Result<()> {
    // A refused address fails before the password is asked for.
    sealcall_server::check_server_url(&args.server)?;
    let pw = password(&format!("Password for {}: ", args.user))?;
    let stdin = std::io::stdin();
    let interactive = args.line.is_none() && stdin.is_terminal();
    let summary = cli::admin_run(
        &args.server,
        &args.trust.trust(),
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

/// `sealcall device list|remove`.
#[derive(Debug, Args)]
pub struct DeviceArgs {
    #[command(subcommand)]
    command: DeviceCommand,
    /// Server URL.
    #[arg(long, default_value = "https://127.0.0.1:7878", global = true)]
    server: String,
    #[command(flatten)]
    trust: TrustArgs,
    /// Who signs in (password from SEALCALL_PASSWORD or a prompt).
    #[arg(long, global = true)]
    user: Option<String>,
    /// Another user's devices (needs the Teams administrator or global administrator role).
    #[arg(long, value_name = "USER", global = true)]
    of: Option<String>,
}

#[derive(Debug, Subcommand)]
enum DeviceCommand {
    /// List the devices: id, platform, client version, identity key.
    List,
    /// Remove a device: its sessions end and its connection closes at once.
    Remove {
        /// The device id (from `sealcall device list`).
        id: String,
    },
}

/// Runs `sealcall device …`.
pub async fn device(args: DeviceArgs) -> Result<()> {
    let Some(user) = args.user.as_deref() else {
        bail!("--user is required: who signs in");
    };
    sealcall_server::check_server_url(&args.server)?;
    let pw = password(&format!("Password for {user}: "))?;
    let trust = args.trust.trust();
    let target = cli::DeviceTarget {
        server: &args.server,
        trust: &trust,
        user,
        of: args.of.as_deref(),
    };
    match &args.command {
        DeviceCommand::List => cli::device_list(target, &pw, &mut std::io::stdout()).await?,
        DeviceCommand::Remove { id } => {
            cli::device_remove(target, &pw, id).await?;
            println!("removed device {id}");
        }
    }
    Ok(())
}
