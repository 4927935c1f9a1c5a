//! Sealcall's calling server: the directory (users, groups, roles, devices), password sign-in
//! with session tokens, policy administration through `sealcall-policy`'s cmdlets, settings
//! sync, call routing over one WebSocket per device, and an embedded TURN relay.
//!
//! The server never holds media keys and never sees media: it forwards the end-to-end
//! handshake as opaque bytes ([`sealcall_signaling::HandshakeBytes`]) it can neither read nor
//! forge, and the relay only moves encrypted packets.
//!
//! - [`Server::start`] binds nothing itself: it takes a bound [`tokio::net::TcpListener`],
//!   opens the store ([`Config::db`]: a SQLite file, [`SqliteStore`], migrations applied; or a
//!   PostgreSQL database, [`PostgresStore`], whose schema must be current), starts the relay if
//!   configured, and returns a [`ServerHandle`] with the addresses; [`run`] serves until a
//!   shutdown future completes.
//! - Storage is the [`Storage`] trait; [`SqliteStore`] and [`PostgresStore`] also implement
//!   [`sealcall_policy::PolicyStore`] inside [`Storage::with_policy`].
//! - [`cli`] holds the `sealcall server|user|group|role|admin` command implementations.
//!
//! See docs/SERVER.md for the HTTP API, the WebSocket messages and what the server stores.

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod admin;
mod auth;
pub mod cli;
mod client;
mod cluster;
mod error;
mod http;
mod hub;
mod listen;
mod metrics;
mod postgres;
mod relay;
mod routing;
mod sql;
mod sqlite;
mod store;
#[cfg(feature = "testing")]
pub mod testing;
mod ws;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use auth::{PasswordCost, ThrottleConfig, hash_password, verify_password};
pub use client::{HttpClient, HttpResponse};
pub use cluster::{CALL_TTL, LEASE, RENEW_EVERY, RedisUrl};
pub use error::{Result, ServerError};
pub use ipnet::IpNet;
pub use postgres::{CHECKOUT_TIMEOUT, POOL_SIZE, PgUrl, PostgresStore, RETRIES};
pub use relay::{Relay, TurnConfig, TurnSecret};
pub use sealcall_tls::{Fingerprint, SelfSigned, ServerTls, Trust, check_server_url};
pub use sql::{DENIED_AUDIT_WINDOW_SECS, DENIED_AUDITS_PER_WINDOW};
pub use sqlite::SqliteStore;
pub use store::{
    AuditEntry, DeviceRecord, PolicyOp, ServerAudit, SessionRecord, Storage, StoreLocation,
    UserRecord, policy,
};

/// Seconds since the Unix epoch.
pub(crate) fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Server configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The store: a SQLite file (created if missing) or a PostgreSQL database.
    pub db: StoreLocation,
    /// How long a session token works.
    pub session_ttl: Duration,
    /// How long an unanswered invite rings.
    pub invite_timeout: Duration,
    /// Sign-in throttling.
    pub throttle: ThrottleConfig,
    /// Cost of new password hashes.
    pub password_cost: PasswordCost,
    /// The embedded TURN relay, or `None` to run without one.
    pub turn: Option<TurnConfig>,
    /// HTTPS and WSS on the listening port with this certificate; `None` serves plain HTTP,
    /// which [`Server::start`] allows only on a loopback address or with
    /// [`allow_plain_http`](Config::allow_plain_http).
    pub tls: Option<ServerTls>,
    /// Serve plain HTTP on a non-loopback address (`--insecure-http`: only behind a
    /// TLS-terminating proxy).
    pub allow_plain_http: bool,
    /// Most password checks (argon2, `password_cost.m_cost` KiB each) running at once; further
    /// sign-ins wait their turn. Default: the machine's parallelism.
    pub password_concurrency: usize,
    /// How often live WebSockets are checked against the sessions table: a session that was
    /// signed out, expired, or lost its device or user (also from the command line, on the
    /// database file) closes its socket within this time.
    pub session_check_interval: Duration,
    /// WebSocket limits: message rate, connections per user and per address, idle timeout.
    pub ws_limits: WsLimits,
    /// A connection on which nothing was read or written for this long is closed (a client
    /// that connects and sends nothing, or stops half-way through a request). Longer than the
    /// WebSocket idle timeout, which closes quiet sockets first, with its own close code.
    pub http_idle_timeout: Duration,
    /// Reverse proxies whose `X-Forwarded-For` names the client (for sign-in throttling per
    /// address); from anyone else the header is ignored.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Where `GET /metrics` (Prometheus text format, plain HTTP, no authentication: the
    /// series are content-free) is served, apart from the main listener; `None`: nowhere.
    /// Port 0 picks one ([`ServerHandle::metrics_addr`]).
    pub metrics_listen: Option<SocketAddr>,
    /// Redis shared with the other nodes of a deployment (presence, routing between nodes,
    /// call state, events); `None`: this node is the only one.
    pub redis: Option<RedisUrl>,
    /// With several nodes: how long an answered call waits for a party whose signaling
    /// connection closed (its node shut down, its network changed) to come back, on any node,
    /// before the call ends. Its media goes on meanwhile.
    pub rejoin_grace: Duration,
    /// How long [`ServerHandle::shutdown`] lets connected devices go (after telling them to
    /// reconnect) before it closes the connections still open.
    pub shutdown_grace: Duration,
}

