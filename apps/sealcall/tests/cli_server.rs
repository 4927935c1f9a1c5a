//! The real `sealcall server` process: started from a configuration file with every key,
//! `--check-config` accepting a good file and refusing a typo'd key or a bad value by the key's
//! name (never quoting the database value); SIGTERM during a ringing call (exit 0 within the
//! grace, the caller's engine reports the loss and reconnects to the next server on the same
//! address and database), and a second signal that stops at once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::time::{Duration, Instant};

use sealcall_engine::call::{CallEvent, Ended};
use sealcall_engine::transport::TransportConfig;
use sealcall_engine::{
    AudioRoute, ConnectionState, Engine, EngineConfig, EngineEvent, EngineEvents,
};

use sealcall_server::{HttpClient, PasswordCost, SelfSigned, Trust, cli};

mod common;

use common::{ADMIN, PASSWORD, Running, sealcall};

/// A plain HTTP/1.1 GET: the whole response as text.
async fn http_get(addr: &str, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    tcp.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await
    .unwrap();
    let mut raw = Vec::new();
    tcp.read_to_end(&mut raw).await.unwrap();
    String::from_utf8_lossy(&raw).into_owned()
}

/// A tenant in `dir/sealcall.db` and a certificate for it.
fn seed(dir: &Path) -> sealcall_server::Fingerprint {
    cli::server_init(
        dir.join("sealcall.db"),
        "Contoso",
        ADMIN,
        "Admin",
        PASSWORD,
        PasswordCost::insecure_for_tests(),
    )
    .unwrap();
    let made = SelfSigned::generate(&SelfSigned::default_names()).unwrap();
    made.write(&dir.join("cert.pem"), &dir.join("key.pem"))
        .unwrap();
    made.fingerprint
}

