//! Assignment and precedence: user over group over tenant default over Global; group rank
//! order; `$null` fallback; removing a policy that is still assigned.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use sealcall_policy::*;

fn with_policies(names: &[&str]) -> MemoryStore {
    let mut store = org();
    for name in names {
        run(
            &mut store,
            &format!("New-CsTeamsEnhancedEncryptionPolicy -Identity {name}"),
        );
    }
    store
}

fn tag_of(store: &MemoryStore, user: &str) -> String {
    effective_policy(store, &uid(user))
        .unwrap()
        .policy
        .identity
        .to_string()
}

#[test]
fn user_beats_group_beats_tenant_default_beats_global() {
    let mut store = with_policies(&["U", "G", "T"]);
    assert_eq!(tag_of(&store, BO), "Global");
    run(
        &mut store,
        "Grant-CsTeamsEnhancedEncryptionPolicy -Global -PolicyName T",
    );
    assert_eq!(tag_of(&store, BO), "Tag:T");
    assert_eq!(
        effective_policy(&store, &uid(BO)).unwrap().source,
        PolicySource::TenantDefault
    );
    run(
        &mut store,
        "Grant-CsTeamsEnhancedEncryptionPolicy -Group support -PolicyName G -Rank 5",
    );
    assert_eq!(tag_of(&store, BO), "Tag:G");
    run(
        &mut store,
        "Grant-CsTeamsEnhancedEncryptionPolicy -Identity bo@contoso.onmicrosoft.com -PolicyName U",
    );
    assert_eq!(tag_of(&store, BO), "Tag:U");
    // Peeling the layers off again.
    run(
        &mut store,
        "Grant-CsTeamsEnhancedEncryptionPolicy -Identity bo@contoso.onmicrosoft.com -PolicyName $null",
    );
    assert_eq!(tag_of(&store, BO), "Tag:G");
    run(
        &mut store,
        "Grant-CsTeamsEnhancedEncryptionPolicy -Group support -PolicyName $null",
    );
    assert_eq!(tag_of(&store, BO), "Tag:T");
    run(
        &mut store,
        "Grant-CsTeamsEnhancedEncryptionPolicy -Global -PolicyName $null",
    );
    assert_eq!(tag_of(&store, BO), "Global");
}

#[test]
fn the_lowest_rank_among_the_users_groups_wins() {
    let mut store = with_policies(&["SalesPol", "SupportPol"]);
    // bo is in sales and support; ana only in sales.
    run(
        &mut store,
        "Grant-CsTeamsEnhancedEncryptionPolicy -Group sales -PolicyName SalesPol -Rank 2",
    );
    run(
        &mut store,
        "Grant-CsTeamsEnhancedEncryptionPolicy -Group support -PolicyName SupportPol -Rank 1",
    );
    assert_eq!(tag_of(&store, BO), "Tag:SupportPol");
    assert_eq!(tag_of(&store, ANA), "Tag:SalesPol");
    assert_eq!(
        effective_policy(&store, &uid(BO)).unwrap().source,
        PolicySource::Group {
            group: gid("support"),
            rank: Rank::new(1).unwrap()
        }
    );
    // Re-rank: support moves below sales.
    run(
        &mut store,
        "Grant-CsTeamsEnhancedEncryptionPolicy -Group support -PolicyName SupportPol -Rank 3",
    );
    assert_eq!(tag_of(&store, BO), "Tag:SalesPol");
    // Leaving a group changes the result.
    store.remove_member(&gid("sales"), &uid(BO));
    assert_eq!(tag_of(&store, BO), "Tag:SupportPol");
}

#[test]
fn a_rank_can_be_held_by_only_one_group() {
    let mut store = with_policies(&["SalesPol", "SupportPol"]);
    run(
        &mut store,
        "Grant-CsTeamsEnhancedEncryptionPolicy -Group sales -PolicyName SalesPol -Rank 1",
    );
    let err = run_err(
        &mut store,
        "Grant-CsTeamsEnhancedEncryptionPolicy -Group support -PolicyName SupportPol -Rank 1",
    );
    assert_eq!(
        err,
        PolicyError::RankInUse {
            rank: 1,
            group: "sales".to_owned()
        }
    );
    // The same group may keep its own rank while changing policy.
    run(
        &mut store,
        "Grant-CsTeamsEnhancedEncryptionPolicy -Group sales -PolicyName SupportPol -Rank 1",
    );
    assert_eq!(tag_of(&store, ANA), "Tag:SupportPol");
}

#[test]
fn null_removes_the_direct_assignment_and_the_user_falls_back() {
    let mut store = with_policies(&["U", "G"]);
    run(
        &mut store,
        "Grant-CsTeamsEnhancedEncryptionPolicy -Group sales -PolicyName G -Rank 1",
    );
    run(
        &mut store,
        "Grant-CsTeamsEnhancedEncryptionPolicy -Identity ana@contoso.onmicrosoft.com -PolicyName U",
    );
    assert_eq!(tag_of(&store, ANA), "Tag:U");
    run(
        &mut store,
        "Grant-CsTeamsEnhancedEncryptionPolicy -Identity ana@contoso.onmicrosoft.com -PolicyName $null",
    );
    assert_eq!(tag_of(&store, ANA), "Tag:G", "falls back to the group");
    run(
        &mut store,
        "Grant-CsTeamsEnhancedEncryptionPolicy -Identity kenmeyer@contoso.onmicrosoft.com -PolicyName U",
    );
    run(
        &mut store,
        "Grant-CsTeamsEnhancedEncryptionPolicy -Identity kenmeyer@contoso.onmicrosoft.com -PolicyName $null",
    );
    assert_eq!(tag_of(&store, KEN), "Global", "falls back to Global");
}

