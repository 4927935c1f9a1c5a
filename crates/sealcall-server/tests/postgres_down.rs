//! PostgreSQL stopped under a running server: requests fail at once with a clear 503 (nothing
//! half-done), connected devices stay connected, and everything works again when PostgreSQL is
//! back, without restarting the server. Its own test binary, so stopping the cluster disturbs no
//! other test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
mod common;

use std::time::{Duration, Instant};

use common::*;
use sealcall_server::testing::postgres;

#[tokio::test]
async fn requests_fail_clearly_while_postgresql_is_down_and_succeed_again_when_it_is_back() {
    with_store(TestStore::Postgres, async {
        let s = TestServer::start().await;
        let mut ken = s.device(KEN, 1).await;
        let token = s.sign_in(ANA).await;
        let cluster = postgres::cluster().unwrap();
        blocking(|| cluster.stop_server()).await.unwrap();

        let down = Instant::now();
        let (status, body) = s.get("/me", &token).await;
        let took = down.elapsed();
        eprintln!("request while PostgreSQL is down: {status} after {took:?}");
        assert_eq!(status, 503, "{body}");
        assert_eq!(
            body["error"],
            "the server's database is unavailable: try again shortly"
        );
        assert!(took < Duration::from_secs(10), "{took:?}");
        let (status, _) = s
            .send(
                "POST",
                "/sign-in",
                None,
                serde_json::json!({"user": BO, "password": PASSWORD}),
            )
            .await;
        assert_eq!(status, 503, "a sign-in fails the same way");

        let back = Instant::now();
        blocking(|| cluster.start_server()).await.unwrap();
        eprintln!("PostgreSQL restarted in {:?}", back.elapsed());
        let (status, me) = s.get("/me", &token).await;
        assert_eq!(status, 200, "{me}");
        assert_eq!(me["user"], ANA);
        // The device's socket survived the outage (its session was never found missing).
        ken.send(sealcall_signaling::ClientMessage::Invite {
            callee: ANA.parse().unwrap(),
        })
        .await;
        assert!(
            matches!(
                ken.recv_call().await,
                sealcall_signaling::ServerMessage::CallFailed { .. }
            ),
            "Ana has no device online: the call fails cleanly"
        );
        let bo = s.sign_in(BO).await;
        assert_eq!(bo.len(), 64, "a write (a new session) works again");
    })
    .await;
}
