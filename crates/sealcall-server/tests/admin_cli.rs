//! Every reference cmdlet example sent through `sealcall admin` (the `admin_run` library
//! function) against a running server, checked by reading the effective policy back.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
mod common;

use common::*;
use sealcall_server::{PasswordCost, cli};

async fn admin(
    s: &TestServer,
    line: Option<&str>,
    script: &str,
    interactive: bool,
) -> (cli::AdminSummary, String) {
    let mut out = Vec::new();
    let summary = cli::admin_run(
        &s.url,
        &Default::default(),
        ADMIN,
        PASSWORD,
        line,
        script.as_bytes(),
        &mut out,
        interactive,
    )
    .await
    .unwrap();
    (summary, String::from_utf8(out).unwrap())
}

async fn explain(s: &TestServer, token: &str, user: &str) -> String {
    let (status, body) = s
        .get(&format!("/admin/users/{user}/effective-policy"), token)
        .await;
    assert_eq!(status, 200, "{body}");
    body["explain"].as_str().unwrap().to_owned()
}

both_stores! {
    #[tokio::test]
    async fn every_reference_example_runs_through_sealcall_admin() {
        let s = TestServer::start().await;
        let db = s.db.clone();
        blocking(move || {
            cli::user_add(
                &db,
                "username",
                "User Name",
                PASSWORD,
                &[],
                PasswordCost::insecure_for_tests(),
            )
        })
        .await
        .unwrap();
        let token = s.sign_in(ADMIN).await;

        // One line as an argument.
        let (sum, out) = admin(&s, Some("Set-CsTeamsEnhancedEncryptionPolicy -Identity Global -CallingEndtoEndEncryptionEnabledType DisabledUserOverride"), "", false).await;
        assert_eq!((sum.succeeded, sum.failed), (1, 0), "{out}");
        assert_eq!(
            explain(&s, &token, KEN).await,
            "Global (DisabledUserOverride), the global, organization-wide default policy"
        );

        // A script on standard input.
        let script = r#"
    # Create the pilot policy and the reference 'policyname'
    New-CsTeamsEnhancedEncryptionPolicy -Identity ContosoE2EEUserPolicy -CallingEndtoEndEncryptionEnabledType DisabledUserOverride -Description 'Pilot group'
    New-CsTeamsEnhancedEncryptionPolicy -Identity policyname
    Grant-CsTeamsEnhancedEncryptionPolicy -Identity "username" -PolicyName "policyname"
    Grant-CsTeamsEnhancedEncryptionPolicy -Identity "kenmeyer@contoso.onmicrosoft.com" -PolicyName "ContosoE2EEUserPolicy"
    "#;
        let (sum, out) = admin(&s, None, script, false).await;
        assert_eq!((sum.succeeded, sum.failed), (4, 0), "{out}");
        assert!(out.contains("Identity                             : Tag:ContosoE2EEUserPolicy\nCallingEndtoEndEncryptionEnabledType : DisabledUserOverride\nMeetingEndToEndEncryption            : Disabled\nDescription                          : Pilot group"), "{out}");
        assert_eq!(
            explain(&s, &token, "username").await,
            "Tag:policyname (Disabled), assigned directly to the user"
        );
        assert_eq!(
            explain(&s, &token, KEN).await,
            "Tag:ContosoE2EEUserPolicy (DisabledUserOverride), assigned directly to the user"
        );

        // Interactive: prompt, output, errors, exit.
        let (sum, out) = admin(
            &s,
            None,
            "Grant-CsTeamsEnhancedEncryptionPolicy -Identity \"kenmeyer@contoso.onmicrosoft.com\" -PolicyName $NULL\nGrant-CsTeamsEnhancedEncryptionPolicy -Identity Global -CallingEndtoEndEncryptionEnabledType Disabled\nGet-CsTeamsEnhancedEncryptionPolicy -Identity Global\nGet-CsTeamsEnhancedEncryptionPolicyy\nexit\nGet-CsTeamsEnhancedEncryptionPolicy\n",
            true,
        )
        .await;
        assert_eq!((sum.succeeded, sum.failed), (3, 1), "{out}");
        assert!(out.starts_with("PS> "));
        assert!(out.contains("Identity                             : Global\nCallingEndtoEndEncryptionEnabledType : Disabled"), "{out}");
        assert!(out.contains("ERROR: unknown cmdlet 'Get-CsTeamsEnhancedEncryptionPolicyy' (did you mean 'Get-CsTeamsEnhancedEncryptionPolicy'?)"), "{out}");
        assert_eq!(
            explain(&s, &token, KEN).await,
            "Global (Disabled), the global, organization-wide default policy"
        );
        assert_eq!(
            explain(&s, &token, "username").await,
            "Tag:policyname (Disabled), assigned directly to the user"
        );
    }
}

