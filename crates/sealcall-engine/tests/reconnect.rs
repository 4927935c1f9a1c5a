//! Server loss: the server stops and starts again on the same address and database file; a
//! signed-in engine reconnects with backoff, keeps its session, and settings sync resumes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::*;
use sealcall_engine::{ConnectionState, EngineEvent};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_engine_reconnects_after_a_server_restart_and_sync_resumes() {
    let mut server = TestServer::start().await;
    server.cmdlet(ALLOW_E2EE).await;
    let (ken, mut ken_ev) = engine(server.config(KEN, "silence", &server.wav("k.wav"))).await;
    let (ken2, _ken2_ev) = engine(server.config(KEN, "silence", &server.wav("k2.wav"))).await;

    // Stop the server: the engine notices and starts reconnecting.
    let addr = server.addr();
    server.stop().await;
    wait_for(&mut ken_ev, 10, |e| {
        matches!(e, EngineEvent::Connection(ConnectionState::Reconnecting(_))).then_some(())
    })
    .await;

    // Start it again on the same address and file.
    let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
    server.restart(listener).await;
    wait_for(&mut ken_ev, 20, |e| {
        matches!(e, EngineEvent::Connection(ConnectionState::Connected)).then_some(())
    })
    .await;

    // The session survived the restart, and a change on the other device reaches this one.
    let view = ken2.set_e2ee(true).await.unwrap();
    assert!(view.effective);
    let synced = wait_for(&mut ken_ev, 10, |e| match e {
        EngineEvent::Setting(v) if v.effective => Some(v.clone()),
        _ => None,
    })
    .await;
    assert!(synced.stored_choice);
    assert!(ken.e2ee_setting().await.unwrap().effective);
    tokio::time::sleep(Duration::from_millis(100)).await;
}
