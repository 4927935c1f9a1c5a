//! A real server on 127.0.0.1:0 with a real SQLite file or a real PostgreSQL database, and real
//! HTTP and WebSocket clients.
//!
//! [`both_stores!`] runs each test body twice, as `NAME::sqlite` and `NAME::postgres`: every
//! [`TestServer`] the body starts uses that store.
#![allow(dead_code, unused_macros, clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use sealcall_policy::Role;
pub use sealcall_server::testing::TestStore;
use sealcall_server::testing::postgres;
use sealcall_server::{
    Config, HttpClient, PasswordCost, Server, ServerHandle, StoreLocation, ThrottleConfig, cli,
};
use sealcall_signaling::{ClientMessage, ServerMessage, encode_client, parse_server_message};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{Message, http::HeaderValue};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub const PASSWORD: &str = "correct horse battery";
pub const ADMIN: &str = "admin@contoso.onmicrosoft.com";
pub const KEN: &str = "kenmeyer@contoso.onmicrosoft.com";
pub const ANA: &str = "ana@contoso.onmicrosoft.com";
pub const BO: &str = "bo@contoso.onmicrosoft.com";

tokio::task_local! {
    static STORE: TestStore;
    static REDIS: sealcall_server::RedisUrl;
}

/// Runs `body` with every [`TestServer`] it starts on a fresh PostgreSQL database and one
/// Redis (a cluster of the nodes it starts; a connection that closes leaves its call at the
/// other party's next presence renewal, no rejoin grace); skipped like [`with_store`].
pub async fn with_redis(body: impl std::future::Future<Output = ()>) {
    let Some(redis) = sealcall_server::testing::redis::TestRedis::start() else {
        return;
    };
    if postgres::cluster().is_err() {
        assert!(postgres::database().is_none());
        return;
    }
    REDIS
        .scope(redis.url(), STORE.scope(TestStore::Postgres, body))
        .await;
    drop(redis);
}

/// Runs `body` with every [`TestServer`] it starts on `store`; on PostgreSQL without a test
/// cluster it prints why and returns (outside CI; in CI it fails).
pub async fn with_store(store: TestStore, body: impl std::future::Future<Output = ()>) {
    if store == TestStore::Postgres && postgres::cluster().is_err() {
        // Prints why, or panics in CI.
        assert!(postgres::database().is_none());
        return;
    }
    STORE.scope(store, body).await;
}

/// The store of the running test ([`with_store`]); SQLite outside [`both_stores!`].
pub fn current_store() -> TestStore {
    STORE.try_with(|s| *s).unwrap_or(TestStore::Sqlite)
}

/// A fresh store of the running test's kind: a file in `dir`, or a new PostgreSQL database.
pub fn fresh_store(dir: &std::path::Path) -> StoreLocation {
    match current_store() {
        TestStore::Sqlite => StoreLocation::Sqlite(dir.join("sealcall.db")),
        TestStore::Postgres => postgres::store().expect("test PostgreSQL"),
    }
}

/// Runs `body` in the mode a [`test_modes!`] variant names: `sqlite`, `postgres` or
/// `postgres_redis` ([`with_store`], [`with_redis`]).
pub async fn run_mode(mode: &str, body: impl std::future::Future<Output = ()>) {
    match mode {
        "sqlite" => with_store(TestStore::Sqlite, body).await,
        "postgres" => with_store(TestStore::Postgres, body).await,
        "postgres_redis" => with_redis(body).await,
        other => panic!("no test mode {other}"),
    }
}

