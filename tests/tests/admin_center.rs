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
        every_other_page_action_has_its_effect_and_its_audit_row,
        required_post_quantum_is_offered_saved_listed_and_locks_the_setting_on,
        compliance_recording_client_requirements_and_the_audit_log,
        refused_requests_change_nothing_and_scripts_are_shown_as_text,
        screenshots_of_the_policies_page_and_the_edit_form,
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
    noticed(&web, "Policy saved.").await;
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
    assign_to_ken(&web, "ContosoE2EEUserPolicy").await;
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

/// On Assign policies, assigns `policy` to Ken directly and waits for the notice.
async fn assign_to_ken(web: &sealcall_scenarios::browser::Browser, policy: &str) {
    web.click(Role::Link, "Assign policies").await.unwrap();
    web.select("Policy for Ken Meyer", policy).await.unwrap();
    web.click(Role::Button, "Assign to Ken Meyer")
        .await
        .unwrap();
    noticed(web, "Assignment saved.").await;
}

/// Asserts the notice after a change starts with `start` (and says the change applies now).
async fn noticed(web: &sealcall_scenarios::browser::Browser, start: &str) {
    let notice = web
        .notice()
        .await
        .unwrap()
        .expect("a notice after the change");
    assert!(notice.starts_with(start), "{notice}");
    assert!(notice.contains("It applies at once"), "{notice}");
}

/// Signs in as the administrator in a fresh browser.
async fn admin_browser(
    driver: &Chromedriver,
    server: &sealcall_server::testing::LocalServer,
) -> sealcall_scenarios::browser::Browser {
    let web = driver.browser(&server.url).await.unwrap();
    web.sign_in(ADMIN, PASS).await.unwrap();
    assert_eq!(web.heading().await.unwrap(), "Enhanced encryption policies");
    web
}

/// Asserts the newest audit row: who, what, on what, after.
async fn audited(
    server: &sealcall_server::testing::LocalServer,
    action: &str,
    target: &str,
    after: &str,
) {
    let row = last_audit(server).await;
    assert_eq!(row["actor"], ADMIN, "{row}");
    assert_eq!(row["action"], action, "{row}");
    assert_eq!(row["target"], target, "{row}");
    assert_eq!(row["after"].as_str().unwrap_or(""), after, "{row}");
    assert_eq!(row["outcome"], "Applied", "{row}");
}

fn row<'a>(rows: &'a [Vec<String>], first: &str) -> &'a Vec<String> {
    rows.iter()
        .find(|r| r[0].starts_with(first))
        .unwrap_or_else(|| panic!("no row {first:?} in {rows:?}"))
}

async fn add_policy(web: &sealcall_scenarios::browser::Browser, name: &str, choice: &str) {
    web.click(Role::Link, "Enhanced encryption policies")
        .await
        .unwrap();
    web.click(Role::Link, "Add").await.unwrap();
    web.fill("Name", name).await.unwrap();
    web.click(Role::Radio, choice).await.unwrap();
    web.click(Role::Button, "Save").await.unwrap();
    noticed(web, "Policy added.").await;
}