/// Limits on the signaling WebSockets. A client over one gets a clear error (an `error` message
/// with code `rate_limited` and close 1008, or a 429 at the upgrade, or close 4002 when idle);
/// the others are unaffected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WsLimits {
    /// Messages per second one connection may send on average.
    pub messages_per_second: u32,
    /// Messages it may send at once above that rate.
    pub burst: u32,
    /// Connections one user may have open.
    pub max_per_user: usize,
    /// Connections one client address may have open.
    pub max_per_address: usize,
    /// A connection that sends nothing (not even a pong) for this long is closed.
    pub idle_timeout: Duration,
    /// How often the server pings each connection.
    pub ping_interval: Duration,
}

impl Default for WsLimits {
    fn default() -> Self {
        Self {
            messages_per_second: 50,
            burst: 200,
            max_per_user: 10,
            max_per_address: 500,
            idle_timeout: Duration::from_secs(75),
            ping_interval: Duration::from_secs(25),
        }
    }
}

/// The machine's parallelism (at least 1).
fn parallelism() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
}

/// What sign-in has cost so far (see [`ServerHandle::sign_in_stats`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SignInStats {
    /// Password checks (argon2 runs) since start, unknown users included.
    pub password_checks: u64,
    /// The most checks that ran at the same time.
    pub peak_concurrent_checks: usize,
}

impl Config {
    /// Defaults for a store (a SQLite path converts): 12-hour sessions, 30-second invites, 5 failed sign-ins per
    /// minute, argon2 defaults, relay on 127.0.0.1:3478.
    pub fn new(db: impl Into<StoreLocation>) -> Self {
        Self {
            db: db.into(),
            session_ttl: Duration::from_secs(12 * 3600),
            invite_timeout: Duration::from_secs(30),
            throttle: ThrottleConfig::default(),
            password_cost: PasswordCost::default(),
            turn: Some(TurnConfig::default()),
            tls: None,
            allow_plain_http: false,
            password_concurrency: parallelism(),
            session_check_interval: Duration::from_millis(500),
            ws_limits: WsLimits::default(),
            http_idle_timeout: Duration::from_secs(90),
            trusted_proxies: Vec::new(),
            metrics_listen: None,
            redis: None,
            rejoin_grace: Duration::from_secs(20),
            shutdown_grace: Duration::from_secs(5),
        }
    }
}

impl Config {
    /// The rules between settings that [`Server::start`] enforces (and `--check-config`
    /// reports): several nodes (a [`redis`](Config::redis)) need one PostgreSQL database, and
    /// relays that share one secret.
    pub fn check(&self) -> Result<()> {
        if self.redis.is_none() {
            return Ok(());
        }
        if matches!(self.db, StoreLocation::Sqlite(_)) {
            return Err(ServerError::Invalid {
                what: "store",
                reason: "several nodes (redis) need one PostgreSQL database (--db \
                         postgres://…): nodes cannot share a SQLite file"
                    .to_owned(),
            });
        }
        if self.turn.as_ref().is_some_and(|t| t.secret.is_none()) {
            return Err(ServerError::Invalid {
                what: "relay secret",
                reason: "with several nodes (redis), every node's relay must accept the \
                         credentials the others hand out: give the same --turn-secret-file \
                         to each"
                    .to_owned(),
            });
        }
        Ok(())
    }
}

