//! `sealcall server …`, `sealcall user …`, `sealcall group …`, `sealcall role …`,
//! `sealcall admin …`: thin wrappers over `sealcall_server`.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use sealcall_server::{
    Config, Fingerprint, IpNet, PasswordCost, RedisUrl, SelfSigned, ServerTls, StoreLocation,
    Trust, TurnConfig, TurnSecret, cli,
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
    /// A TOML file with the flags below as keys (`listen = "0.0.0.0:8443"`, `relay-allow =
    /// ["10.0.0.0/8"]`, …); flags given here win over it. See deploy/sealcall.toml.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Check the configuration (the file and the flags, the certificate and secret files) and
    /// exit: 0 when it is good, non-zero with the error.
    #[arg(long)]
    check_config: bool,
    /// The store: a SQLite file, or a PostgreSQL URL (postgres://user:password@host/db)
    /// [default: sealcall.db].
    #[arg(long, global = true, value_parser = DB)]
    db: Option<StoreLocation>,
    /// HTTPS/WSS and HTTP listen address [default: 127.0.0.1:7878].
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// UDP address of the embedded TURN relay (`off` to disable) [default: 127.0.0.1:3478].
    #[arg(long)]
    turn: Option<String>,
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
    /// Serve `GET /metrics` (Prometheus text format, plain HTTP, no authentication) on this
    /// address, e.g. `127.0.0.1:9100`; default: no metrics.
    #[arg(long, value_name = "ADDR")]
    metrics_listen: Option<SocketAddr>,
    /// On SIGTERM or Ctrl-C: how many seconds connected devices get to leave (after being told
    /// to reconnect) before the server closes their connections [default: 5].
    #[arg(long, value_name = "SECS")]
    shutdown_grace: Option<u64>,
    /// Redis shared by several server nodes on one PostgreSQL database
    /// (`redis://[user:password@]host[:port][/db]`): presence, routing between nodes, call
    /// state; default: this node is the only one.
    #[arg(long, value_name = "URL", value_parser = REDIS)]
    redis: Option<RedisUrl>,
    /// The address devices reach the relay at, when it is not the address --turn binds (behind
    /// NAT, in a container, or with --turn 0.0.0.0:PORT, which needs it).
    #[arg(long, value_name = "IP")]
    turn_public_ip: Option<std::net::IpAddr>,
    /// How many seconds an unanswered call rings before it ends [default: 30].
    #[arg(long, value_name = "SECS")]
    ring_timeout: Option<u64>,
}

/// An address (`10.0.0.1`, `::1`) or a range (`10.0.0.0/8`).
pub(crate) fn parse_cidr(text: &str) -> std::result::Result<IpNet, String> {
    text.parse::<IpNet>()
        .or_else(|_| text.parse::<std::net::IpAddr>().map(IpNet::from))
        .map_err(|_| format!("{text:?} is not an address or CIDR range (e.g. 10.0.0.0/8)"))
}

/// A value parser for flags that may hold a password (`--db`, `--redis`): its error says what
/// is wrong without quoting the value (clap's own errors quote it).
#[derive(Clone, Copy)]
pub(crate) struct SecretParser<T: Clone + Send + Sync + 'static>(
    fn(&str) -> sealcall_server::Result<T>,
);

impl<T: Clone + Send + Sync + 'static> clap::builder::TypedValueParser for SecretParser<T> {
    type Value = T;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> std::result::Result<T, clap::Error> {
        let flag = arg.map_or_else(|| "the value".to_owned(), |a| format!("--{}", a.get_id()));
        let fail = |why: String| {
            clap::Error::raw(
                clap::error::ErrorKind::ValueValidation,
                format!("invalid {flag} (the value is not shown: it may hold a password): {why}\n"),
            )
            .with_cmd(cmd)
        };
        let text = value.to_str().ok_or_else(|| fail("not UTF-8".to_owned()))?;
        (self.0)(text).map_err(|e| fail(e.to_string()))
    }
}

/// `--db`: a PostgreSQL URL or a SQLite file (`StoreLocation::parse`).
pub(crate) const DB: SecretParser<StoreLocation> = SecretParser(StoreLocation::parse);

/// `--redis`: a Redis URL.
pub(crate) const REDIS: SecretParser<RedisUrl> = SecretParser(RedisUrl::parse);

/// What `sealcall server` runs with: the flags over the configuration file over the defaults.
/// (No `PartialEq`: a PostgreSQL URL holds a password; tests compare the redacted `Debug`.)
#[derive(Debug, Clone)]
pub(crate) struct ServerSettings {
    pub db: StoreLocation,
    pub listen: SocketAddr,
    /// `None`: no relay.
    pub turn: Option<SocketAddr>,
    /// Given certificate and key files (`None`: the defaults next to the database, if there).
    pub tls: Option<(PathBuf, PathBuf)>,
    pub insecure_http: bool,
    pub relay_allow: Vec<IpNet>,
    pub turn_secret_file: Option<PathBuf>,
    pub trusted_proxies: Vec<IpNet>,
    pub metrics_listen: Option<SocketAddr>,
    pub shutdown_grace: Duration,
    pub redis: Option<RedisUrl>,
    pub ring_timeout: Duration,
    pub turn_public_ip: Option<std::net::IpAddr>,
}

