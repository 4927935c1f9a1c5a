//! One test per statement of `shared/reference/teams-e2ee-admin.txt` (and the facts listed in
//! `shared/reference/README.md`), named after the statement, with Sealcall's names.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use sealcall_policy::*;

const SET_GLOBAL_USER_OVERRIDE: &str = "Set-CsTeamsEnhancedEncryptionPolicy -Identity Global -CallingEndtoEndEncryptionEnabledType DisabledUserOverride";
const GRANT_GLOBAL_DISABLED: &str = "Grant-CsTeamsEnhancedEncryptionPolicy -Identity Global -CallingEndtoEndEncryptionEnabledType Disabled";
const GRANT_USERNAME: &str =
    r#"Grant-CsTeamsEnhancedEncryptionPolicy -Identity "username" -PolicyName "policyname""#;
const GRANT_KEN: &str = r#"Grant-CsTeamsEnhancedEncryptionPolicy -Identity "kenmeyer@contoso.onmicrosoft.com" -PolicyName "ContosoE2EEUserPolicy""#;
const UNGRANT_KEN: &str = r#"Grant-CsTeamsEnhancedEncryptionPolicy -Identity "kenmeyer@contoso.onmicrosoft.com" -PolicyName $NULL"#;

fn e2ee_org() -> MemoryStore {
    let mut store = org();
    run(&mut store, SET_GLOBAL_USER_OVERRIDE);
    store
}

#[test]
fn e2ee_means_only_the_two_endpoints_encrypt_and_decrypt() {
    let mut store = e2ee_org();
    turn_on(&mut store, KEN).unwrap();
    turn_on(&mut store, ANA).unwrap();
    let decision = call(&store, KEN, ANA);
    let grant = decision.grant().expect("end-to-end");
    assert_eq!(grant.parties(), [&uid(KEN), &uid(ANA)]);
    assert_eq!(grant.caller(), &uid(KEN));
    assert_eq!(grant.callee(), &uid(ANA));
}

#[test]
fn e2ee_is_only_for_unscheduled_one_to_one_calls() {
    let on = |n| {
        party(
            n,
            CallingEncryptionType::DisabledUserOverride,
            true,
            true,
            false,
        )
    };
    let (a, b) = (on(KEN), on(ANA));
    assert!(decide(&a, &b, CallShape::one_to_one()).is_end_to_end());
    let scheduled = CallShape {
        participants: 2,
        scheduled: true,
    };
    assert_eq!(decide(&a, &b, scheduled).reasons(), &[Reason::Scheduled]);
    let group = CallShape {
        participants: 3,
        scheduled: false,
    };
    assert_eq!(
        decide(&a, &b, group).reasons(),
        &[Reason::NotOneToOne { participants: 3 }]
    );
}

#[test]
fn only_real_time_media_is_end_to_end_encrypted_and_chat_files_presence_use_service_encryption() {
    assert!(ContentKind::Audio.is_real_time_media());
    assert!(ContentKind::Video.is_real_time_media());
    for kind in [
        ContentKind::Chat,
        ContentKind::FileSharing,
        ContentKind::Presence,
    ] {
        assert!(!kind.is_real_time_media(), "{kind:?}");
    }
}

#[test]
fn both_parties_must_turn_on_the_setting() {
    let mut store = e2ee_org();
    turn_on(&mut store, KEN).unwrap();
    assert_eq!(
        call(&store, KEN, ANA).reasons(),
        &[Reason::SettingOff { side: Side::Callee }]
    );
    assert_eq!(
        call(&store, ANA, KEN).reasons(),
        &[Reason::SettingOff { side: Side::Caller }]
    );
    turn_on(&mut store, ANA).unwrap();
    assert!(call(&store, KEN, ANA).is_end_to_end());
}