/// A configuration file with every key.
fn every_key(dir: &Path) -> std::path::PathBuf {
    std::fs::write(dir.join("turn-secret"), [7u8; 40]).unwrap();
    let d = dir.display();
    let text = format!(
        r#"db = "{d}/sealcall.db"
listen = "127.0.0.1:0"
turn = "127.0.0.1:0"
tls-cert = "{d}/cert.pem"
tls-key = "{d}/key.pem"
insecure-http = false
relay-allow = ["127.0.0.0/8"]
turn-secret-file = "{d}/turn-secret"
trusted-proxy = ["10.1.1.1"]
metrics-listen = "127.0.0.1:0"
"#
    );
    let path = dir.join("sealcall.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_with_every_key_starts_the_server_it_describes() {
    let dir = tempfile::tempdir().unwrap();
    let pin = seed(dir.path());
    let file = every_key(dir.path());
    let server = Running::start(&["server", "--config", file.to_str().unwrap()]);
    let url = server.after("sealcall server on ");
    let url = url.split(' ').next().unwrap().to_owned();
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");
    let metrics = server.after("metrics on http://");
    let metrics = metrics.trim_end_matches("/metrics").to_owned();

    // TLS with the file's certificate, the file's database (the administrator signs in).
    let http = HttpClient::with_trust(
        &url,
        &Trust {
            ca_file: None,
            pin: Some(pin),
        },
    )
    .unwrap();
    let r = http
        .request(
            "POST",
            "/sign-in",
            None,
            Some(&serde_json::json!({"user": ADMIN, "password": PASSWORD})),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 200, "{:?}", r.body);
    // The metrics listener from the file.
    let text = http_get(&metrics, "/metrics").await;
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(text.contains("sealcall_connected_devices 0"), "{text}");
}

#[test]
fn check_config_accepts_a_good_file_and_names_the_key_of_a_bad_one() {
    let dir = tempfile::tempdir().unwrap();
    seed(dir.path());
    let file = every_key(dir.path());
    let out = sealcall()
        .args(["server", "--check-config", "--config"])
        .arg(&file)
        .output()
        .unwrap();
    let said = common::succeeded(&out);
    assert!(said.contains("configuration OK"), "{said}");

    let check = |text: &str| {
        let path = dir.path().join("bad.toml");
        std::fs::write(&path, text).unwrap();
        let out = sealcall()
            .args(["server", "--check-config", "--config"])
            .arg(&path)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{text:?} was accepted");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let secret_db = "db = \"postgres://sealcall:hunter2-secret@db/sealcall\"\n";
    let e = check(&format!("{secret_db}lisen = \"127.0.0.1:7878\"\n"));
    assert!(e.contains("lisen") && e.contains("unknown field"), "{e}");
    let e = check(&format!("{secret_db}listen = \"abc\"\n"));
    assert!(e.contains("listen: \"abc\" is not a socket address"), "{e}");
    let e = check(&format!("{secret_db}metrics-listen = true\n"));
    assert!(e.contains("metrics-listen"), "{e}");
    // A certificate file that does not exist fails the check, not the start.
    let e = check("tls-cert = \"/nonexistent/cert.pem\"\ntls-key = \"/nonexistent/key.pem\"\n");
    assert!(e.contains("/nonexistent/cert.pem"), "{e}");
    for e in [
        check(&format!("{secret_db}lisen = 1\n")),
        check(&format!("{secret_db}listen = \"abc\"\n")),
    ] {
        assert!(!e.contains("hunter2"), "the database value was quoted: {e}");
    }
}

const KEN: &str = "kenmeyer@contoso.onmicrosoft.com";
const ANA: &str = "ana@contoso.onmicrosoft.com";

/// A tenant with Ken and Ana in `dir/sealcall.db`.
fn seed_users(dir: &Path) -> std::path::PathBuf {
    let db = dir.join("sealcall.db");
    let cost = PasswordCost::insecure_for_tests();
    cli::server_init(&db, "Contoso", ADMIN, "Admin", PASSWORD, cost).unwrap();
    cli::user_add(&db, KEN, "Ken Meyer", PASSWORD, &[], cost).unwrap();
    cli::user_add(&db, ANA, "Ana Ruiz", PASSWORD, &[], cost).unwrap();
    db
}

async fn engine(url: &str, user: &str) -> (Engine, EngineEvents) {
    let mut c = EngineConfig::new(url, user, PASSWORD);
    c.transport = TransportConfig::loopback();
    c.audio = AudioRoute::Specs {
        input: "silence".to_owned(),
        output: "null".to_owned(),
    };
    Engine::connect(c).await.unwrap()
}

/// Waits for the first event `pick` returns `Some` for, up to `secs` seconds.
async fn wait_for<T>(
    events: &mut EngineEvents,
    secs: u64,
    pick: impl FnMut(&EngineEvent) -> Option<T>,
) -> T {
    sealcall_engine::next_event(events, Duration::from_secs(secs), pick)
        .await
        .expect("event in time (the engine still running)")
}

/// The base URL a `sealcall server` printed.
fn server_url(server: &Running) -> String {
    let line = server.after("sealcall server on ");
    line.split(' ').next().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_a_ringing_call_exits_0_in_time_and_the_caller_reconnects() {
    let dir = tempfile::tempdir().unwrap();
    let db = seed_users(dir.path());
    let db = db.to_str().unwrap();
    let grace = 3;
    let mut server = Running::start(&[
        "server",
        "--db",
        db,
        "--listen",
        "127.0.0.1:0",
        "--turn",
        "off",
        "--shutdown-grace",
        &grace.to_string(),
    ]);
    let url = server_url(&server);
    let (ken, mut ken_ev) = engine(&url, KEN).await;
    let (_ana, mut ana_ev) = engine(&url, ANA).await;
    ken.call(ANA).unwrap();
    wait_for(&mut ana_ev, 15, |e| {
        matches!(e, EngineEvent::Call(CallEvent::Incoming { .. })).then_some(())
    })
    .await;
    wait_for(&mut ken_ev, 15, |e| {
        matches!(e, EngineEvent::Call(CallEvent::Ringing { .. })).then_some(())
    })
    .await;

    let started = Instant::now();
    server.signal("TERM");
    let status = server
        .exited_within(Duration::from_secs(grace + 10))
        .expect("the server did not exit after SIGTERM");
    let took = started.elapsed();
    assert!(status.success(), "exit status {status:?}");
    assert!(
        took < Duration::from_secs(grace + 10),
        "SIGTERM took {took:?}"
    );
    eprintln!("SIGTERM to exit: {} ms", took.as_millis());

    // The caller's engine reports the loss: its ringing call ends, and it reconnects.
    let reason = wait_for(&mut ken_ev, 10, |e| match e {
        EngineEvent::Call(CallEvent::Ended { reason, .. }) => Some(reason.clone()),
        _ => None,
    })
    .await;
    assert_eq!(reason, Ended::ServerLost);
    wait_for(&mut ken_ev, 10, |e| {
        matches!(e, EngineEvent::Connection(ConnectionState::Reconnecting(_))).then_some(())
    })
    .await;

    // A server on the same address and database: the engine is back.
    let addr = url.trim_start_matches("http://");
    let again = Running::start(&["server", "--db", db, "--listen", addr, "--turn", "off"]);
    assert_eq!(server_url(&again), url);
    wait_for(&mut ken_ev, 30, |e| {
        matches!(e, EngineEvent::Connection(ConnectionState::Connected)).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_signal_stops_at_once() {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let dir = tempfile::tempdir().unwrap();
    let db = seed_users(dir.path());
    let mut server = Running::start(&[
        "server",
        "--db",
        db.to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
        "--turn",
        "off",
        "--shutdown-grace",
        "600",
    ]);
    let url = server_url(&server);
    // A device that does not leave when told to reconnect.
    let http = HttpClient::new(&url).unwrap();
    let signed_in = http
        .request(
            "POST",
            "/sign-in",
            None,
            Some(&serde_json::json!({"user": KEN, "password": PASSWORD})),
        )
        .await
        .unwrap();
    let token = signed_in.body["token"].as_str().unwrap().to_owned();
    let device = http
        .request(
            "POST",
            "/devices",
            Some(&token),
            Some(&serde_json::json!({"identity_key": "11".repeat(32), "platform": "Linux", "client_version": "1.0.0"})),
        )
        .await
        .unwrap();
    let device_id = device.body["device_id"].as_str().unwrap().to_owned();
    let mut req = format!(
        "{}/ws?device_id={device_id}",
        url.replace("http://", "ws://")
    )
    .into_client_request()
    .unwrap();
    req.headers_mut()
        .insert("Authorization", format!("Bearer {token}").parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
    // The server has the device once it said welcome: only then does a signal wait for it.
    let welcome = tokio::time::timeout(
        Duration::from_secs(5),
        futures_util::StreamExt::next(&mut ws),
    )
    .await
    .unwrap();
    assert!(matches!(welcome, Some(Ok(_))), "{welcome:?}");

    server.signal("TERM");
    assert!(
        server.exited_within(Duration::from_secs(1)).is_none(),
        "the first signal waits for the device"
    );
    server.signal("INT");
    let status = server
        .exited_within(Duration::from_secs(5))
        .expect("the second signal did not stop the server");
    assert!(
        !status.success(),
        "a forced stop exits non-zero: {status:?}"
    );
}

#[test]
fn bad_database_and_redis_urls_are_refused_without_showing_their_passwords() {
    for args in [
        vec![
            "server",
            "--check-config",
            "--db",
            "postgres://sealcall:hunter2pw@[db/x",
        ],
        vec![
            "user",
            "list",
            "--db",
            "postgres://sealcall:hunter2pw@db:notaport/x",
        ],
        vec![
            "server",
            "--check-config",
            "--redis",
            "redis://:hunter2pw@[::1",
        ],
        vec![
            "server",
            "--check-config",
            "--redis",
            "rediss://:hunter2pw@10.0.0.5/0",
        ],
    ] {
        let out = sealcall().args(&args).output().unwrap();
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!out.status.success(), "{args:?}: {said}");
        assert!(said.contains("invalid --"), "{args:?}: {said}");
        assert!(!said.contains("hunter2pw"), "{args:?}: {said}");
    }
    // Several nodes need PostgreSQL, and relays that share a secret: --check-config says so.
    let dir = tempfile::tempdir().unwrap();
    let sqlite = dir.path().join("x.db");
    let sqlite = sqlite.to_str().unwrap();
    for (extra, expect) in [
        (vec!["--db", sqlite, "--turn", "off"], "PostgreSQL"),
        (
            vec!["--db", "postgres://u:hunter2pw@127.0.0.1:1/x"],
            "--turn-secret-file",
        ),
    ] {
        let out = sealcall()
            .args([
                "server",
                "--check-config",
                "--redis",
                "redis://127.0.0.1:1/0",
            ])
            .args(&extra)
            .output()
            .unwrap();
        let said = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{said}");
        assert!(said.contains(expect), "{said}");
        assert!(!said.contains("hunter2pw"), "{said}");
    }
}
