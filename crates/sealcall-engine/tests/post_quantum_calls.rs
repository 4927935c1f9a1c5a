//! Post-quantum protection in real calls between two engines (real server, real WebRTC on
//! loopback, real Opus): the signed fallback when one device has ML-KEM turned off, and a
//! device that requires post-quantum protection ending such a call before any media — by its
//! own setting or by its organisation's `RequiredPostQuantum` policy.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use sealcall_engine::call::{CallEvent, Ended};
use sealcall_engine::{EngineConfig, EngineEvent, PostQuantum, PostQuantumStatus};

fn post_quantum(e: &EngineEvent) -> Option<PostQuantumStatus> {
    match e {
        EngineEvent::SecurityCode { post_quantum, .. } => Some(*post_quantum),
        EngineEvent::Call(CallEvent::Ended { reason, .. }) => panic!("call ended: {reason:?}"),
        _ => None,
    }
}

/// Ken and Ana signed in (with `adjust` applied to their configurations and "End-to-end
/// encrypted calls" turned on as `on` says), and Ken calling Ana, who answers automatically.
async fn ken_calls_ana(
    server: &TestServer,
    adjust: impl FnOnce(&mut EngineConfig, &mut EngineConfig),
    on: (bool, bool),
) -> Pair {
    let pair = server
        .pair(("ken-hears.wav", "ana-hears.wav"), adjust, on)
        .await;
    pair.ken.call(ANA).unwrap();
    pair
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_without_ml_kem_gets_a_signed_fallback_both_sides_show() {
    let server = TestServer::start().await;
    let Pair {
        ken,
        mut ken_ev,
        ana: _ana,
        mut ana_ev,
    } = ken_calls_ana(
        &server,
        |_, ana| ana.post_quantum = PostQuantum::Unavailable,
        (true, true),
    )
    .await;
    assert_eq!(
        wait_for(&mut ken_ev, 15, post_quantum).await,
        PostQuantumStatus::PeerUnavailable
    );
    assert_eq!(
        wait_for(&mut ana_ev, 15, post_quantum).await,
        PostQuantumStatus::LocalUnavailable
    );
    // Still an end-to-end encrypted call.
    assert!(connected(&mut ken_ev).await);
    ken.hangup().unwrap();
    assert_eq!(ended(&mut ken_ev).await, Ended::Local);
}

/// Waits until Ana's device ends the call before any keys because Ken's device requires
/// post-quantum protection it cannot give.
async fn ana_refuses_for_kens_requirement(ana_ev: &mut sealcall_engine::EngineEvents) {
    let why = format!("{:?}", ended_before_keys(ana_ev).await);
    assert!(
        why.contains("the other device requires post-quantum protection"),
        "{why}"
    );
}

/// Waits for the call to end and returns why, failing if media keys were installed first.
async fn ended_before_keys(events: &mut sealcall_engine::EngineEvents) -> Ended {
    wait_for(events, 15, |e| match e {
        EngineEvent::SecurityCode { .. } => panic!("keys were installed"),
        EngineEvent::Call(CallEvent::Ended { reason, .. }) => Some(reason.clone()),
        _ => None,
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_that_requires_post_quantum_ends_a_call_that_cannot_have_it() {
    let server = TestServer::start().await;
    // Ken turns the requirement on while signed in (Settings in the app, or the engine API).
    let Pair {
        ken,
        mut ken_ev,
        ana: _ana,
        mut ana_ev,
    } = server
        .pair(
            ("ken-hears.wav", "ana-hears.wav"),
            |_, ana| ana.post_quantum = PostQuantum::Unavailable,
            (true, true),
        )
        .await;
    ken.set_post_quantum(PostQuantum::Required).unwrap();
    ken.call(ANA).unwrap();
    // Ana's device sees Ken's signed requirement in the Commit and refuses before answering.
    ana_refuses_for_kens_requirement(&mut ana_ev).await;
    let ken_end = ended_before_keys(&mut ken_ev).await;
    assert!(
        matches!(ken_end, Ended::Remote(_) | Ended::MediaFailed(_)),
        "{ken_end:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_required_post_quantum_policy_makes_the_device_refuse_the_fallback() {
    let server = TestServer::start().await;
    // Ken's organisation requires post-quantum protection; Ana's device has ML-KEM off.
    server
        .cmdlet("New-CsTeamsEnhancedEncryptionPolicy -Identity PQ -CallingEndtoEndEncryptionEnabledType RequiredPostQuantum")
        .await;
    server
        .cmdlet(&format!(
            "Grant-CsTeamsEnhancedEncryptionPolicy -Identity \"{KEN}\" -PolicyName PQ"
        ))
        .await;
    // The engines stay bound: dropping one ends its session.
    let Pair {
        ken: _ken,
        mut ken_ev,
        ana: _ana,
        mut ana_ev,
    } = ken_calls_ana(
        &server,
        |_, ana| ana.post_quantum = PostQuantum::Unavailable,
        (false, true),
    )
    .await;
    ana_refuses_for_kens_requirement(&mut ana_ev).await;
    let _ = ended_before_keys(&mut ken_ev).await;
}