async fn every_other_page_action_has_its_effect_and_its_audit_row(driver: Arc<Chromedriver>) {
    let server = contoso().await;
    let web = admin_browser(&driver, &server).await;
    add_policy(&web, "Sales", "Not enabled, but users can enable").await;
    audited(&server, "NewPolicy", "Tag:Sales", "Identity=Tag:Sales; CallingEndtoEndEncryptionEnabledType=DisabledUserOverride; MeetingEndToEndEncryption=Disabled; Description=\"\"").await;
    add_policy(&web, "MustEncrypt", "Required").await;
    add_policy(&web, "Unused", "Not enabled").await;

    // Edit: description and setting.
    web.click(Role::Link, "Edit Sales").await.unwrap();
    web.fill("Description", "Sales floor").await.unwrap();
    web.click(Role::Button, "Save").await.unwrap();
    let rows = web.table("Enhanced encryption policies").await.unwrap();
    assert_eq!(row(&rows, "Sales")[1], "Sales floor");
    audited(&server, "SetPolicy", "Tag:Sales", "Identity=Tag:Sales; CallingEndtoEndEncryptionEnabledType=DisabledUserOverride; MeetingEndToEndEncryption=Disabled; Description=\"Sales floor\"").await;

    // Groups with a rank: the ranks taken and the group's size are shown.
    web.click(Role::Link, "Assign policies").await.unwrap();
    let groups = web.table("Groups").await.unwrap();
    assert_eq!(row(&groups, "sales")[1], "2", "sales has two members");
    assert_eq!(row(&groups, "support")[1], "1");
    web.select("Policy for group sales", "Sales").await.unwrap();
    web.fill("Rank for group sales", "1").await.unwrap();
    web.click(Role::Button, "Assign to group sales")
        .await
        .unwrap();
    noticed(&web, "Assignment saved.").await;
    audited(&server, "GrantGroup", "group:sales", "Tag:Sales rank 1").await;
    assert!(
        web.main_text()
            .await
            .unwrap()
            .contains("Ranks taken: 1 (sales).")
    );
    let users = web.table("Users").await.unwrap();
    assert_eq!(row(&users, "Ana Ruiz")[3], "group sales, rank 1");
    assert_eq!(row(&users, "Bo Chen")[3], "group sales, rank 1");
    // A rank already taken: refused, announced, nothing changed.
    web.select("Policy for group support", "MustEncrypt")
        .await
        .unwrap();
    web.fill("Rank for group support", "1").await.unwrap();
    web.click(Role::Button, "Assign to group support")
        .await
        .unwrap();
    let alert = web
        .alert()
        .await
        .unwrap()
        .expect("the rank conflict is announced");
    assert!(
        alert.starts_with("Rank 1 is already used by group 'sales'"),
        "{alert}"
    );
    assert_eq!(
        effective(&server, BO).await["source"]["Group"]["group"],
        "sales"
    );
    web.select("Policy for group support", "MustEncrypt")
        .await
        .unwrap();
    web.fill("Rank for group support", "2").await.unwrap();
    web.click(Role::Button, "Assign to group support")
        .await
        .unwrap();
    assert!(
        web.main_text()
            .await
            .unwrap()
            .contains("Ranks taken: 1 (sales), 2 (support).")
    );
    audited(
        &server,
        "GrantGroup",
        "group:support",
        "Tag:MustEncrypt rank 2",
    )
    .await;

    // The tenant-wide default.
    web.select("Policy for the entire tenant", "Sales")
        .await
        .unwrap();
    web.click(Role::Button, "Assign to the entire tenant")
        .await
        .unwrap();
    audited(&server, "GrantTenantDefault", "tenant", "Tag:Sales").await;
    let users = web.table("Users").await.unwrap();
    assert_eq!(row(&users, "Ken Meyer")[3], "tenant-wide default");

    // Users: search by name, add (assign), remove (back to what the precedence gives).
    web.fill("Search users by name", "ana").await.unwrap();
    web.click(Role::Button, "Search").await.unwrap();
    let users = web.table("Users matching “ana”").await.unwrap();
    assert_eq!(users.len(), 1, "{users:?}");
    web.select("Policy for Ana Ruiz", "MustEncrypt")
        .await
        .unwrap();
    web.click(Role::Button, "Assign to Ana Ruiz").await.unwrap();
    audited(
        &server,
        "GrantUser",
        &format!("user:{ANA}"),
        "Tag:MustEncrypt",
    )
    .await;
    assert_eq!(
        row(&web.table("Users").await.unwrap(), "Ana Ruiz")[3],
        "direct assignment"
    );
    web.click(Role::Button, "Remove the direct assignment of Ana Ruiz")
        .await
        .unwrap();
    audited(&server, "GrantUser", &format!("user:{ANA}"), "(none)").await;
    assert_eq!(
        row(&web.table("Users").await.unwrap(), "Ana Ruiz")[3],
        "group sales, rank 1"
    );
    // Back to Global for the tenant.
    web.select("Policy for the entire tenant", "Global (Org-wide default)")
        .await
        .unwrap();
    web.click(Role::Button, "Assign to the entire tenant")
        .await
        .unwrap();
    audited(&server, "GrantTenantDefault", "tenant", "Global").await;
    assert_eq!(
        row(&web.table("Users").await.unwrap(), "Ken Meyer")[3],
        "no other assignment: Global (Org-wide default)"
    );
    web.click(Role::Button, "Remove the assignment of group support")
        .await
        .unwrap();
    audited(&server, "GrantGroup", "group:support", "(none)").await;

    // Delete: Global has no Delete, and can't be deleted by URL either.
    web.click(Role::Link, "Enhanced encryption policies")
        .await
        .unwrap();
    assert!(
        web.control(Role::Link, "Delete Global (Org-wide default)")
            .await
            .is_err()
    );
    web.open("/admin/enhanced-encryption-policies/Global/delete")
        .await
        .unwrap();
    assert_eq!(web.heading().await.unwrap(), "Global can't be deleted");
    // An unassigned policy goes at once.
    web.click(Role::Link, "Back to Enhanced encryption policies")
        .await
        .unwrap();
    web.click(Role::Link, "Delete Unused").await.unwrap();
    web.click(Role::Button, "Delete").await.unwrap();
    noticed(&web, "Policy deleted.").await;
    audited(&server, "RemovePolicy", "Tag:Unused", "").await;
    // An assigned one only after the confirmation.
    web.click(Role::Link, "Delete Sales").await.unwrap();
    assert!(
        web.main_text()
            .await
            .unwrap()
            .contains("Sales is assigned to 1 group.")
    );
    web.click(Role::Button, "Delete").await.unwrap();
    assert!(
        web.alert()
            .await
            .unwrap()
            .unwrap()
            .contains("still assigned")
    );
    assert!(
        get_policies(&server).await.contains("Tag:Sales"),
        "not deleted"
    );
    web.click(
        Role::Checkbox,
        "Yes, remove its assignments and delete Sales",
    )
    .await
    .unwrap();
    web.click(Role::Button, "Delete").await.unwrap();
    noticed(&web, "Policy deleted.").await;
    audited(
        &server,
        "RemovePolicy",
        "Tag:Sales",
        "removed; unassigned from 0 user(s), 1 group(s)",
    )
    .await;
    assert!(!get_policies(&server).await.contains("Tag:Sales"));
    assert_eq!(effective(&server, ANA).await["source"], "Global");
    web.quit().await.unwrap();
}