#[test]
fn e2ee_calls_need_the_latest_desktop_mobile_or_rooms_on_windows_client() {
    let req = ClientRequirements::uniform(ClientVersion::new(2, 3, 0));
    for platform in [
        Platform::Windows,
        Platform::Mac,
        Platform::Ios,
        Platform::Android,
        Platform::RoomsWindows,
        // Sealcall's own desktop client on Linux and its CLI are supported too.
        Platform::Linux,
        Platform::Cli,
    ] {
        let latest = DeviceInfo::new(platform, ClientVersion::new(2, 3, 0));
        let older = DeviceInfo::new(platform, ClientVersion::new(2, 2, 9));
        assert_eq!(req.assess(&latest), Capability::Capable, "{platform}");
        assert!(!req.assess(&older).is_capable(), "{platform}");
    }
    for platform in [Platform::Web, Platform::RoomsAndroid, Platform::Unknown] {
        let device = DeviceInfo::new(platform, ClientVersion::new(99, 0, 0));
        assert_eq!(
            req.assess(&device),
            Capability::UnsupportedPlatform { platform }
        );
    }
}

#[test]
fn without_e2ee_a_call_is_still_encrypted_in_transit() {
    let store = org();
    let summary = call(&store, KEN, ANA).summary();
    assert_eq!(summary.outcome, Outcome::Standard);
    assert_eq!(summary.indicator(), Some(CallIndicator::Shield));
}

#[test]
fn an_e2ee_call_secures_audio_video_and_screen_sharing() {
    let on = |n| {
        party(
            n,
            CallingEncryptionType::DisabledUserOverride,
            true,
            true,
            false,
        )
    };
    let decision = decide(&on(KEN), &on(ANA), CallShape::one_to_one());
    let grant = decision.grant().unwrap();
    for kind in [
        ContentKind::Audio,
        ContentKind::Video,
        ContentKind::ScreenSharing,
    ] {
        assert!(grant.covers(kind), "{kind:?}");
    }
    assert!(!grant.covers(ContentKind::Chat));
}

#[test]
fn advanced_features_are_not_available_during_an_e2ee_call() {
    let listed = [
        (
            Feature::LiveCaptionsAndTranscription,
            "Live captions and transcription",
        ),
        (Feature::CallTransfer, "Call transfer"),
        (Feature::CallMerge, "Call merge"),
        (Feature::CallPark, "Call park"),
        (Feature::ConsultThenTransfer, "Consult then transfer"),
        (
            Feature::CallCompanionAndTransferToAnotherDevice,
            "Call companion and transfer to another device",
        ),
        (Feature::AddParticipant, "Adding a participant"),
        (Feature::Recording, "Recording"),
        (Feature::Apps, "Apps"),
    ];
    let on = |n| {
        party(
            n,
            CallingEncryptionType::DisabledUserOverride,
            true,
            true,
            false,
        )
    };
    let e2ee = decide(&on(KEN), &on(ANA), CallShape::one_to_one());
    let off = |n| {
        party(
            n,
            CallingEncryptionType::DisabledUserOverride,
            false,
            true,
            false,
        )
    };
    let standard = decide(&off(KEN), &off(ANA), CallShape::one_to_one());
    for (feature, name) in listed {
        assert_eq!(feature.display_name(), name);
        let blocked = check_feature(&e2ee, feature).unwrap_err();
        assert_eq!(blocked.reason, BlockReason::EndToEndEncryptedCall);
        assert_eq!(
            blocked.user_message(),
            format!("{name} isn't available during an end-to-end encrypted call")
        );
        assert_eq!(check_feature(&standard, feature), Ok(()));
    }
}

#[test]
fn forwarding_to_voicemail_and_simultaneous_ring_are_unavailable_in_an_e2ee_call() {
    let on = |n| {
        party(
            n,
            CallingEncryptionType::DisabledUserOverride,
            true,
            true,
            false,
        )
    };
    let e2ee = decide(&on(KEN), &on(ANA), CallShape::one_to_one());
    for feature in [Feature::ForwardToVoicemail, Feature::SimultaneousRing] {
        assert!(check_feature(&e2ee, feature).is_err());
    }
    assert_eq!(Feature::ALL.len(), 11);
}

