//! Sign-in, tokens, throttling and authorisation: every refusal changes nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
mod common;

use common::*;
use serde_json::json;

both_stores! {
    #[tokio::test]
    async fn sign_in_wrong_password_and_unknown_user_are_refused_alike() {
        let s = TestServer::start().await;
        let token = s.sign_in(KEN).await;
        assert_eq!(token.len(), 64);
        let (status, me) = s.get("/me", &token).await;
        assert_eq!(status, 200);
        assert_eq!(me["user"], KEN);
        assert_eq!(me["display_name"], "Ken Meyer");
        for user in [KEN, "nobody@contoso.com"] {
            let (status, body) = s
                .send(
                    "POST",
                    "/sign-in",
                    None,
                    json!({"user": user, "password": "wrong password"}),
                )
                .await;
            assert_eq!(status, 401);
            assert_eq!(body["error"], "wrong user name or password");
        }
        // The token is stored only as a hash: the store never contains it.
        for data in stored_bytes(&s.db) {
            assert!(!data.windows(token.len()).any(|w| w == token.as_bytes()));
            assert!(
                !data
                    .windows(PASSWORD.len())
                    .any(|w| w == PASSWORD.as_bytes())
            );
        }
    }
}

both_stores! {
    #[tokio::test]
    async fn repeated_failures_are_throttled_with_retry_after() {
        let s = TestServer::start().await;
        for _ in 0..5 {
            let (status, _) = s
                .send(
                    "POST",
                    "/sign-in",
                    None,
                    json!({"user": ANA, "password": "guess guess"}),
                )
                .await;
            assert_eq!(status, 401);
        }
        let r = s
            .http
            .request(
                "POST",
                "/sign-in",
                None,
                Some(&json!({"user": ANA, "password": PASSWORD})),
            )
            .await
            .unwrap();
        assert_eq!(
            r.status, 429,
            "even the right password is refused while throttled"
        );
        assert!(r.header("retry-after").unwrap().parse::<u64>().unwrap() >= 1);
        assert!(r.error().contains("too many failed sign-ins"));
        // Another account is unaffected.
        s.sign_in(KEN).await;
    }
}

both_stores! {
    #[tokio::test]
    async fn expired_revoked_missing_and_wrong_tokens_are_refused() {
        let s = TestServer::start_with(|c| c.session_ttl = std::time::Duration::ZERO).await;
        let expired = s.sign_in(KEN).await;
        let (status, body) = s.get("/me", &expired).await;
        assert_eq!(status, 401);
        assert_eq!(body["error"], "invalid or expired session token");

        let s = TestServer::start().await;
        let token = s.sign_in(KEN).await;
        let (status, _) = s.get("/me", &token).await;
        assert_eq!(status, 200);
        let r = s
            .http
            .request("POST", "/sign-out", Some(&token), None)
            .await
            .unwrap();
        assert_eq!(r.status, 204);
        assert_eq!(s.get("/me", &token).await.0, 401, "revoked");
        assert_eq!(s.get("/me", &"0".repeat(64)).await.0, 401, "wrong");
        let r = s.http.request("GET", "/me", None, None).await.unwrap();
        assert_eq!(r.status, 401);
        assert!(r.error().contains("Authorization"));
        // The WebSocket needs a valid token too.
        let good = s.sign_in(KEN).await;
        let device = s.register_device(&good, 1, "Linux").await;
        assert!(Device::connect(s.addr(), &token, &device).await.is_err());
        assert!(
            Device::connect(s.addr(), "nonsense", &device)
                .await
                .is_err()
        );
        // …and a device of the signed-in user.
        let ana = s.sign_in(ANA).await;
        assert!(Device::connect(s.addr(), &ana, &device).await.is_err());
        assert!(Device::connect(s.addr(), &good, &device).await.is_ok());
    }
}

