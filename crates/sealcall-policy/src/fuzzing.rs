//! The body of the `cmdlet_parse` fuzz target, shared with the seed-corpus test.

use crate::actor::{Actor, Role, RoleSet};
use crate::cmdlet::{Command, execute, parse_command};
use crate::error::PolicyError;
use crate::memory::MemoryStore;
use crate::model::{
    CallingEncryptionType, EnhancedEncryptionPolicy, GroupId, PolicyIdentity, PolicyName, Rank,
    Timestamp, UserId,
};
use crate::resolve::effective_policy;
use crate::store::{AuditOutcome, Change, PolicyStore};

fn user(text: &str) -> Option<UserId> {
    UserId::new(text).ok()
}

/// A small organisation for the fuzz target: four users, two groups, one custom policy with a
/// direct and a group assignment.
fn seeded_store() -> Option<(MemoryStore, Vec<UserId>)> {
    let mut store = MemoryStore::new();
    let users = vec![
        user("kenmeyer@contoso.onmicrosoft.com")?,
        user("username")?,
        user("ana@contoso.com")?,
        user("bo@contoso.com")?,
    ];
    let sales = GroupId::new("sales").ok()?;
    let staff = GroupId::new("Contoso Staff").ok()?;
    for u in &users {
        store.add_user(u.clone());
    }
    store.add_member(&sales, users.get(2)?);
    store.add_member(&staff, users.get(2)?);
    store.add_member(&staff, users.get(3)?);
    let name = PolicyName::new("ContosoE2EEUserPolicy").ok()?;
    let mut policy = EnhancedEncryptionPolicy::new(PolicyIdentity::Tag(name.clone()));
    policy.calling = CallingEncryptionType::DisabledUserOverride;
    let admin = UserId::new("admin@contoso.com").ok()?;
    let record = crate::settings::applied(
        &Actor::new(admin, RoleSet::of(&[Role::TeamsAdministrator])),
        Timestamp(0),
        crate::store::AuditAction::NewPolicy,
        "seed".to_owned(),
        None,
        None,
    );
    store
        .commit(
            &[
                Change::PutPolicy(policy),
                Change::AssignUser {
                    user: users.get(3)?.clone(),
                    policy: Some(name.clone()),
                },
                Change::AssignGroup {
                    group: sales,
                    assignment: Some((name, Rank::new(1)?)),
                },
            ],
            &record,
        )
        .ok()?;
    Some((store, users))
}

/// Feeds `data` (as lossy UTF-8, up to 16 lines) to the cmdlet parser and runs each command that
/// parses against an in-memory organisation, first as an ordinary user, then as an administrator.
///
/// Panics (which the fuzzer reports) if an invariant breaks: a parsed command's canonical form
/// must parse back to the same command; a non-administrator must change nothing and be denied;
/// the Global policy must always exist; every user must always have exactly one resolvable
/// effective policy.
#[doc(hidden)]
pub fn run_cmdlet_line(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let Some((mut store, users)) = seeded_store() else {
        panic!("seed data is valid");
    };
    let (Some(admin), Some(nobody)) = (user("admin@contoso.com"), user("ana@contoso.com")) else {
        panic!("seed data is valid");
    };
    let admin = Actor::new(admin, RoleSet::of(&[Role::GlobalAdministrator]));
    let nobody = Actor::new(nobody, RoleSet::of(&[Role::User]));
    for (i, line) in text.lines().take(16).enumerate() {
        let now = Timestamp(1_700_000_000 + i as u64);
        let command = match parse_command(line) {
            Ok(command) => command,
            Err(error) => {
                assert!(!error.to_string().is_empty());
                continue;
            }
        };
        let rendered = command.to_string();
        let reparsed: Result<Command, PolicyError> = parse_command(&rendered);
        assert_eq!(
            reparsed.as_ref(),
            Ok(&command),
            "canonical form: {rendered}"
        );

        let before = store.snapshot();
        let audit_len = store.audit_log().len();
        let denied = execute(&mut store, &nobody, now, &command);
        assert!(matches!(denied, Err(PolicyError::AccessDenied { .. })));
        assert_eq!(store.snapshot(), before, "denied command changed state");
        assert_eq!(store.audit_log().len(), audit_len + 1);
        assert_eq!(
            store.audit_log().last().map(|r| r.outcome),
            Some(AuditOutcome::Denied)
        );

        let audit_len = store.audit_log().len();
        match execute(&mut store, &admin, now, &command) {
            Ok(_) => {
                let changes = !matches!(command, Command::Get { .. });
                assert_eq!(store.audit_log().len(), audit_len + usize::from(changes));
            }
            Err(error) => {
                assert!(!error.to_string().is_empty());
                assert_eq!(store.audit_log().len(), audit_len);
            }
        }
        assert!(matches!(store.policy(&PolicyIdentity::Global), Ok(Some(_))));
        for u in &users {
            assert!(effective_policy(&store, u).is_ok(), "no effective policy");
        }
    }
}