#[test]
fn if_the_organization_uses_compliance_recording_e2ee_is_not_available() {
    let mut store = e2ee_org();
    turn_on(&mut store, KEN).unwrap();
    turn_on(&mut store, ANA).unwrap();
    assert!(call(&store, KEN, ANA).is_end_to_end());
    set_compliance_recording(
        &mut store,
        &admin(),
        &ComplianceScope::Organization,
        true,
        now(),
    )
    .unwrap();
    assert_eq!(
        call(&store, KEN, ANA).reasons(),
        &[
            Reason::ComplianceRecording { side: Side::Caller },
            Reason::ComplianceRecording { side: Side::Callee }
        ]
    );
    set_compliance_recording(
        &mut store,
        &admin(),
        &ComplianceScope::Organization,
        false,
        now(),
    )
    .unwrap();
    set_compliance_recording(
        &mut store,
        &admin(),
        &ComplianceScope::User(uid(ANA)),
        true,
        now(),
    )
    .unwrap();
    assert_eq!(
        call(&store, KEN, ANA).reasons(),
        &[Reason::ComplianceRecording { side: Side::Callee }]
    );
}

#[test]
fn configuring_e2ee_needs_the_teams_or_global_administrator_role() {
    for actor in [admin(), global_admin()] {
        let mut store = org();
        run_cmdlet(&mut store, &actor, now(), SET_GLOBAL_USER_OVERRIDE).unwrap();
        assert_eq!(
            calling_of(&store, KEN),
            CallingEncryptionType::DisabledUserOverride
        );
    }
    let mut store = org();
    let before = store.snapshot();
    let err = run_cmdlet(&mut store, &as_user(KEN), now(), SET_GLOBAL_USER_OVERRIDE).unwrap_err();
    assert!(matches!(err, PolicyError::AccessDenied { .. }));
    assert!(
        err.to_string()
            .contains("Teams administrator or global administrator")
    );
    assert_eq!(store.snapshot(), before);
}

#[test]
fn powershell_configuration_needs_the_teams_or_global_administrator_role() {
    let lines = [
        "New-CsTeamsEnhancedEncryptionPolicy -Identity ContosoE2EEUserPolicy",
        "Get-CsTeamsEnhancedEncryptionPolicy",
        SET_GLOBAL_USER_OVERRIDE,
        "Remove-CsTeamsEnhancedEncryptionPolicy -Identity ContosoE2EEUserPolicy",
        GRANT_GLOBAL_DISABLED,
        GRANT_KEN,
        UNGRANT_KEN,
    ];
    let mut store = org();
    run(
        &mut store,
        "New-CsTeamsEnhancedEncryptionPolicy -Identity ContosoE2EEUserPolicy",
    );
    let before = store.snapshot();
    let user = Actor::new(uid(KEN), RoleSet::of(&[Role::User]));
    for line in lines {
        let err = run_cmdlet(&mut store, &user, now(), line).unwrap_err();
        assert!(matches!(err, PolicyError::AccessDenied { .. }), "{line}");
    }
    assert_eq!(store.snapshot(), before);
}

#[test]
fn each_user_turns_the_setting_on_on_one_device_and_it_syncs_to_all_their_devices() {
    let mut store = e2ee_org();
    // The setting is per user: no device is involved in turning it on.
    turn_on(&mut store, KEN).unwrap();
    turn_on(&mut store, ANA).unwrap();
    for platform in [
        Platform::Windows,
        Platform::Mac,
        Platform::Ios,
        Platform::Android,
    ] {
        let device = DeviceInfo::new(platform, ClientVersion::new(1, 0, 0));
        let caller = resolve_party(&store, &uid(KEN), &device).unwrap();
        let callee = resolve_party(&store, &uid(ANA), &desktop()).unwrap();
        assert!(decide(&caller, &callee, CallShape::one_to_one()).is_end_to_end());
    }
}

