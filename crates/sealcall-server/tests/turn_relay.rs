//! The embedded TURN relay: credentials come only with the answer, for the call's two devices,
//! and stop working once the call ends; expired, forged, renamed or unanswered-call credentials
//! fail. Relay permissions to loopback, private and metadata addresses are refused by default
//! and allowed with `--relay-allow` (`TurnConfig::allow`); one secret can be shared by nodes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::*;
use sealcall_server::{TurnConfig, TurnSecret};
use sealcall_signaling::*;

/// Ken calls Ana and Ana answers: the call id and each side's relay credentials.
async fn answered_call(
    s: &TestServer,
) -> (Device, Device, CallId, TurnCredentials, TurnCredentials) {
    let mut ken = s.device(KEN, 1).await;
    let mut ana = s.device(ANA, 2).await;
    let (call_id, accepted) = TestServer::answered(&mut ken, &mut ana, ANA).await;
    let mut creds: Vec<TurnCredentials> = accepted
        .into_iter()
        .map(|m| match m {
            ServerMessage::CallAccepted { turn: Some(t), .. } => t,
            other => panic!("no relay credentials with the answer: {other:?}"),
        })
        .collect();
    let callee = creds.pop().unwrap();
    let caller = creds.pop().unwrap();
    (ken, ana, call_id, caller, callee)
}

fn relay_on(listen: &str, relay_ip: &str, allow: &[&str]) -> TurnConfig {
    TurnConfig {
        listen: listen.parse().unwrap(),
        relay_ip: relay_ip.parse().unwrap(),
        allow: allow.iter().map(|a| a.parse().unwrap()).collect(),
        ..TurnConfig::default()
    }
}

both_stores! {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn credentials_come_with_the_answer_for_its_two_devices_only() {
        let s = TestServer::start_with(|c| {
            c.turn = Some(relay_on("127.0.0.1:0", "127.0.0.1", &[]));
            c.metrics_listen = Some("127.0.0.1:0".parse().unwrap());
        })
        .await;
        let relay_addr = s.handle.as_ref().unwrap().turn_addr().unwrap();
        let relay = s.handle.as_ref().unwrap().relay().unwrap();

        // A call that is only ringing: credentials for it (the relay's own, correctly signed) fail.
        let mut bo = s.device(BO, 3).await;
        let _ringing_caller = {
            let mut ken = s.device(KEN, 4).await;
            ken.send(ClientMessage::Invite {
                callee: BO.parse().unwrap(),
            })
            .await;
            let ServerMessage::InviteSent { call_id, .. } = ken.recv().await else {
                panic!()
            };
            assert!(matches!(
                bo.recv().await,
                ServerMessage::IncomingCall { .. }
            ));
            let early = relay.credentials(&call_id, &ken.id);
            let refused = allocate(relay_addr, &early.username, &early.credential, &[]).await;
            assert!(
                refused.is_err(),
                "credentials of an unanswered call must not work"
            );
            ken
        };

        let (mut ken, _ana, call_id, caller, callee) = answered_call(&s).await;
        assert_eq!(
            caller.urls,
            vec![format!("turn:{relay_addr}?transport=udp")]
        );
        assert_ne!(caller.username, callee.username, "per-device credentials");
        assert!(caller.username.contains(call_id.as_str()) && caller.username.ends_with(&ken.id));
        allocate(relay_addr, &caller.username, &caller.credential, &[])
            .await
            .unwrap();
        allocate(relay_addr, &callee.username, &callee.credential, &[])
            .await
            .unwrap();

        // Expired, forged, or naming another device: refused.
        let expired = relay.credentials_expiring(&call_id, &ken.id, 1_000);
        assert!(
            allocate(relay_addr, &expired.username, &expired.credential, &[])
                .await
                .is_err()
        );
        assert!(
            allocate(relay_addr, &caller.username, "Zm9yZ2Vk", &[])
                .await
                .is_err()
        );
        let bo_creds = relay.credentials(&call_id, &bo.id);
        assert!(
            allocate(relay_addr, &bo_creds.username, &bo_creds.credential, &[])
                .await
                .is_err(),
            "a device outside the call"
        );
        // Once the call ends, its credentials stop working.
        ken.send(ClientMessage::Hangup { call_id }).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(
            allocate(relay_addr, &caller.username, &caller.credential, &[])
                .await
                .is_err()
        );
        // Metrics: the two granted allocations, and the credentials issued (the ringing call's,
        // the answered call's two and Bo's; not the hand-made expired ones).
        let metrics = s.handle.as_ref().unwrap().metrics_addr().unwrap();
        let (_, text) = http_get(metrics, "/metrics", None).await;
        assert_eq!(
            series_value(&text, "sealcall_relay_allocations_total"),
            2.0,
            "{text}"
        );
        assert_eq!(
            series_value(&text, "sealcall_relay_credentials_issued_total"),
            4.0,
            "{text}"
        );
    }
}