/// Shared state of a running server.
pub(crate) struct AppState {
    pub store: Arc<dyn Storage>,
    pub hub: hub::Hub,
    pub throttle: auth::Throttle,
    pub config: Config,
    pub relay: Option<Relay>,
    pub dummy_hash: String,
    /// Permits for password checks (bounded memory).
    pub hashing: Arc<tokio::sync::Semaphore>,
    /// Counters behind [`SignInStats`].
    pub hashing_stats: auth::HashingStats,
    /// Open WebSockets per client address.
    pub ws_per_address: std::sync::Mutex<std::collections::HashMap<std::net::IpAddr, usize>>,
    pub shutdown: watch::Receiver<bool>,
    /// True once shutdown began: no new connection or WebSocket is accepted.
    pub draining: watch::Receiver<bool>,
    /// This server's metrics (its own registry).
    pub metrics: Arc<metrics::Metrics>,
    /// A weak reference to this state, for timers.
    pub self_weak: std::sync::Weak<AppState>,
}

impl AppState {
    /// Runs a storage operation on a blocking thread; a failure inside the database is
    /// counted (`sealcall_store_errors_total`).
    pub async fn db<T: Send + 'static>(
        &self,
        f: impl FnOnce(&dyn Storage) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let store = Arc::clone(&self.store);
        let result = tokio::task::spawn_blocking(move || f(store.as_ref()))
            .await
            .map_err(|_| ServerError::Storage("storage task failed".to_owned()))
            .and_then(|r| r);
        if let Err(ServerError::Storage(_)) = &result {
            self.metrics.store_error();
        }
        result
    }
}

/// A running server.
pub struct ServerHandle {
    addr: SocketAddr,
    turn_addr: Option<SocketAddr>,
    metrics_addr: Option<SocketAddr>,
    drain: watch::Sender<bool>,
    stop: watch::Sender<bool>,
    task: JoinHandle<Result<()>>,
    metrics_task: Option<JoinHandle<Result<()>>>,
    state: Arc<AppState>,
}

impl std::fmt::Debug for ServerHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerHandle")
            .field("addr", &self.addr)
            .field("turn_addr", &self.turn_addr)
            .field("metrics_addr", &self.metrics_addr)
            .finish()
    }
}

/// The server.
#[derive(Debug)]
pub struct Server;

impl Server {
    /// Opens the database, starts the relay (if configured) and serves HTTP and WebSocket on
    /// `listener` until [`ServerHandle::shutdown`].
    pub async fn start(config: Config, listener: TcpListener) -> Result<ServerHandle> {
        let location = config.db.clone();
        let store = tokio::task::spawn_blocking(move || location.open())
            .await
            .map_err(|_| ServerError::Storage("open task failed".to_owned()))??;
        Self::start_with_store(config, store, listener).await
    }

