//! Helpers shared by the integration tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use sealcall_policy::*;

pub const KEN: &str = "kenmeyer@contoso.onmicrosoft.com";
pub const ANA: &str = "ana@contoso.onmicrosoft.com";
pub const BO: &str = "bo@contoso.onmicrosoft.com";
pub const USERNAME: &str = "username";

pub fn uid(s: &str) -> UserId {
    UserId::new(s).unwrap()
}

pub fn gid(s: &str) -> GroupId {
    GroupId::new(s).unwrap()
}

pub fn now() -> Timestamp {
    Timestamp(1_700_000_000)
}

pub fn admin() -> Actor {
    Actor::new(
        uid("admin@contoso.onmicrosoft.com"),
        RoleSet::of(&[Role::TeamsAdministrator]),
    )
}

pub fn global_admin() -> Actor {
    Actor::new(
        uid("root@contoso.onmicrosoft.com"),
        RoleSet::of(&[Role::GlobalAdministrator]),
    )
}

pub fn as_user(user: &str) -> Actor {
    Actor::new(uid(user), RoleSet::of(&[Role::User]))
}

/// An organisation with users ken, ana, bo and "username"; groups sales (ana, bo) and
/// support (bo).
pub fn org() -> MemoryStore {
    let mut store = MemoryStore::new();
    for u in [KEN, ANA, BO, USERNAME] {
        store.add_user(uid(u));
    }
    store.add_member(&gid("sales"), &uid(ANA));
    store.add_member(&gid("sales"), &uid(BO));
    store.add_member(&gid("support"), &uid(BO));
    store
}

/// Runs a command line as a Teams administrator and expects success.
pub fn run(store: &mut MemoryStore, line: &str) -> ExecOutput {
    run_cmdlet(store, &admin(), now(), line).unwrap_or_else(|e| panic!("{line}: {e}"))
}

/// Runs a command line as a Teams administrator and expects an error.
pub fn run_err(store: &mut MemoryStore, line: &str) -> PolicyError {
    match run_cmdlet(store, &admin(), now(), line) {
        Ok(out) => panic!("{line}: expected an error, got {out:?}"),
        Err(e) => e,
    }
}

pub fn calling_of(store: &MemoryStore, user: &str) -> CallingEncryptionType {
    effective_policy(store, &uid(user)).unwrap().policy.calling
}

pub fn desktop() -> DeviceInfo {
    DeviceInfo::new(Platform::Windows, ClientVersion::new(1, 0, 0))
}

/// Both users turn the setting on (where their policy allows it).
pub fn turn_on(store: &mut MemoryStore, user: &str) -> Result<UserSettingState, PolicyError> {
    set_user_e2ee(store, &as_user(user), &uid(user), true, now())
}

/// The decision for a direct call between `a` and `b` on desktop clients.
pub fn call(store: &MemoryStore, a: &str, b: &str) -> Decision {
    let caller = resolve_party(store, &uid(a), &desktop()).unwrap();
    let callee = resolve_party(store, &uid(b), &desktop()).unwrap();
    decide(&caller, &callee, CallShape::one_to_one())
}

/// A party built directly (for table tests).
pub fn party(
    name: &str,
    policy: CallingEncryptionType,
    choice: bool,
    capable: bool,
    recorded: bool,
) -> Party {
    Party {
        user: uid(name),
        policy,
        policy_source: PolicySource::Global,
        user_choice: choice,
        capability: if capable {
            Capability::Capable
        } else {
            Capability::OutdatedClient {
                platform: Platform::Windows,
                version: ClientVersion::new(0, 9, 0),
                minimum: ClientVersion::new(1, 0, 0),
            }
        },
        compliance_recording: recorded,
    }
}
