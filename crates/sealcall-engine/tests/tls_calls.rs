//! The engine over HTTPS and WSS: a server with a self-signed certificate (made with rcgen), a
//! full end-to-end encrypted call between two engines that pin it, and the refusals (an
//! untrusted certificate, with a message that says how to trust it; a wrong pin; plain http://
//! to a host that is not loopback).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use sealcall_engine::{Engine, EngineConfig, EngineError, EngineEvent, Trust};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_e2ee_call_runs_over_https_and_wss_with_a_pinned_certificate() {
    let server = TestServer::start_tls().await;
    assert!(
        server.url.starts_with("https://127.0.0.1:"),
        "{}",
        server.url
    );
    // Ken trusts the certificate file as a CA, Ana pins its fingerprint.
    let ca = server.cert_file();
    let mut pair = server
        .pair(
            ("ken-hears.wav", "ana-hears.wav"),
            |k, _| k.trust = Trust::ca_file(&ca),
            (true, true),
        )
        .await;
    let (ken, ken_ev, ana_ev) = (&pair.ken, &mut pair.ken_ev, &mut pair.ana_ev);
    ken.call(ANA).unwrap();
    let code = |ev: &EngineEvent| match ev {
        EngineEvent::SecurityCode { code, .. } => Some(code.clone()),
        _ => None,
    };
    let ken_code = wait_for(ken_ev, 15, code).await;
    let ana_code = wait_for(ana_ev, 15, code).await;
    assert_eq!(ken_code, ana_code);
    assert!(connected(ken_ev).await, "end-to-end encrypted");
    assert!(connected(ana_ev).await, "end-to-end encrypted");
    let stats = wait_for(ken_ev, 10, |e| match e {
        EngineEvent::Stats { stats, .. } if stats.inbound.frames > 25 => Some(stats.clone()),
        _ => None,
    })
    .await;
    assert!(stats.end_to_end && stats.inbound.auth_failures == 0);
    ken.hangup().unwrap();
    ended(ken_ev).await;
    ended(ana_ev).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untrusted_certificate_a_wrong_pin_and_remote_http_are_refused_clearly() {
    let server = TestServer::start_tls().await;
    let pin = server.trust().pin.unwrap();

    // The system's roots do not know a self-signed certificate.
    let mut untrusted = EngineConfig::new(&server.url, KEN, PASSWORD);
    untrusted.trust = Trust::default();
    let err = Engine::connect(untrusted).await.err().expect("refused");
    let text = err.to_string();
    assert!(matches!(err, EngineError::Tls(_)), "{err:?}");
    assert!(text.contains("not trusted"), "{text}");
    assert!(
        text.contains("--ca-file") && text.contains("--pin"),
        "{text}"
    );
    assert!(
        text.contains(&pin.to_string()),
        "the fingerprint is shown: {text}"
    );

    // A pin of another certificate.
    let other = sealcall_server::SelfSigned::generate(&["other.test".into()]).unwrap();
    let mut wrong = EngineConfig::new(&server.url, KEN, PASSWORD);
    wrong.trust = Trust::pinned(other.fingerprint);
    let text = Engine::connect(wrong)
        .await
        .err()
        .expect("refused")
        .to_string();
    assert!(
        text.contains("does not match the pinned fingerprint"),
        "{text}"
    );

    // Plain http:// to a host that is not loopback: refused before any connection.
    for url in ["http://10.0.0.1:7878", "http://calls.contoso.com"] {
        let err = Engine::connect(EngineConfig::new(url, KEN, PASSWORD))
            .await
            .err()
            .expect("refused");
        assert!(err.to_string().contains("refusing plain http://"), "{err}");
    }

    // The right pin works.
    let mut pinned = EngineConfig::new(&server.url, KEN, PASSWORD);
    pinned.trust = Trust::pinned(pin);
    let (engine, _events) = Engine::connect(pinned).await.unwrap();
    assert_eq!(engine.info().user, KEN);
    engine.shutdown().await.unwrap();
}