    /// Like [`start`](Server::start), with any [`Storage`].
    pub async fn start_with_store(
        config: Config,
        store: Arc<dyn Storage>,
        listener: TcpListener,
    ) -> Result<ServerHandle> {
        let addr = listener.local_addr()?;
        if config.tls.is_none() && !config.allow_plain_http && !addr.ip().is_loopback() {
            return Err(ServerError::Invalid {
                what: "listen address",
                reason: format!(
                    "{addr} is not loopback, and plain HTTP would carry passwords and tokens \
                     readable: give a certificate (--tls-cert and --tls-key), or \
                     --insecure-http when a TLS-terminating proxy sits in front"
                ),
            });
        }
        let metrics = metrics::Metrics::new()?;
        let (stop, stopped) = watch::channel(false);
        let (drain, draining) = watch::channel(false);
        let (inbound_tx, inbound) = tokio::sync::mpsc::unbounded_channel();
        config.check()?;
        let cluster = match &config.redis {
            Some(url) => Some(cluster::Cluster::connect(url, inbound_tx, stopped.clone()).await?),
            None => None,
        };
        let metrics_listener = match config.metrics_listen {
            Some(at) => Some(TcpListener::bind(at).await?),
            None => None,
        };
        let metrics_addr = match &metrics_listener {
            Some(l) => Some(l.local_addr()?),
            None => None,
        };
        // Relay credentials work only for the two devices of an answered call: the relay asks
        // the hub, which exists once the state does.
        let gate: Arc<std::sync::OnceLock<std::sync::Weak<AppState>>> = Arc::default();
        let relay = match &config.turn {
            Some(turn) => {
                let gate_state = Arc::clone(&gate);
                let gate: relay::CallGate = Arc::new(move |call: &str, device: &str| {
                    gate_state
                        .get()
                        .and_then(std::sync::Weak::upgrade)
                        .is_some_and(|s| s.hub.answered_party(call, device))
                });
                Some(Relay::start(turn, gate, Arc::clone(&metrics)).await?)
            }
            None => None,
        };
        let turn_addr = relay.as_ref().map(Relay::addr);
        let cost = config.password_cost;
        let dummy_hash = tokio::task::spawn_blocking(move || auth::dummy_hash(cost))
            .await
            .map_err(|_| ServerError::PasswordHash)??;
        let state = Arc::new_cyclic(|weak| AppState {
            self_weak: weak.clone(),
            store,
            hub: hub::Hub::new(Arc::clone(&metrics), cluster, config.rejoin_grace),
            metrics,
            throttle: auth::Throttle::new(config.throttle),
            hashing: Arc::new(tokio::sync::Semaphore::new(
                config.password_concurrency.max(1),
            )),
            hashing_stats: auth::HashingStats::default(),
            ws_per_address: std::sync::Mutex::default(),
            config,
            relay,
            dummy_hash,
            shutdown: stopped.clone(),
            draining,
        });
        let _ = gate.set(Arc::downgrade(&state));
        if let (Some(cluster), Some(relay)) = (state.hub.cluster(), &state.relay) {
            cluster.publish_relay(relay.urls()).await?;
        }
        tokio::spawn(check_sessions(Arc::downgrade(&state), stopped.clone()));
        if state.hub.cluster().is_some() {
            tokio::spawn(cluster_inbound(Arc::downgrade(&state), inbound));
            tokio::spawn(renew_presence(Arc::downgrade(&state), stopped.clone()));
        }
        let tls = state.config.tls.as_ref().map(ServerTls::config);
        let idle = state
            .config
            .http_idle_timeout
            .max(Duration::from_millis(10));
        let incoming = listen::Incoming::start(listener, tls, idle, state.draining.clone())?;
        log_startup(&state.config, addr, turn_addr, metrics_addr);
        let metrics_task = metrics_listener.map(|listener| {
            let mut stop = state.shutdown.clone();
            let app = http::metrics_router(Arc::clone(&state));
            tokio::spawn(async move {
                axum::serve(listener, app)
                    .with_graceful_shutdown(async move {
                        let _ = stop.wait_for(|s| *s).await;
                    })
                    .await
                    .map_err(ServerError::Io)
            })
        });
        let app = http::router(Arc::clone(&state));
        let mut signal = stopped;
        let serve_state = Arc::clone(&state);
        let task = tokio::spawn(async move {
            let shutdown = async move {
                let _ = signal.wait_for(|s| *s).await;
                serve_state.hub.close_all();
            };
            axum::serve(
                incoming,
                app.into_make_service_with_connect_info::<listen::Peer>(),
            )
            .with_graceful_shutdown(shutdown)
            .await
            .map_err(ServerError::Io)
        });
        Ok(ServerHandle {
            addr,
            turn_addr,
            metrics_addr,
            drain,
            stop,
            task,
            metrics_task,
            state,
        })
    }
}

/// Logs the start-up configuration: addresses, limits and which secrets are configured, never
/// a secret itself (each field is chosen here; `Config` is not logged whole).
fn log_startup(
    config: &Config,
    addr: SocketAddr,
    turn_addr: Option<SocketAddr>,
    metrics_addr: Option<SocketAddr>,
) {
    let turn = config.turn.as_ref();
    tracing::info!(
        %addr,
        tls = config.tls.is_some(),
        tls_fingerprint = config.tls.as_ref().map(|t| t.fingerprint().to_string()),
        allow_plain_http = config.allow_plain_http,
        db = %config.db,
        redis = config.redis.as_ref().map(ToString::to_string),
        session_ttl_secs = config.session_ttl.as_secs(),
        invite_timeout_secs = config.invite_timeout.as_secs(),
        password_concurrency = config.password_concurrency,
        trusted_proxies = ?config.trusted_proxies,
        ws_messages_per_second = config.ws_limits.messages_per_second,
        ws_max_per_user = config.ws_limits.max_per_user,
        ws_max_per_address = config.ws_limits.max_per_address,
        turn_addr = turn_addr.map(|a| a.to_string()),
        turn_relay_ip = turn.map(|t| t.relay_ip.to_string()),
        turn_relay_allow = ?turn.map(|t| &t.allow),
        turn_secret = turn.map(|t| if t.secret.is_some() { "from file" } else { "random for this run" }),
        metrics_addr = metrics_addr.map(|a| a.to_string()),
        "server started"
    );
}

