//! Bounded load: 200 WebSocket clients (100 calls) exchange 10,000 signaling messages through
//! the server; none may be lost. Prints p50/p99 forwarding latency (not asserted: speed targets
//! live in benches).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use futures_util::{SinkExt, StreamExt};
use sealcall_policy::UserId;
use sealcall_server::{PasswordCost, cli};
use sealcall_signaling::*;
use tokio_tungstenite::tungstenite::Message;

const PAIRS: usize = 100;
const PER_CLIENT: usize = 50;

both_stores! {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_hundred_clients_exchange_ten_thousand_messages_without_loss() {
        let s = TestServer::start().await;
        let cost = PasswordCost::insecure_for_tests();
        let db = s.db.clone();
        blocking(move || {
            for i in 0..PAIRS * 2 {
                cli::user_add(
                    &db,
                    &format!("load{i}@contoso.com"),
                    &format!("Load {i}"),
                    PASSWORD,
                    &[],
                    cost,
                )
                .unwrap();
            }
        })
        .await;
        let mut devices = Vec::new();
        for i in 0..PAIRS * 2 {
            devices.push(s.device(&format!("load{i}@contoso.com"), 7).await);
        }
        // Pair 2k calls 2k+1.
        let mut calls = Vec::new();
        let mut iter = devices.into_iter();
        while let (Some(mut a), Some(mut b)) = (iter.next(), iter.next()) {
            let callee = UserId::new(&format!("load{}@contoso.com", calls.len() * 2 + 1)).unwrap();
            a.send(ClientMessage::Invite { callee }).await;
            let ServerMessage::InviteSent { call_id, .. } = a.recv().await else {
                panic!()
            };
            assert!(matches!(b.recv().await, ServerMessage::IncomingCall { .. }));
            b.send(ClientMessage::Accept {
                call_id: call_id.clone(),
            })
            .await;
            assert!(matches!(a.recv().await, ServerMessage::CallAccepted { .. }));
            assert!(matches!(b.recv().await, ServerMessage::CallAccepted { .. }));
            calls.push((call_id, a, b));
        }
        let base = Arc::new(Instant::now());
        let started = Instant::now();
        let mut tasks = Vec::new();
        for (call_id, a, b) in calls {
            for d in [a, b] {
                let base = Arc::clone(&base);
                let call_id = call_id.clone();
                tasks.push(tokio::spawn(async move {
                    let (mut sink, mut stream) = d.ws.split();
                    let send = async {
                        for _ in 0..PER_CLIENT {
                            let nanos = u64::try_from(base.elapsed().as_nanos()).unwrap();
                            let msg = ClientMessage::Handshake {
                                call_id: call_id.clone(),
                                data: HandshakeBytes::new(nanos.to_be_bytes().to_vec()).unwrap(),
                            };
                            sink.send(Message::Text(encode_client(&msg).unwrap().into()))
                                .await
                                .unwrap();
                        }
                        sink
                    };
                    let recv = async {
                        let mut latencies = Vec::with_capacity(PER_CLIENT);
                        while latencies.len() < PER_CLIENT {
                            let frame = tokio::time::timeout(Duration::from_secs(30), stream.next())
                                .await
                                .expect("message lost or stalled")
                                .unwrap()
                                .unwrap();
                            let Message::Text(t) = frame else { continue };
                            if let ServerMessage::Handshake { data, .. } =
                                parse_server_message(t.as_bytes()).unwrap()
                            {
                                let sent = u64::from_be_bytes(data.as_bytes().try_into().unwrap());
                                let now = u64::try_from(base.elapsed().as_nanos()).unwrap();
                                latencies.push(Duration::from_nanos(now - sent));
                            }
                        }
                        latencies
                    };
                    let (_sink, latencies) = tokio::join!(send, recv);
                    latencies
                }));
            }
        }
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await.unwrap());
        }
        let elapsed = started.elapsed();
        assert_eq!(all.len(), PAIRS * 2 * PER_CLIENT, "every message arrived");
        all.sort();
        let p50 = all[all.len() / 2];
        let p99 = all[all.len() * 99 / 100];
        eprintln!(
            "load: {} clients, {} messages in {elapsed:?}; forwarding latency p50 {p50:?}, p99 {p99:?}",
            PAIRS * 2,
            all.len()
        );
    }
}
