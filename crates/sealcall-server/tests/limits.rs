//! WebSocket limits: a client flooding messages is cut off with the `rate_limited` error code
//! while other clients' calls continue; caps on connections per user and per address answer
//! 429 at the upgrade; a connection that sends nothing (not even a pong) is closed as idle
//! while one that answers the pings stays.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
mod common;

use std::time::Duration;

use common::*;
use futures_util::SinkExt;
use sealcall_signaling::{ClientMessage, ErrorCode, SdpKind, SdpText, ServerMessage};
use tokio_tungstenite::tungstenite::Message;

both_stores! {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_flooding_client_is_cut_off_with_the_error_code_and_other_calls_continue() {
        let s = TestServer::start_with(|c| {
            c.ws_limits.messages_per_second = 20;
            c.ws_limits.burst = 40;
        })
        .await;
        let mut ken = s.device(KEN, 1).await;
        let mut ana = s.device(ANA, 2).await;
        let mut bo = s.device(BO, 3).await;
        let (call_id, _) = TestServer::answered(&mut ken, &mut ana, ANA).await;

        // Bo floods: 500 pings as fast as the socket takes them.
        let flood = encode_ping();
        for _ in 0..500 {
            if bo
                .ws
                .feed(Message::Text(flood.clone().into()))
                .await
                .is_err()
            {
                break;
            }
        }
        let _ = bo.ws.flush().await;
        let mut cut_off = None;
        let mut pongs = 0;
        for _ in 0..600 {
            match tokio::time::timeout(
                Duration::from_secs(5),
                futures_util::StreamExt::next(&mut bo.ws),
            )
            .await
            {
                Ok(Some(Ok(Message::Text(t)))) => {
                    match sealcall_signaling::parse_server_message(t.as_bytes()).unwrap() {
                        ServerMessage::Pong { .. } => pongs += 1,
                        ServerMessage::Error { code, message } => {
                            assert_eq!(code, ErrorCode::RateLimited, "{message}");
                            assert!(message.contains("messages a second"), "{message}");
                            cut_off = Some(message);
                        }
                        other => panic!("{other:?}"),
                    }
                }
                Ok(Some(Ok(Message::Close(frame)))) => {
                    assert_eq!(frame.map(|f| u16::from(f.code)), Some(1008));
                    break;
                }
                Ok(Some(Ok(_))) => continue,
                Ok(None) | Ok(Some(Err(_))) => break,
                Err(_) => panic!("the flooding client was not cut off"),
            }
        }
        eprintln!("flooder answered {pongs} pings, then: {cut_off:?}");
        assert!(cut_off.is_some(), "an error with the rate_limited code");
        assert!(pongs <= 45, "the burst allows about 40, got {pongs}");

        // Ken and Ana's call carries on, both ways.
        for n in 0..10 {
            ken.send(ClientMessage::Sdp {
                call_id: call_id.clone(),
                kind: SdpKind::Offer,
                sdp: SdpText::new(format!("v=0 offer {n}")).unwrap(),
            })
            .await;
            assert!(matches!(ana.recv_call().await, ServerMessage::Sdp { .. }));
            ana.send(ClientMessage::Sdp {
                call_id: call_id.clone(),
                kind: SdpKind::Answer,
                sdp: SdpText::new(format!("v=0 answer {n}")).unwrap(),
            })
            .await;
            assert!(matches!(ken.recv_call().await, ServerMessage::Sdp { .. }));
        }
    }
}

fn encode_ping() -> String {
    sealcall_signaling::encode_client(&ClientMessage::Ping { nonce: 7 }).unwrap()
}

both_stores! {
    #[tokio::test]
    async fn connections_per_user_and_per_address_are_capped_with_429() {
        let s = TestServer::start_with(|c| {
            c.ws_limits.max_per_user = 2;
            c.ws_limits.max_per_address = 3;
        })
        .await;
        let _k1 = s.device(KEN, 1).await;
        let _k2 = s.device(KEN, 2).await;
        let token = s.sign_in(KEN).await;
        let third = s.register_device(&token, 3, "Linux").await;
        let refused = Device::connect(s.addr(), &token, &third)
            .await
            .err()
            .expect("refused");
        assert!(refused.to_string().contains("429"), "{refused}");
        // A second connection of an already connected device replaces it: not counted twice.
        let _ana = s.device(ANA, 4).await;
        let bo_token = s.sign_in(BO).await;
        let bo = s.register_device(&bo_token, 5, "Linux").await;
        let refused = Device::connect(s.addr(), &bo_token, &bo)
            .await
            .err()
            .expect("refused");
        assert!(
            refused.to_string().contains("429"),
            "per address: {refused}"
        );
        drop(_ana);
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(
            Device::connect(s.addr(), &bo_token, &bo).await.is_ok(),
            "a slot came free"
        );
    }
}

both_stores! {
    #[tokio::test]
    async fn an_idle_connection_is_closed_and_one_that_answers_pings_stays() {
        let s = TestServer::start_with(|c| {
            c.ws_limits.idle_timeout = Duration::from_millis(800);
            c.ws_limits.ping_interval = Duration::from_millis(200);
        })
        .await;
        let mut silent = s.device(KEN, 1).await;
        let mut lively = s.device(ANA, 2).await;
        // Reading answers the pings (tungstenite replies with pongs).
        assert!(
            lively
                .closed_within(Duration::from_millis(1500))
                .await
                .is_none()
        );
        // The silent one never read, so never answered: closed as idle.
        let (code, _) = silent
            .closed_within(Duration::from_secs(2))
            .await
            .expect("closed");
        assert_eq!(code, 4002);
        assert!(
            lively
                .closed_within(Duration::from_millis(500))
                .await
                .is_none()
        );
    }
}

both_stores! {
    #[tokio::test]
    async fn a_connection_that_sends_nothing_or_stops_mid_request_is_closed() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let s = TestServer::start_with(|c| c.http_idle_timeout = Duration::from_millis(400)).await;
        let mut silent = tokio::net::TcpStream::connect(s.addr()).await.unwrap();
        let mut half = tokio::net::TcpStream::connect(s.addr()).await.unwrap();
        half.write_all(b"POST /sign-in HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\n{")
            .await
            .unwrap();
        for (what, conn) in [("silent", &mut silent), ("half a request", &mut half)] {
            // Closed (end of stream or a reset), after at most an error response.
            let mut got = Vec::new();
            let read = tokio::time::timeout(Duration::from_secs(3), conn.read_to_end(&mut got))
                .await
                .unwrap_or_else(|_| panic!("{what}: still open after 3 s"));
            let text = String::from_utf8_lossy(&got);
            eprintln!("{what}: {read:?} {text:?}");
            assert!(
                got.is_empty() || text.starts_with("HTTP/1.1 4"),
                "{what}: {text}"
            );
        }
        // A client that talks is served as usual.
        assert_eq!(s.get("/healthz", "").await.0, 200);
    }
}