/// Sealcall's post-quantum extension, through the same form: offered with its cmdlet value,
/// saved, listed with its label, kept on the edit form, and pushed to the user's device as a
/// setting locked on.
async fn required_post_quantum_is_offered_saved_listed_and_locks_the_setting_on(
    driver: Arc<Chromedriver>,
) {
    let server = contoso().await;
    let (ken, mut ken_events) = engine(&server, KEN, 440).await;
    let web = admin_browser(&driver, &server).await;
    web.click(Role::Link, "Add").await.unwrap();
    let form = web.main_text().await.unwrap();
    assert!(
        form.contains("Cmdlet value RequiredPostQuantum. Sealcall only: as Required"),
        "{form}"
    );
    web.fill("Name", "PostQuantum").await.unwrap();
    web.click(Role::Radio, "Required, post-quantum")
        .await
        .unwrap();
    web.click(Role::Button, "Save").await.unwrap();
    noticed(&web, "Policy added.").await;
    let rows = web.table("Enhanced encryption policies").await.unwrap();
    assert_eq!(
        row(&rows, "PostQuantum")[2],
        "Required, post-quantum (RequiredPostQuantum)"
    );
    audited(&server, "NewPolicy", "Tag:PostQuantum", "Identity=Tag:PostQuantum; CallingEndtoEndEncryptionEnabledType=RequiredPostQuantum; MeetingEndToEndEncryption=Disabled; Description=\"\"").await;
    let listed = server
        .cmdlet_output("Get-CsTeamsEnhancedEncryptionPolicy -Identity PostQuantum")
        .await
        .unwrap();
    assert!(
        listed.contains("CallingEndtoEndEncryptionEnabledType : RequiredPostQuantum"),
        "{listed}"
    );
    // The edit form shows the saved choice, and Required stays a separate choice.
    web.click(Role::Link, "Edit PostQuantum").await.unwrap();
    let pq = web
        .control(Role::Radio, "Required, post-quantum")
        .await
        .unwrap();
    assert!(pq.is_selected().await.unwrap());
    let plain = web.control(Role::Radio, "Required").await.unwrap();
    assert!(!plain.is_selected().await.unwrap());

    // Assigned to Ken: his device is told the setting is on and locked, post-quantum.
    assign_to_ken(&web, "PostQuantum").await;
    let s = setting_where(&mut ken_events, |s| s.policy == "Tag:PostQuantum").await;
    assert_eq!(s.calling, CallingEncryptionType::RequiredPostQuantum);
    assert!(s.effective);
    assert_eq!(s.lock, Some(SettingLock::OnByPolicyPostQuantum));
    assert!(
        ken.set_e2ee(false).await.is_err(),
        "Ken can't turn it off under Required, post-quantum"
    );
    web.quit().await.unwrap();
}