impl ServerHandle {
    /// The HTTP/WebSocket address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The base URL clients use: `https://127.0.0.1:PORT` with TLS, `http://…` without.
    pub fn url(&self) -> String {
        let scheme = if self.state.config.tls.is_some() {
            "https"
        } else {
            "http"
        };
        format!("{scheme}://{}", self.addr)
    }

    /// The server certificate's fingerprint (what clients pin), when serving TLS.
    pub fn fingerprint(&self) -> Option<Fingerprint> {
        self.state.config.tls.as_ref().map(ServerTls::fingerprint)
    }

    /// The TURN relay's UDP address, if it runs.
    pub fn turn_addr(&self) -> Option<SocketAddr> {
        self.turn_addr
    }

    /// This node's id in a cluster ([`Config::redis`]), random per start.
    pub fn node_id(&self) -> Option<&str> {
        self.state.hub.cluster().map(|c| c.node.as_str())
    }

    /// Where `GET /metrics` is served, if anywhere ([`Config::metrics_listen`]).
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_addr
    }

    /// The relay (for issuing test credentials).
    pub fn relay(&self) -> Option<&Relay> {
        self.state.relay.as_ref()
    }

    /// What sign-in has cost so far: password checks and the most at once.
    pub fn sign_in_stats(&self) -> SignInStats {
        self.state.hashing_stats.snapshot()
    }

    /// Number of connected devices.
    pub fn connected_devices(&self) -> usize {
        self.state.hub.connected()
    }

    /// Stops gracefully: stops accepting connections and WebSockets, tells every connected
    /// device to reconnect elsewhere ([`ServerMessage::Reconnect`]), lets their signaling go on
    /// until they have left or [`Config::shutdown_grace`] has passed, then closes the
    /// connections still open (code 1001), waits for open requests to finish, stops the relay
    /// and closes the database.
    ///
    /// [`ServerMessage::Reconnect`]: sealcall_signaling::ServerMessage::Reconnect
    pub async fn shutdown(self) -> Result<()> {
        let started = std::time::Instant::now();
        let grace = self.state.config.shutdown_grace;
        let connected = self.state.hub.connected();
        tracing::info!(
            addr = %self.addr,
            connected_devices = connected,
            grace_ms = grace.as_millis() as u64,
            "server shutting down"
        );
        let _ = self.drain.send(true);
        self.state
            .hub
            .send_everyone(&sealcall_signaling::ServerMessage::Reconnect {});
        let deadline = tokio::time::Instant::now() + grace;
        while self.state.hub.connected() > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let left_open = self.state.hub.connected();
        let _ = self.stop.send(true);
        let served = self
            .task
            .await
            .map_err(|_| ServerError::Storage("server task failed".to_owned()))?;
        if let Some(task) = self.metrics_task {
            task.await
                .map_err(|_| ServerError::Storage("metrics task failed".to_owned()))??;
        }
        if let Some(relay) = &self.state.relay {
            relay.close().await?;
        }
        let closed = close_store(self.state).await;
        tracing::info!(
            left_open,
            store_closed = closed,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "server stopped"
        );
        served
    }
}

/// Waits (up to two seconds: connection tasks finishing their writes) until nothing but `state`
/// holds the store, and drops it: the
/// database is closed (SQLite checkpoints its write-ahead log into the file). Returns whether
/// it was.
async fn close_store(state: Arc<AppState>) -> bool {
    let store = Arc::clone(&state.store);
    drop(state);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
    while Arc::strong_count(&store) > 1 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let closed = Arc::strong_count(&store) == 1;
    drop(store);
    closed
}

