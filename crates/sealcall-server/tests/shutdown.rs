//! Graceful shutdown: devices are told to reconnect, nothing new is accepted, devices that stay
//! are closed with 1001 at the end of the grace, and devices that leave let it end sooner.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::*;
use sealcall_signaling::*;

#[tokio::test]
async fn devices_are_told_to_reconnect_and_those_that_stay_are_closed_after_the_grace() {
    let mut s = TestServer::start_with(|c| c.shutdown_grace = Duration::from_millis(500)).await;
    let mut ken = s.device(KEN, 1).await;
    let mut ana = s.device(ANA, 2).await;
    // A ringing call when the server stops.
    let call_id = TestServer::ringing(&mut ken, &mut ana, ANA).await;
    let token = s.sign_in(BO).await;
    let bo = s.register_device(&token, 3, "Linux").await;

    let handle = s.handle.take().unwrap();
    let addr = handle.addr();
    let started = Instant::now();
    let stopping = tokio::spawn(handle.shutdown());
    assert_eq!(ken.recv_call().await, ServerMessage::Reconnect {});
    assert_eq!(ana.recv_call().await, ServerMessage::Reconnect {});
    // Nothing new is accepted while draining.
    assert!(
        Device::connect(addr, &token, &bo).await.is_err(),
        "a new WebSocket was accepted during shutdown"
    );
    // Signaling still flows during the grace: Ana's ringing reaches Ken.
    ana.send(ClientMessage::Ringing {
        call_id: call_id.clone(),
    })
    .await;
    assert!(matches!(
        ken.recv_call().await,
        ServerMessage::Ringing { .. }
    ));
    // Neither device leaves: both are closed with 1001 at the end of the grace.
    for d in [&mut ken, &mut ana] {
        let (code, _) = d.closed_within(Duration::from_secs(10)).await.unwrap();
        assert_eq!(code, 1001);
    }
    stopping.await.unwrap().unwrap();
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(500),
        "closed before the grace: {took:?}"
    );
    assert!(took < Duration::from_secs(10), "shutdown took {took:?}");
}

#[tokio::test]
async fn shutdown_ends_when_the_devices_have_left() {
    let mut s = TestServer::start_with(|c| c.shutdown_grace = Duration::from_secs(60)).await;
    let mut ken = s.device(KEN, 1).await;
    let handle = s.handle.take().unwrap();
    let started = Instant::now();
    let stopping = tokio::spawn(handle.shutdown());
    assert_eq!(ken.recv_call().await, ServerMessage::Reconnect {});
    drop(ken);
    stopping.await.unwrap().unwrap();
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(30),
        "shutdown waited for the grace although every device had left: {took:?}"
    );
}
