//! The real `sealcall` binary and TLS: `sealcall server init` makes a self-signed certificate
//! and prints its fingerprint; `sealcall admin` reaches the server over HTTPS with `--pin` or
//! `--ca-file` and refuses it without, saying how to trust it; `sealcall demo` runs its
//! end-to-end encrypted test call over TLS with a certificate its clients pin.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use sealcall_server::{Config, PasswordCost, Server, ServerTls};

mod common;

use common::{ADMIN, sealcall};

fn text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_init_makes_a_certificate_and_admin_trusts_it_by_pin_or_ca_file() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("sealcall.db");
    let init = sealcall()
        .args(["server", "init", "--db"])
        .arg(&db)
        .args(["--tenant", "Contoso", "--admin", ADMIN])
        .output()
        .unwrap();
    let said = text(&init);
    assert!(init.status.success(), "{said}");
    let fingerprint = said
        .lines()
        .find_map(|l| l.strip_prefix("certificate SHA-256 fingerprint: "))
        .expect("the fingerprint is printed")
        .trim()
        .to_owned();
    let (cert, key) = (
        dir.path().join("sealcall-cert.pem"),
        dir.path().join("sealcall-key.pem"),
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the key is private");
    }
    let tls = ServerTls::from_pem_files(&cert, &key).unwrap();
    assert_eq!(tls.fingerprint().to_string(), fingerprint);

    let mut config = Config::new(&db);
    config.password_cost = PasswordCost::insecure_for_tests();
    config.turn = None;
    config.tls = Some(tls);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let server = Server::start(config, listener).await.unwrap();
    let url = server.url();
    let line = "Get-CsTeamsEnhancedEncryptionPolicy -Identity Global";
    let admin = |extra: &[&str]| {
        let mut c = sealcall();
        c.args(["admin", "--server", &url, "--user", ADMIN])
            .args(extra)
            .arg(line);
        c
    };
    let refused = tokio::task::block_in_place(|| admin(&[]).output().unwrap());
    assert!(!refused.status.success());
    let said = text(&refused);
    assert!(
        said.contains("not trusted") && said.contains(&fingerprint),
        "{said}"
    );
    for extra in [
        vec!["--pin", fingerprint.as_str()],
        vec!["--ca-file", cert.to_str().unwrap()],
    ] {
        let ok = tokio::task::block_in_place(|| admin(&extra).output().unwrap());
        assert!(ok.status.success(), "{extra:?}: {}", text(&ok));
        assert!(text(&ok).contains("Global"), "{}", text(&ok));
    }
    let bad_pin = tokio::task::block_in_place(|| admin(&["--pin", "12:34"]).output().unwrap());
    assert!(!bad_pin.status.success());
    assert!(
        text(&bad_pin).contains("64 hex digits"),
        "{}",
        text(&bad_pin)
    );
    server.shutdown().await.unwrap();
}

#[test]
fn the_demo_call_runs_over_tls_with_a_pinned_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let out = sealcall()
        .env_remove("RUST_LOG")
        .args(["demo", "--duration", "1", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    assert!(said.contains("server on https://127.0.0.1:"), "{said}");
    assert!(said.contains("pinned by the demo's clients"), "{said}");
    assert!(said.contains("demo complete"), "{said}");
    // The demo logs warnings only by default: no INFO line interleaves with what it prints.
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.lines().any(|l| l.contains(" INFO ")),
        "INFO lines in the demo's output:\n{stderr}"
    );
}
