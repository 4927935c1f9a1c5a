//! `Debug` of every client type that holds a session token or a password shows neither: the
//! engine's configuration, its API client and sign-in result after a real sign-in, the
//! server-side types the clients use (the CLI's HTTP client, TURN credentials and secret), and
//! TLS material.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use sealcall_engine::api::ApiClient;
use sealcall_engine::{Engine, EngineConfig};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn debug_output_never_shows_a_token_or_a_password() {
    let server = TestServer::start_tls().await;
    let config = server.config(KEN, "tone:440", &server.wav("unused.wav"));
    let shown = format!("{config:?}");
    assert!(!shown.contains(PASSWORD), "EngineConfig: {shown}");

    let mut api = ApiClient::with_trust(&server.url, &server.trust()).unwrap();
    let signed = api.sign_in(KEN, PASSWORD).await.unwrap();
    let token = signed.token.clone();
    assert_eq!(token.len(), 64);
    for (what, text) in [
        ("SignIn", format!("{signed:?}")),
        ("ApiClient", format!("{api:?}")),
        ("ApiClient (alternate)", format!("{api:#?}")),
    ] {
        assert!(!text.contains(&token), "{what} shows the token: {text}");
        assert!(
            !text.contains(PASSWORD),
            "{what} shows the password: {text}"
        );
    }

    // The engine erases its copy of the password once signed in; its errors carry neither.
    let (engine, _events) = Engine::connect(config).await.unwrap();
    let mut wrong = EngineConfig::new(&server.url, KEN, "not the password");
    wrong.trust = server.trust();
    let err = Engine::connect(wrong).await.err().expect("wrong password");
    assert!(!format!("{err:?} {err}").contains("not the password"));
    engine.shutdown().await.unwrap();

    // The command line's HTTP client holds no token; TURN credentials and secrets are hidden.
    let http = sealcall_server::HttpClient::with_trust(&server.url, &server.trust()).unwrap();
    assert!(!format!("{http:?}").contains(&token));
    let secret =
        sealcall_server::TurnSecret::new(b"0123456789abcdef0123456789abcdef!".to_vec()).unwrap();
    assert!(!format!("{secret:?}").contains("0123456789"));
    let creds = sealcall_signaling::TurnCredentials {
        urls: vec![],
        username: "1:call:device".into(),
        credential: "c2VjcmV0LWNyZWRlbnRpYWw=".into(),
        expires_at: 1,
    };
    assert!(!format!("{creds:?}").contains("c2VjcmV0"));
    let cert = sealcall_server::SelfSigned::generate(&["a.test".into()]).unwrap();
    assert!(!format!("{cert:?}").contains("PRIVATE KEY"));
}