both_stores! {
    #[tokio::test]
    async fn admin_with_bad_credentials_or_role_is_refused() {
        let s = TestServer::start().await;
        let mut out = Vec::new();
        let err = cli::admin_run(
            &s.url,
            &Default::default(),
            ADMIN,
            "wrong password",
            Some("Get-CsTeamsEnhancedEncryptionPolicy"),
            &b""[..],
            &mut out,
            false,
        )
        .await
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "sign-in failed: wrong user name or password"
        );
        let summary = cli::admin_run(
            &s.url,
            &Default::default(),
            KEN,
            PASSWORD,
            Some("Get-CsTeamsEnhancedEncryptionPolicy"),
            &b""[..],
            &mut out,
            false,
        )
        .await
        .unwrap();
        assert_eq!(summary.failed, 1);
        assert!(
            String::from_utf8(out)
                .unwrap()
                .starts_with("ERROR: access denied")
        );
    }
}

both_stores! {
    #[tokio::test]
    async fn directory_commands_manage_users_groups_and_roles() {
        let dir = tempfile::tempdir().unwrap();
        let db = fresh_store(dir.path());
        blocking(move || directory_commands(&db)).await;
    }
}

fn directory_commands(db: &sealcall_server::StoreLocation) {
    let db = db.clone();
    let cost = PasswordCost::insecure_for_tests();
    assert!(matches!(
        cli::user_add(&db, KEN, "Ken", PASSWORD, &[], cost),
        Err(sealcall_server::ServerError::NotInitialised)
    ));
    seed(&db);
    assert!(cli::server_init(&db, "Again", ADMIN, "A", PASSWORD, cost).is_err());
    assert!(
        cli::user_add(&db, KEN, "Ken", PASSWORD, &[], cost).is_err(),
        "exists"
    );
    assert!(
        cli::user_add(&db, "new@contoso.com", "New", "short", &[], cost).is_err(),
        "weak password"
    );
    cli::group_add(&db, "sales").unwrap();
    cli::group_add_member(&db, "sales", KEN).unwrap();
    assert!(cli::group_add_member(&db, "sales", "nobody").is_err());
    cli::role_set(&db, ANA, cli::parse_role("teams-admin").unwrap(), true).unwrap();
    let mut out = Vec::new();
    cli::user_list(&db, &mut out).unwrap();
    cli::group_list(&db, &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.contains(&format!("{ANA}\tAna Ruiz\tteams-admin")),
        "{text}"
    );
    assert!(text.contains(&format!("sales: {KEN}")), "{text}");
    cli::user_remove(&db, KEN).unwrap();
    assert!(cli::user_remove(&db, KEN).is_err());
    cli::group_remove(&db, "sales").unwrap();
    assert!(cli::parse_role("root").is_err());
}

both_stores! {
    #[tokio::test]
    async fn compliance_recording_and_client_minimums_run_through_sealcall_admin() {
        let s = TestServer::start().await;
        let token = s.sign_in(ADMIN).await;
        let script = r#"
    Set-SealcallComplianceRecording -Identity kenmeyer@contoso.onmicrosoft.com -Enabled $true
    Set-SealcallClientRequirements -MinimumVersion 2.0.0
    Set-SealcallClientRequirements -Platform Linux -MinimumVersion 3.0
    Set-SealcallClientRequirements -Platform Web -MinimumVersion 1.0
    "#;
        let (sum, out) = admin(&s, None, script, false).await;
        assert_eq!((sum.succeeded, sum.failed), (3, 1), "{out}");
        assert!(out.contains("Web"), "the refused line says why: {out}");
        let (_, body) = s
            .get(&format!("/admin/users/{KEN}/effective-policy"), &token)
            .await;
        assert_eq!(body["setting"]["compliance_recording"], true);
        let (_, audit) = s.get("/admin/audit?limit=2", &token).await;
        assert_eq!(audit[0]["action"], "SetClientRequirements");
        assert_eq!(audit[0]["after"], "default 2.0.0; Linux 3.0.0");
        assert_eq!(audit[1]["before"], "default 0.1.0");
    }
}