both_stores! {
    #[tokio::test]
    async fn users_change_only_their_own_setting_and_devices() {
        let s = TestServer::start().await;
        let admin = s.sign_in(ADMIN).await;
        let (status, _) = s
            .cmdlet(&admin, "Set-CsTeamsEnhancedEncryptionPolicy -Identity Global -CallingEndtoEndEncryptionEnabledType DisabledUserOverride")
            .await;
        assert_eq!(status, 200);
        let ken = s.sign_in(KEN).await;
        let ana = s.sign_in(ANA).await;
        let path = format!("/users/{ANA}/settings/e2ee");
        let (status, body) = s
            .send("PUT", &path, Some(&ken), json!({"enabled": true}))
            .await;
        assert_eq!(status, 403, "{body}");
        assert!(body["error"].as_str().unwrap().starts_with("access denied"));
        // Administrators can't change a user's setting either.
        let (status, _) = s
            .send("PUT", &path, Some(&admin), json!({"enabled": true}))
            .await;
        assert_eq!(status, 403);
        let (_, setting) = s.get("/settings/e2ee", &ana).await;
        assert_eq!(setting["stored_choice"], false, "nothing changed");
        // Own setting works, through either path.
        let (status, setting) = s
            .send("PUT", &path, Some(&ana), json!({"enabled": true}))
            .await;
        assert_eq!(status, 200);
        assert_eq!(setting["effective"], true);
        // Devices: another user's device is not found for you.
        let device = s.register_device(&ana, 2, "Windows").await;
        let r = s
            .http
            .request("DELETE", &format!("/devices/{device}"), Some(&ken), None)
            .await
            .unwrap();
        assert_eq!(r.status, 404);
        let (_, list) = s.get("/devices", &ana).await;
        assert_eq!(list.as_array().unwrap().len(), 1);
        let r = s
            .http
            .request("DELETE", &format!("/devices/{device}"), Some(&ana), None)
            .await
            .unwrap();
        assert_eq!(r.status, 204);
    }
}

both_stores! {
    #[tokio::test]
    async fn non_admins_cannot_run_cmdlets_and_nothing_changes() {
        let s = TestServer::start().await;
        let ken = s.sign_in(KEN).await;
        let admin = s.sign_in(ADMIN).await;
        let (status, body) = s
            .cmdlet(&ken, "Set-CsTeamsEnhancedEncryptionPolicy -Identity Global -CallingEndtoEndEncryptionEnabledType Required")
            .await;
        assert_eq!(status, 403);
        assert_eq!(
            body["error"],
            "access denied: Set-CsTeamsEnhancedEncryptionPolicy requires the Teams administrator or global administrator role"
        );
        assert_eq!(s.get("/admin/policies", &ken).await.0, 403);
        let (_, policies) = s.get("/admin/policies", &admin).await;
        assert_eq!(policies[0]["calling"], "Disabled", "nothing changed");
        // The denied attempt is audited.
        let (_, audit) = s.get("/admin/audit?limit=5", &admin).await;
        assert_eq!(audit[0]["actor"], KEN);
        assert_eq!(audit[0]["outcome"], "Denied");
        // A Teams administrator may.
        let bo = s.sign_in(BO).await;
        let (status, _) = s.cmdlet(&bo, "Get-CsTeamsEnhancedEncryptionPolicy").await;
        assert_eq!(status, 200);
    }
}

both_stores! {
    #[tokio::test]
    async fn bad_requests_get_clear_4xx_and_change_nothing() {
        let s = TestServer::start().await;
        let admin = s.sign_in(ADMIN).await;
        let r = s
            .http
            .raw("POST", "/sign-in", None, Some(b"{not json"))
            .await
            .unwrap();
        assert_eq!(r.status, 400);
        assert!(r.error().starts_with("invalid JSON body"), "{}", r.error());
        let r = s
            .http
            .raw(
                "POST",
                "/sign-in",
                None,
                Some(br#"{"user":"a","password":"b","x":1}"#),
            )
            .await
            .unwrap();
        assert_eq!(r.status, 400);
        assert!(r.error().contains("unknown field"), "{}", r.error());
        let big = vec![b' '; 100 * 1024];
        let r = s
            .http
            .raw("POST", "/admin/cmdlet", Some(&admin), Some(&big))
            .await
            .unwrap();
        assert_eq!(r.status, 413);
        let (status, body) = s.cmdlet(&admin, "Set-CsTeamsEnhancedEncryptionPolicy -Identity Global -CallingEndtoEndEncryptionEnabledType DisabledUserOveride").await;
        assert_eq!(status, 400);
        assert!(
            body["error"]
                .as_str()
                .unwrap()
                .contains("did you mean 'DisabledUserOverride'")
        );
        let (status, body) = s
            .cmdlet(
                &admin,
                "Grant-CsTeamsEnhancedEncryptionPolicy -Identity nobody@contoso.com -PolicyName x",
            )
            .await;
        assert_eq!(status, 404, "{body}");
        let (_, policies) = s.get("/admin/policies", &admin).await;
        assert_eq!(policies.as_array().unwrap().len(), 1);
        assert_eq!(policies[0]["calling"], "Disabled");
        let (status, body) = s
            .send(
                "POST",
                "/devices",
                Some(&admin),
                json!({"identity_key": "zz", "platform": "Linux", "client_version": "1"}),
            )
            .await;
        assert_eq!(status, 400, "{body}");
        let (status, _) = s.get("/nowhere", &admin).await;
        assert_eq!(status, 404);
    }
}
