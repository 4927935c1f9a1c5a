//! Several server nodes on one PostgreSQL database and one Redis (`Config::redis`), each a real
//! server on 127.0.0.1:0 in this process, with real WebSocket clients: calls routed between
//! nodes, the first accept winning across nodes, settings and policy reaching every node,
//! sign-out closing sockets on every node, a Redis restart and bad Redis configuration.
//! (The processes, engines and node failures are in apps/sealcall/tests/cli_cluster.rs.)
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{ADMIN, ANA, BO, Device, KEN, TestServer, allocate, blocking, config, seed};
use sealcall_policy::{Side, UserId};
use sealcall_server::testing::postgres;
use sealcall_server::testing::redis::TestRedis;
use sealcall_server::{Config, Server, ServerError, StoreLocation, TurnConfig, TurnSecret};
use sealcall_signaling::{ClientMessage, EndReason, ServerMessage};

/// `n` nodes on one fresh PostgreSQL database (seeded) and one Redis; `None` (skip, outside
/// CI) without PostgreSQL or redis-server.
async fn nodes(n: usize, redis: &TestRedis) -> Option<Vec<TestServer>> {
    nodes_with(n, redis, |_| {}).await
}

/// [`nodes`], each configuration changed by `adjust`.
async fn nodes_with(
    n: usize,
    redis: &TestRedis,
    adjust: impl Fn(&mut Config),
) -> Option<Vec<TestServer>> {
    let db = postgres::store()?;
    let seeded = db.clone();
    blocking(move || seed(&seeded)).await;
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(node(&db, redis, &adjust).await);
    }
    Some(out)
}

/// Two nodes on a fresh Redis ([`nodes`]).
async fn two_nodes() -> Option<(TestRedis, Vec<TestServer>)> {
    let redis = TestRedis::start()?;
    let n = nodes(2, &redis).await?;
    Some((redis, n))
}

async fn node(db: &StoreLocation, redis: &TestRedis, adjust: &impl Fn(&mut Config)) -> TestServer {
    let mut c = config(db);
    c.redis = Some(redis.url());
    c.invite_timeout = Duration::from_secs(3);
    adjust(&mut c);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let handle = Server::start(c, listener).await.unwrap();
    let url = format!("http://{}", handle.addr());
    TestServer {
        http: sealcall_server::HttpClient::new(&url).unwrap(),
        url,
        dir: tempfile::tempdir().unwrap(),
        db: db.clone(),
        handle: Some(handle),
    }
}

fn uid(s: &str) -> UserId {
    s.parse().unwrap()
}

