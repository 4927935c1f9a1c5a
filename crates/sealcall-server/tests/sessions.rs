//! Sessions belong to devices: signing out, removing a device (by its owner, by an
//! administrator, or on the database file from the command line) and a session expiring each
//! close that device's live WebSocket within 1 s; a removed device stops ringing and its
//! identity key is no longer offered; a session opens only its own device's socket.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
mod common;

use std::time::Duration;

use common::*;
use sealcall_server::cli;
use sealcall_signaling::{ClientMessage, ServerMessage};
use serde_json::json;

/// What "within 1 s" allows: the socket must be closed by then.
const WITHIN: Duration = Duration::from_secs(1);

async fn assert_closed(d: &mut Device, what: &str) {
    let (code, took) = d
        .closed_within(WITHIN)
        .await
        .unwrap_or_else(|| panic!("{what}: the socket stayed open for {WITHIN:?}"));
    eprintln!("{what}: closed with {code} after {took:?}");
    assert_eq!(code, 4001, "{what}");
}

all_modes! {
    #[tokio::test]
    async fn removing_a_device_closes_its_socket_stops_its_ringing_and_hides_its_key() {
        let s = TestServer::start().await;
        let mut ken = s.device(KEN, 1).await;
        let mut ana_laptop = s.device(ANA, 2).await;
        let mut ana_phone = s.device(ANA, 3).await;
        ken.send(ClientMessage::Invite {
            callee: ANA.parse().unwrap(),
        })
        .await;
        let call_id = match ken.recv_call().await {
            ServerMessage::InviteSent {
                call_id,
                ringing_devices,
                ..
            } => {
                assert_eq!(ringing_devices, 2);
                call_id
            }
            other => panic!("{other:?}"),
        };
        for d in [&mut ana_laptop, &mut ana_phone] {
            assert!(matches!(
                d.recv_call().await,
                ServerMessage::IncomingCall { .. }
            ));
        }

        // Ana removes her phone from her laptop's session.
        let r = s
            .http
            .request(
                "DELETE",
                &format!("/devices/{}", ana_phone.id),
                Some(&ana_laptop.token),
                None,
            )
            .await
            .unwrap();
        assert_eq!(r.status, 204);
        assert_closed(&mut ana_phone, "removed device").await;

        // Only the laptop still rings: its accept works and the call goes on.
        ana_laptop
            .send(ClientMessage::Accept {
                call_id: call_id.clone(),
            })
            .await;
        for d in [&mut ken, &mut ana_laptop] {
            assert!(matches!(
                d.recv_call().await,
                ServerMessage::CallAccepted { .. }
            ));
        }
        let (_, devices) = s
            .get(&format!("/directory/{ANA}/devices"), &ken.token)
            .await;
        let ids: Vec<&str> = devices
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["device_id"].as_str().unwrap())
            .collect();
        assert_eq!(
            ids,
            vec![ana_laptop.id.as_str()],
            "the removed device's key is not offered"
        );
        // Its session is gone with it.
        assert_eq!(s.get("/me", &ana_phone.token).await.0, 401);
        ken.send(ClientMessage::Hangup { call_id }).await;
        assert!(matches!(
            ana_laptop.recv_call().await,
            ServerMessage::CallEnded { .. }
        ));

        // A new call rings the one remaining device.
        ken.send(ClientMessage::Invite {
            callee: ANA.parse().unwrap(),
        })
        .await;
        match ken.recv_call().await {
            ServerMessage::InviteSent {
                ringing_devices, ..
            } => assert_eq!(ringing_devices, 1),
            other => panic!("{other:?}"),
        }
    }
}

all_modes! {
    #[tokio::test]
    async fn signing_out_closes_the_socket_and_a_session_opens_only_its_own_device() {
        let s = TestServer::start().await;
        let mut ken = s.device(KEN, 1).await;
        let other = s.device(KEN, 2).await;
        // Ken's first session cannot open his second device's socket, nor can a session without a
        // device open any.
        assert!(
            Device::connect(s.addr(), &ken.token, &other.id)
                .await
                .is_err()
        );
        let bare = s.sign_in(KEN).await;
        assert!(Device::connect(s.addr(), &bare, &ken.id).await.is_err());
        // Signing in again as a known device (id and key) gives a session of that device; with
        // the wrong key, a session of no device.
        let as_device = async |key: u8| {
            let body = json!({"user": KEN, "password": PASSWORD, "device_id": ken.id, "identity_key": hex::encode([key; 32])});
            let (status, body) = s.send("POST", "/sign-in", None, body).await;
            assert_eq!(status, 200);
            body
        };
        assert_eq!(as_device(1).await["device_id"], ken.id.as_str());
        let body = as_device(9).await;
        assert!(body["device_id"].is_null(), "{body}");

        let r = s
            .http
            .request("POST", "/sign-out", Some(&ken.token), None)
            .await
            .unwrap();
        assert_eq!(r.status, 204);
        assert_closed(&mut ken, "signed out").await;
    }
}

