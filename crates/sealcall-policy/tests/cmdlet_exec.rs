//! Running cmdlets: output, errors against the directory, access control, audit, atomicity;
//! and the user setting, compliance recording and client requirements around them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use sealcall_policy::*;

#[test]
fn get_prints_powershell_list_output() {
    let mut store = org();
    run(
        &mut store,
        "New-CsTeamsEnhancedEncryptionPolicy -Identity ContosoE2EEUserPolicy -CallingEndtoEndEncryptionEnabledType DisabledUserOverride -Description 'Pilot users'",
    );
    run(
        &mut store,
        "New-CsTeamsEnhancedEncryptionPolicy -Identity Alpha -MeetingEndToEndEncryption DisabledUserOverride",
    );
    let all = run(&mut store, "Get-CsTeamsEnhancedEncryptionPolicy");
    assert_eq!(
        all.text,
        "\
Identity                             : Global
CallingEndtoEndEncryptionEnabledType : Disabled
MeetingEndToEndEncryption            : Disabled
Description                          :

Identity                             : Tag:Alpha
CallingEndtoEndEncryptionEnabledType : Disabled
MeetingEndToEndEncryption            : DisabledUserOverride
Description                          :

Identity                             : Tag:ContosoE2EEUserPolicy
CallingEndtoEndEncryptionEnabledType : DisabledUserOverride
MeetingEndToEndEncryption            : Disabled
Description                          : Pilot users
"
    );
    let one = run(
        &mut store,
        "Get-CsTeamsEnhancedEncryptionPolicy -Identity contosoe2eeuserpolicy",
    );
    assert!(
        one.text
            .starts_with("Identity                             : Tag:ContosoE2EEUserPolicy\n")
    );
    assert_eq!(one.text.lines().count(), 4);
    let err = run_err(
        &mut store,
        "Get-CsTeamsEnhancedEncryptionPolicy -Identity ContosoE2EEUserPolicyy",
    );
    assert_eq!(
        err,
        PolicyError::PolicyNotFound {
            identity: "Tag:ContosoE2EEUserPolicyy".to_owned(),
            suggestion: Some("Tag:ContosoE2EEUserPolicy".to_owned())
        }
    );
}

#[test]
fn new_prints_the_policy_and_refuses_duplicates() {
    let mut store = org();
    let out = run(
        &mut store,
        "New-CsTeamsEnhancedEncryptionPolicy -Identity Tag:P1 -CallingEndtoEndEncryptionEnabledType Required",
    );
    assert!(
        out.text
            .contains("Identity                             : Tag:P1\n")
    );
    assert!(
        out.text
            .contains("CallingEndtoEndEncryptionEnabledType : Required\n")
    );
    assert_eq!(
        run_err(
            &mut store,
            "New-CsTeamsEnhancedEncryptionPolicy -Identity p1"
        ),
        PolicyError::PolicyAlreadyExists {
            identity: "Tag:P1".to_owned()
        }
    );
}

