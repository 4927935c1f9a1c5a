//! A malicious signaling path: a WebSocket proxy between one engine and the real server swaps the
//! other party's handshake key in transit (as a server that wanted to read the call would). The
//! call must fail its handshake or show two different security codes; it must never be
//! end-to-end encrypted with matching codes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::result_large_err)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use common::signaling_proxy::signaling_proxy;
use common::*;
use sealcall_e2ee::HandshakeMessage;
use sealcall_engine::EngineEvent;
use sealcall_engine::call::CallEvent;
use sealcall_signaling::{HandshakeBytes, ServerMessage, encode_server, parse_server_message};

/// Starts a WebSocket proxy to `server` that replaces the ephemeral key in every handshake
/// `Response` it delivers. Returns its `ws://` base and a counter of swapped messages.
async fn tampering_proxy(server: &str) -> (String, Arc<AtomicU32>) {
    let swapped = Arc::new(AtomicU32::new(0));
    let counter = swapped.clone();
    let base = signaling_proxy(
        server,
        Arc::new(move |text: String| {
            let out = tamper(&text, &counter);
            Box::pin(async move { out })
        }),
    )
    .await;
    (base, swapped)
}

fn tamper(text: &str, counter: &AtomicU32) -> String {
    let Ok(ServerMessage::Handshake { call_id, data }) = parse_server_message(text.as_bytes())
    else {
        return text.to_owned();
    };
    let Ok(HandshakeMessage::Response(mut r)) = HandshakeMessage::parse(data.as_bytes()) else {
        return text.to_owned();
    };
    // The attacker's own X25519 key in place of the callee's.
    let attacker = x25519_dalek::PublicKey::from(&x25519_dalek::StaticSecret::from([42u8; 32]));
    r.callee_ephemeral = attacker.to_bytes();
    counter.fetch_add(1, Ordering::Relaxed);
    let forged = HandshakeMessage::Response(r).encode().unwrap();
    encode_server(&ServerMessage::Handshake {
        call_id,
        data: HandshakeBytes::new(forged).unwrap(),
    })
    .unwrap()
}

#[derive(Debug, Default)]
struct Seen {
    code: Option<String>,
    e2ee_connected: bool,
    ended: bool,
}

fn observe(seen: &mut Seen, e: &EngineEvent) {
    match e {
        EngineEvent::SecurityCode { code, .. } => seen.code = Some(code.clone()),
        EngineEvent::Call(CallEvent::Connected {
            end_to_end: true, ..
        }) => seen.e2ee_connected = true,
        EngineEvent::Call(CallEvent::Ended { .. }) => seen.ended = true,
        _ => {}
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_swapping_handshake_keys_never_gets_a_silent_e2ee_call() {
    let server = TestServer::start().await;
    server.cmdlet(ALLOW_E2EE).await;
    let (proxy, swapped) = tampering_proxy(&server.url).await;
    let mut ken_cfg = server.config(KEN, "tone:440", &server.wav("k.wav"));
    ken_cfg.signaling = Some(proxy);
    ken_cfg.timers.connect_timeout = Duration::from_secs(5);
    let (ken, mut ken_ev) = engine(ken_cfg).await;
    let mut ana_cfg = server.config(ANA, "tone:880", &server.wav("a.wav"));
    ana_cfg.auto_answer = true;
    ana_cfg.timers.connect_timeout = Duration::from_secs(5);
    let (ana, mut ana_ev) = engine(ana_cfg).await;
    ken.set_e2ee(true).await.unwrap();
    ana.set_e2ee(true).await.unwrap();

    ken.call(ANA).unwrap();
    let (mut k, mut a) = (Seen::default(), Seen::default());
    let _ = tokio::time::timeout(Duration::from_secs(20), async {
        while !(k.ended && a.ended) {
            tokio::select! {
                Some(e) = ken_ev.recv() => observe(&mut k, &e),
                Some(e) = ana_ev.recv() => observe(&mut a, &e),
            }
        }
    })
    .await;
    eprintln!(
        "swapped {} handshake message(s); ken {k:?}; ana {a:?}",
        swapped.load(Ordering::Relaxed)
    );
    assert!(swapped.load(Ordering::Relaxed) > 0, "the proxy did tamper");
    let silent_e2ee = k.e2ee_connected && a.e2ee_connected && k.code.is_some() && k.code == a.code;
    assert!(
        !silent_e2ee,
        "an E2EE call with matching codes despite the swapped key"
    );
    assert!(
        k.code.is_none() || a.code.is_none() || k.code != a.code,
        "codes must differ if both sides got one"
    );
    assert!(k.ended && a.ended, "the tampered call ended on both sides");
}
