//! The embedded TURN relay: an allocation works with credentials from an invite, and fails
//! with expired or forged ones.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use sealcall_server::TurnConfig;
use sealcall_signaling::*;
use turn::client::{Client, ClientConfig};

async fn allocate(
    server: std::net::SocketAddr,
    username: &str,
    password: &str,
) -> Result<(), String> {
    let conn = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let client = Client::new(ClientConfig {
        stun_serv_addr: server.to_string(),
        turn_serv_addr: server.to_string(),
        username: username.to_owned(),
        password: password.to_owned(),
        realm: "sealcall".to_owned(),
        software: String::new(),
        rto_in_ms: 0,
        conn: Arc::new(conn),
        vnet: None,
    })
    .await
    .map_err(|e| e.to_string())?;
    client.listen().await.map_err(|e| e.to_string())?;
    let result = tokio::time::timeout(Duration::from_secs(10), client.allocate())
        .await
        .map_err(|_| "timed out".to_owned())
        .and_then(|r| r.map(|_relay| ()).map_err(|e| e.to_string()));
    let _ = client.close().await;
    result
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invite_credentials_allocate_and_expired_or_forged_ones_do_not() {
    let s = TestServer::start_with(|c| {
        c.turn = Some(TurnConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            ..TurnConfig::default()
        });
    })
    .await;
    let relay_addr = s.handle.as_ref().unwrap().turn_addr().unwrap();
    let mut ken = s.device(KEN, 1).await;
    let mut ana = s.device(ANA, 2).await;
    ken.send(ClientMessage::Invite {
        callee: sealcall_policy::UserId::new(ANA).unwrap(),
    })
    .await;
    let ServerMessage::InviteSent {
        call_id,
        turn: caller_turn,
        ..
    } = ken.recv().await
    else {
        panic!()
    };
    let ServerMessage::IncomingCall {
        turn: callee_turn, ..
    } = ana.recv().await
    else {
        panic!()
    };
    assert_eq!(
        caller_turn.urls,
        vec![format!("turn:{relay_addr}?transport=udp")]
    );
    assert_ne!(
        caller_turn.username, callee_turn.username,
        "per-party credentials"
    );
    assert!(caller_turn.username.contains(call_id.as_str()));

    allocate(relay_addr, &caller_turn.username, &caller_turn.credential)
        .await
        .unwrap();
    allocate(relay_addr, &callee_turn.username, &callee_turn.credential)
        .await
        .unwrap();

    let relay = s.handle.as_ref().unwrap().relay().unwrap();
    let expired = relay.credentials_expiring(&call_id, "caller", 1_000);
    assert!(
        allocate(relay_addr, &expired.username, &expired.credential)
            .await
            .is_err()
    );
    assert!(
        allocate(relay_addr, &caller_turn.username, "Zm9yZ2Vk")
            .await
            .is_err()
    );
    let other_name = caller_turn.username.replace("caller", "mallory");
    assert!(
        allocate(relay_addr, &other_name, &caller_turn.credential)
            .await
            .is_err()
    );
}