#[test]
fn the_global_organization_wide_default_policy_has_e2ee_disabled() {
    let mut store = org();
    assert_eq!(
        store.policy(&PolicyIdentity::Global).unwrap(),
        Some(EnhancedEncryptionPolicy::builtin_global())
    );
    let out = run(
        &mut store,
        "Get-CsTeamsEnhancedEncryptionPolicy -Identity Global",
    );
    assert!(
        out.text
            .contains("CallingEndtoEndEncryptionEnabledType : Disabled\n")
    );
    assert_eq!(calling_of(&store, KEN), CallingEncryptionType::Disabled);
}

#[test]
fn users_get_the_global_policy_unless_a_custom_policy_is_created_and_assigned() {
    let mut store = org();
    assert_eq!(
        effective_policy(&store, &uid(KEN)).unwrap().source,
        PolicySource::Global
    );
    run(
        &mut store,
        "New-CsTeamsEnhancedEncryptionPolicy -Identity ContosoE2EEUserPolicy",
    );
    assert_eq!(
        effective_policy(&store, &uid(KEN)).unwrap().source,
        PolicySource::Global
    );
    run(&mut store, GRANT_KEN);
    let effective = effective_policy(&store, &uid(KEN)).unwrap();
    assert_eq!(effective.source, PolicySource::Direct);
    assert_eq!(
        effective.policy.identity.to_string(),
        "Tag:ContosoE2EEUserPolicy"
    );
}

#[test]
fn to_enable_e2ee_create_a_new_policy_or_modify_the_global_default_policy() {
    // A new policy, assigned.
    let mut store = org();
    run(
        &mut store,
        "New-CsTeamsEnhancedEncryptionPolicy -Identity ContosoE2EEUserPolicy -CallingEndtoEndEncryptionEnabledType DisabledUserOverride",
    );
    run(&mut store, GRANT_KEN);
    assert!(turn_on(&mut store, KEN).is_ok());
    assert!(turn_on(&mut store, ANA).is_err());
    // The global default, modified.
    let mut store = org();
    run(&mut store, SET_GLOBAL_USER_OVERRIDE);
    assert!(turn_on(&mut store, KEN).is_ok());
    assert!(turn_on(&mut store, ANA).is_ok());
}

#[test]
fn not_enabled_but_users_can_enable_enables_e2ee_and_not_enabled_disables_it() {
    assert_eq!(
        CallingEncryptionType::DisabledUserOverride.admin_label(),
        "Not enabled, but users can enable"
    );
    assert_eq!(CallingEncryptionType::Disabled.admin_label(), "Not enabled");
    assert!(CallingEncryptionType::DisabledUserOverride.allows_e2ee());
    assert!(!CallingEncryptionType::Disabled.allows_e2ee());
}

#[test]
fn policies_are_assigned_to_users_groups_or_the_entire_tenant() {
    let mut store = org();
    for name in ["UserPol", "GroupPol", "TenantPol"] {
        run(
            &mut store,
            &format!("New-CsTeamsEnhancedEncryptionPolicy -Identity {name}"),
        );
    }
    run(
        &mut store,
        "Grant-CsTeamsEnhancedEncryptionPolicy -Identity kenmeyer@contoso.onmicrosoft.com -PolicyName UserPol",
    );
    run(
        &mut store,
        "Grant-CsTeamsEnhancedEncryptionPolicy -Group sales -PolicyName GroupPol -Rank 1",
    );
    run(
        &mut store,
        "Grant-CsTeamsEnhancedEncryptionPolicy -Global -PolicyName TenantPol",
    );
    let tag = |u| {
        effective_policy(&store, &uid(u))
            .unwrap()
            .policy
            .identity
            .to_string()
    };
    assert_eq!(tag(KEN), "Tag:UserPol");
    assert_eq!(tag(ANA), "Tag:GroupPol");
    assert_eq!(tag(USERNAME), "Tag:TenantPol");
}

