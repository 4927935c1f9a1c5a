//! The reference walkthrough end to end: an administrator allows end-to-end encryption for two
//! users on the admin page in a real browser; both users turn on "End-to-end encrypted calls"
//! in their engines; they call and get an end-to-end encrypted call with the same security
//! code on both sides, in which a blocked feature is refused; then the administrator turns on
//! compliance recording and the next call is a standard one, with the reason on both sides.
//!
//! Real server on 127.0.0.1:0 with real SQLite, real Chromium, two real engines (WebRTC over
//! loopback, Opus, SFrame).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::ExitCode;
use std::sync::Arc;

use common::*;
use sealcall_engine::call::{CallEvent, MediaMode};
use sealcall_engine::{EngineEvent, EngineEvents};
use sealcall_policy::{CallingEncryptionType, Feature};
use sealcall_scenarios::browser::{Chromedriver, Role};

fn main() -> ExitCode {
    sealcall_scenarios::harness::run(sealcall_scenarios::tests![
        the_reference_walkthrough_from_the_admin_page_to_an_end_to_end_encrypted_call,
    ])
}

async fn setting_allows_e2ee(events: &mut EngineEvents) {
    wait_for(events, 10, |e| match e {
        EngineEvent::Setting(s) if s.calling == CallingEncryptionType::DisabledUserOverride => {
            Some(())
        }
        _ => None,
    })
    .await;
}

async fn code(events: &mut EngineEvents) -> String {
    wait_for(events, 20, |e| match e {
        EngineEvent::SecurityCode { code, .. } => Some(code.clone()),
        EngineEvent::Call(CallEvent::Ended { reason, .. }) => panic!("call ended: {reason:?}"),
        _ => None,
    })
    .await
}

async fn connected(events: &mut EngineEvents) -> bool {
    wait_for(events, 20, |e| match e {
        EngineEvent::Call(CallEvent::Connected { end_to_end, .. }) => Some(*end_to_end),
        EngineEvent::Call(CallEvent::Ended { reason, .. }) => panic!("call ended: {reason:?}"),
        _ => None,
    })
    .await
}

async fn mode(events: &mut EngineEvents) -> MediaMode {
    wait_for(events, 20, |e| match e {
        EngineEvent::Call(CallEvent::Connecting { mode, .. }) => Some(mode.clone()),
        _ => None,
    })
    .await
}

async fn ended(events: &mut EngineEvents) {
    wait_for(events, 20, |e| match e {
        EngineEvent::Call(CallEvent::Ended { .. }) => Some(()),
        _ => None,
    })
    .await
}

async fn the_reference_walkthrough_from_the_admin_page_to_an_end_to_end_encrypted_call(
    driver: Arc<Chromedriver>,
) {
    let server = contoso().await;
    let (ken, mut ken_events) = engine(&server, KEN, 440).await;
    let (ana, mut ana_events) = engine_with(&server, ANA, 880, true).await;

    // The administrator, in the browser: a policy that lets users turn E2EE on, for Ken and Ana.
    let web = driver.browser(&server.url).await.unwrap();
    web.sign_in(ADMIN, PASS).await.unwrap();
    web.click(Role::Link, "Add").await.unwrap();
    web.fill("Name", "ContosoE2EEUserPolicy").await.unwrap();
    web.click(Role::Radio, "Not enabled, but users can enable")
        .await
        .unwrap();
    web.click(Role::Button, "Save").await.unwrap();
    web.click(Role::Link, "Assign policies").await.unwrap();
    for person in ["Ken Meyer", "Ana Ruiz"] {
        web.select(&format!("Policy for {person}"), "ContosoE2EEUserPolicy")
            .await
            .unwrap();
        web.click(Role::Button, &format!("Assign to {person}"))
            .await
            .unwrap();
    }
    setting_allows_e2ee(&mut ken_events).await;
    setting_allows_e2ee(&mut ana_events).await;

    // Both users turn on "End-to-end encrypted calls".
    assert!(ken.set_e2ee(true).await.unwrap().effective);
    assert!(ana.set_e2ee(true).await.unwrap().effective);

    // They call: end-to-end encrypted, the same code on both sides.
    ken.call(ANA).unwrap();
    let ken_code = code(&mut ken_events).await;
    let ana_code = code(&mut ana_events).await;
    assert_eq!(ken_code, ana_code);
    assert_eq!(ken_code.len(), 23, "four groups of five digits: {ken_code}");
    assert!(
        connected(&mut ken_events).await,
        "Ken: end-to-end encrypted"
    );
    assert!(
        connected(&mut ana_events).await,
        "Ana: end-to-end encrypted"
    );
    // A blocked feature is refused in it.
    let refused = ken.request_feature(Feature::Recording).unwrap_err();
    assert!(
        refused
            .to_string()
            .contains("isn't available during an end-to-end encrypted call"),
        "{refused}"
    );
    ken.hangup().unwrap();
    ended(&mut ken_events).await;
    ended(&mut ana_events).await;

    // The administrator turns on compliance recording for everyone.
    web.click(Role::Link, "Compliance recording").await.unwrap();
    web.click(Role::Button, "Turn on compliance recording for everyone")
        .await
        .unwrap();
    let notice = web.notice().await.unwrap().unwrap();
    assert!(notice.contains("sent to 2 signed-in devices"), "{notice}");
    for events in [&mut ken_events, &mut ana_events] {
        wait_for(events, 10, |e| match e {
            EngineEvent::Setting(s) if s.compliance_recording => Some(()),
            _ => None,
        })
        .await;
    }

    // The next call is a standard one, with the reason on both sides.
    ken.call(ANA).unwrap();
    let recorded = "your calls are recorded for compliance, so they can't be end-to-end encrypted";
    for events in [&mut ken_events, &mut ana_events] {
        match mode(events).await {
            MediaMode::Standard { reasons } => {
                assert!(reasons.iter().any(|r| r == recorded), "{reasons:?}");
            }
            other => panic!("expected a standard call, got {other:?}"),
        }
        assert!(!connected(events).await, "standard");
    }
    // Recording is available in a standard call.
    ken.request_feature(Feature::Recording).unwrap();
    ken.hangup().unwrap();
    ended(&mut ken_events).await;
    web.quit().await.unwrap();
}