#[test]
fn every_result_explains_where_it_came_from() {
    let mut store = with_policies(&["U", "G"]);
    run(
        &mut store,
        "Set-CsTeamsEnhancedEncryptionPolicy -Identity G -CallingEndtoEndEncryptionEnabledType DisabledUserOverride",
    );
    run(
        &mut store,
        "Grant-CsTeamsEnhancedEncryptionPolicy -Group sales -PolicyName G -Rank 1",
    );
    run(
        &mut store,
        "Grant-CsTeamsEnhancedEncryptionPolicy -Identity kenmeyer@contoso.onmicrosoft.com -PolicyName U",
    );
    assert_eq!(
        effective_policy(&store, &uid(ANA)).unwrap().explain(),
        "Tag:G (DisabledUserOverride), assigned to group 'sales' (rank 1)"
    );
    assert_eq!(
        effective_policy(&store, &uid(KEN)).unwrap().explain(),
        "Tag:U (Disabled), assigned directly to the user"
    );
    assert_eq!(
        effective_policy(&store, &uid(USERNAME)).unwrap().explain(),
        "Global (Disabled), the global, organization-wide default policy"
    );
    let party = resolve_party(&store, &uid(ANA), &desktop()).unwrap();
    assert!(matches!(party.policy_source, PolicySource::Group { .. }));
}

#[test]
fn removing_an_assigned_policy_is_refused_with_the_assignment_counts() {
    let mut store = with_policies(&["P"]);
    run(
        &mut store,
        "Grant-CsTeamsEnhancedEncryptionPolicy -Identity kenmeyer@contoso.onmicrosoft.com -PolicyName P",
    );
    run(
        &mut store,
        "Grant-CsTeamsEnhancedEncryptionPolicy -Identity ana@contoso.onmicrosoft.com -PolicyName P",
    );
    run(
        &mut store,
        "Grant-CsTeamsEnhancedEncryptionPolicy -Group sales -PolicyName P -Rank 1",
    );
    run(
        &mut store,
        "Grant-CsTeamsEnhancedEncryptionPolicy -Global -PolicyName P",
    );
    let before = store.snapshot();
    let err = run_err(
        &mut store,
        "Remove-CsTeamsEnhancedEncryptionPolicy -Identity P",
    );
    assert_eq!(
        err,
        PolicyError::PolicyStillAssigned {
            identity: "Tag:P".to_owned(),
            users: 2,
            groups: 1,
            tenant_default: true
        }
    );
    assert!(
        err.to_string()
            .contains("2 user(s), 1 group(s) and the whole tenant")
    );
    assert!(err.to_string().contains("-Force"));
    assert_eq!(store.snapshot(), before);
}

#[test]
fn removing_an_assigned_policy_with_force_unassigns_it_and_users_fall_back() {
    let mut store = with_policies(&["P", "Q"]);
    run(
        &mut store,
        "Grant-CsTeamsEnhancedEncryptionPolicy -Identity kenmeyer@contoso.onmicrosoft.com -PolicyName P",
    );
    run(
        &mut store,
        "Grant-CsTeamsEnhancedEncryptionPolicy -Group sales -PolicyName P -Rank 1",
    );
    run(
        &mut store,
        "Grant-CsTeamsEnhancedEncryptionPolicy -Group support -PolicyName Q -Rank 2",
    );
    run(
        &mut store,
        "Remove-CsTeamsEnhancedEncryptionPolicy -Identity P -Force",
    );
    assert_eq!(
        store.policy(&PolicyIdentity::parse("P").unwrap()).unwrap(),
        None
    );
    assert_eq!(tag_of(&store, KEN), "Global");
    assert_eq!(tag_of(&store, ANA), "Global");
    assert_eq!(tag_of(&store, BO), "Tag:Q");
    let record = store.audit_log().last().unwrap();
    assert_eq!(record.action, AuditAction::RemovePolicy);
    assert_eq!(
        record.after.as_deref(),
        Some("removed; unassigned from 1 user(s), 1 group(s)")
    );
}

#[test]
fn removing_an_unassigned_policy_just_removes_it() {
    let mut store = with_policies(&["P"]);
    run(
        &mut store,
        "Remove-CsTeamsEnhancedEncryptionPolicy -Identity Tag:P",
    );
    assert_eq!(store.policies().unwrap().len(), 1);
    let err = run_err(
        &mut store,
        "Remove-CsTeamsEnhancedEncryptionPolicy -Identity P",
    );
    assert!(matches!(err, PolicyError::PolicyNotFound { .. }));
}

#[test]
fn a_dangling_assignment_in_a_broken_store_is_an_error_not_a_silent_fallback() {
    let mut store = org();
    let record = AuditRecord {
        actor: uid("admin@contoso.onmicrosoft.com"),
        at: now(),
        action: AuditAction::GrantUser,
        target: "test".to_owned(),
        before: None,
        after: None,
        outcome: AuditOutcome::Applied,
    };
    store
        .commit(
            &[Change::AssignUser {
                user: uid(KEN),
                policy: Some(PolicyName::new("Ghost").unwrap()),
            }],
            &record,
        )
        .unwrap();
    assert_eq!(
        effective_policy(&store, &uid(KEN)).unwrap_err(),
        PolicyError::DanglingAssignment {
            identity: "Tag:Ghost".to_owned()
        }
    );
}

#[test]
fn unknown_users_have_no_effective_policy() {
    let store = org();
    assert!(matches!(
        effective_policy(&store, &uid("nobody@contoso.com")),
        Err(PolicyError::UserNotFound { .. })
    ));
}
