//! Two real `sealcall server` processes on one PostgreSQL database and one Redis (both started
//! by the test harness on free ports), and real engines: an end-to-end encrypted call between
//! a caller on node 1 and a callee on node 2 (real WebRTC, the tone received); node 2 killed
//! (SIGKILL) while a call rings: the caller gets a clean timeout; node 2 killed during a call:
//! the audio keeps flowing, the callee's device reconnects to node 1, and the hang-up still
//! reaches the other side.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::time::{Duration, Instant};

use sealcall_engine::call::{CallEvent, Ended};
use sealcall_engine::media::analysis::analyse_wav;
use sealcall_engine::transport::TransportConfig;
use sealcall_engine::{
    AudioRoute, ConnectionState, Engine, EngineConfig, EngineEvent, EngineEvents,
};
use sealcall_server::testing::postgres;
use sealcall_server::testing::redis::TestRedis;
use sealcall_server::{PasswordCost, StoreLocation, cli};
use sealcall_signaling::EndReason;

mod common;

use common::{ADMIN, PASSWORD, Running};

const KEN: &str = "kenmeyer@contoso.onmicrosoft.com";
const ANA: &str = "ana@contoso.onmicrosoft.com";
const RING_SECS: u64 = 4;

/// A node: the process and its URL.
struct Node {
    process: Running,
    url: String,
}

/// The tenant (with Ken and Ana, end-to-end encryption allowed) in a fresh PostgreSQL
/// database; `None` (skip, outside CI) without PostgreSQL or Redis.
async fn deployment() -> Option<(StoreLocation, TestRedis)> {
    let redis = TestRedis::start()?;
    let db = postgres::store()?;
    let seeded = db.clone();
    tokio::task::spawn_blocking(move || {
        let cost = PasswordCost::insecure_for_tests();
        cli::server_init(&seeded, "Contoso", ADMIN, "Admin", PASSWORD, cost).unwrap();
        cli::user_add(&seeded, KEN, "Ken Meyer", PASSWORD, &[], cost).unwrap();
        cli::user_add(&seeded, ANA, "Ana Ruiz", PASSWORD, &[], cost).unwrap();
    })
    .await
    .unwrap();
    Some((db, redis))
}

/// Starts `sealcall server` on the shared database and Redis, from a configuration file (the
/// URLs hold passwords: not on the command line).
fn node(dir: &Path, name: &str, db: &StoreLocation, redis: &TestRedis) -> Node {
    let StoreLocation::Postgres(pg) = db else {
        panic!("PostgreSQL")
    };
    let cluster = postgres::cluster().unwrap();
    let file = dir.join(format!("{name}.toml"));
    std::fs::write(
        &file,
        format!(
            "db = \"{}\"\nredis = \"{}\"\nlisten = \"127.0.0.1:0\"\nturn = \"off\"\nring-timeout = {RING_SECS}\n",
            cluster.url(pg.database()),
            redis.url_text(redis.password()),
        ),
    )
    .unwrap();
    let process = Running::start(&["server", "--config", file.to_str().unwrap()]);
    let url = process.after("sealcall server on ");
    let url = url.split(' ').next().unwrap().to_owned();
    assert!(
        process
            .after("cluster node ")
            .contains("on Redis redis://***@")
    );
    Node { process, url }
}

fn engine_config(
    node: &Node,
    others: &[&Node],
    user: &str,
    tone: &str,
    out: &Path,
) -> EngineConfig {
    let mut c = EngineConfig::new(&node.url, user, PASSWORD);
    c.other_servers = others.iter().map(|n| n.url.clone()).collect();
    c.transport = TransportConfig::loopback();
    c.audio = AudioRoute::Specs {
        input: tone.to_owned(),
        output: out.display().to_string(),
    };
    c
}

async fn wait_for<T>(
    events: &mut EngineEvents,
    secs: u64,
    what: &str,
    pick: impl FnMut(&EngineEvent) -> Option<T>,
) -> T {
    sealcall_engine::next_event(events, Duration::from_secs(secs), pick)
        .await
        .unwrap_or_else(|| panic!("no {what} within {secs} s"))
}

fn connected(e: &EngineEvent) -> Option<bool> {
    match e {
        EngineEvent::Call(CallEvent::Connected { end_to_end, .. }) => Some(*end_to_end),
        EngineEvent::Call(CallEvent::Ended { reason, .. }) => panic!("call ended: {reason:?}"),
        _ => None,
    }
}

fn ended(e: &EngineEvent) -> Option<Ended> {
    match e {
        EngineEvent::Call(CallEvent::Ended { reason, .. }) => Some(reason.clone()),
        _ => None,
    }
}