async fn ended(d: &mut Device, reason: EndReason) {
    match d.recv_call().await {
        ServerMessage::CallEnded { reason: r, .. } => assert_eq!(r, reason),
        other => panic!("expected call_ended {reason:?}, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_between_devices_on_two_nodes() {
    let Some((_redis, n)) = two_nodes().await else {
        return;
    };
    let mut ken = n[0].device(KEN, 1).await;
    let mut ana = n[1].device(ANA, 2).await;
    let (call_id, _) = TestServer::answered(&mut ken, &mut ana, ANA).await;
    // The end-to-end handshake and SDP cross from node 1 to node 2 and back, unchanged.
    ken.send(ClientMessage::Handshake {
        call_id: call_id.clone(),
        data: sealcall_signaling::HandshakeBytes::new(vec![7; 64]).unwrap(),
    })
    .await;
    match ana.recv_call().await {
        ServerMessage::Handshake { data, .. } => assert_eq!(data.as_bytes(), &[7; 64]),
        other => panic!("{other:?}"),
    }
    ana.send(ClientMessage::Sdp {
        call_id: call_id.clone(),
        kind: sealcall_signaling::SdpKind::Answer,
        sdp: sealcall_signaling::SdpText::new("v=0 answer").unwrap(),
    })
    .await;
    match ken.recv_call().await {
        ServerMessage::Sdp { sdp, .. } => assert_eq!(sdp.as_str(), "v=0 answer"),
        other => panic!("{other:?}"),
    }
    // A third device can't join: busy on both nodes.
    let mut bo = n[1].device(BO, 3).await;
    bo.send(ClientMessage::Invite { callee: uid(ANA) }).await;
    match bo.recv_call().await {
        ServerMessage::CallFailed { reason, .. } => {
            assert_eq!(reason, sealcall_signaling::FailReason::CalleeBusy)
        }
        other => panic!("{other:?}"),
    }
    ana.send(ClientMessage::Hangup { call_id }).await;
    ended(&mut ken, EndReason::HungUp).await;
    // The directory on node 2 sees Ken (on node 1) online.
    let (status, list) = n[1]
        .get(&format!("/directory?search={KEN}"), &bo.token)
        .await;
    assert_eq!(status, 200);
    assert_eq!(list[0]["online"], true, "{list}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_devices_on_two_nodes_ring_and_the_first_accept_wins() {
    let Some((_redis, n)) = two_nodes().await else {
        return;
    };
    let mut ken = n[0].device(KEN, 1).await;
    let mut ana1 = n[0].device(ANA, 2).await;
    let mut ana2 = n[1].device(ANA, 3).await;
    ken.send(ClientMessage::Invite { callee: uid(ANA) }).await;
    let ServerMessage::InviteSent {
        call_id,
        ringing_devices,
        ..
    } = ken.recv_call().await
    else {
        panic!("no invite_sent")
    };
    assert_eq!(ringing_devices, 2);
    for d in [&mut ana1, &mut ana2] {
        assert!(matches!(
            d.recv_call().await,
            ServerMessage::IncomingCall { .. }
        ));
    }
    // Both accept at once, on different nodes: exactly one wins.
    let accept = ClientMessage::Accept {
        call_id: call_id.clone(),
    };
    tokio::join!(ana1.send(accept.clone()), ana2.send(accept));
    let (a, b) = tokio::join!(ana1.recv_call(), ana2.recv_call());
    let won = |m: &ServerMessage| matches!(m, ServerMessage::CallAccepted { .. });
    assert!(won(&a) != won(&b), "exactly one accept wins: {a:?} / {b:?}");
    assert!(matches!(
        ken.recv_call().await,
        ServerMessage::CallAccepted { .. }
    ));
    // The loser stops ringing and hears that its accept came too late, in either order.
    let (loser, first) = if won(&a) {
        (&mut ana2, b)
    } else {
        (&mut ana1, a)
    };
    let second = loser.recv_call().await;
    let mut heard = [first, second].map(|m| match m {
        ServerMessage::CallEnded {
            reason: EndReason::AnsweredElsewhere,
            ..
        } => "answered elsewhere",
        ServerMessage::Error { .. } => "too late",
        other => panic!("{other:?}"),
    });
    heard.sort_unstable();
    assert_eq!(heard, ["answered elsewhere", "too late"]);
    loser.quiet(200).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_and_policy_reach_every_node() {
    let Some((_redis, n)) = two_nodes().await else {
        return;
    };
    let admin = n[1].sign_in(ADMIN).await;
    let (status, _) = n[1].cmdlet(&admin, "Set-CsTeamsEnhancedEncryptionPolicy -Identity Global -CallingEndtoEndEncryptionEnabledType DisabledUserOverride").await;
    assert_eq!(status, 200);
    let mut ana1 = n[0].device(ANA, 2).await;
    let mut ana2 = n[1].device(ANA, 3).await;
    let mut ken = n[0].device(KEN, 1).await;

    // Ana turns the setting on from her device on node 1: her device on node 2 hears it
    // within a second.
    let began = std::time::Instant::now();
    ana1.send(ClientMessage::SetE2ee { enabled: true }).await;
    let pushed = tokio::time::timeout(Duration::from_secs(1), ana2.recv()).await;
    assert!(
        matches!(&pushed, Ok(ServerMessage::SettingChanged { setting }) if setting.effective),
        "{pushed:?}"
    );
    eprintln!("setting reached the other node after {:?}", began.elapsed());
    assert!(matches!(
        ana1.recv().await,
        ServerMessage::SettingChanged { .. }
    ));

    // And off again from node 2: node 1 hears it.
    ana2.send(ClientMessage::SetE2ee { enabled: false }).await;
    for d in [&mut ana1, &mut ana2] {
        let pushed = tokio::time::timeout(Duration::from_secs(1), d.recv()).await;
        assert!(
            matches!(&pushed, Ok(ServerMessage::SettingChanged { setting }) if !setting.effective),
            "{pushed:?}"
        );
    }

    // A policy made through node 2's cmdlets: Ken's devices on node 1 hear their new setting,
    // and a call that node 1 routes follows it (refused: Ken requires end-to-end encryption,
    // Ana has it off).
    for line in [
        "New-CsTeamsEnhancedEncryptionPolicy -Identity Strict -CallingEndtoEndEncryptionEnabledType Required".to_owned(),
        format!("Grant-CsTeamsEnhancedEncryptionPolicy -Identity {KEN} -PolicyName Strict"),
    ] {
        let (status, body) = n[1].cmdlet(&admin, &line).await;
        assert_eq!(status, 200, "{body}");
    }
    let pushed = tokio::time::timeout(Duration::from_secs(1), async {
        loop {
            if let ServerMessage::SettingChanged { setting } = ken.recv().await
                && setting.effective
            {
                return setting;
            }
        }
    })
    .await;
    assert!(pushed.is_ok(), "Ken's node pushed the required setting");
    ken.send(ClientMessage::Invite { callee: uid(ANA) }).await;
    match ken.recv_call().await {
        ServerMessage::CallFailed {
            reason, decision, ..
        } => {
            assert_eq!(reason, sealcall_signaling::FailReason::PolicyRefused);
            assert_eq!(decision.unwrap().required_by, vec![Side::Caller]);
        }
        other => panic!("{other:?}"),
    }
    // Neither of Ana's devices rang (the policy pushes from the cmdlets may still arrive).
    for d in [&mut ana1, &mut ana2] {
        while let Ok(m) = tokio::time::timeout(Duration::from_millis(200), d.recv()).await {
            assert!(matches!(m, ServerMessage::SettingChanged { .. }), "{m:?}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_out_on_one_node_closes_the_socket_on_another_and_rings_time_out() {
    let Some((_redis, n)) = two_nodes().await else {
        return;
    };
    let mut ken = n[0].device(KEN, 1).await;
    let mut ana = n[1].device(ANA, 2).await;
    // Unanswered: the ring time (3 s here) ends it on both nodes.
    let _ = TestServer::ringing(&mut ken, &mut ana, ANA).await;
    ended(&mut ken, EndReason::Timeout).await;
    ended(&mut ana, EndReason::Timeout).await;

    // Ana's session, signed out through node 1, closes her socket on node 2 at once (the
    // session check would take up to its interval).
    let (status, _) = n[0]
        .send("POST", "/sign-out", Some(&ana.token), serde_json::json!({}))
        .await;
    assert_eq!(status, 204);
    let closed = ana.closed_within(Duration::from_secs(2)).await;
    assert_eq!(closed.map(|c| c.0), Some(4001), "{closed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_restart_loses_messages_in_flight_and_the_nodes_recover() {
    let Some((mut redis, n)) = two_nodes().await else {
        return;
    };
    let mut ken = n[0].device(KEN, 1).await;
    let mut ana = n[1].device(ANA, 2).await;
    redis.stop_server();
    // Redis is down: an invite fails with a clear error, nothing hangs.
    ken.send(ClientMessage::Invite { callee: uid(ANA) }).await;
    match ken.recv_call().await {
        ServerMessage::Error { message, .. } => {
            assert!(message.contains("unavailable"), "{message}")
        }
        other => panic!("{other:?}"),
    }
    // The database is not Redis: sign-in still works.
    let _ = n[1].sign_in(BO).await;
    redis.start_server().unwrap();
    // Back, empty: the nodes re-subscribe and renew their devices' presence by themselves.
    let began = std::time::Instant::now();
    let call = loop {
        ken.send(ClientMessage::Invite { callee: uid(ANA) }).await;
        match ken.recv_call().await {
            ServerMessage::InviteSent { call_id, .. } => break call_id,
            other => {
                assert!(
                    began.elapsed() < Duration::from_secs(15),
                    "not recovered: {other:?}"
                );
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    };
    eprintln!("calls work again {:?} after the restart", began.elapsed());
    assert!(matches!(
        ana.recv_call().await,
        ServerMessage::IncomingCall { .. }
    ));
    ana.send(ClientMessage::Accept { call_id: call }).await;
    assert!(matches!(
        ken.recv_call().await,
        ServerMessage::CallAccepted { .. }
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_redis_configuration_fails_at_start_up() {
    let Some(redis) = TestRedis::start() else {
        return;
    };
    let Some(db) = postgres::store() else {
        return;
    };
    let seeded = db.clone();
    blocking(move || seed(&seeded)).await;
    let start = |url: sealcall_server::RedisUrl| {
        let mut c = config(&db);
        c.redis = Some(url);
        async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let began = std::time::Instant::now();
            let r = Server::start(c, listener).await;
            (r.map(|_| ()), began.elapsed())
        }
    };
    let wrong = redis.url_with_password("not-the-password");
    let (r, took) = start(wrong).await;
    let e = r.unwrap_err();
    assert!(matches!(e, ServerError::ClusterUnavailable(_)), "{e}");
    let text = e.to_string();
    assert!(text.contains("authentication failed"), "{text}");
    assert!(!text.contains("not-the-password"), "{text}");
    assert!(took < Duration::from_secs(10), "{took:?}");

    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let unreachable =
        sealcall_server::RedisUrl::parse(&format!("redis://127.0.0.1:{port}/0")).unwrap();
    let (r, took) = start(unreachable).await;
    let text = r.unwrap_err().to_string();
    assert!(text.contains(&format!("127.0.0.1:{port}")), "{text}");
    assert!(took < Duration::from_secs(10), "{took:?}");

    let tls = sealcall_server::RedisUrl::parse("rediss://:pw@10.0.0.5/0")
        .unwrap_err()
        .to_string();
    assert!(
        tls.contains("not supported yet") && !tls.contains(":pw@"),
        "{tls}"
    );
    for bad in ["http://127.0.0.1/", "redis://", "redis://:pw@[::1"] {
        let e = sealcall_server::RedisUrl::parse(bad)
            .unwrap_err()
            .to_string();
        assert!(e.contains("redis URL"), "{bad}: {e}");
        assert!(!e.contains(":pw@"), "{e}");
    }
    assert_eq!(
        redis.url().to_string(),
        format!("redis://***@127.0.0.1:{}/0", redis.port)
    );
}

/// The relay address in a set of credentials.
fn relay_addr(turn: &sealcall_signaling::TurnCredentials) -> std::net::SocketAddr {
    turn.urls[0]
        .trim_start_matches("turn:")
        .trim_end_matches("?transport=udp")
        .parse()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_node_relays_for_the_devices_it_holds_with_one_shared_secret() {
    let Some(redis) = TestRedis::start() else {
        return;
    };
    let secret =
        TurnSecret::new(b"the secret every node of the deployment shares".to_vec()).unwrap();
    let relay = TurnConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        relay_ip: "127.0.0.1".parse().unwrap(),
        secret: Some(secret),
        ..TurnConfig::default()
    };
    let Some(n) = nodes_with(2, &redis, |c| c.turn = Some(relay.clone())).await else {
        return;
    };
    let relays: Vec<std::net::SocketAddr> = n
        .iter()
        .map(|s| s.handle.as_ref().unwrap().turn_addr().unwrap())
        .collect();
    let mut ken = n[0].device(KEN, 1).await;
    let mut ana = n[1].device(ANA, 2).await;
    // Node 2 (Ana's) handles the accept and hands out both devices' credentials: each for the
    // relay of the node that holds the device.
    let (call_id, accepted) = TestServer::answered(&mut ken, &mut ana, ANA).await;
    let turn: Vec<_> = accepted
        .into_iter()
        .map(|m| match m {
            ServerMessage::CallAccepted { turn: Some(t), .. } => t,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(relay_addr(&turn[0]), relays[0], "Ken's own node's relay");
    assert_eq!(relay_addr(&turn[1]), relays[1], "Ana's own node's relay");
    for (creds, at) in [
        (&turn[0], relays[0]),
        (&turn[1], relays[1]),
        (&turn[1], relays[0]),
    ] {
        let allocated = allocate(at, &creds.username, &creds.credential, &[]).await;
        assert!(
            allocated.is_ok(),
            "{} on {at}: {allocated:?}",
            creds.username
        );
    }
    // Once the call has ended (on node 2), no relay takes its credentials.
    ana.send(ClientMessage::Hangup { call_id }).await;
    ended(&mut ken, EndReason::HungUp).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let refused = allocate(relays[0], &turn[0].username, &turn[0].credential, &[]).await;
    assert!(refused.is_err(), "{refused:?}");

    // Without a shared secret, a node of a deployment does not start.
    let db = n[0].db.clone();
    let mut c = config(&db);
    c.redis = Some(redis.url());
    c.turn = Some(TurnConfig {
        secret: None,
        ..relay.clone()
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let e = Server::start(c, listener).await.unwrap_err().to_string();
    assert!(e.contains("--turn-secret-file"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_that_shuts_down_hands_its_devices_to_another_and_their_calls_go_on() {
    let Some(redis) = TestRedis::start() else {
        return;
    };
    let Some(mut n) = nodes_with(2, &redis, |c| c.rejoin_grace = Duration::from_secs(2)).await
    else {
        return;
    };
    let mut ken = n[0].device(KEN, 1).await;
    let mut ana = n[1].device(ANA, 2).await;
    let (call_id, _) = TestServer::answered(&mut ken, &mut ana, ANA).await;
    let (token, id) = (ana.token.clone(), ana.id.clone());
    // Node 2 shuts down: it tells Ana's device to reconnect, and closes it.
    let mut stopping = n.pop().unwrap();
    let stopped = tokio::spawn(async move { stopping.stop().await });
    assert!(matches!(ana.recv().await, ServerMessage::Reconnect {}));
    drop(ana);
    stopped.await.unwrap();
    // The call goes on: Ana's device comes back on node 1, and Ken's hang-up reaches it.
    let mut ana = Device::connect(n[0].addr(), &token, &id).await.unwrap();
    ana.token = token;
    assert!(matches!(ana.recv().await, ServerMessage::Welcome { .. }));
    ken.send(ClientMessage::Handshake {
        call_id: call_id.clone(),
        data: sealcall_signaling::HandshakeBytes::new(vec![1; 32]).unwrap(),
    })
    .await;
    assert!(matches!(
        ana.recv_call().await,
        ServerMessage::Handshake { .. }
    ));
    ken.send(ClientMessage::Hangup { call_id }).await;
    ended(&mut ana, EndReason::HungUp).await;

    // A party that does not come back: the call ends after the rejoin grace (2 s here).
    let (_, _) = TestServer::answered(&mut ken, &mut ana, ANA).await;
    let left = std::time::Instant::now();
    drop(ana);
    ended(&mut ken, EndReason::PeerDisconnected).await;
    let waited = left.elapsed();
    assert!(
        // The grace, then at most one presence renewal (every 5 s) of Ken's node.
        waited >= Duration::from_millis(1800) && waited < Duration::from_secs(12),
        "{waited:?}"
    );
}