/// `test_modes!([sqlite, postgres] #[tokio::test] async fn name() { … } …)`: each test once per
/// mode, as `name::MODE`, from the same body ([`run_mode`]).
macro_rules! test_modes {
    ($modes:tt $( $(#[$attr:meta])* async fn $name:ident() $body:block )*) => {$(
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            test_modes!(@each $modes [$(#[$attr])*] $body);
        }
    )*};
    (@each [$($mode:ident),*] $attrs:tt $body:block) => {$(
        test_modes!(@one $mode $attrs $body);
    )*};
    (@one $mode:ident [$(#[$attr:meta])*] $body:block) => {
        $(#[$attr])*
        async fn $mode() {
            crate::common::run_mode(stringify!($mode), async $body).await
        }
    };
}

/// `both_stores! { #[tokio::test] async fn name() { … } … }`: each test as `name::sqlite` and
/// `name::postgres`, from the same body.
macro_rules! both_stores {
    ($($tests:tt)*) => {
        test_modes!([sqlite, postgres] $($tests)*);
    };
}

/// [`both_stores!`] and a third run, `NAME::postgres_redis`, on PostgreSQL with Redis
/// ([`with_redis`]): the call state in Redis, from the same test bodies.
macro_rules! all_modes {
    ($($tests:tt)*) => {
        test_modes!([sqlite, postgres, postgres_redis] $($tests)*);
    };
}

/// Everything the store holds, as bytes: the SQLite file and its write-ahead log, or a
/// `pg_dump` of the PostgreSQL database.
pub fn stored_bytes(db: &StoreLocation) -> Vec<Vec<u8>> {
    match db {
        StoreLocation::Sqlite(path) => vec![
            std::fs::read(path).unwrap(),
            std::fs::read(path.with_extension("db-wal")).unwrap_or_default(),
        ],
        StoreLocation::Postgres(url) => {
            vec![postgres::cluster().unwrap().dump(url.database()).unwrap()]
        }
    }
}

/// Runs a blocking directory command (`cli::…`) off the async runtime.
pub async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.unwrap()
}

pub struct TestServer {
    pub dir: tempfile::TempDir,
    pub db: StoreLocation,
    pub handle: Option<ServerHandle>,
    pub http: HttpClient,
    pub url: String,
}

pub fn config(db: &StoreLocation) -> Config {
    let mut c = Config::new(db);
    c.password_cost = PasswordCost::insecure_for_tests();
    c.invite_timeout = Duration::from_secs(20);
    c.throttle = ThrottleConfig {
        max_failures: 5,
        window: Duration::from_secs(60),
        ..ThrottleConfig::default()
    };
    c.turn = None;
    // The test devices do not reconnect when told to: do not wait long for them to leave.
    c.shutdown_grace = Duration::from_millis(200);
    if let Ok(url) = REDIS.try_with(Clone::clone) {
        c.redis = Some(url);
        c.rejoin_grace = Duration::ZERO;
    }
    c
}

/// Creates the tenant (admin + Ken, Ana, Bo) in a fresh store (blocking).
pub fn seed(db: &StoreLocation) {
    let cost = PasswordCost::insecure_for_tests();
    cli::server_init(db, "Contoso", ADMIN, "Admin", PASSWORD, cost).unwrap();
    cli::user_add(db, KEN, "Ken Meyer", PASSWORD, &[], cost).unwrap();
    cli::user_add(db, ANA, "Ana Ruiz", PASSWORD, &[], cost).unwrap();
    cli::user_add(
        db,
        BO,
        "Bo Lin",
        PASSWORD,
        &[Role::TeamsAdministrator],
        cost,
    )
    .unwrap();
}

impl TestServer {
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(adjust: impl FnOnce(&mut Config)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let db = fresh_store(dir.path());
        let seeded = db.clone();
        blocking(move || seed(&seeded)).await;
        let mut c = config(&db);
        adjust(&mut c);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let handle = Server::start(c, listener).await.unwrap();
        let url = format!("http://{}", handle.addr());
        Self {
            http: HttpClient::new(&url).unwrap(),
            url,
            dir,
            db,
            handle: Some(handle),
        }
    }

    pub fn addr(&self) -> std::net::SocketAddr {
        self.handle.as_ref().unwrap().addr()
    }

    pub async fn sign_in(&self, user: &str) -> String {
        let r = self
            .http
            .request(
                "POST",
                "/sign-in",
                None,
                Some(&json!({"user": user, "password": PASSWORD})),
            )
            .await
            .unwrap();
        assert_eq!(r.status, 200, "{:?}", r.body);
        r.body["token"].as_str().unwrap().to_owned()
    }

    pub async fn get(&self, path: &str, token: &str) -> (u16, Value) {
        let r = self
            .http
            .request("GET", path, Some(token), None)
            .await
            .unwrap();
        (r.status, r.body)
    }

    pub async fn send(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Value,
    ) -> (u16, Value) {
        let r = self
            .http
            .request(method, path, token, Some(&body))
            .await
            .unwrap();
        (r.status, r.body)
    }

    pub async fn cmdlet(&self, token: &str, line: &str) -> (u16, Value) {
        self.send(
            "POST",
            "/admin/cmdlet",
            Some(token),
            json!({ "line": line }),
        )
        .await
    }

    pub async fn register_device(&self, token: &str, key_byte: u8, platform: &str) -> String {
        let (status, body) = self
            .send(
                "POST",
                "/devices",
                Some(token),
                json!({"identity_key": hex::encode([key_byte; 32]), "platform": platform, "client_version": "1.0.0"}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        body["device_id"].as_str().unwrap().to_owned()
    }

    /// Signs in, registers a device and connects its WebSocket (Welcome consumed).
    pub async fn device(&self, user: &str, key_byte: u8) -> Device {
        let token = self.sign_in(user).await;
        let id = self.register_device(&token, key_byte, "Linux").await;
        let mut d = Device::connect(self.addr(), &token, &id).await.unwrap();
        d.token = token;
        match d.recv().await {
            ServerMessage::Welcome { .. } => {}
            other => panic!("expected welcome, got {other:?}"),
        }
        d
    }

    /// `caller` calls `callee`'s user and `callee` rings: the call id.
    pub async fn ringing(
        caller: &mut Device,
        callee: &mut Device,
        callee_user: &str,
    ) -> sealcall_signaling::CallId {
        caller
            .send(ClientMessage::Invite {
                callee: callee_user.parse().unwrap(),
            })
            .await;
        let ServerMessage::InviteSent { call_id, .. } = caller.recv_call().await else {
            panic!("no invite_sent")
        };
        assert!(matches!(
            callee.recv_call().await,
            ServerMessage::IncomingCall { .. }
        ));
        call_id
    }

    /// `caller` calls `callee`'s user and `callee` answers: the call id and the two
    /// `CallAccepted` messages (the caller's, then the callee's).
    pub async fn answered(
        caller: &mut Device,
        callee: &mut Device,
        callee_user: &str,
    ) -> (sealcall_signaling::CallId, [ServerMessage; 2]) {
        caller
            .send(ClientMessage::Invite {
                callee: callee_user.parse().unwrap(),
            })
            .await;
        let ServerMessage::InviteSent { call_id, turn, .. } = caller.recv_call().await else {
            panic!("no invite_sent")
        };
        assert!(
            turn.username.is_empty(),
            "no relay credentials before the answer"
        );
        let ServerMessage::IncomingCall { turn, .. } = callee.recv_call().await else {
            panic!("no incoming_call")
        };
        assert!(
            turn.username.is_empty(),
            "no relay credentials while ringing"
        );
        callee
            .send(ClientMessage::Accept {
                call_id: call_id.clone(),
            })
            .await;
        let accepted = [caller.recv_call().await, callee.recv_call().await];
        for m in &accepted {
            assert!(matches!(m, ServerMessage::CallAccepted { .. }), "{m:?}");
        }
        (call_id, accepted)
    }

    pub async fn stop(&mut self) {
        if let Some(h) = self.handle.take() {
            h.shutdown().await.unwrap();
        }
    }
}

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

pub struct Device {
    pub ws: Ws,
    pub id: String,
    pub token: String,
}

impl Device {
    pub async fn connect(
        addr: std::net::SocketAddr,
        token: &str,
        device_id: &str,
    ) -> Result<Device, tokio_tungstenite::tungstenite::Error> {
        let mut req = format!("ws://{addr}/ws?device_id={device_id}")
            .into_client_request()
            .unwrap();
        req.headers_mut().insert(
            "Authorization",
            HeaderValue::from_str(&format!("Bearer {token}")).unwrap(),
        );
        let (ws, _) = tokio_tungstenite::connect_async(req).await?;
        Ok(Device {
            ws,
            id: device_id.to_owned(),
            token: token.to_owned(),
        })
    }

    pub async fn send(&mut self, msg: ClientMessage) {
        self.ws
            .send(Message::Text(encode_client(&msg).unwrap().into()))
            .await
            .unwrap();
    }

    pub async fn send_raw(&mut self, text: &str) {
        self.ws
            .send(Message::Text(text.to_owned().into()))
            .await
            .unwrap();
    }

    /// The next message, `device_added` pushes skipped (every second device of a user causes
    /// one; `sessions.rs` tests them with [`Device::recv_any`]).
    pub async fn recv(&mut self) -> ServerMessage {
        loop {
            match self.recv_any().await {
                ServerMessage::DeviceAdded { .. } => continue,
                other => return other,
            }
        }
    }

    /// The next message, whatever it is.
    pub async fn recv_any(&mut self) -> ServerMessage {
        loop {
            let frame = tokio::time::timeout(Duration::from_secs(10), self.ws.next())
                .await
                .expect("timed out waiting for a message")
                .expect("connection closed")
                .expect("websocket error");
            match frame {
                Message::Text(t) => return parse_server_message(t.as_bytes()).unwrap(),
                Message::Close(c) => panic!("closed: {c:?}"),
                _ => continue,
            }
        }
    }

    /// The next message that is not a `SettingChanged` push.
    pub async fn recv_call(&mut self) -> ServerMessage {
        loop {
            match self.recv().await {
                ServerMessage::SettingChanged { .. } => continue,
                other => return other,
            }
        }
    }

    /// Waits up to `within` for the server to close the connection; returns the close code and
    /// how long it took (`None` if it stayed open). Other messages are skipped.
    pub async fn closed_within(&mut self, within: Duration) -> Option<(u16, Duration)> {
        let start = std::time::Instant::now();
        let deadline = tokio::time::Instant::now() + within;
        loop {
            match tokio::time::timeout_at(deadline, self.ws.next()).await {
                Err(_) => return None,
                Ok(Some(Ok(Message::Close(frame)))) => {
                    return Some((frame.map_or(1005, |f| u16::from(f.code)), start.elapsed()));
                }
                Ok(None) => return Some((1006, start.elapsed())),
                Ok(Some(Err(e))) => {
                    eprintln!("connection failed: {e}");
                    return Some((1006, start.elapsed()));
                }
                Ok(Some(Ok(_))) => continue,
            }
        }
    }

    /// Asserts nothing arrives within `ms`.
    pub async fn quiet(&mut self, ms: u64) {
        if let Ok(Some(Ok(Message::Text(t)))) =
            tokio::time::timeout(Duration::from_millis(ms), self.ws.next()).await
        {
            panic!("unexpected message: {t}");
        }
    }
}

/// A plain HTTP/1.1 GET: the status and the body.
pub async fn http_get(
    addr: std::net::SocketAddr,
    path: &str,
    token: Option<&str>,
) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    tcp.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Connection: close\r\n\r\n")
            .as_bytes(),
    )
    .await
    .unwrap();
    let mut raw = Vec::new();
    tcp.read_to_end(&mut raw).await.unwrap();
    let text = String::from_utf8(raw).unwrap();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// The value of the series line that starts with `series ` (0 when absent).
pub fn series_value(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .map_or(0.0, |v| v.trim().parse().unwrap())
}

/// Allocates on the relay with these credentials and asks for a permission to each of `peers`
/// (by sending to it); the outcome of the allocation, then of each permission.
pub async fn allocate(
    server: std::net::SocketAddr,
    username: &str,
    password: &str,
    peers: &[std::net::SocketAddr],
) -> Result<Vec<Result<(), String>>, String> {
    let bind = if server.is_ipv6() {
        "[::1]:0"
    } else {
        "127.0.0.1:0"
    };
    let conn = tokio::net::UdpSocket::bind(bind).await.unwrap();
    let client = turn::client::Client::new(turn::client::ClientConfig {
        stun_serv_addr: server.to_string(),
        turn_serv_addr: server.to_string(),
        username: username.to_owned(),
        password: password.to_owned(),
        realm: "sealcall".to_owned(),
        software: String::new(),
        rto_in_ms: 0,
        conn: std::sync::Arc::new(conn),
        vnet: None,
    })
    .await
    .map_err(|e| e.to_string())?;
    use webrtc_util::Conn;
    client.listen().await.map_err(|e| e.to_string())?;
    let result = async {
        let relay = tokio::time::timeout(Duration::from_secs(10), client.allocate())
            .await
            .map_err(|_| "timed out".to_owned())?
            .map_err(|e| e.to_string())?;
        let mut permissions = Vec::new();
        for peer in peers {
            let sent = tokio::time::timeout(Duration::from_secs(10), relay.send_to(b"hi", *peer))
                .await
                .map_err(|_| "timed out".to_owned())
                .and_then(|r| r.map(|_| ()).map_err(|e| e.to_string()));
            permissions.push(sent);
        }
        Ok(permissions)
    }
    .await;
    let _ = client.close().await;
    result
}
