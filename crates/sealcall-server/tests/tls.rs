//! HTTPS and WSS on the server's one port (rustls, a certificate made with rcgen), the refusal
//! of plain HTTP off loopback, and `sealcall admin` (the `admin_run` library function) over
//! HTTPS: refused for an untrusted certificate with a message that says how to trust it, working
//! with the CA file or the pin.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
mod common;

use common::*;
use futures_util::StreamExt;
use sealcall_server::{SelfSigned, Server, ServerError, Trust, cli};
use sealcall_signaling::{ServerMessage, parse_server_message};
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

async fn tls_server() -> (TestServer, SelfSigned) {
    let cert = SelfSigned::generate(&SelfSigned::default_names()).unwrap();
    let tls = cert.server_tls().unwrap();
    let s = TestServer::start_with(|c| c.tls = Some(tls)).await;
    (s, cert)
}

both_stores! {
    #[tokio::test]
    async fn plain_http_is_refused_off_loopback_unless_allowed() {
        let dir = tempfile::tempdir().unwrap();
        let db = sealcall_server::StoreLocation::Sqlite(dir.path().join("sealcall.db"));
        seed(&db);
        let listener = tokio::net::TcpListener::bind("0.0.0.0:0").await.unwrap();
        let err = Server::start(config(&db), listener).await.unwrap_err();
        assert!(matches!(err, ServerError::Invalid { .. }), "{err}");
        assert!(err.to_string().contains("--tls-cert"), "{err}");
        let listener = tokio::net::TcpListener::bind("0.0.0.0:0").await.unwrap();
        let mut c = config(&db);
        c.allow_plain_http = true;
        Server::start(c, listener)
            .await
            .unwrap()
            .shutdown()
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn https_and_wss_share_the_port_and_the_certificate_must_be_trusted() {
        let (s, cert) = tls_server().await;
        let url = s.handle.as_ref().unwrap().url();
        assert!(url.starts_with("https://"));
        assert_eq!(
            s.handle.as_ref().unwrap().fingerprint(),
            Some(cert.fingerprint)
        );

        // Not trusted by the system's roots: the error says how to trust it and shows the pin.
        let plain = sealcall_server::HttpClient::new(&url).unwrap();
        let err = plain
            .request("GET", "/healthz", None, None)
            .await
            .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("not trusted"), "{text}");
        assert!(
            text.contains("--ca-file") && text.contains("--pin"),
            "{text}"
        );
        assert!(text.contains(&cert.fingerprint.to_string()), "{text}");

        // Trusted by the pin, or with the certificate file as a CA.
        let pinned =
            sealcall_server::HttpClient::with_trust(&url, &Trust::pinned(cert.fingerprint)).unwrap();
        let ok = pinned.request("GET", "/healthz", None, None).await.unwrap();
        assert_eq!(ok.status, 200);
        let file = s.dir.path().join("server-cert.pem");
        std::fs::write(&file, &cert.cert_pem).unwrap();
        let by_ca = sealcall_server::HttpClient::with_trust(&url, &Trust::ca_file(&file)).unwrap();
        let signed = by_ca
            .request(
                "POST",
                "/sign-in",
                None,
                Some(&json!({"user": KEN, "password": PASSWORD})),
            )
            .await
            .unwrap();
        assert_eq!(signed.status, 200);
        let token = signed.body["token"].as_str().unwrap().to_owned();

        // A plain-HTTP request to the TLS port gets nowhere.
        let http_url = url.replacen("https://", "http://", 1);
        let cleartext = sealcall_server::HttpClient::new(&http_url).unwrap();
        assert!(
            cleartext
                .request("GET", "/healthz", None, None)
                .await
                .is_err()
        );

        // WSS on the same port, with the same trust.
        let device = pinned
            .request(
                "POST",
                "/devices",
                Some(&token),
                Some(&json!({"identity_key": hex::encode([7u8; 32]), "platform": "Linux", "client_version": "1.0.0"})),
            )
            .await
            .unwrap();
        assert_eq!(device.status, 201, "{:?}", device.body);
        let id = device.body["device_id"].as_str().unwrap();
        let mut req = format!("wss://127.0.0.1:{}/ws?device_id={id}", s.addr().port())
            .into_client_request()
            .unwrap();
        req.headers_mut()
            .insert("authorization", format!("Bearer {token}").parse().unwrap());
        let tls = sealcall_tls::ClientTls::new(&Trust::pinned(cert.fingerprint)).unwrap();
        let connector = tokio_tungstenite::Connector::Rustls(tls.config());
        let (mut ws, _) =
            tokio_tungstenite::connect_async_tls_with_config(req, None, false, Some(connector))
                .await
                .unwrap();
        let Some(Ok(Message::Text(text))) = ws.next().await else {
            panic!("no welcome")
        };
        assert!(matches!(
            parse_server_message(text.as_bytes()).unwrap(),
            ServerMessage::Welcome { .. }
        ));
    }

    #[tokio::test]
    async fn sealcall_admin_runs_over_https_with_the_pin_or_the_ca_file() {
        let (s, cert) = tls_server().await;
        let url = s.handle.as_ref().unwrap().url();
        let line = "Get-CsTeamsEnhancedEncryptionPolicy -Identity Global";
        let run = |url: String, trust: Trust| async move {
            let mut out = Vec::new();
            let r = cli::admin_run(
                &url,
                &trust,
                ADMIN,
                PASSWORD,
                Some(line),
                &b""[..],
                &mut out,
                false,
            )
            .await;
            (r, String::from_utf8(out).unwrap())
        };
        let (refused, _) = run(url.clone(), Trust::default()).await;
        let text = refused.unwrap_err().to_string();
        assert!(text.contains("--pin"), "{text}");
        let (summary, out) = run(url.clone(), Trust::pinned(cert.fingerprint)).await;
        assert_eq!(summary.unwrap().succeeded, 1);
        assert!(out.contains("Global"), "{out}");
        let file = s.dir.path().join("ca.pem");
        std::fs::write(&file, &cert.cert_pem).unwrap();
        let (summary, _) = run(url.clone(), Trust::ca_file(&file)).await;
        assert_eq!(summary.unwrap().succeeded, 1);
        // Plain http:// to a remote host is refused before anything is sent.
        let (err, _) = run("http://192.0.2.1:7878".into(), Trust::default()).await;
        let err = err.unwrap_err();
        assert!(err.to_string().contains("refusing plain http://"), "{err}");
    }
}