/// The frames received so far.
fn inbound_frames(e: &EngineEvent) -> Option<u64> {
    match e {
        EngineEvent::Stats { stats, .. } => Some(stats.inbound.frames),
        _ => None,
    }
}

/// The dominant frequency and the SNR at `hz` of a WAV the engine wrote.
fn analyse(path: &Path, hz: f64) -> (f64, f64) {
    let tone = analyse_wav(path, Some(hz)).unwrap();
    (tone.frequency_hz, tone.snr_db)
}

async fn signed_in(config: EngineConfig, e2ee: bool) -> (Engine, EngineEvents) {
    let (engine, mut events) = Engine::connect(config).await.unwrap();
    // The node's welcome (the setting) follows the device's registration in Redis: before it,
    // an invite on another node may not see the device yet.
    wait_for(&mut events, 10, "welcome", |e| match e {
        EngineEvent::Setting(_) => Some(()),
        _ => None,
    })
    .await;
    if e2ee {
        engine.set_e2ee(true).await.unwrap();
    }
    (engine, events)
}

async fn allow_e2ee(node: &Node) {
    let out = common::sealcall()
        .args(["admin", "--server", &node.url, "--user", ADMIN])
        .arg("Set-CsTeamsEnhancedEncryptionPolicy -Identity Global -CallingEndtoEndEncryptionEnabledType DisabledUserOverride")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_e2ee_call_between_two_nodes_and_a_node_killed_while_it_rings() {
    let Some((db, redis)) = deployment().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let n1 = node(dir.path(), "node1", &db, &redis);
    let mut n2 = node(dir.path(), "node2", &db, &redis);
    allow_e2ee(&n2).await;
    let ken_hears = dir.path().join("ken-hears.wav");
    let ana_hears = dir.path().join("ana-hears.wav");
    let (ken, mut ken_ev) =
        signed_in(engine_config(&n1, &[], KEN, "tone:440", &ken_hears), true).await;
    let mut ana_cfg = engine_config(&n2, &[], ANA, "tone:880", &ana_hears);
    ana_cfg.auto_answer = true;
    let (ana, mut ana_ev) = signed_in(ana_cfg, true).await;

    ken.call(ANA).unwrap();
    assert!(
        wait_for(&mut ken_ev, 20, "connected call", connected).await,
        "end-to-end encrypted across two nodes"
    );
    assert!(wait_for(&mut ana_ev, 20, "connected call", connected).await);
    wait_for(&mut ken_ev, 10, "audio", |e| {
        inbound_frames(e).filter(|f| *f > 100)
    })
    .await;
    ken.hangup().unwrap();
    assert_eq!(wait_for(&mut ken_ev, 10, "end", ended).await, Ended::Local);
    assert_eq!(
        wait_for(&mut ana_ev, 10, "end", ended).await,
        Ended::Remote(EndReason::HungUp)
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (f, snr) = analyse(&ana_hears, 440.0);
    eprintln!("ana (node 2) hears {f:.1} Hz at {snr:.1} dB from ken (node 1)");
    assert!((f - 440.0).abs() < 5.0 && snr >= 20.0, "{f} Hz {snr} dB");
    let (f, snr) = analyse(&ken_hears, 880.0);
    eprintln!("ken (node 1) hears {f:.1} Hz at {snr:.1} dB from ana (node 2)");
    assert!((f - 880.0).abs() < 5.0 && snr >= 20.0, "{f} Hz {snr} dB");
    drop(ana);
    drop(ana_ev);

    // A callee that does not answer, on node 2; node 2 dies while it rings. Ken's call ends
    // with a clean timeout (node 1's ring timer), not a hang.
    let (ana2, mut ana2_ev) = signed_in(
        engine_config(&n2, &[], ANA, "tone:880", &dir.path().join("x.wav")),
        false,
    )
    .await;
    ken.call(ANA).unwrap();
    wait_for(&mut ana2_ev, 10, "ringing", |e| match e {
        EngineEvent::Call(CallEvent::Incoming { .. }) => Some(()),
        _ => None,
    })
    .await;
    let killed = Instant::now();
    n2.process.signal("KILL");
    assert!(n2.process.exited_within(Duration::from_secs(5)).is_some());
    let end = wait_for(
        &mut ken_ev,
        RING_SECS + 10,
        "end of the ringing call",
        ended,
    )
    .await;
    eprintln!(
        "ringing call ended {:?} after node 2 died: {end:?}",
        killed.elapsed()
    );
    assert_eq!(end, Ended::Remote(EndReason::Timeout));
    drop(ana2);
    drop(n1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_killed_during_a_call_the_media_goes_on_and_the_device_moves() {
    let Some((db, redis)) = deployment().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let n1 = node(dir.path(), "node1", &db, &redis);
    let mut n2 = node(dir.path(), "node2", &db, &redis);
    allow_e2ee(&n1).await;
    let (ken, mut ken_ev) = signed_in(
        engine_config(&n1, &[&n2], KEN, "tone:440", &dir.path().join("k.wav")),
        true,
    )
    .await;
    // Ana's device knows both nodes: node 2 first.
    let mut ana_cfg = engine_config(&n2, &[&n1], ANA, "tone:880", &dir.path().join("a.wav"));
    ana_cfg.auto_answer = true;
    let (_ana, mut ana_ev) = signed_in(ana_cfg, true).await;
    ken.call(ANA).unwrap();
    assert!(wait_for(&mut ken_ev, 20, "connected call", connected).await);
    assert!(wait_for(&mut ana_ev, 20, "connected call", connected).await);
    let before = wait_for(&mut ken_ev, 10, "audio", |e| {
        inbound_frames(e).filter(|f| *f > 50)
    })
    .await;

    let killed = Instant::now();
    n2.process.signal("KILL");
    assert!(n2.process.exited_within(Duration::from_secs(5)).is_some());
    // Ana's device loses node 2 and moves to node 1.
    wait_for(&mut ana_ev, 30, "reconnection to node 1", |e| match e {
        EngineEvent::Connection(ConnectionState::Connected) => Some(()),
        _ => None,
    })
    .await;
    eprintln!(
        "ana's device on node 1 {:?} after node 2 died",
        killed.elapsed()
    );
    // Meanwhile and after, the audio goes on (peer to peer: no server carries media).
    let after = wait_for(&mut ken_ev, 10, "audio after the kill", |e| {
        inbound_frames(e).filter(|f| *f > before + 150)
    })
    .await;
    eprintln!(
        "ken received {} audio frames more since node 2 died",
        after - before
    );
    // Ken hangs up through node 1: it reaches Ana's device, now on node 1.
    ken.hangup().unwrap();
    assert_eq!(wait_for(&mut ken_ev, 10, "end", ended).await, Ended::Local);
    assert_eq!(
        wait_for(&mut ana_ev, 10, "end", ended).await,
        Ended::Remote(EndReason::HungUp)
    );
    drop(n1);
}

/// `sealcall bench-signaling` at a small scale (the figures come from benches/signaling.sh on a
/// release build): one node on SQLite with idle devices, then two nodes on PostgreSQL and
/// Redis; each run writes its JSON.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_signaling_bench_runs_on_one_and_two_nodes() {
    let Some(redis) = TestRedis::start() else {
        return;
    };
    let Some(StoreLocation::Postgres(pg)) = postgres::store() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let cluster = postgres::cluster().unwrap();
    let db = cluster.url(pg.database());
    let redis_url = redis.url_text(redis.password());
    let runs: [(&str, Vec<&str>); 2] = [
        ("one.json", vec!["--nodes", "1", "--idle", "6"]),
        (
            "two.json",
            vec!["--nodes", "2", "--db", &db, "--redis", &redis_url],
        ),
    ];
    for (name, extra) in runs {
        let json = dir.path().join(name);
        let out = common::sealcall()
            .args([
                "bench-signaling",
                "--clients",
                "8",
                "--rate",
                "40",
                "--seconds",
                "1",
            ])
            .args(&extra)
            .arg("--json")
            .arg(&json)
            .output()
            .unwrap();
        let said = common::succeeded(&out);
        assert!(said.contains("| forwarded | p50 | p99 |"), "{said}");
        let report: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
        let (sent, received, lost) = (
            report["sent"].as_u64().unwrap(),
            report["received"].as_u64().unwrap(),
            report["lost"].as_u64().unwrap(),
        );
        assert!(received > 0 && sent == received + lost, "{report}");
        assert!(
            report["latency_ms"]["p99"].as_f64().unwrap() > 0.0,
            "{report}"
        );
        let nodes = report["per_node"].as_array().unwrap();
        assert_eq!(nodes.len(), report["nodes"].as_u64().unwrap() as usize);
        assert!(nodes.iter().all(|n| n["rss_bytes"].as_u64().unwrap() > 0));
        if name == "one.json" {
            assert_eq!(report["idle"]["devices"], 6, "{report}");
        }
    }
    // Several nodes without PostgreSQL and Redis: a clear error, at once.
    let out = common::sealcall()
        .args(["bench-signaling", "--nodes", "2"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("PostgreSQL"));
}