all_modes! {
    #[tokio::test]
    async fn an_expiring_session_and_a_removal_on_the_database_file_close_the_socket() {
        // Sessions last two seconds (expiry times are whole seconds, so one second could end
        // before the socket opens): the timer (not only the connect-time check) closes it.
        let s = TestServer::start_with(|c| c.session_ttl = Duration::from_secs(2)).await;
        let mut ken = s.device(KEN, 1).await;
        let (code, took) = ken
            .closed_within(Duration::from_secs(4))
            .await
            .expect("closed when the session expired");
        eprintln!("expired session closed with {code} after {took:?} (ttl 2 s)");
        assert_eq!(code, 4001);

        // `sealcall user remove` works on the database file, not through the server: the next
        // check (every 500 ms) notices and closes the socket.
        let s = TestServer::start().await;
        let mut ana = s.device(ANA, 2).await;
        let db = s.db.clone();
        blocking(move || cli::user_remove(&db, ANA)).await.unwrap();
        assert_closed(&mut ana, "user removed on the database file").await;
    }
}

all_modes! {
    #[tokio::test]
    async fn administrators_list_and_remove_any_users_devices_others_cannot() {
        let s = TestServer::start().await;
        let mut ana = s.device(ANA, 2).await;
        let admin = s.sign_in(ADMIN).await;
        let ken = s.sign_in(KEN).await;
        let path = format!("/admin/users/{ANA}/devices");
        assert_eq!(s.get(&path, &ken).await.0, 403);
        let (status, list) = s.get(&path, &admin).await;
        assert_eq!(status, 200);
        assert_eq!(list[0]["device_id"], ana.id.as_str());
        let one = format!("{path}/{}", ana.id);
        assert_eq!(
            s.http
                .request("DELETE", &one, Some(&ken), None)
                .await
                .unwrap()
                .status,
            403
        );
        assert_eq!(
            s.http
                .request("DELETE", &one, Some(&admin), None)
                .await
                .unwrap()
                .status,
            204
        );
        assert_closed(&mut ana, "removed by an administrator").await;
        let (_, audit) = s.get("/admin/audit", &admin).await;
        assert_eq!(audit[0]["action"], "RemoveDevice");
        assert_eq!(
            s.http
                .request("DELETE", &one, Some(&admin), None)
                .await
                .unwrap()
                .status,
            404
        );
    }
}

all_modes! {
    #[tokio::test]
    async fn sealcall_device_lists_and_removes_own_and_as_administrator_others() {
        let s = TestServer::start().await;
        let mut ana = s.device(ANA, 2).await;
        let trust = Default::default();
        let target = |user, of| cli::DeviceTarget {
            server: &s.url,
            trust: &trust,
            user,
            of,
        };
        let mut out = Vec::new();
        cli::device_list(target(ANA, None), PASSWORD, &mut out)
            .await
            .unwrap();
        let listed = String::from_utf8(out).unwrap();
        assert!(
            listed.starts_with(&ana.id) && listed.contains("Linux"),
            "{listed}"
        );
        let refused = cli::device_remove(target(KEN, Some(ANA)), PASSWORD, &ana.id)
            .await
            .unwrap_err();
        assert!(refused.to_string().contains("access denied"), "{refused}");
        assert!(
            cli::device_remove(target(ADMIN, Some(ANA)), PASSWORD, "no such!")
                .await
                .is_err()
        );
        cli::device_remove(target(ADMIN, Some(ANA)), PASSWORD, &ana.id)
            .await
            .unwrap();
        assert_closed(&mut ana, "sealcall device remove --of").await;
        let mut out = Vec::new();
        cli::device_list(target(ANA, None), PASSWORD, &mut out)
            .await
            .unwrap();
        assert!(out.is_empty());
    }
}

all_modes! {
    #[tokio::test]
    async fn a_registered_device_is_announced_at_once_to_the_accounts_other_devices() {
        let s = TestServer::start().await;
        let mut laptop = s.device(ANA, 2).await;
        let mut ken = s.device(KEN, 1).await;
        let started = std::time::Instant::now();
        let token = s.sign_in(ANA).await;
        let id = s.register_device(&token, 3, "Mac").await;
        match laptop.recv_any().await {
            ServerMessage::DeviceAdded {
                device_id,
                identity_key,
                platform,
                added_at,
            } => {
                let took = started.elapsed();
                eprintln!("device_added after {took:?}");
                assert!(took < WITHIN, "{took:?}");
                assert_eq!(device_id.as_str(), id);
                assert_eq!(identity_key.0, [3; 32]);
                assert_eq!(platform, sealcall_policy::Platform::Mac);
                assert!(added_at > 1_700_000_000);
            }
            other => panic!("expected device_added, got {other:?}"),
        }
        // Another user's devices hear nothing of it.
        let quiet = tokio::time::timeout(Duration::from_millis(300), ken.recv_any()).await;
        assert!(quiet.is_err(), "{quiet:?}");
    }
}