async fn compliance_recording_client_requirements_and_the_audit_log(driver: Arc<Chromedriver>) {
    let server = contoso().await;
    let (_ken, mut ken_events) = engine(&server, KEN, 440).await;
    setting_where(&mut ken_events, |s| !s.compliance_recording).await;
    let web = admin_browser(&driver, &server).await;

    // Compliance recording for one user, then for everyone; Ken's device is told at once.
    web.click(Role::Link, "Compliance recording").await.unwrap();
    web.click(Role::Button, "Turn on for Ken Meyer")
        .await
        .unwrap();
    let notice = web.notice().await.unwrap().unwrap();
    assert!(
        notice.starts_with("Compliance recording changed.")
            && notice.contains("sent to 1 signed-in device"),
        "{notice}"
    );
    audited(
        &server,
        "SetComplianceRecording",
        &format!("user:{KEN}"),
        "On",
    )
    .await;
    setting_where(&mut ken_events, |s| s.compliance_recording).await;
    let rows = web.table("Compliance recording per user").await.unwrap();
    assert_eq!(row(&rows, "Ken Meyer")[1], "Yes (this user)");
    assert_eq!(row(&rows, "Ana Ruiz")[1], "No");
    web.click(Role::Button, "Turn on compliance recording for everyone")
        .await
        .unwrap();
    audited(&server, "SetComplianceRecording", "organization", "On").await;
    assert_eq!(
        effective(&server, ANA).await["setting"]["compliance_recording"],
        true
    );
    let rows = web.table("Compliance recording per user").await.unwrap();
    assert_eq!(row(&rows, "Ana Ruiz")[1], "Yes (everyone)");
    web.click(Role::Button, "Turn off compliance recording for everyone")
        .await
        .unwrap();
    web.click(Role::Button, "Turn off for Ken Meyer")
        .await
        .unwrap();
    setting_where(&mut ken_events, |s| !s.compliance_recording).await;
    assert_eq!(
        effective(&server, ANA).await["setting"]["compliance_recording"],
        false
    );

    // Minimum client versions per platform.
    web.click(Role::Link, "Client requirements").await.unwrap();
    web.fill("Minimum version for every platform", "2.0.0")
        .await
        .unwrap();
    web.fill("Minimum version on iOS", "3.1").await.unwrap();
    web.click(Role::Button, "Save").await.unwrap();
    noticed(&web, "Minimum client versions saved.").await;
    audited(
        &server,
        "SetClientRequirements",
        "organization",
        "default 2.0.0; iOS 3.1.0",
    )
    .await;
    let ios = web
        .control(Role::Textbox, "Minimum version on iOS")
        .await
        .unwrap();
    assert_eq!(ios.value().await.unwrap().as_deref(), Some("3.1.0"));
    // A bad version: announced, nothing changed.
    web.fill("Minimum version on Android", "two").await.unwrap();
    web.click(Role::Button, "Save").await.unwrap();
    assert!(
        web.alert()
            .await
            .unwrap()
            .unwrap()
            .contains("“two” is not a version")
    );
    audited(
        &server,
        "SetClientRequirements",
        "organization",
        "default 2.0.0; iOS 3.1.0",
    )
    .await;
    // Clearing a platform's own minimum.
    web.click(Role::Link, "Client requirements").await.unwrap();
    web.fill("Minimum version on iOS", "").await.unwrap();
    web.click(Role::Button, "Save").await.unwrap();
    audited(
        &server,
        "SetClientRequirements",
        "organization",
        "default 2.0.0",
    )
    .await;

    // The audit log: who, when, what, before, after, newest first, paged.
    web.click(Role::Link, "Audit log").await.unwrap();
    let rows = web.table("Audit log, page 1").await.unwrap();
    assert_eq!(
        &rows[0][1..],
        [
            ADMIN,
            "SetClientRequirements",
            "organization",
            "default 2.0.0; iOS 3.1.0",
            "default 2.0.0",
            "Applied"
        ]
    );
    assert_eq!(
        &rows[1][1..],
        [
            ADMIN,
            "SetClientRequirements",
            "organization",
            "default 2.0.0",
            "default 2.0.0; iOS 3.1.0",
            "Applied"
        ]
    );
    // One Save that changed two minimums ran two commands, each with its row.
    assert_eq!(
        rows[2][3..6],
        ["organization", "default 0.1.0", "default 2.0.0"]
    );
    assert!(
        rows[0][0].len() == 19 && rows[0][0].starts_with("20"),
        "{}",
        rows[0][0]
    );
    let json = server.admin_get("/admin/audit?limit=1000").await.unwrap();
    let total = json.as_array().unwrap().len();
    assert_eq!(rows.len(), total.min(50));
    // More than a page: the older entries are on page 2.
    for n in 0..50 {
        server
            .cmdlet(&format!(
                "New-CsTeamsEnhancedEncryptionPolicy -Identity P{n}"
            ))
            .await
            .unwrap();
    }
    web.click(Role::Link, "Audit log").await.unwrap();
    assert_eq!(
        web.table("Audit log, page 1").await.unwrap()[0][3],
        "Tag:P49"
    );
    web.click(Role::Link, "Older entries").await.unwrap();
    let page2 = web.table("Audit log, page 2").await.unwrap();
    assert_eq!(
        page2[0][2..5],
        [
            "SetClientRequirements",
            "organization",
            "default 2.0.0; iOS 3.1.0"
        ]
    );
    web.click(Role::Link, "Newer entries").await.unwrap();
    assert_eq!(web.heading().await.unwrap(), "Audit log");
    web.quit().await.unwrap();
}