#[test]
fn set_global_disableduseroverride_enables_e2ee_for_the_entire_tenant() {
    let mut store = org();
    run(&mut store, SET_GLOBAL_USER_OVERRIDE);
    for user in [KEN, ANA, BO, USERNAME] {
        let state = turn_on(&mut store, user).unwrap();
        assert!(state.effective, "{user}");
        assert_eq!(state.policy.source, PolicySource::Global);
    }
}

#[test]
fn disableduseroverride_means_e2ee_is_off_by_default_but_users_can_turn_it_on() {
    let mut store = e2ee_org();
    let state = user_e2ee_setting(&store, &uid(KEN)).unwrap();
    assert!(!state.effective);
    assert_eq!(state.lock, None);
    let state = turn_on(&mut store, KEN).unwrap();
    assert!(state.effective);
}

#[test]
fn grant_global_disabled_disables_e2ee_for_everyone_and_users_cannot_turn_it_on() {
    let mut store = e2ee_org();
    turn_on(&mut store, KEN).unwrap();
    turn_on(&mut store, ANA).unwrap();
    assert!(call(&store, KEN, ANA).is_end_to_end());
    run(&mut store, GRANT_GLOBAL_DISABLED);
    for user in [KEN, ANA, BO, USERNAME] {
        let state = user_e2ee_setting(&store, &uid(user)).unwrap();
        assert!(!state.effective, "{user}");
        assert_eq!(state.lock, Some(SettingLock::OffByPolicy));
        assert!(matches!(
            turn_on(&mut store, user),
            Err(PolicyError::SettingNotAllowed { .. })
        ));
    }
    // The users' earlier choice is kept for when it is allowed again.
    assert!(user_e2ee_setting(&store, &uid(KEN)).unwrap().stored_choice);
    assert_eq!(
        call(&store, KEN, ANA).reasons(),
        &[
            Reason::PolicyDisabled { side: Side::Caller },
            Reason::PolicyDisabled { side: Side::Callee }
        ]
    );
}

#[test]
fn grant_identity_username_policyname_enables_e2ee_for_a_single_user() {
    let mut store = org();
    run(
        &mut store,
        "New-CsTeamsEnhancedEncryptionPolicy -Identity policyname -CallingEndtoEndEncryptionEnabledType DisabledUserOverride",
    );
    run(&mut store, GRANT_USERNAME);
    assert_eq!(
        calling_of(&store, USERNAME),
        CallingEncryptionType::DisabledUserOverride
    );
    assert!(turn_on(&mut store, USERNAME).is_ok());
    assert_eq!(calling_of(&store, KEN), CallingEncryptionType::Disabled);
}

