//! The admin center in a real Chromium (Debian's, through chromium-driver): the reference's
//! admin-center steps click by click, every other page action with its effect and its audit
//! row, and the refusals. Controls are found by their accessible names and roles.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::ExitCode;
use std::sync::Arc;

use common::*;
use sealcall_engine::EngineEvent;
use sealcall_policy::{CallingEncryptionType, SettingLock};
use sealcall_scenarios::browser::{Chromedriver, Role};
use sealcall_signaling::SettingView;

fn main() -> ExitCode {
    sealcall_scenarios::harness::run(sealcall_scenarios::tests![
        the_reference_admin_center_steps_click_by_click,
    ])
}

/// Waits for Ken's engine to be told a setting that `want` accepts.
async fn setting_where(
    events: &mut sealcall_engine::EngineEvents,
    want: impl Fn(&SettingView) -> bool,
) -> SettingView {
    wait_for(events, 10, |e| match e {
        EngineEvent::Setting(s) if want(s) => Some(s.clone()),
        _ => None,
    })
    .await
}

async fn the_reference_admin_center_steps_click_by_click(driver: Arc<Chromedriver>) {
    let server = contoso().await;
    let (ken, mut ken_events) = engine(&server, KEN, 440).await;
    setting_where(&mut ken_events, |s| {
        s.calling == CallingEncryptionType::Disabled
    })
    .await;
    let web = driver.browser(&server.url).await.unwrap();

    // 1. Sign in with an account that has the Teams or global administrator role.
    web.open("/admin").await.unwrap();
    assert_eq!(
        web.path().await.unwrap(),
        "/admin/sign-in",
        "signed out: to sign-in"
    );
    web.fill("User name", ADMIN).await.unwrap();
    web.fill("Password", PASS).await.unwrap();
    web.click(Role::Button, "Sign in").await.unwrap();

    // 2. Go to Enhanced encryption policies (where signing in lands; also in the navigation).
    web.click(Role::Link, "Enhanced encryption policies")
        .await
        .unwrap();
    assert_eq!(web.heading().await.unwrap(), "Enhanced encryption policies");
    let rows = web.table("Enhanced encryption policies").await.unwrap();
    assert_eq!(rows[0][0], "Global (Org-wide default)", "Global first");
    assert_eq!(
        rows[0][2], "Not enabled (Disabled)",
        "a label, the cmdlet value as help"
    );

    // 3. Add a new policy and name it.
    web.click(Role::Link, "Add").await.unwrap();
    web.fill("Name", "ContosoE2EEUserPolicy").await.unwrap();
    web.fill("Description", "Pilot users").await.unwrap();
    // 4. End-to-end call encryption: Not enabled, but users can enable; Save.
    web.click(Role::Radio, "Not enabled, but users can enable")
        .await
        .unwrap();
    web.click(Role::Button, "Save").await.unwrap();
    let notice = web.notice().await.unwrap().expect("a notice after saving");
    assert!(notice.starts_with("Policy added."), "{notice}");
    assert!(notice.contains("applies at once"), "{notice}");
    let rows = web.table("Enhanced encryption policies").await.unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1][0], "ContosoE2EEUserPolicy");
    assert_eq!(rows[1][1], "Pilot users");
    assert_eq!(
        rows[1][2],
        "Not enabled, but users can enable (DisabledUserOverride)"
    );
    let listed = server
        .cmdlet_output("Get-CsTeamsEnhancedEncryptionPolicy -Identity ContosoE2EEUserPolicy")
        .await
        .unwrap();
    assert!(listed.contains("CallingEndtoEndEncryptionEnabledType : DisabledUserOverride"));
    assert!(listed.contains("Description                          : Pilot users"));

    // 3'. Or choose the default policy: Global, Not enabled, but users can enable, Save.
    web.click(Role::Link, "Edit Global (Org-wide default)")
        .await
        .unwrap();
    assert_eq!(
        web.heading().await.unwrap(),
        "Edit Global (Org-wide default)"
    );
    web.click(Role::Radio, "Not enabled, but users can enable")
        .await
        .unwrap();
    web.click(Role::Button, "Save").await.unwrap();
    assert!(
        web.notice()
            .await
            .unwrap()
            .unwrap()
            .starts_with("Policy saved.")
    );
    // The effect, through the cmdlets and through Ken's engine (pushed at once).
    assert!(get_policies(&server)
        .await
        .starts_with("Identity                             : Global\nCallingEndtoEndEncryptionEnabledType : DisabledUserOverride"));
    let s = setting_where(&mut ken_events, |s| {
        s.calling == CallingEncryptionType::DisabledUserOverride
    })
    .await;
    assert_eq!((s.policy.as_str(), s.lock), ("Global", None));

    // To disable: Not enabled.
    web.click(Role::Link, "Edit Global (Org-wide default)")
        .await
        .unwrap();
    web.click(Role::Radio, "Not enabled").await.unwrap();
    web.click(Role::Button, "Save").await.unwrap();
    let s = setting_where(&mut ken_events, |s| {
        s.calling == CallingEncryptionType::Disabled
    })
    .await;
    assert_eq!(s.lock, Some(SettingLock::OffByPolicy));
    assert!(
        ken.set_e2ee(true).await.is_err(),
        "Ken can't turn it on under Not enabled"
    );

    // Then assign the policy to a user (groups and the tenant: the other test).
    web.click(Role::Link, "Assign policies").await.unwrap();
    web.select("Policy for Ken Meyer", "ContosoE2EEUserPolicy")
        .await
        .unwrap();
    web.click(Role::Button, "Assign to Ken Meyer")
        .await
        .unwrap();
    assert!(
        web.notice()
            .await
            .unwrap()
            .unwrap()
            .starts_with("Assignment saved.")
    );
    let users = web.table("Users").await.unwrap();
    let ken_row = users
        .iter()
        .find(|r| r[0].starts_with("Ken Meyer"))
        .unwrap();
    assert_eq!(ken_row[1], "ContosoE2EEUserPolicy");
    assert_eq!(
        ken_row[2],
        "ContosoE2EEUserPolicy: Not enabled, but users can enable"
    );
    assert_eq!(ken_row[3], "direct assignment");
    let s = setting_where(&mut ken_events, |s| s.policy == "Tag:ContosoE2EEUserPolicy").await;
    assert_eq!(s.calling, CallingEncryptionType::DisabledUserOverride);
    assert_eq!(effective(&server, KEN).await["source"], "Direct");
    let audit = last_audit(&server).await;
    assert_eq!(
        (&audit["actor"], &audit["action"], &audit["target"]),
        (
            &ADMIN.into(),
            &"GrantUser".into(),
            &format!("user:{KEN}").into()
        )
    );
    assert_eq!(audit["after"], "Tag:ContosoE2EEUserPolicy");
    // Ken can now turn on "End-to-end encrypted calls".
    assert!(ken.set_e2ee(true).await.unwrap().effective);
    web.quit().await.unwrap();
}
