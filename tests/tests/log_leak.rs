//! Logs never leak: every log line of a real server and two real engines, at TRACE for every
//! target, captured while they run an end-to-end encrypted call, an administrator's session
//! and refused sign-ins, holds none of the secrets the test knows — passwords, session tokens,
//! the security code and safety number, the devices' identity keys, the call's relay (TURN)
//! credentials — in raw, hex or base64 form, and no SDP line with ICE or DTLS credentials.
//!
//! Only `tracing` events are captured: the `webrtc` and `turn` crates log through the `log`
//! crate, which no Sealcall binary forwards to its log output.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use common::*;
use sealcall_engine::call::CallEvent;
use sealcall_engine::identity::IdentityStore;
use sealcall_engine::{Engine, EngineEvent, EngineEvents};
use sealcall_server::testing::{LocalServer, TestStore, postgres};
use sealcall_signaling::CallId;
use serde_json::{Value, json};
use tracing_subscriber::filter::LevelFilter;

/// Everything the capturing subscriber wrote.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Capture {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
    }

    /// A subscriber writing every event of every target, with all its fields, as JSON lines.
    fn subscriber(&self) -> impl tracing::Subscriber + Send + Sync + use<> {
        let sink = self.clone();
        tracing_subscriber::fmt()
            .json()
            .with_max_level(LevelFilter::TRACE)
            .with_writer(move || sink.clone())
            .finish()
    }
}

/// One secret the test knows, by name.
struct Secret {
    name: String,
    bytes: Vec<u8>,
}

impl Secret {
    fn new(name: impl Into<String>, bytes: impl Into<Vec<u8>>) -> Self {
        Self {
            name: name.into(),
            bytes: bytes.into(),
        }
    }

    /// The forms it could take in a log line: raw (for text), hex in either case, and base64
    /// (standard and URL-safe) at each of the three alignments it could have inside a longer
    /// encoded value (only the characters that depend on the secret alone).
    fn forms(&self) -> Vec<String> {
        let mut forms = vec![hex::encode(&self.bytes), hex::encode_upper(&self.bytes)];
        if let Ok(text) = std::str::from_utf8(&self.bytes) {
            forms.push(text.to_owned());
        }
        for offset in 0..3 {
            let mut shifted = vec![0u8; offset];
            shifted.extend_from_slice(&self.bytes);
            let first = (8 * offset).div_ceil(6);
            let end = 8 * (offset + self.bytes.len()) / 6;
            for encoded in [
                STANDARD_NO_PAD.encode(&shifted),
                URL_SAFE_NO_PAD.encode(&shifted),
            ] {
                forms.push(encoded[first..end].to_owned());
            }
        }
        forms
    }
}

/// Every (secret, form) found in `text`.
fn leaks(text: &str, secrets: &[Secret]) -> Vec<String> {
    let mut found = Vec::new();
    for secret in secrets {
        assert!(
            secret.bytes.len() >= 8,
            "{}: too short to search for",
            secret.name
        );
        for form in secret.forms() {
            let entry = format!("{} as {form:?}", secret.name);
            if text.contains(&form) && !found.contains(&entry) {
                found.push(entry);
            }
        }
    }
    found
}

/// SDP lines that carry credentials (an ICE password, a DTLS fingerprint).
const SDP_MARKERS: &[&str] = &["a=ice-pwd", "a=ice-ufrag", "a=fingerprint", "v=0\r\n"];

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// `POST /sign-in`: the status and, for a success, the session token.
async fn sign_in(server: &LocalServer, user: &str, password: &str) -> (u16, Option<String>) {
    let resp = server
        .client()
        .unwrap()
        .request(
            "POST",
            "/sign-in",
            None,
            Some(&json!({ "user": user, "password": password })),
        )
        .await
        .unwrap();
    let token = resp.body["token"].as_str().map(str::to_owned);
    (resp.status, token)
}

/// An engine whose identity lives in a file under the server's folder (so the test can read
/// the identity's secret seed), auto-answering if `auto_answer`.
async fn file_engine(
    server: &LocalServer,
    user: &str,
    tone: u32,
    auto_answer: bool,
) -> (Engine, EngineEvents) {
    engine_adjusted(server, user, tone, |config| {
        config.identity = IdentityStore::in_dir(server.dir.path(), &server.url, user);
        config.auto_answer = auto_answer;
    })
    .await
}

