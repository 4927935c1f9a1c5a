//! Key continuity and new devices, with a real server and real engines: a device registered on
//! an account is told to the account's other devices at once (and on connect to a device that
//! was offline), and a peer's new device shows up as a new device under key continuity — even
//! when a malicious server hides the new device from the account's other devices.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::result_large_err)]

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::*;
use sealcall_engine::call::CallEvent;
use sealcall_engine::contacts::PeerKeyStatus;
use sealcall_engine::identity::IdentityStore;
use sealcall_engine::{Engine, EngineConfig, EngineEvent, EngineEvents};

/// An engine for `user` whose identity (and contact store) lives in `dir`.
async fn device(
    server: &TestServer,
    user: &str,
    dir: &Path,
    answer: bool,
) -> (Engine, EngineEvents) {
    device_via(server, user, dir, answer, None).await
}

/// [`device`], its signaling through `proxy` when given.
async fn device_via(
    server: &TestServer,
    user: &str,
    dir: &Path,
    answer: bool,
    proxy: Option<&str>,
) -> (Engine, EngineEvents) {
    let mut c: EngineConfig = server.config(user, "tone:440", &server.wav("out.wav"));
    c.identity = IdentityStore::in_dir(dir, &c.server, user);
    c.auto_answer = answer;
    c.signaling = proxy.map(str::to_owned);
    let (engine, mut events) = engine(c).await;
    // Signed in on signaling (the Welcome brings the setting).
    wait_for(&mut events, 10, |e| {
        matches!(e, EngineEvent::Setting(_)).then_some(())
    })
    .await;
    (engine, events)
}

/// The next `DeviceAdded` within `secs`: (device id, fingerprint, while offline).
async fn device_added(events: &mut EngineEvents, secs: u64) -> (String, String, bool) {
    wait_for(events, secs, |e| match e {
        EngineEvent::DeviceAdded {
            device_id,
            fingerprint,
            while_offline,
            ..
        } => Some((device_id.clone(), fingerprint.clone(), *while_offline)),
        _ => None,
    })
    .await
}

