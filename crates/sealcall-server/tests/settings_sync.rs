//! Settings sync between devices of one user, and refusal by policy.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
mod common;

use std::time::{Duration, Instant};

use common::*;
use sealcall_signaling::*;

all_modes! {
    #[tokio::test]
    async fn a_change_on_one_device_reaches_the_other_within_a_second() {
        let s = TestServer::start().await;
        let admin = s.sign_in(ADMIN).await;
        s.cmdlet(&admin, "Set-CsTeamsEnhancedEncryptionPolicy -Identity Global -CallingEndtoEndEncryptionEnabledType DisabledUserOverride").await;
        let mut a = s.device(KEN, 1).await;
        let mut b = s.device(KEN, 2).await;
        let started = Instant::now();
        a.send(ClientMessage::SetE2ee { enabled: true }).await;
        let ServerMessage::SettingChanged { setting } = b.recv().await else {
            panic!("expected setting_changed")
        };
        let latency = started.elapsed();
        eprintln!("settings sync latency: {latency:?}");
        assert!(latency < Duration::from_secs(1), "{latency:?}");
        assert!(setting.stored_choice && setting.effective && setting.lock.is_none());
        assert!(matches!(
            a.recv().await,
            ServerMessage::SettingChanged { .. }
        ));
        // A device that connects later reads it.
        let late = s.device(KEN, 3).await;
        drop(late);
        let token = s.sign_in(KEN).await;
        let (_, view) = s.get("/settings/e2ee", &token).await;
        assert_eq!(view["stored_choice"], true);
        // Through HTTP too.
        let (status, _) = s
            .send(
                "PUT",
                "/settings/e2ee",
                Some(&token),
                serde_json::json!({"enabled": false}),
            )
            .await;
        assert_eq!(status, 200);
        for d in [&mut a, &mut b] {
            let ServerMessage::SettingChanged { setting } = d.recv().await else {
                panic!()
            };
            assert!(!setting.stored_choice);
        }
    }
}

all_modes! {
    #[tokio::test]
    async fn under_disabled_the_change_is_refused_and_nothing_is_pushed() {
        let s = TestServer::start().await;
        let mut a = s.device(KEN, 1).await;
        let mut b = s.device(KEN, 2).await;
        a.send(ClientMessage::SetE2ee { enabled: true }).await;
        match a.recv().await {
            ServerMessage::Error { code, message } => {
                assert_eq!(code, ErrorCode::SettingRefused);
                assert_eq!(
                    message,
                    "your organisation hasn't allowed end-to-end encrypted calls for you (policy Global)"
                );
            }
            other => panic!("{other:?}"),
        }
        b.quiet(150).await;
        let (_, view) = s.get("/settings/e2ee", &a.token).await;
        assert_eq!(view["stored_choice"], false);
        assert_eq!(view["lock"], "OffByPolicy");
        let (status, body) = s
            .send(
                "PUT",
                "/settings/e2ee",
                Some(&a.token),
                serde_json::json!({"enabled": true}),
            )
            .await;
        assert_eq!(status, 409, "{body}");
        // An administrator's policy change is pushed to connected devices.
        let admin = s.sign_in(ADMIN).await;
        s.cmdlet(&admin, "Set-CsTeamsEnhancedEncryptionPolicy -Identity Global -CallingEndtoEndEncryptionEnabledType Required").await;
        let ServerMessage::SettingChanged { setting } = b.recv().await else {
            panic!()
        };
        assert!(setting.effective);
        assert_eq!(
            setting.calling,
            sealcall_policy::CallingEncryptionType::Required
        );
    }
}