/// A page on another origin (another port of 127.0.0.1: same site, other origin) with a form
/// that posts to the admin center, the right form token included.
async fn other_site(admin_url: &str, form_token: &str) -> (String, tokio::task::JoinHandle<()>) {
    let page = format!(
        "<!doctype html><html lang=\"en\"><title>Win a prize</title><form method=\"post\" \
         action=\"{admin_url}/admin/enhanced-encryption-policies/new\">\
         <input type=\"hidden\" name=\"form_token\" value=\"{form_token}\">\
         <input type=\"hidden\" name=\"name\" value=\"Evil\">\
         <input type=\"hidden\" name=\"calling\" value=\"Required\">\
         <button type=\"submit\">Claim the prize</button></form></html>"
    );
    let app = axum::Router::new().route(
        "/",
        axum::routing::get(move || {
            let page = page.clone();
            async move { axum::response::Html(page) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (url, task)
}

async fn refused_requests_change_nothing_and_scripts_are_shown_as_text(driver: Arc<Chromedriver>) {
    let server = contoso().await;
    let before = get_policies(&server).await;

    // A non-administrator: a clear refusal, and no session.
    let ken = driver.browser(&server.url).await.unwrap();
    ken.sign_in(KEN, PASS).await.unwrap();
    assert_eq!(ken.heading().await.unwrap(), "Administrators only");
    assert!(
        ken.main_text()
            .await
            .unwrap()
            .contains("doesn't have the Teams administrator or global administrator role")
    );
    ken.open("/admin/audit-log").await.unwrap();
    assert_eq!(ken.path().await.unwrap(), "/admin/sign-in");
    ken.quit().await.unwrap();

    // A signed-out visitor is sent to sign in; a form sent after the session is gone is refused.
    let web = admin_browser(&driver, &server).await;
    web.click(Role::Link, "Add").await.unwrap();
    web.fill("Name", "AfterSignOut").await.unwrap();
    web.driver.delete_all_cookies().await.unwrap();
    web.click(Role::Button, "Save").await.unwrap();
    assert_eq!(web.heading().await.unwrap(), "Signed out");
    web.open("/admin/assignments").await.unwrap();
    assert_eq!(web.path().await.unwrap(), "/admin/sign-in");

    // A cross-site POST, even one carrying the right form token.
    web.sign_in(ADMIN, PASS).await.unwrap();
    let token = web.form_token().await.unwrap();
    let (evil, evil_task) = other_site(&server.url, &token).await;
    web.open_url(&evil).await.unwrap();
    web.click(Role::Button, "Claim the prize").await.unwrap();
    assert_eq!(web.heading().await.unwrap(), "Request refused");
    evil_task.abort();

    // A replayed form token: a form from an earlier session, sent in a new one.
    web.open("/admin/enhanced-encryption-policies/new")
        .await
        .unwrap();
    web.fill("Name", "Replayed").await.unwrap();
    let form_tab = web.driver.window().await.unwrap();
    let other_tab = web.driver.new_tab().await.unwrap();
    web.driver.switch_to_window(other_tab).await.unwrap();
    web.open("/admin/enhanced-encryption-policies")
        .await
        .unwrap();
    web.click(Role::Button, "Sign out").await.unwrap();
    web.sign_in(ADMIN, PASS).await.unwrap();
    web.driver.switch_to_window(form_tab).await.unwrap();
    web.click(Role::Button, "Save").await.unwrap();
    assert_eq!(web.heading().await.unwrap(), "Form refused");

    // A 1 MB form body (the field's own limit lifted by a script the test runs, as an attacker
    // would), refused before it is read.
    web.open("/admin/enhanced-encryption-policies/new")
        .await
        .unwrap();
    web.fill("Name", "Huge").await.unwrap();
    web.driver
        .execute(
            "const d = document.getElementById('description'); d.removeAttribute('maxlength'); d.value = 'x'.repeat(1048576);",
            Vec::new(),
        )
        .await
        .unwrap();
    web.click(Role::Button, "Save").await.unwrap();
    assert_eq!(web.heading().await.unwrap(), "Form refused");
    assert!(
        web.main_text()
            .await
            .unwrap()
            .contains("larger than 16 KiB")
    );

    // Nothing of the above changed anything.
    assert_eq!(get_policies(&server).await, before);

    // A script in a description is stored as text and shown as text.
    let script = "<script>document.title='owned'</script><b>bold</b>";
    web.open("/admin/enhanced-encryption-policies/new")
        .await
        .unwrap();
    web.fill("Name", "Escaped").await.unwrap();
    web.fill("Description", script).await.unwrap();
    web.click(Role::Button, "Save").await.unwrap();
    let rows = web.table("Enhanced encryption policies").await.unwrap();
    assert_eq!(row(&rows, "Escaped")[1], script);
    assert_eq!(
        web.driver.title().await.unwrap(),
        "Enhanced encryption policies · Sealcall admin center"
    );
    assert!(
        web.driver
            .find_all(thirtyfour::By::Css("td b, td script"))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        web.driver
            .source()
            .await
            .unwrap()
            .contains("&lt;script&gt;document.title=")
    );
    web.quit().await.unwrap();
}

async fn screenshots_of_the_policies_page_and_the_edit_form(driver: Arc<Chromedriver>) {
    let server = contoso().await;
    let web = admin_browser(&driver, &server).await;
    web.click(Role::Link, "Add").await.unwrap();
    web.fill("Name", "ContosoE2EEUserPolicy").await.unwrap();
    web.fill(
        "Description",
        "Pilot users: may turn on end-to-end encrypted calls",
    )
    .await
    .unwrap();
    web.click(Role::Radio, "Not enabled, but users can enable")
        .await
        .unwrap();
    web.click(Role::Button, "Save").await.unwrap();
    let list = web.screenshot().await.unwrap();
    web.click(Role::Link, "Edit ContosoE2EEUserPolicy")
        .await
        .unwrap();
    let edit = web.screenshot().await.unwrap();
    for png in [&list, &edit] {
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 10_000);
    }
    // `SEALCALL_SCREENSHOTS=1` refreshes the pictures docs/ADMIN.md shows.
    if std::env::var("SEALCALL_SCREENSHOTS").is_ok_and(|v| v == "1") {
        let docs = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs");
        std::fs::write(docs.join("admin-policies.png"), &list).unwrap();
        std::fs::write(docs.join("admin-edit-policy.png"), &edit).unwrap();
    }
    web.quit().await.unwrap();
}