fn identity_seed(server: &LocalServer, user: &str) -> Vec<u8> {
    let IdentityStore::File(path) = IdentityStore::in_dir(server.dir.path(), &server.url, user)
    else {
        unreachable!("in_dir is a file store")
    };
    let stored: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    hex::decode(stored["seed"].as_str().unwrap()).unwrap()
}

#[test]
fn a_deliberately_logged_secret_is_found_in_every_form() {
    let capture = Capture::default();
    let token = "vQz3Yx1u9Jw0SecretTokenValue";
    let key = [0xA5u8, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15];
    tracing::subscriber::with_default(capture.subscriber(), || {
        tracing::trace!(token, "raw");
        tracing::trace!(key = %hex::encode(key), "hex");
        tracing::trace!(
            wrapped = %base64::engine::general_purpose::STANDARD.encode([&[7u8][..], &key].concat()),
            "base64 inside a longer value"
        );
    });
    let text = capture.text();
    let found = leaks(
        &text,
        &[Secret::new("token", token), Secret::new("key", key)],
    );
    assert!(found.iter().any(|f| f.starts_with("token")), "{found:?}");
    // Hex and the shifted base64 both found.
    assert!(
        found.contains(&format!("key as {:?}", hex::encode(key))),
        "{found:?}"
    );
    // The key one byte into the encoded value: its characters from the third on.
    let shifted = STANDARD_NO_PAD.encode([&[0u8][..], &key].concat())[2..22].to_owned();
    assert!(found.contains(&format!("key as {shifted:?}")), "{found:?}");
    assert!(leaks("nothing secret here", &[Secret::new("key", key)]).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_reaches_any_log_line_at_trace() {
    let capture = Capture::default();
    tracing::subscriber::set_global_default(capture.subscriber()).unwrap();
    let started = unix_now();

    let server = LocalServer::start(ADMIN, &[(KEN, "Ken Meyer"), (ANA, "Ana Ruiz")])
        .await
        .unwrap();
    let mut secrets = vec![Secret::new("password", PASS)];

    // An administrator's session: sign in, allow end-to-end encryption tenant-wide.
    let (status, admin_token) = sign_in(&server, ADMIN, PASS).await;
    assert_eq!(status, 200);
    let admin_token = admin_token.unwrap();
    let resp = server
        .client()
        .unwrap()
        .request(
            "POST",
            "/admin/cmdlet",
            Some(&admin_token),
            Some(&json!({ "line": "Set-CsTeamsEnhancedEncryptionPolicy -Identity Global -CallingEndtoEndEncryptionEnabledType DisabledUserOverride" })),
        )
        .await
        .unwrap();
    assert_eq!(resp.status, 200, "{}", resp.body);
    secrets.push(Secret::new("admin session token", admin_token));

    // A full end-to-end encrypted call, both users with the setting on.
    let (ken, mut ken_ev) = file_engine(&server, KEN, 440, false).await;
    let (ana, mut ana_ev) = file_engine(&server, ANA, 880, true).await;
    ken.set_e2ee(true).await.unwrap();
    ana.set_e2ee(true).await.unwrap();
    ken.call(ANA).unwrap();
    let (call_id, code, safety) = in_call(&mut ken_ev).await;
    let (_, ana_code, ana_safety) = in_call(&mut ana_ev).await;
    assert_eq!(code, ana_code);
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    ken.hangup().unwrap();
    call_ended(&mut ken_ev).await;
    call_ended(&mut ana_ev).await;
    secrets.push(Secret::new("security code", code.clone()));
    secrets.push(Secret::new(
        "security code without spaces",
        code.replace(' ', ""),
    ));
    for (name, number) in [
        ("Ken's safety number", safety),
        ("Ana's safety number", ana_safety),
    ] {
        secrets.push(Secret::new(
            format!("{name} without spaces"),
            number.replace(' ', ""),
        ));
        secrets.push(Secret::new(name, number));
    }

    // The relay credentials the call's two devices were given: the same function of the
    // relay's secret, the call, the device and the expiry (Unix seconds, issued at some second
    // of this test plus the credential lifetime).
    let relay = server.handle.as_ref().unwrap().relay().unwrap();
    let ttl = sealcall_server::TurnConfig::default()
        .credential_ttl
        .as_secs();
    let ended = unix_now();
    for device in [&ken.info().device_id, &ana.info().device_id] {
        for expires in (started + ttl)..=(ended + ttl + 1) {
            let creds = relay.credentials_expiring(&call_id, device, expires);
            secrets.push(Secret::new(
                format!("TURN credential of {device} expiring {expires}"),
                creds.credential,
            ));
        }
    }
    for user in [KEN, ANA] {
        secrets.push(Secret::new(
            format!("{user}'s identity secret key"),
            identity_seed(&server, user),
        ));
    }

    // Refused sign-ins (after the call: they start Ken's backoff) until the throttle refuses
    // one, and a session the test can see.
    let mut statuses = Vec::new();
    for n in 1..=7 {
        let wrong = format!("Tr0ub4dor&3-wrong-{n}");
        let (status, _) = sign_in(&server, KEN, &wrong).await;
        secrets.push(Secret::new("wrong password", wrong));
        statuses.push(status);
        if status == 429 {
            break;
        }
    }
    assert_eq!(statuses.last(), Some(&429), "never throttled: {statuses:?}");
    assert!(
        statuses[..statuses.len() - 1].iter().all(|s| *s == 401),
        "{statuses:?}"
    );
    let (status, _) = sign_in(
        &server,
        "nobody@contoso.onmicrosoft.com",
        "a guess at a password",
    )
    .await;
    assert_eq!(status, 401);
    secrets.push(Secret::new(
        "unknown user's password",
        "a guess at a password",
    ));
    let (status, ana_token) = sign_in(&server, ANA, PASS).await;
    assert_eq!(status, 200);
    secrets.push(Secret::new("Ana's session token", ana_token.unwrap()));

    // A server on PostgreSQL: its database URL holds a password, which no line may carry, nor
    // may a start-up refused for a wrong password.
    if postgres::database().is_some() {
        let cluster = postgres::cluster().unwrap();
        secrets.push(Secret::new("PostgreSQL password", cluster.password()));
        let mut pg = LocalServer::start_on(TestStore::Postgres, ADMIN, &[], false, |_| {})
            .await
            .unwrap();
        let (status, token) = sign_in(&pg, ADMIN, PASS).await;
        assert_eq!(status, 200);
        secrets.push(Secret::new("session token on PostgreSQL", token.unwrap()));
        pg.stop().await.unwrap();
        let wrong = "Wr0ng-PostgreSQL-passw0rd";
        secrets.push(Secret::new("wrong PostgreSQL password", wrong));
        let db =
            sealcall_server::StoreLocation::parse(&cluster.url_with_password("postgres", wrong))
                .unwrap();
        let mut config = sealcall_server::Config::new(db);
        config.turn = None;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let err = sealcall_server::Server::start(config, listener)
            .await
            .unwrap_err();
        assert!(
            err.to_string().contains("password authentication failed"),
            "{err}"
        );
        // As an operator's log would have it.
        tracing::error!(error = %err, "server start-up failed");

        // A node of a deployment: its Redis URL holds a password too, and a start-up refused
        // for a wrong one is logged.
        if let Some(redis) = sealcall_server::testing::redis::TestRedis::start() {
            secrets.push(Secret::new("Redis password", redis.password()));
            let db = sealcall_server::StoreLocation::Postgres(postgres::database().unwrap());
            let seeded = db.clone();
            tokio::task::spawn_blocking(move || {
                sealcall_server::cli::server_init(
                    &seeded,
                    "Contoso",
                    ADMIN,
                    "Admin",
                    PASS,
                    sealcall_server::PasswordCost::insecure_for_tests(),
                )
            })
            .await
            .unwrap()
            .unwrap();
            let node = |redis_url: sealcall_server::RedisUrl| {
                let mut config = sealcall_server::Config::new(db.clone());
                config.turn = None;
                config.redis = Some(redis_url);
                config
            };
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let config = node(redis.url());
            let started = sealcall_server::Server::start(config, listener)
                .await
                .unwrap();
            started.shutdown().await.unwrap();
            let wrong = "Wr0ng-Redis-passw0rd";
            secrets.push(Secret::new("wrong Redis password", wrong));
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let err =
                sealcall_server::Server::start(node(redis.url_with_password(wrong)), listener)
                    .await
                    .unwrap_err();
            assert!(err.to_string().contains("authentication failed"), "{err}");
            tracing::error!(error = %err, "server start-up failed");
        }
    }

    // The engines' own sessions (they signed in with the password, and reconnect with it).
    for (who, engine) in [("Ken", &ken), ("Ana", &ana)] {
        secrets.push(Secret::new(
            format!("{who}'s engine session token"),
            engine.api().token().unwrap(),
        ));
    }
    ken.shutdown().await.unwrap();
    ana.shutdown().await.unwrap();
    let mut server = server;
    server.stop().await.unwrap();

    let text = capture.text();
    if postgres::cluster().is_ok() {
        assert!(
            text.contains("postgres://postgres:***@127.0.0.1:"),
            "the PostgreSQL server's start-up and its refused start are logged, redacted"
        );
        if which_redis() {
            assert!(
                text.contains("redis://***@127.0.0.1:"),
                "the cluster node's start-up is logged, its Redis URL redacted"
            );
        }
    }
    // To read what was logged: LOG_LEAK_DUMP=/tmp/capture.jsonl cargo test …
    if let Ok(path) = std::env::var("LOG_LEAK_DUMP") {
        std::fs::write(path, &text).unwrap();
    }
    // The capture is the real thing: the events an operator needs are all in it.
    let messages: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let has = |message: &str| {
        messages
            .iter()
            .any(|m| m["fields"]["message"].as_str() == Some(message))
    };
    for expected in [
        "server started",
        "sign-in succeeded",
        "sign-in refused",
        "audit",
        "device registered",
        "signed in",
        "call invited",
        "call accepted",
        "relay credentials issued",
        "security code ready",
        "call media ready",
        "call connected",
        "call ended",
        "call media ended",
        "server shutting down",
    ] {
        assert!(
            has(expected),
            "no {expected:?} event in {} lines",
            messages.len()
        );
    }
    let logged = |message: &str, field: &str, value: &str| {
        messages
            .iter()
            .any(|m| m["fields"]["message"] == message && m["fields"][field] == value)
    };
    assert!(
        logged("call accepted", "mode", "EndToEnd"),
        "the call was not logged as end-to-end encrypted"
    );
    for reason in ["wrong password", "unknown user", "throttled"] {
        assert!(
            logged("sign-in refused", "reason", reason),
            "no refusal for {reason:?}"
        );
    }

    let mut found = leaks(&text, &secrets);
    found.extend(
        SDP_MARKERS
            .iter()
            .filter(|m| text.contains(*m))
            .map(|m| format!("SDP line {m:?}")),
    );
    assert!(
        found.is_empty(),
        "secrets in the logs ({} lines searched for {} secrets): {found:#?}",
        messages.len(),
        secrets.len()
    );
}

/// Waits for the call to connect end-to-end encrypted; returns its id, security code and the
/// safety number shown for the peer device.
async fn in_call(events: &mut EngineEvents) -> (CallId, String, String) {
    let mut code = None;
    let mut safety = None;
    loop {
        let event = wait_for(events, 20, |e| Some(e.clone())).await;
        match event {
            EngineEvent::SecurityCode { code: c, .. } => code = Some(c),
            EngineEvent::PeerKey { safety_number, .. } => safety = Some(safety_number),
            EngineEvent::Call(CallEvent::Connected {
                call_id,
                end_to_end,
            }) => {
                assert!(end_to_end, "the call is not end-to-end encrypted");
                return (
                    call_id,
                    code.expect("a security code before connected"),
                    safety.expect("a peer key check before connected"),
                );
            }
            EngineEvent::Call(CallEvent::Ended { reason, .. }) => panic!("call ended: {reason:?}"),
            _ => {}
        }
    }
}

async fn call_ended(events: &mut EngineEvents) {
    wait_for(events, 20, |e| {
        matches!(e, EngineEvent::Call(CallEvent::Ended { .. })).then_some(())
    })
    .await;
}

/// Whether `redis-server` is installed (the Redis part of the test ran).
fn which_redis() -> bool {
    std::process::Command::new("redis-server")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}