both_stores! {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn permissions_to_loopback_private_and_metadata_addresses_are_refused_unless_allowed() {
        let peers: Vec<SocketAddr> = ["127.0.0.1:9", "10.0.0.1:9", "169.254.169.254:80", "[::1]:9"]
            .iter()
            .map(|p| p.parse().unwrap())
            .collect();
        let public: SocketAddr = "192.0.2.10:9".parse().unwrap();

        // By default: each special address is refused (403), a public one is allowed.
        let s = TestServer::start_with(|c| {
            c.turn = Some(relay_on("127.0.0.1:0", "127.0.0.1", &[]));
            c.metrics_listen = Some("127.0.0.1:0".parse().unwrap());
        })
        .await;
        let relay_addr = s.handle.as_ref().unwrap().turn_addr().unwrap();
        let (_k, _a, _id, caller, _) = answered_call(&s).await;
        let mut all = peers.clone();
        all.push(public);
        let outcome = allocate(relay_addr, &caller.username, &caller.credential, &all)
            .await
            .unwrap();
        for (peer, result) in all.iter().zip(&outcome) {
            eprintln!("default relay, permission to {peer}: {result:?}");
        }
        for (peer, result) in peers.iter().zip(&outcome) {
            let e = result
                .as_ref()
                .expect_err(&format!("{peer} must be refused"));
            assert!(e.contains("403") || e.contains("Forbidden"), "{peer}: {e}");
        }
        assert!(
            outcome[4].is_ok(),
            "a public peer is allowed: {:?}",
            outcome[4]
        );

        // With --relay-allow for those ranges: allowed.
        let allow = ["127.0.0.0/8", "10.0.0.0/8", "169.254.169.254/32"];
        let s = TestServer::start_with(|c| c.turn = Some(relay_on("127.0.0.1:0", "127.0.0.1", &allow)))
            .await;
        let relay_addr = s.handle.as_ref().unwrap().turn_addr().unwrap();
        let (_k, _a, _id, caller, _) = answered_call(&s).await;
        let outcome = allocate(
            relay_addr,
            &caller.username,
            &caller.credential,
            &peers[..3],
        )
        .await
        .unwrap();
        for (peer, result) in peers.iter().zip(&outcome) {
            assert!(
                result.is_ok(),
                "{peer} allowed with --relay-allow: {result:?}"
            );
        }

        // ::1 is refused above on the IPv4 relay before the family check; the turn crate allocates
        // IPv4 relay addresses only, so its allow-path is checked on the rule itself (relay.rs).
    }
}

both_stores! {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_configured_secret_is_shared_by_two_relays() {
        let secret = TurnSecret::new(b"a secret shared by every node, 32+ bytes".to_vec()).unwrap();
        assert!(!format!("{secret:?}").contains("shared"));
        assert!(TurnSecret::new(b"short".to_vec()).is_err());
        let mut one = relay_on("127.0.0.1:0", "127.0.0.1", &[]);
        one.secret = Some(secret.clone());
        let s = TestServer::start_with(|c| c.turn = Some(one.clone())).await;
        let (_k, _a, call_id, caller, _) = answered_call(&s).await;
        // Another node with the same secret computes the same credential for the same name.
        let other = TestServer::start_with(|c| c.turn = Some(one)).await;
        let theirs = other
            .handle
            .as_ref()
            .unwrap()
            .relay()
            .unwrap()
            .credentials_expiring(
                &call_id,
                caller.username.rsplit(':').next().unwrap(),
                caller.expires_at,
            );
        assert_eq!(theirs.credential, caller.credential);
    }
}

both_stores! {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn credentials_name_the_public_address_when_there_is_one() {
        let mut relay = relay_on("127.0.0.1:0", "127.0.0.1", &[]);
        relay.public_ip = Some("192.0.2.10".parse().unwrap());
        let s = TestServer::start_with(|c| c.turn = Some(relay)).await;
        let port = s.handle.as_ref().unwrap().turn_addr().unwrap().port();
        let (_k, _a, _call, caller, callee) = answered_call(&s).await;
        for creds in [caller, callee] {
            assert_eq!(creds.urls, vec![format!("turn:192.0.2.10:{port}?transport=udp")]);
        }
    }
}
