//! Stop the server, start it again on the same file: everything is still there, and devices
//! reconnect.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
mod common;

use common::*;
use sealcall_server::Server;
use sealcall_signaling::*;
use serde_json::json;

both_stores! {
    #[tokio::test]
    async fn a_restart_loses_no_users_policies_assignments_settings_devices_or_sessions() {
        let mut s = TestServer::start().await;
        let admin = s.sign_in(ADMIN).await;
        for line in [
            "Set-CsTeamsEnhancedEncryptionPolicy -Identity Global -CallingEndtoEndEncryptionEnabledType DisabledUserOverride",
            "New-CsTeamsEnhancedEncryptionPolicy -Identity Pilot -CallingEndtoEndEncryptionEnabledType Required -Description 'pilot'",
            &format!("Grant-CsTeamsEnhancedEncryptionPolicy -Identity {ANA} -PolicyName Pilot"),
            "New-CsTeamsEnhancedEncryptionPolicy -Identity PqPilot -CallingEndtoEndEncryptionEnabledType RequiredPostQuantum",
            &format!("Grant-CsTeamsEnhancedEncryptionPolicy -Identity {BO} -PolicyName PqPilot"),
        ] {
            assert_eq!(s.cmdlet(&admin, line).await.0, 200, "{line}");
        }
        let mut ken = s.device(KEN, 1).await;
        ken.send(ClientMessage::SetE2ee { enabled: true }).await;
        assert!(matches!(
            ken.recv().await,
            ServerMessage::SettingChanged { .. }
        ));
        let ken_token = ken.token.clone();
        let ken_device = ken.id.clone();

        s.stop().await;
        // The device is told the server is going away.
        use futures_util::StreamExt;
        let closed = tokio::time::timeout(std::time::Duration::from_secs(5), async {
            loop {
                match ken.ws.next().await {
                    Some(Ok(tokio_tungstenite::tungstenite::Message::Close(frame))) => {
                        return frame.map(|f| u16::from(f.code));
                    }
                    Some(Ok(_)) => continue,
                    _ => return None,
                }
            }
        })
        .await
        .unwrap();
        assert_eq!(closed, Some(1001));

        // Same file, new process state, new port.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let handle = Server::start(config(&s.db), listener).await.unwrap();
        s.http = sealcall_server::HttpClient::new(&format!("http://{}", handle.addr())).unwrap();
        s.handle = Some(handle);

        let (status, _) = s.get("/me", &ken_token).await;
        assert_eq!(status, 200, "sessions survive");
        let (_, view) = s.get("/settings/e2ee", &ken_token).await;
        assert_eq!(view["stored_choice"], true);
        assert_eq!(view["effective"], true);
        let admin = s.sign_in(ADMIN).await;
        for (user, calling, explain) in [
            (
                ANA,
                "Required",
                "Tag:Pilot (Required), assigned directly to the user",
            ),
            (
                KEN,
                "DisabledUserOverride",
                "Global (DisabledUserOverride), the global, organization-wide default policy",
            ),
            (
                BO,
                "RequiredPostQuantum",
                "Tag:PqPilot (RequiredPostQuantum), assigned directly to the user",
            ),
        ] {
            let (_, eff) = s
                .get(&format!("/admin/users/{user}/effective-policy"), &admin)
                .await;
            assert_eq!(eff["policy"]["calling"], calling, "{user}");
            assert_eq!(eff["explain"], explain, "{user}");
        }
        let (_, users) = s.get("/directory", &admin).await;
        assert_eq!(users.as_array().unwrap().len(), 4);
        let (_, devices) = s.get("/devices", &ken_token).await;
        assert_eq!(devices[0]["device_id"], ken_device.as_str());
        // The device reconnects with its token.
        let mut again = Device::connect(s.addr(), &ken_token, &ken_device)
            .await
            .unwrap();
        assert!(matches!(again.recv().await, ServerMessage::Welcome { .. }));
        let (status, _) = s
            .send(
                "PUT",
                "/settings/e2ee",
                Some(&ken_token),
                json!({"enabled": false}),
            )
            .await;
        assert_eq!(status, 200);
        s.stop().await;
    }
}