const DEFAULT_SHUTDOWN_GRACE_SECS: u64 = 5;
const DEFAULT_RING_TIMEOUT_SECS: u64 = 30;
const MAX_RING_TIMEOUT_SECS: u64 = 600;
/// A service manager stops waiting long before this (systemd's default is 90 s).
const MAX_SHUTDOWN_GRACE_SECS: u64 = 600;
const DEFAULT_DB: &str = "sealcall.db";
const DEFAULT_LISTEN: &str = "127.0.0.1:7878";
const DEFAULT_TURN: &str = "127.0.0.1:3478";

impl ServerArgs {
    /// The settings: each flag given here, else the file's key, else the default.
    pub(crate) fn settings(&self) -> Result<ServerSettings> {
        let file = match &self.config {
            Some(path) => crate::server_config::load(path)?,
            None => crate::server_config::FileValues::default(),
        };
        let turn_text = self
            .turn
            .clone()
            .or(file.turn)
            .unwrap_or_else(|| DEFAULT_TURN.to_owned());
        let turn = if turn_text == "off" {
            None
        } else {
            Some(
                turn_text
                    .parse()
                    .with_context(|| format!("--turn {turn_text:?} must be host:port or off"))?,
            )
        };
        let tls = match (&self.tls_cert, &self.tls_key) {
            (Some(c), Some(k)) => Some((c.clone(), k.clone())),
            _ => file.tls_cert.zip(file.tls_key),
        };
        let or_file = |flags: &[IpNet], file: Option<Vec<IpNet>>| {
            if flags.is_empty() {
                file.unwrap_or_default()
            } else {
                flags.to_vec()
            }
        };
        Ok(ServerSettings {
            db: self.db_or(file.db),
            listen: match self.listen.or(file.listen) {
                Some(a) => a,
                None => DEFAULT_LISTEN
                    .parse()
                    .context("the default listen address")?,
            },
            turn,
            tls,
            insecure_http: self.insecure_http || file.insecure_http.unwrap_or(false),
            relay_allow: or_file(&self.relay_allow, file.relay_allow),
            turn_secret_file: self.turn_secret_file.clone().or(file.turn_secret_file),
            trusted_proxies: or_file(&self.trusted_proxies, file.trusted_proxy),
            metrics_listen: self.metrics_listen.or(file.metrics_listen),
            redis: self.redis.clone().or(file.redis),
            turn_public_ip: {
                let public = self.turn_public_ip.or(file.turn_public_ip);
                if let Some(listen) = turn
                    && listen.ip().is_unspecified()
                    && public.is_none()
                {
                    bail!(
                        "--turn {listen} listens on every address: give --turn-public-ip, the \
                         address devices reach the relay at (it goes into the credentials \
                         handed out)"
                    );
                }
                public
            },
            ring_timeout: Duration::from_secs(match self.ring_timeout.or(file.ring_timeout) {
                Some(secs) if !(1..=MAX_RING_TIMEOUT_SECS).contains(&secs) => {
                    bail!(
                        "ring-timeout: {secs} seconds is not between 1 and {MAX_RING_TIMEOUT_SECS}"
                    )
                }
                Some(secs) => secs,
                None => DEFAULT_RING_TIMEOUT_SECS,
            }),
            shutdown_grace: Duration::from_secs(
                match self.shutdown_grace.or(file.shutdown_grace) {
                    Some(secs) if secs > MAX_SHUTDOWN_GRACE_SECS => bail!(
                        "shutdown-grace: {secs} seconds is more than {MAX_SHUTDOWN_GRACE_SECS}"
                    ),
                    Some(secs) => secs,
                    None => DEFAULT_SHUTDOWN_GRACE_SECS,
                },
            ),
        })
    }

    /// The store: `--db`, else `from_file`, else `sealcall.db`.
    fn db_or(&self, from_file: Option<StoreLocation>) -> StoreLocation {
        self.db
            .clone()
            .or(from_file)
            .unwrap_or_else(|| StoreLocation::Sqlite(PathBuf::from(DEFAULT_DB)))
    }
}

impl ServerSettings {
    /// The certificate and key files: the given ones, or the defaults next to the database.
    fn tls_files(&self) -> (PathBuf, PathBuf, bool) {
        match &self.tls {
            Some((c, k)) => (c.clone(), k.clone(), true),
            None => (
                self.db.sibling("sealcall-cert.pem"),
                self.db.sibling("sealcall-key.pem"),
                false,
            ),
        }
    }