#[test]
fn set_changes_only_the_given_settings() {
    let mut store = org();
    run(
        &mut store,
        "New-CsTeamsEnhancedEncryptionPolicy -Identity P1 -Description before",
    );
    run(
        &mut store,
        "Set-CsTeamsEnhancedEncryptionPolicy -Identity P1 -MeetingEndToEndEncryption DisabledUserOverride",
    );
    let p = store
        .policy(&PolicyIdentity::parse("P1").unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(p.description, "before");
    assert_eq!(p.meeting, MeetingEncryptionType::DisabledUserOverride);
    assert_eq!(p.calling, CallingEncryptionType::Disabled);
    run(
        &mut store,
        "Set-CsTeamsEnhancedEncryptionPolicy -Identity P1 -Description $null",
    );
    let p = store
        .policy(&PolicyIdentity::parse("P1").unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(p.description, "");
    // Without -Identity, Set- changes Global.
    run(
        &mut store,
        "Set-CsTeamsEnhancedEncryptionPolicy -Description 'Org default'",
    );
    assert_eq!(
        store
            .policy(&PolicyIdentity::Global)
            .unwrap()
            .unwrap()
            .description,
        "Org default"
    );
    assert!(matches!(
        run_err(
            &mut store,
            "Set-CsTeamsEnhancedEncryptionPolicy -Identity Nope -Description x"
        ),
        PolicyError::PolicyNotFound { .. }
    ));
}

#[test]
fn grant_identity_global_with_settings_changes_the_global_policy() {
    let mut store = org();
    run(
        &mut store,
        "Grant-CsTeamsEnhancedEncryptionPolicy -Identity Global -CallingEndtoEndEncryptionEnabledType DisabledUserOverride -MeetingEndToEndEncryption DisabledUserOverride -Description 'set by grant'",
    );
    let global = store.policy(&PolicyIdentity::Global).unwrap().unwrap();
    assert_eq!(global.calling, CallingEncryptionType::DisabledUserOverride);
    assert_eq!(global.meeting, MeetingEncryptionType::DisabledUserOverride);
    assert_eq!(global.description, "set by grant");
    let record = store.audit_log().last().unwrap();
    assert_eq!(record.action, AuditAction::SetPolicy);
    assert_eq!(record.target, "Global");
}

#[test]
fn grant_to_unknown_users_groups_or_policies_is_an_error() {
    let mut store = org();
    run(
        &mut store,
        "New-CsTeamsEnhancedEncryptionPolicy -Identity ContosoE2EEUserPolicy",
    );
    let before = store.snapshot();
    assert_eq!(
        run_err(
            &mut store,
            "Grant-CsTeamsEnhancedEncryptionPolicy -Identity nobody@contoso.com -PolicyName ContosoE2EEUserPolicy"
        ),
        PolicyError::UserNotFound {
            user: "nobody@contoso.com".to_owned()
        }
    );
    assert_eq!(
        run_err(
            &mut store,
            "Grant-CsTeamsEnhancedEncryptionPolicy -Group ghosts -PolicyName ContosoE2EEUserPolicy -Rank 1"
        ),
        PolicyError::GroupNotFound {
            group: "ghosts".to_owned()
        }
    );
    let err = run_err(
        &mut store,
        r#"Grant-CsTeamsEnhancedEncryptionPolicy -Identity "kenmeyer@contoso.onmicrosoft.com" -PolicyName "ContosoE2EUserPolicy""#,
    );
    assert_eq!(
        err,
        PolicyError::PolicyNotFound {
            identity: "Tag:ContosoE2EUserPolicy".to_owned(),
            suggestion: Some("Tag:ContosoE2EEUserPolicy".to_owned())
        }
    );
    assert!(matches!(
        run_err(
            &mut store,
            "Grant-CsTeamsEnhancedEncryptionPolicy -Global -PolicyName Missing"
        ),
        PolicyError::PolicyNotFound { .. }
    ));
    assert_eq!(store.snapshot(), before);
}

#[test]
fn access_denied_changes_nothing_and_is_audited() {
    let mut store = org();
    run(
        &mut store,
        "New-CsTeamsEnhancedEncryptionPolicy -Identity P1",
    );
    let before = store.snapshot();
    let audit_before = store.audit_log().len();
    let user = as_user(KEN);
    let err = run_cmdlet(
        &mut store,
        &user,
        Timestamp(42),
        "Grant-CsTeamsEnhancedEncryptionPolicy -Identity kenmeyer@contoso.onmicrosoft.com -PolicyName P1",
    )
    .unwrap_err();
    assert_eq!(
        err,
        PolicyError::AccessDenied {
            operation: "Grant-CsTeamsEnhancedEncryptionPolicy".to_owned(),
            required: "the Teams administrator or global administrator role".to_owned()
        }
    );
    assert_eq!(store.snapshot(), before);
    assert_eq!(store.audit_log().len(), audit_before + 1);
    let record = store.audit_log().last().unwrap();
    assert_eq!(record.actor, uid(KEN));
    assert_eq!(record.at, Timestamp(42));
    assert_eq!(record.action, AuditAction::GrantUser);
    assert_eq!(record.target, "user:kenmeyer@contoso.onmicrosoft.com");
    assert_eq!(record.outcome, AuditOutcome::Denied);
    assert_eq!(
        (record.before.as_ref(), record.after.as_ref()),
        (None, None)
    );
    // No roles at all is denied too; parse errors come before the role check.
    let nobody = Actor::new(uid(ANA), RoleSet::empty());
    assert!(matches!(
        run_cmdlet(
            &mut store,
            &nobody,
            now(),
            "Get-CsTeamsEnhancedEncryptionPolicy"
        ),
        Err(PolicyError::AccessDenied { .. })
    ));
    assert!(matches!(
        run_cmdlet(
            &mut store,
            &nobody,
            now(),
            "Get-CsTeamsEnhancedEncryptionPolicyy"
        ),
        Err(PolicyError::UnknownCmdlet { .. })
    ));
}

#[test]
fn every_change_is_audited_with_who_when_what_before_and_after() {
    let mut store = org();
    let actor = global_admin();
    let at = Timestamp(1_234);
    let lines = [
        (
            "New-CsTeamsEnhancedEncryptionPolicy -Identity P1",
            AuditAction::NewPolicy,
            "Tag:P1",
        ),
        (
            "Set-CsTeamsEnhancedEncryptionPolicy -Identity P1 -CallingEndtoEndEncryptionEnabledType DisabledUserOverride",
            AuditAction::SetPolicy,
            "Tag:P1",
        ),
        (
            "Grant-CsTeamsEnhancedEncryptionPolicy -Identity kenmeyer@contoso.onmicrosoft.com -PolicyName P1",
            AuditAction::GrantUser,
            "user:kenmeyer@contoso.onmicrosoft.com",
        ),
        (
            "Grant-CsTeamsEnhancedEncryptionPolicy -Group sales -PolicyName P1 -Rank 1",
            AuditAction::GrantGroup,
            "group:sales",
        ),
        (
            "Grant-CsTeamsEnhancedEncryptionPolicy -Global -PolicyName P1",
            AuditAction::GrantTenantDefault,
            "tenant",
        ),
        (
            "Remove-CsTeamsEnhancedEncryptionPolicy -Identity P1 -Force",
            AuditAction::RemovePolicy,
            "Tag:P1",
        ),
    ];
    for (line, action, target) in lines {
        run_cmdlet(&mut store, &actor, at, line).unwrap();
        let record = store.audit_log().last().unwrap();
        assert_eq!(record.actor, actor.user, "{line}");
        assert_eq!(record.at, at);
        assert_eq!(record.action, action, "{line}");
        assert_eq!(record.target, target, "{line}");
        assert_eq!(record.outcome, AuditOutcome::Applied);
    }
    let log = store.audit_log();
    assert_eq!(log.len(), lines.len());
    assert_eq!(log[0].before, None);
    assert!(
        log[0]
            .after
            .as_deref()
            .unwrap()
            .contains("CallingEndtoEndEncryptionEnabledType=Disabled")
    );
    assert!(log[1].before.as_deref().unwrap().contains("=Disabled;"));
    assert!(
        log[1]
            .after
            .as_deref()
            .unwrap()
            .contains("=DisabledUserOverride;")
    );
    assert_eq!(log[2].before.as_deref(), Some("(none)"));
    assert_eq!(log[2].after.as_deref(), Some("Tag:P1"));
    assert_eq!(log[3].after.as_deref(), Some("Tag:P1 rank 1"));
    assert_eq!(log[4].before.as_deref(), Some("Global"));
    assert_eq!(log[4].after.as_deref(), Some("Tag:P1"));
    // Reads are not audited.
    run_cmdlet(
        &mut store,
        &actor,
        at,
        "Get-CsTeamsEnhancedEncryptionPolicy",
    )
    .unwrap();
    assert_eq!(store.audit_log().len(), lines.len());
}

#[test]
fn a_storage_failure_changes_nothing() {
    let mut store = org();
    let before = store.snapshot();
    store.fail_next_commit();
    let err = run_err(
        &mut store,
        "Set-CsTeamsEnhancedEncryptionPolicy -Identity Global -CallingEndtoEndEncryptionEnabledType DisabledUserOverride",
    );
    assert!(matches!(err, PolicyError::Storage(_)));
    assert_eq!(store.snapshot(), before);
    assert!(store.audit_log().is_empty());
}

#[test]
fn a_commit_with_one_bad_change_applies_none_of_them() {
    let mut store = org();
    let before = store.snapshot();
    let record = AuditRecord {
        actor: uid("admin@contoso.onmicrosoft.com"),
        at: now(),
        action: AuditAction::RemovePolicy,
        target: "Tag:Nope".to_owned(),
        before: None,
        after: None,
        outcome: AuditOutcome::Applied,
    };
    let changes = [
        Change::SetComplianceRecording {
            scope: ComplianceScope::Organization,
            enabled: true,
        },
        Change::DeletePolicy(PolicyName::new("Nope").unwrap()),
    ];
    assert!(store.commit(&changes, &record).is_err());
    assert_eq!(store.snapshot(), before);
    assert!(store.audit_log().is_empty());
}

#[test]
fn setting_global_while_a_tenant_default_is_active_warns() {
    let mut store = org();
    run(
        &mut store,
        "New-CsTeamsEnhancedEncryptionPolicy -Identity T",
    );
    assert!(
        run(
            &mut store,
            "Set-CsTeamsEnhancedEncryptionPolicy -Identity Global -Description x"
        )
        .warnings
        .is_empty()
    );
    run(
        &mut store,
        "Grant-CsTeamsEnhancedEncryptionPolicy -Global -PolicyName T",
    );
    let out = run(
        &mut store,
        "Set-CsTeamsEnhancedEncryptionPolicy -Identity Global -CallingEndtoEndEncryptionEnabledType DisabledUserOverride",
    );
    assert_eq!(out.warnings.len(), 1);
    assert!(out.warnings[0].contains("Tag:T"));
    assert!(out.warnings[0].contains("-Global -PolicyName $null"));
}

#[test]
fn both_required_values_force_the_setting_on_and_lock_it() {
    for (value, lock, message) in [
        (
            "Required",
            SettingLock::OnByPolicy,
            "Your organisation requires end-to-end encrypted calls.",
        ),
        (
            "RequiredPostQuantum",
            SettingLock::OnByPolicyPostQuantum,
            "Your organisation requires end-to-end encrypted, post-quantum protected calls.",
        ),
    ] {
        let mut store = org();
        run(
            &mut store,
            &format!(
                "New-CsTeamsEnhancedEncryptionPolicy -Identity Strict -CallingEndtoEndEncryptionEnabledType {value}"
            ),
        );
        run(
            &mut store,
            "Grant-CsTeamsEnhancedEncryptionPolicy -Identity kenmeyer@contoso.onmicrosoft.com -PolicyName Strict",
        );
        assert_eq!(calling_of(&store, KEN).as_str(), value);
        let state = user_e2ee_setting(&store, &uid(KEN)).unwrap();
        assert!(!state.stored_choice, "{value}");
        assert!(state.effective, "{value}");
        assert_eq!(state.lock, Some(lock), "{value}");
        assert_eq!(lock.user_message(), message);
        assert_eq!(
            set_user_e2ee(&mut store, &as_user(KEN), &uid(KEN), false, now()),
            Err(PolicyError::SettingLocked {
                policy: "Tag:Strict".to_owned(),
                post_quantum: value == "RequiredPostQuantum"
            }),
            "{value}"
        );
        // Calling someone whose policy is Disabled is refused, with a reason for each side.
        let decision = call(&store, KEN, ANA);
        assert_eq!(
            decision,
            Decision::Refused {
                required_by: vec![Side::Caller],
                reasons: vec![Reason::PolicyDisabled { side: Side::Callee }]
            },
            "{value}"
        );
        // Once the other person can and does turn it on, the call is end-to-end encrypted.
        run(
            &mut store,
            "Set-CsTeamsEnhancedEncryptionPolicy -Identity Global -CallingEndtoEndEncryptionEnabledType DisabledUserOverride",
        );
        assert_eq!(call(&store, ANA, KEN).outcome(), Outcome::Refused);
        turn_on(&mut store, ANA).unwrap();
        assert!(call(&store, ANA, KEN).is_end_to_end(), "{value}");
    }
}

#[test]
fn required_post_quantum_is_taken_and_printed_by_the_cmdlets_and_named_in_the_lock_error() {
    let mut store = org();
    // New- and Set- take it (in any case); Get- prints it back in the cmdlet spelling.
    for (line, identity) in [
        (
            "New-CsTeamsEnhancedEncryptionPolicy -Identity StrictPq -CallingEndtoEndEncryptionEnabledType RequiredPostQuantum",
            "StrictPq",
        ),
        (
            "Set-CsTeamsEnhancedEncryptionPolicy -Identity Global -CallingEndtoEndEncryptionEnabledType requiredpostquantum",
            "Global",
        ),
    ] {
        run(&mut store, line);
        let shown = run(
            &mut store,
            &format!("Get-CsTeamsEnhancedEncryptionPolicy -Identity {identity}"),
        )
        .text;
        assert!(
            shown.contains("CallingEndtoEndEncryptionEnabledType : RequiredPostQuantum\n"),
            "{line}: {shown}"
        );
    }
    let locked = set_user_e2ee(&mut store, &as_user(KEN), &uid(KEN), false, now()).unwrap_err();
    assert_eq!(
        locked.to_string(),
        "your organisation requires end-to-end encrypted, post-quantum protected calls (policy Global); the setting can't be turned off"
    );
}

#[test]
fn the_users_choice_is_kept_while_the_policy_is_disabled() {
    let mut store = org();
    run(
        &mut store,
        "Set-CsTeamsEnhancedEncryptionPolicy -Identity Global -CallingEndtoEndEncryptionEnabledType DisabledUserOverride",
    );
    assert!(turn_on(&mut store, KEN).unwrap().effective);
    run(
        &mut store,
        "Set-CsTeamsEnhancedEncryptionPolicy -Identity Global -CallingEndtoEndEncryptionEnabledType Disabled",
    );
    let state = user_e2ee_setting(&store, &uid(KEN)).unwrap();
    assert!(state.stored_choice);
    assert!(!state.effective);
    assert_eq!(
        state.lock.unwrap().user_message(),
        "Your organisation has turned off end-to-end encrypted calls."
    );
    let err = turn_on(&mut store, KEN).unwrap_err();
    assert_eq!(
        err,
        PolicyError::SettingNotAllowed {
            policy: "Global".to_owned()
        }
    );
    // Turning it off is always possible.
    assert!(
        !set_user_e2ee(&mut store, &as_user(ANA), &uid(ANA), false, now())
            .unwrap()
            .effective
    );
    run(
        &mut store,
        "Set-CsTeamsEnhancedEncryptionPolicy -Identity Global -CallingEndtoEndEncryptionEnabledType DisabledUserOverride",
    );
    assert!(user_e2ee_setting(&store, &uid(KEN)).unwrap().effective);
}

#[test]
fn only_the_user_changes_their_own_setting_and_it_is_audited() {
    let mut store = org();
    run(
        &mut store,
        "Set-CsTeamsEnhancedEncryptionPolicy -Identity Global -CallingEndtoEndEncryptionEnabledType DisabledUserOverride",
    );
    let before = store.snapshot();
    let err = set_user_e2ee(&mut store, &admin(), &uid(KEN), true, now()).unwrap_err();
    assert!(matches!(err, PolicyError::AccessDenied { .. }));
    assert_eq!(store.snapshot(), before);
    assert_eq!(
        store.audit_log().last().unwrap().outcome,
        AuditOutcome::Denied
    );
    turn_on(&mut store, KEN).unwrap();
    let record = store.audit_log().last().unwrap();
    assert_eq!(record.action, AuditAction::SetUserSetting);
    assert_eq!(record.before.as_deref(), Some("Off"));
    assert_eq!(record.after.as_deref(), Some("On"));
    assert!(matches!(
        turn_on(&mut store, "ghost@contoso.com"),
        Err(PolicyError::UserNotFound { .. })
    ));
}

#[test]
fn compliance_recording_and_client_requirements_need_an_administrator() {
    let mut store = org();
    let before = store.snapshot();
    assert!(matches!(
        set_compliance_recording(
            &mut store,
            &as_user(KEN),
            &ComplianceScope::User(uid(KEN)),
            true,
            now()
        ),
        Err(PolicyError::AccessDenied { .. })
    ));
    let req = ClientRequirements::uniform(ClientVersion::new(3, 0, 0));
    assert!(matches!(
        set_client_requirements(&mut store, &as_user(KEN), &req, now()),
        Err(PolicyError::AccessDenied { .. })
    ));
    assert_eq!(store.snapshot(), before);
    assert!(matches!(
        set_compliance_recording(
            &mut store,
            &admin(),
            &ComplianceScope::User(uid("ghost@x")),
            true,
            now()
        ),
        Err(PolicyError::UserNotFound { .. })
    ));
    set_client_requirements(&mut store, &admin(), &req, now()).unwrap();
    run(
        &mut store,
        "Set-CsTeamsEnhancedEncryptionPolicy -Identity Global -CallingEndtoEndEncryptionEnabledType DisabledUserOverride",
    );
    turn_on(&mut store, KEN).unwrap();
    turn_on(&mut store, ANA).unwrap();
    // desktop() reports 1.0.0, now below the minimum.
    assert_eq!(
        call(&store, KEN, ANA).reasons(),
        &[
            Reason::OutdatedClient {
                side: Side::Caller,
                minimum: ClientVersion::new(3, 0, 0)
            },
            Reason::OutdatedClient {
                side: Side::Callee,
                minimum: ClientVersion::new(3, 0, 0)
            }
        ]
    );
    assert_eq!(
        compliance_status(&store, &uid(KEN)).unwrap(),
        ComplianceStatus::NotRecorded
    );
    set_compliance_recording(
        &mut store,
        &admin(),
        &ComplianceScope::User(uid(KEN)),
        true,
        now(),
    )
    .unwrap();
    assert_eq!(
        compliance_status(&store, &uid(KEN)).unwrap(),
        ComplianceStatus::User
    );
}

#[test]
fn refused_and_e2ee_calls_block_features_standard_calls_allow_them() {
    let mut store = org();
    run(
        &mut store,
        "Set-CsTeamsEnhancedEncryptionPolicy -Identity Global -CallingEndtoEndEncryptionEnabledType Required",
    );
    let decision = call(&store, KEN, ANA);
    assert!(decision.is_end_to_end());
    let blocked = check_feature(&decision, Feature::CallPark).unwrap_err();
    assert_eq!(blocked.feature, Feature::CallPark);
    let caller = resolve_party(
        &store,
        &uid(KEN),
        &DeviceInfo::new(Platform::Web, ClientVersion::new(9, 0, 0)),
    )
    .unwrap();
    let callee = resolve_party(&store, &uid(ANA), &desktop()).unwrap();
    let refused = decide(&caller, &callee, CallShape::one_to_one());
    assert_eq!(refused.outcome(), Outcome::Refused);
    assert_eq!(
        check_feature(&refused, Feature::Apps).unwrap_err().reason,
        BlockReason::CallRefused
    );
}

#[test]
fn compliance_recording_and_client_minimums_are_cmdlets_too() {
    let mut store = org();
    run(
        &mut store,
        "Set-SealcallComplianceRecording -Identity kenmeyer@contoso.onmicrosoft.com -Enabled $true",
    );
    assert_eq!(
        compliance_status(&store, &uid(KEN)).unwrap(),
        ComplianceStatus::User
    );
    let record = store.audit_log().last().unwrap().clone();
    assert_eq!(record.action, AuditAction::SetComplianceRecording);
    assert_eq!(record.target, format!("user:{KEN}"));
    assert_eq!(
        (record.before.as_deref(), record.after.as_deref()),
        (Some("Off"), Some("On"))
    );
    run(
        &mut store,
        "Set-SealcallComplianceRecording -Organization -Enabled $true",
    );
    assert_eq!(
        compliance_status(&store, &uid(ANA)).unwrap(),
        ComplianceStatus::Organization
    );
    run(
        &mut store,
        "Set-SealcallComplianceRecording -Organization -Enabled $false",
    );
    assert_eq!(
        compliance_status(&store, &uid(ANA)).unwrap(),
        ComplianceStatus::NotRecorded
    );

    run(
        &mut store,
        "Set-SealcallClientRequirements -MinimumVersion 2.0",
    );
    run(
        &mut store,
        "Set-SealcallClientRequirements -Platform iOS -MinimumVersion 3.1.4",
    );
    let minimum = |store: &MemoryStore, p| store.client_requirements().unwrap().minimum_for(p);
    assert_eq!(
        minimum(&store, Platform::Linux),
        Some(ClientVersion::new(2, 0, 0))
    );
    assert_eq!(
        minimum(&store, Platform::Ios),
        Some(ClientVersion::new(3, 1, 4))
    );
    let record = store.audit_log().last().unwrap().clone();
    assert_eq!(record.action, AuditAction::SetClientRequirements);
    assert_eq!(record.before.as_deref(), Some("default 2.0.0"));
    assert_eq!(record.after.as_deref(), Some("default 2.0.0; iOS 3.1.4"));
    run(
        &mut store,
        "Set-SealcallClientRequirements -Platform ios -MinimumVersion $null",
    );
    assert_eq!(
        minimum(&store, Platform::Ios),
        Some(ClientVersion::new(2, 0, 0))
    );

    // Bad input: clear errors, nothing changed.
    let before = store.snapshot();
    for (line, needle) in [
        (
            "Set-SealcallComplianceRecording -Enabled $true",
            "-Organization",
        ),
        (
            "Set-SealcallComplianceRecording -Organization -Identity x -Enabled $true",
            "Organization",
        ),
        (
            "Set-SealcallComplianceRecording -Organization -Enabled yes",
            "$true or $false",
        ),
        (
            "Set-SealcallComplianceRecording -Identity ghost@x -Enabled $true",
            "ghost@x",
        ),
        (
            "Set-SealcallClientRequirements -MinimumVersion $null",
            "only a platform",
        ),
        (
            "Set-SealcallClientRequirements -Platform Web -MinimumVersion 1.0",
            "Web",
        ),
        (
            "Set-SealcallClientRequirements -Platform Windoes -MinimumVersion 1.0",
            "Windows",
        ),
        (
            "Set-SealcallClientRequirements -MinimumVersion 1.x",
            "1.4.0",
        ),
    ] {
        let err = run_err(&mut store, line).to_string();
        assert!(err.contains(needle), "{line}: {err}");
    }
    assert_eq!(store.snapshot(), before);
    // And as anyone else: denied and audited.
    let denied = run_cmdlet(
        &mut store,
        &as_user(KEN),
        now(),
        "Set-SealcallComplianceRecording -Organization -Enabled $true",
    );
    assert!(matches!(denied, Err(PolicyError::AccessDenied { .. })));
    assert_eq!(store.snapshot(), before);
    assert_eq!(
        store.audit_log().last().unwrap().outcome,
        AuditOutcome::Denied
    );
}

#[test]
fn the_new_cmdlets_round_trip_through_their_canonical_form() {
    for line in [
        "Set-SealcallComplianceRecording -Identity \"Ken Meyer\" -Enabled $false",
        "Set-SealcallComplianceRecording -Organization -Enabled $true",
        "Set-SealcallClientRequirements -Platform Mac -MinimumVersion 1.2.3",
        "Set-SealcallClientRequirements -Platform Mac -MinimumVersion $null",
        "Set-SealcallClientRequirements -MinimumVersion 4.0.0",
    ] {
        let command = parse_command(line).unwrap();
        assert_eq!(command.to_string(), line);
        assert_eq!(parse_command(&command.to_string()).unwrap(), command);
    }
}