/// Closes the sockets whose session no longer exists or has expired, every
/// `session_check_interval`, until shutdown.
async fn check_sessions(state: std::sync::Weak<AppState>, mut stop: watch::Receiver<bool>) {
    let every = match state.upgrade() {
        Some(s) => s
            .config
            .session_check_interval
            .max(Duration::from_millis(10)),
        None => return,
    };
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        let Some(state) = state.upgrade() else { return };
        let connected = state.hub.sessions();
        if connected.is_empty() {
            continue;
        }
        let checked: std::collections::HashSet<[u8; 32]> = connected.iter().copied().collect();
        let Ok(live) = state
            .db(move |s| s.live_sessions(&connected, unix_now()))
            .await
        else {
            continue;
        };
        let live: std::collections::HashSet<[u8; 32]> = live.into_iter().collect();
        // Only sessions that were checked: one that connected meanwhile waits for the next round.
        state.hub.evict(
            |c| checked.contains(&c.session) && !live.contains(&c.session),
            hub::CLOSE_SESSION_ENDED,
            "session ended",
        );
    }
}

/// With several nodes: handles what the other nodes send this one (messages for its devices,
/// events for every node).
async fn cluster_inbound(
    state: std::sync::Weak<AppState>,
    mut inbound: tokio::sync::mpsc::UnboundedReceiver<cluster::Inbound>,
) {
    use cluster::{Event, Inbound};
    while let Some(item) = inbound.recv().await {
        let Some(state) = state.upgrade() else { return };
        let Some(cluster) = state.hub.cluster().cloned() else {
            return;
        };
        match item {
            Inbound::Deliver { device, text, ring } => {
                if state.hub.deliver(&device, text)
                    && let Some((call, after)) = ring
                {
                    // The caller's node may be gone when the ring time is over.
                    let weak = Arc::downgrade(&state);
                    tokio::spawn(async move {
                        tokio::time::sleep(after).await;
                        if let Some(state) = weak.upgrade() {
                            state.hub.timeout(&call).await;
                        }
                    });
                }
            }
            Inbound::Event(event) => {
                cluster.note(&event);
                match event {
                    Event::Policy { from } if from != cluster.node => {
                        let state = Arc::clone(&state);
                        tokio::spawn(async move {
                            http::push_local_settings(&state).await;
                        });
                    }
                    Event::EvictSession { session } => {
                        if let Ok(hash) = hex::decode(&session)
                            && let Ok(hash) = <[u8; 32]>::try_from(hash.as_slice())
                        {
                            state.hub.evict(
                                |c| c.session == hash,
                                hub::CLOSE_SESSION_ENDED,
                                "signed out",
                            );
                        }
                    }
                    Event::EvictDevice { device } => {
                        state.hub.evict(
                            |c| c.device.as_str() == device,
                            hub::CLOSE_SESSION_ENDED,
                            "device removed",
                        );
                    }
                    _ => {}
                }
            }
            Inbound::Resubscribed => {
                // Redis may have restarted empty: this node's devices are back at once.
                if let Err(e) = cluster.renew(&state.hub.local_devices()).await.map(|_| ()) {
                    tracing::warn!(error = %e, "could not renew presence");
                }
            }
        }
    }
}

/// With several nodes: renews the presence of this node's devices every
/// [`RENEW_EVERY`], until shutdown.
async fn renew_presence(state: std::sync::Weak<AppState>, mut stop: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(RENEW_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut failing = false;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        let Some(state) = state.upgrade() else { return };
        let Some(cluster) = state.hub.cluster().cloned() else {
            return;
        };
        match cluster.renew(&state.hub.local_devices()).await {
            Ok(abandoned) => {
                if failing {
                    failing = false;
                    tracing::info!("presence renewed again: Redis is back");
                }
                for (call_id, party) in abandoned {
                    tracing::info!(call_id = %call_id, device = %party, "the other party left for good");
                    state.hub.abandoned(&call_id, &party).await;
                }
            }
            Err(e) if !failing => {
                failing = true;
                tracing::error!(error = %e, "could not renew presence: other nodes cannot reach this node's devices until Redis is back");
            }
            Err(_) => {}
        }
    }
}

/// Serves on `listener` until `shutdown` completes, then shuts down gracefully.
pub async fn run(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> Result<()> {
    let handle = Server::start(config, listener).await?;
    shutdown.await;
    handle.shutdown().await
}
