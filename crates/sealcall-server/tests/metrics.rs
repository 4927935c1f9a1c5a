//! `GET /metrics` on its own listener: calls counted by mode and outcome after real calls over
//! real WebSockets, sign-in failures and throttles, connected devices; no user name or device
//! id in the text; the main listener does not serve it, with or without a token.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use sealcall_signaling::*;

async fn answer_and_hang_up(ken: &mut Device, ana: &mut Device) {
    let (call_id, _) = TestServer::answered(ken, ana, ANA).await;
    // One forwarded message, for the forwarding histogram.
    let data = HandshakeBytes::new(vec![7; 8]).unwrap();
    ken.send(ClientMessage::Handshake {
        call_id: call_id.clone(),
        data,
    })
    .await;
    assert!(matches!(
        ana.recv_call().await,
        ServerMessage::Handshake { .. }
    ));
    ken.send(ClientMessage::Hangup { call_id }).await;
    assert!(matches!(
        ana.recv_call().await,
        ServerMessage::CallEnded { .. }
    ));
}

#[tokio::test]
async fn metrics_count_calls_by_mode_and_outcome_without_naming_anyone() {
    let s =
        TestServer::start_with(|c| c.metrics_listen = Some("127.0.0.1:0".parse().unwrap())).await;
    let metrics = s.handle.as_ref().unwrap().metrics_addr().unwrap();
    let (status, before) = http_get(metrics, "/metrics", None).await;
    assert_eq!(status, 200, "{before}");
    assert_eq!(
        series_value(
            &before,
            r#"sealcall_calls_total{mode="standard",outcome="answered"}"#
        ),
        0.0
    );

    let mut ken = s.device(KEN, 1).await;
    let mut ana = s.device(ANA, 2).await;
    // A standard call (Global is Disabled), answered.
    answer_and_hang_up(&mut ken, &mut ana).await;
    // An end-to-end encrypted call, answered.
    let admin = s.sign_in(ADMIN).await;
    s.cmdlet(&admin, "Set-CsTeamsEnhancedEncryptionPolicy -Identity Global -CallingEndtoEndEncryptionEnabledType DisabledUserOverride").await;
    for d in [&mut ken, &mut ana] {
        d.send(ClientMessage::SetE2ee { enabled: true }).await;
        assert!(matches!(
            d.recv().await,
            ServerMessage::SettingChanged { .. }
        ));
    }
    answer_and_hang_up(&mut ken, &mut ana).await;
    // A declined one.
    let call_id = TestServer::ringing(&mut ken, &mut ana, ANA).await;
    ana.send(ClientMessage::Decline { call_id }).await;
    assert!(matches!(
        ken.recv_call().await,
        ServerMessage::CallEnded { .. }
    ));
    // A call to someone offline.
    ken.send(ClientMessage::Invite {
        callee: BO.parse().unwrap(),
    })
    .await;
    assert!(matches!(
        ken.recv_call().await,
        ServerMessage::CallFailed { .. }
    ));
    // A wrong password.
    let (status, _) = s
        .send(
            "POST",
            "/sign-in",
            None,
            serde_json::json!({"user": KEN, "password": "not the password"}),
        )
        .await;
    assert_eq!(status, 401);

    let (status, text) = http_get(metrics, "/metrics", None).await;
    assert_eq!(status, 200, "{text}");
    let count = |series: &str| series_value(&text, series);
    assert_eq!(
        count(r#"sealcall_calls_total{mode="standard",outcome="answered"}"#),
        1.0,
        "{text}"
    );
    assert_eq!(
        count(r#"sealcall_calls_total{mode="e2ee",outcome="answered"}"#),
        1.0,
        "{text}"
    );
    assert_eq!(
        count(r#"sealcall_calls_total{mode="e2ee",outcome="declined"}"#),
        1.0,
        "{text}"
    );
    assert_eq!(
        count(r#"sealcall_calls_total{mode="none",outcome="failed"}"#),
        1.0,
        "{text}"
    );
    assert_eq!(count("sealcall_call_setup_seconds_count"), 2.0, "{text}");
    assert_eq!(
        count("sealcall_signaling_forward_seconds_count"),
        2.0,
        "{text}"
    );
    assert_eq!(
        count(r#"sealcall_sign_in_failures_total{reason="wrong_password"}"#),
        1.0,
        "{text}"
    );
    assert_eq!(count("sealcall_connected_devices"), 2.0, "{text}");
    assert_eq!(count("sealcall_store_errors_total"), 0.0, "{text}");
    // Content-free: nobody's name, device id or address.
    for who in [
        KEN,
        ANA,
        BO,
        ADMIN,
        "kenmeyer",
        ken.id.as_str(),
        ana.id.as_str(),
        "127.0.0.1",
    ] {
        assert!(!text.contains(who), "{who} in the metrics:\n{text}");
    }

    // The main listener does not serve metrics, with or without a session.
    let (status, _) = http_get(s.addr(), "/metrics", None).await;
    assert_eq!(status, 404);
    let (status, _) = http_get(s.addr(), "/metrics", Some(&admin)).await;
    assert_eq!(status, 404);
    // Nor does the metrics listener serve anything else.
    let (status, _) = http_get(metrics, "/healthz", None).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn throttled_sign_ins_are_counted_and_two_servers_count_apart() {
    let a =
        TestServer::start_with(|c| c.metrics_listen = Some("127.0.0.1:0".parse().unwrap())).await;
    let b =
        TestServer::start_with(|c| c.metrics_listen = Some("127.0.0.1:0".parse().unwrap())).await;
    // Five free failures, then the account backs off: the next attempt is throttled.
    let mut throttled = 0;
    for _ in 0..7 {
        let (status, _) = a
            .send(
                "POST",
                "/sign-in",
                None,
                serde_json::json!({"user": ANA, "password": "wrong wrong"}),
            )
            .await;
        if status == 429 {
            throttled += 1;
        }
    }
    assert!(throttled >= 1, "no attempt was throttled");
    let (_, text) = http_get(
        a.handle.as_ref().unwrap().metrics_addr().unwrap(),
        "/metrics",
        None,
    )
    .await;
    assert_eq!(
        series_value(&text, "sealcall_sign_in_throttled_total"),
        f64::from(throttled),
        "{text}"
    );
    assert_eq!(
        series_value(
            &text,
            r#"sealcall_sign_in_failures_total{reason="wrong_password"}"#
        ),
        f64::from(7 - throttled),
        "{text}"
    );
    let (_, other) = http_get(
        b.handle.as_ref().unwrap().metrics_addr().unwrap(),
        "/metrics",
        None,
    )
    .await;
    assert_eq!(
        series_value(&other, "sealcall_sign_in_throttled_total"),
        0.0,
        "{other}"
    );
}
