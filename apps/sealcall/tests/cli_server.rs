//! The real `sealcall server` process: started from a configuration file with every key,
//! `--check-config` accepting a good file and refusing a typo'd key or a bad value by the key's
//! name (never quoting the database value).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use sealcall_server::{HttpClient, PasswordCost, SelfSigned, Trust, cli};

mod common;

use common::{ADMIN, PASSWORD, sealcall};

/// A running `sealcall server`: its standard output, line by line.
struct Running {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Running {
    fn start(args: &[&str]) -> Self {
        let mut child = sealcall()
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let out = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Self { child, lines }
    }

    /// The rest of the first line that starts with `prefix` (within 60 s).
    fn after(&self, prefix: &str) -> String {
        loop {
            let line = self
                .lines
                .recv_timeout(Duration::from_secs(60))
                .unwrap_or_else(|_| panic!("no line starting with {prefix:?}"));
            if let Some(rest) = line.strip_prefix(prefix) {
                return rest.to_owned();
            }
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

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
        &dir.join("sealcall.db"),
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
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
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