/// Ken calls Ana (who answers automatically); returns what key continuity said, then hangs up.
async fn call_ana(ken: &Engine, ken_ev: &mut EngineEvents) -> PeerKeyStatus {
    ken.call(ANA).unwrap();
    let status = wait_for(ken_ev, 15, |e| match e {
        EngineEvent::PeerKey { status, .. } => Some(*status),
        _ => None,
    })
    .await;
    // Connected: the handshake confirmed the key, which is now on record.
    assert!(connected(ken_ev).await, "end-to-end encrypted");
    ken.hangup().unwrap();
    wait_for(ken_ev, 10, |e| {
        matches!(e, EngineEvent::Call(CallEvent::Ended { .. })).then_some(())
    })
    .await;
    status
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_device_is_told_to_the_accounts_other_devices_and_is_new_to_its_contacts() {
    let server = TestServer::start().await;
    server.cmdlet(ALLOW_E2EE).await;
    let dir = server.dir().to_owned();
    let (ken, mut ken_ev) = device(&server, KEN, &dir.join("ken"), false).await;
    ken.set_e2ee(true).await.unwrap();

    // Ana's first device; a first call from Ken.
    let (ana1, mut ana1_ev) = device(&server, ANA, &dir.join("ana1"), true).await;
    ana1.set_e2ee(true).await.unwrap();
    assert_eq!(
        call_ana(&ken, &mut ken_ev).await,
        PeerKeyStatus::FirstContact
    );

    // Ana signs in on a second device: the first is told within a second of its start.
    let started = Instant::now();
    let (ana2, mut ana2_ev) = device(&server, ANA, &dir.join("ana2"), true).await;
    let (id, fingerprint, offline) = device_added(&mut ana1_ev, 5).await;
    let took = started.elapsed();
    eprintln!("new device told after {took:?} (sign-in and registration included)");
    assert!(took < Duration::from_secs(1), "{took:?}");
    assert_eq!(id, ana2.info().device_id);
    assert_eq!(fingerprint, ana2.info().fingerprint);
    assert!(!offline);
    // The new device is not told about the account's existing devices.
    assert!(
        tokio::time::timeout(Duration::from_millis(500), device_added(&mut ana2_ev, 1))
            .await
            .is_err()
    );

    // Ken's next call reaches the new device: a new device of a known contact.
    drop((ana1, ana1_ev));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        call_ana(&ken, &mut ken_ev).await,
        PeerKeyStatus::NewDevice {
            verified_devices: 0
        }
    );
    // And the one after that: known, not verified.
    assert_eq!(
        call_ana(&ken, &mut ken_ev).await,
        PeerKeyStatus::Known { verified: false }
    );

    // A device added while the first one was offline is reported when it connects again.
    let (ana3, _ana3_ev) = device(&server, ANA, &dir.join("ana3"), false).await;
    let mut c = server.config(ANA, "silence", &server.wav("out.wav"));
    c.identity = IdentityStore::in_dir(&dir.join("ana1"), &c.server, ANA);
    let (_ana1, mut ana1_ev) = engine(c).await;
    let (id, _, offline) = device_added(&mut ana1_ev, 5).await;
    assert_eq!(id, ana3.info().device_id);
    assert!(offline);
    drop(ana2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_contact_store_stops_the_engine_with_a_clear_error() {
    let server = TestServer::start().await;
    let dir = server.dir().join("ken");
    let mut c = server.config(KEN, "silence", &server.wav("out.wav"));
    c.identity = IdentityStore::in_dir(&dir, &c.server, KEN);
    // A first sign-in creates the identity; then the contact store is damaged. The engine
    // caches the server's Welcome setting in the contact store: wait until it has (the Setting
    // event follows the write), or that write can land after the damage and repair it.
    let (ken, mut events) = engine(c.clone()).await;
    wait_for(&mut events, 10, |e| {
        matches!(e, EngineEvent::Setting(_)).then_some(())
    })
    .await;
    drop(ken);
    let store = c.identity.contacts().unwrap();
    let path = store.path().unwrap().to_owned();
    std::fs::write(&path, b"{\"version\":1,\"contacts\":{\"ana\":").unwrap();
    let err = match Engine::connect(c).await {
        Ok(_) => panic!("a damaged store must not be trusted"),
        Err(e) => e.to_string(),
    };
    assert!(
        err.contains("is damaged") && err.contains("move the file away"),
        "{err}"
    );
    // Nothing was overwritten.
    assert_eq!(
        std::fs::read(&path).unwrap(),
        b"{\"version\":1,\"contacts\":{\"ana\":"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_synced_policy_is_cached_and_a_dropped_requirement_is_told() {
    let server = TestServer::start().await;
    server.cmdlet(ALLOW_E2EE).await;
    server.require_e2ee_for(KEN).await;
    let dir = server.dir().join("ken");
    let (ken, _events) = device(&server, KEN, &dir, false).await;
    drop(ken);
    let store = IdentityStore::in_dir(&dir, &server.url, KEN);
    let cached = store.contacts().unwrap().book().setting().cloned().unwrap();
    assert_eq!(
        cached.calling,
        sealcall_policy::CallingEncryptionType::Required
    );

    // While this device is away, the service stops requiring it.
    server
        .cmdlet(&format!(
            "Grant-CsTeamsEnhancedEncryptionPolicy -Identity \"{KEN}\" -PolicyName $null"
        ))
        .await;
    let mut c = server.config(KEN, "silence", &server.wav("out.wav"));
    c.identity = store;
    let (_ken, mut events) = engine(c).await;
    let told = wait_for(&mut events, 10, |e| match e {
        EngineEvent::Notice(n) if n.contains("no longer requires") => Some(n.clone()),
        _ => None,
    })
    .await;
    assert!(told.contains("ask your administrator"), "{told}");
}

/// A malicious server adds a device to Ana's account and hides it from her other device (a
/// proxy drops the `device_added` it sends there). It can do that; it cannot hide the device
/// from Ana's contacts: Ken's next call that reaches it shows a new device of a known contact.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_the_server_hides_from_the_account_is_still_new_to_its_contacts() {
    use common::signaling_proxy::{rewriting, signaling_proxy};
    use sealcall_signaling::ServerMessage;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};
    let server = TestServer::start().await;
    server.cmdlet(ALLOW_E2EE).await;
    let hidden = Arc::new(AtomicU32::new(0));
    let h = hidden.clone();
    let proxy = signaling_proxy(
        &server.url,
        rewriting(move |m| match m {
            ServerMessage::DeviceAdded { .. } => {
                h.fetch_add(1, Ordering::SeqCst);
                Some(ServerMessage::Pong { nonce: 0 })
            }
            _ => None,
        }),
    )
    .await;
    let dir = server.dir().to_owned();
    let (ken, mut ken_ev) = device(&server, KEN, &dir.join("ken"), false).await;
    ken.set_e2ee(true).await.unwrap();
    let (ana1, mut ana1_ev) = device_via(&server, ANA, &dir.join("ana1"), true, Some(&proxy)).await;
    ana1.set_e2ee(true).await.unwrap();
    assert_eq!(
        call_ana(&ken, &mut ken_ev).await,
        PeerKeyStatus::FirstContact
    );

    let (ana2, _ana2_ev) = device_via(&server, ANA, &dir.join("ana2"), true, Some(&proxy)).await;
    // Ana's first device was not told: the server hid it.
    assert!(
        tokio::time::timeout(Duration::from_millis(800), device_added(&mut ana1_ev, 2))
            .await
            .is_err()
    );
    assert!(
        hidden.load(Ordering::SeqCst) >= 1,
        "the notice was suppressed"
    );

    // Ken's next call reaches the hidden device: a new device of a known contact, unverified.
    drop((ana1, ana1_ev));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        call_ana(&ken, &mut ken_ev).await,
        PeerKeyStatus::NewDevice {
            verified_devices: 0
        }
    );
    drop(ana2);
}