    /// The server configuration: reads the certificate, key and secret files (so that a bad
    /// one fails here, and in `--check-config`).
    fn config(&self) -> Result<(Config, Option<PathBuf>)> {
        let mut config = Config::new(self.db.clone());
        config.turn = match self.turn {
            None => None,
            Some(listen) => {
                let secret = match &self.turn_secret_file {
                    Some(path) => Some(TurnSecret::from_file(path)?),
                    None => None,
                };
                Some(TurnConfig {
                    listen,
                    // Relayed addresses are allocated on the address the relay listens on.
                    relay_ip: listen.ip(),
                    public_ip: self.turn_public_ip,
                    allow: self.relay_allow.clone(),
                    secret,
                    ..TurnConfig::default()
                })
            }
        };
        let (cert, key, given) = self.tls_files();
        let mut cert_used = None;
        if given || (cert.exists() && key.exists()) {
            config.tls = Some(ServerTls::from_pem_files(&cert, &key)?);
            cert_used = Some(cert);
        }
        config.allow_plain_http = self.insecure_http;
        config.trusted_proxies = self.trusted_proxies.clone();
        config.metrics_listen = self.metrics_listen;
        config.shutdown_grace = self.shutdown_grace;
        config.redis = self.redis.clone();
        config.invite_timeout = self.ring_timeout;
        Ok((config, cert_used))
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
    match &args.command {
        Some(ServerCommand::Init {
            tenant,
            admin,
            display_name,
            tls_names,
        }) => {
            let db = args.db_or(None);
            let pw = password("Administrator password: ")?;
            // The PostgreSQL client blocks (and panics inside an async task).
            let (store, name, user, display) = (
                db.clone(),
                tenant.clone(),
                admin.clone(),
                display_name.clone(),
            );
            tokio::task::spawn_blocking(move || {
                cli::server_init(store, &name, &user, &display, &pw, PasswordCost::default())
            })
            .await??;
            println!("created tenant {tenant:?} with administrator {admin} in {db}");
            let settings = ServerSettings {
                db,
                tls: args.tls_cert.clone().zip(args.tls_key.clone()),
                ..args.settings()?
            };
            let (cert, key, given) = settings.tls_files();
            let fingerprint = if given {
                ServerTls::from_pem_files(&cert, &key)?.fingerprint()
            } else {
                let names = if tls_names.is_empty() {
                    SelfSigned::default_names()
                } else {
                    tls_names.clone()
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
            let db = args.settings()?.db;
            let store = db.clone();
            tokio::task::spawn_blocking(move || cli::server_migrate(store)).await??;
            println!("the schema of {db} is up to date");
            Ok(())
        }
        None => {
            let settings = args.settings()?;
            let (config, cert) = settings.config()?;
            config.check()?;
            if args.check_config {
                println!("configuration OK");
                return Ok(());
            }
            if let (Some(cert), Some(tls)) = (&cert, &config.tls) {
                println!(
                    "TLS certificate {} (SHA-256 fingerprint {})",
                    cert.display(),
                    tls.fingerprint()
                );
            }
            let scheme = if config.tls.is_some() {
                "https"
            } else {
                "http"
            };
            let listener = tokio::net::TcpListener::bind(settings.listen)
                .await
                .with_context(|| format!("binding {}", settings.listen))?;
            let server = sealcall_server::Server::start(config, listener).await?;
            println!(
                "sealcall server on {scheme}://{} (database {})",
                server.addr(),
                settings.db
            );
            if let (Some(node), Some(redis)) = (server.node_id(), &settings.redis) {
                println!("cluster node {node} on Redis {redis}");
            }
            if let Some(at) = server.metrics_addr() {
                println!("metrics on http://{at}/metrics");
            }
            let mut signals = StopSignals::new()?;
            let first = signals.next().await;
            println!(
                "{first}: shutting down within {} s (a second signal stops at once)",
                settings.shutdown_grace.as_secs()
            );
            tokio::select! {
                stopped = server.shutdown() => stopped?,
                second = signals.next() => {
                    tracing::warn!(signal = second, "second signal: stopping at once");
                    eprintln!("{second}: stopping at once");
                    std::process::exit(1);
                }
            }
            println!("stopped");
            Ok(())
        }
    }
}

/// What stops `sealcall server`: SIGTERM (the service manager's stop) and Ctrl-C.
struct StopSignals {
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
}

impl StopSignals {
    fn new() -> Result<Self> {
        Ok(Self {
            #[cfg(unix)]
            term: tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                .context("listening for SIGTERM")?,
        })
    }

    /// Waits for the next signal and names it.
    async fn next(&mut self) -> &'static str {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.term.recv() => "SIGTERM",
                _ = tokio::signal::ctrl_c() => "interrupt",
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
            "interrupt"
        }
    }
}

/// `sealcall user …`.
#[derive(Debug, Args)]
pub struct UserArgs {
    #[command(subcommand)]
    command: UserCommand,
    /// The store: a SQLite file, or a PostgreSQL URL (postgres://user:password@host/db).
    #[arg(long, default_value = "sealcall.db", global = true, value_parser = DB)]
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
    #[arg(long, default_value = "sealcall.db", global = true, value_parser = DB)]
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
    #[arg(long, default_value = "sealcall.db", global = true, value_parser = DB)]
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