#[test]
fn policy_names_cannot_contain_spaces() {
    let mut store = org();
    let err = run_err(
        &mut store,
        r#"New-CsTeamsEnhancedEncryptionPolicy -Identity "Contoso E2EE User Policy""#,
    );
    assert!(
        matches!(
            err,
            PolicyError::InvalidName {
                problem: NameProblem::ContainsSpace,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("can't contain spaces"));
    let err = run_err(
        &mut store,
        GRANT_KEN
            .replace("ContosoE2EEUserPolicy", "Contoso Policy")
            .as_str(),
    );
    assert!(matches!(
        err,
        PolicyError::InvalidName {
            problem: NameProblem::ContainsSpace,
            ..
        }
    ));
    assert!(
        run_cmdlet(
            &mut store,
            &admin(),
            now(),
            "New-CsTeamsEnhancedEncryptionPolicy -Identity ContosoE2EEUserPolicy"
        )
        .is_ok()
    );
}

#[test]
fn users_still_need_to_switch_on_the_setting_after_a_policy_is_granted() {
    let mut store = org();
    run(
        &mut store,
        "New-CsTeamsEnhancedEncryptionPolicy -Identity ContosoE2EEUserPolicy -CallingEndtoEndEncryptionEnabledType DisabledUserOverride",
    );
    run(&mut store, GRANT_KEN);
    run(
        &mut store,
        "Grant-CsTeamsEnhancedEncryptionPolicy -Identity ana@contoso.onmicrosoft.com -PolicyName ContosoE2EEUserPolicy",
    );
    assert_eq!(
        call(&store, KEN, ANA).reasons(),
        &[
            Reason::SettingOff { side: Side::Caller },
            Reason::SettingOff { side: Side::Callee }
        ]
    );
    turn_on(&mut store, KEN).unwrap();
    turn_on(&mut store, ANA).unwrap();
    assert!(call(&store, KEN, ANA).is_end_to_end());
}

#[test]
fn grant_example_assigns_contosoe2eeuserpolicy_to_kenmeyer() {
    let mut store = org();
    run(
        &mut store,
        "New-CsTeamsEnhancedEncryptionPolicy -Identity ContosoE2EEUserPolicy",
    );
    let out = run(&mut store, GRANT_KEN);
    assert_eq!(out.text, "");
    assert_eq!(
        store.user_assignment(&uid(KEN)).unwrap(),
        Some(PolicyName::new("ContosoE2EEUserPolicy").unwrap())
    );
}

#[test]
fn users_have_one_and_only_one_encryption_policy_at_a_time() {
    let mut store = org();
    run(
        &mut store,
        "New-CsTeamsEnhancedEncryptionPolicy -Identity ContosoE2EEUserPolicy",
    );
    run(
        &mut store,
        "New-CsTeamsEnhancedEncryptionPolicy -Identity Other",
    );
    run(&mut store, GRANT_KEN);
    run(
        &mut store,
        "Grant-CsTeamsEnhancedEncryptionPolicy -Identity kenmeyer@contoso.onmicrosoft.com -PolicyName Other",
    );
    let first = PolicyName::new("ContosoE2EEUserPolicy").unwrap();
    assert_eq!(store.policy_usage(&first).unwrap().users, 0);
    assert_eq!(
        effective_policy(&store, &uid(KEN))
            .unwrap()
            .policy
            .identity
            .to_string(),
        "Tag:Other"
    );
}

#[test]
fn unassigning_a_users_policy_gives_them_the_global_default_policy() {
    let mut store = org();
    run(
        &mut store,
        "New-CsTeamsEnhancedEncryptionPolicy -Identity ContosoE2EEUserPolicy -CallingEndtoEndEncryptionEnabledType DisabledUserOverride",
    );
    run(&mut store, GRANT_KEN);
    assert_eq!(
        effective_policy(&store, &uid(KEN)).unwrap().source,
        PolicySource::Direct
    );
    run(&mut store, UNGRANT_KEN);
    let effective = effective_policy(&store, &uid(KEN)).unwrap();
    assert_eq!(effective.source, PolicySource::Global);
    assert_eq!(effective.policy.identity, PolicyIdentity::Global);
    assert_eq!(store.user_assignment(&uid(KEN)).unwrap(), None);
}

#[test]
fn the_default_policy_cannot_be_unassigned() {
    let mut store = org();
    assert_eq!(
        run_err(
            &mut store,
            "Remove-CsTeamsEnhancedEncryptionPolicy -Identity Global"
        ),
        PolicyError::GlobalPolicyCannotBeRemoved
    );
    let err = run_err(
        &mut store,
        "Grant-CsTeamsEnhancedEncryptionPolicy -Identity kenmeyer@contoso.onmicrosoft.com -PolicyName Global",
    );
    assert!(err.to_string().contains("$null"), "{err}");
    // Unassigning what isn't assigned leaves the user on the default policy.
    run(&mut store, UNGRANT_KEN);
    run(
        &mut store,
        "Grant-CsTeamsEnhancedEncryptionPolicy -Global -PolicyName $null",
    );
    let effective = effective_policy(&store, &uid(KEN)).unwrap();
    assert_eq!(effective.policy.identity, PolicyIdentity::Global);
    assert!(store.policy(&PolicyIdentity::Global).unwrap().is_some());
}

#[test]
fn the_setting_is_under_settings_privacy_end_to_end_encrypted_calls() {
    let message = Reason::SettingOff { side: Side::Caller }.user_message(Side::Caller);
    assert!(message.contains("Settings > Privacy"), "{message}");
    assert!(message.contains("end-to-end encrypted calls"));
}

#[test]
fn an_e2ee_call_shows_a_shield_with_a_lock_and_a_standard_call_a_shield_without() {
    let on = |n| {
        party(
            n,
            CallingEncryptionType::DisabledUserOverride,
            true,
            true,
            false,
        )
    };
    let off = |n| party(n, CallingEncryptionType::Disabled, true, true, false);
    let e2ee = decide(&on(KEN), &on(ANA), CallShape::one_to_one()).summary();
    let standard = decide(&off(KEN), &off(ANA), CallShape::one_to_one()).summary();
    assert_eq!(e2ee.indicator(), Some(CallIndicator::ShieldWithLock));
    assert_eq!(standard.indicator(), Some(CallIndicator::Shield));
}

#[test]
fn the_cmdlet_family_takes_the_documented_parameters() {
    let expect = [
        (
            Cmdlet::New,
            vec![
                "Identity",
                "CallingEndtoEndEncryptionEnabledType",
                "MeetingEndToEndEncryption",
                "Description",
            ],
        ),
        (
            Cmdlet::Set,
            vec![
                "Identity",
                "CallingEndtoEndEncryptionEnabledType",
                "MeetingEndToEndEncryption",
                "Description",
            ],
        ),
        (Cmdlet::Get, vec!["Identity"]),
        (Cmdlet::Remove, vec!["Identity", "Force"]),
        (
            Cmdlet::Grant,
            vec![
                "Identity",
                "PolicyName",
                "Group",
                "Rank",
                "Global",
                "CallingEndtoEndEncryptionEnabledType",
                "MeetingEndToEndEncryption",
                "Description",
            ],
        ),
    ];
    let expect = expect.into_iter().chain([
        (
            Cmdlet::SetComplianceRecording,
            vec!["Identity", "Organization", "Enabled"],
        ),
        (
            Cmdlet::SetClientRequirements,
            vec!["Platform", "MinimumVersion"],
        ),
    ]);
    for (cmdlet, params) in expect {
        assert_eq!(cmdlet.parameters(), params, "{cmdlet}");
    }
}

#[test]
fn a_direct_assignment_wins_over_a_group_assignment_which_wins_over_the_global_policy() {
    let mut store = org();
    run(
        &mut store,
        "New-CsTeamsEnhancedEncryptionPolicy -Identity Direct",
    );
    run(
        &mut store,
        "New-CsTeamsEnhancedEncryptionPolicy -Identity Grouped",
    );
    assert_eq!(
        effective_policy(&store, &uid(ANA)).unwrap().source,
        PolicySource::Global
    );
    run(
        &mut store,
        "Grant-CsTeamsEnhancedEncryptionPolicy -Group sales -PolicyName Grouped -Rank 1",
    );
    assert!(matches!(
        effective_policy(&store, &uid(ANA)).unwrap().source,
        PolicySource::Group { .. }
    ));
    run(
        &mut store,
        "Grant-CsTeamsEnhancedEncryptionPolicy -Identity ana@contoso.onmicrosoft.com -PolicyName Direct",
    );
    assert_eq!(
        effective_policy(&store, &uid(ANA)).unwrap().source,
        PolicySource::Direct
    );
}
