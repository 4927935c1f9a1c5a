//! Sealcall's policy model for end-to-end encrypted (E2EE) one-to-one calls.
//!
//! - **Policies** ([`EnhancedEncryptionPolicy`]): the Global policy (always present, starts
//!   `Disabled`, can't be removed) and named tag policies, each with
//!   `CallingEndtoEndEncryptionEnabledType` ([`CallingEncryptionType`]: `Disabled`,
//!   `DisabledUserOverride`, or Sealcall's fail-closed `Required` and `RequiredPostQuantum`),
//!   `MeetingEndToEndEncryption` (stored and shown only) and a description.
//! - **Precedence** ([`effective_policy`]): a direct assignment, else the lowest-ranked group
//!   assignment among the user's groups, else the tenant-wide default, else Global; every result
//!   says where it came from ([`PolicySource`]).
//! - **The user setting** "End-to-end encrypted calls" ([`set_user_e2ee`],
//!   [`user_e2ee_setting`]): per user, usable only when the policy allows it.
//! - **Compliance recording** and **client capability** ([`ClientRequirements`]).
//! - **The decision** ([`decide`]): [`Decision::EndToEnd`] carries an [`E2eeGrant`], a proof
//!   value only `decide` can create, which the media engine requires to derive E2EE keys.
//! - **Intents** ([`local_intent`], [`settle`]): each device's own intent from its cached state,
//!   and the call's mode from the two signed intents; the server's decision is advice that they
//!   confirm or contradict ([`Disagreement`]).
//! - **Blocked features** ([`check_feature`]).
//! - **Administration** in the cmdlet language ([`parse_command`], [`execute`], [`run_cmdlet`])
//!   against a [`PolicyStore`]; [`MemoryStore`] is an in-memory implementation.
//!
//! The crate does no I/O: no files, sockets, clocks, threads or environment. Time is a
//! [`Timestamp`] passed in by the caller. No input makes it panic; every failure is a
//! [`PolicyError`].
//!
//! ```
//! use sealcall_policy::*;
//!
//! let mut store = MemoryStore::new();
//! let ken = UserId::new("kenmeyer@contoso.onmicrosoft.com").unwrap();
//! let ana = UserId::new("ana@contoso.onmicrosoft.com").unwrap();
//! store.add_user(ken.clone()).add_user(ana.clone());
//! let admin = Actor::new(UserId::new("admin@contoso.onmicrosoft.com").unwrap(),
//!                        RoleSet::of(&[Role::TeamsAdministrator]));
//! let now = Timestamp(1_700_000_000);
//! run_cmdlet(&mut store, &admin,  now,
//!     "Set-CsTeamsEnhancedEncryptionPolicy -Identity Global -CallingEndtoEndEncryptionEnabledType DisabledUserOverride")
//!     .unwrap();
//! for user in [&ken, &ana] {
//!     let me = Actor::new(user.clone(), RoleSet::of(&[Role::User]));
//!     set_user_e2ee(&mut store, &me, user, true, now).unwrap();
//! }
//! let device = DeviceInfo::new(Platform::Linux, ClientVersion::new(1, 0, 0));
//! let caller = resolve_party(&store, &ken, &device).unwrap();
//! let callee = resolve_party(&store, &ana, &device).unwrap();
//! let decision = decide(&caller, &callee, CallShape::one_to_one());
//! assert!(decision.is_end_to_end());
//! assert!(check_feature(&decision, Feature::Recording).is_err());
//! ```

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod actor;
mod client;
mod cmdlet;
mod decision;
mod error;
mod features;
mod intent;
mod memory;
mod model;
mod resolve;
mod settings;
mod store;
mod suggest;

pub mod fuzzing;

pub use actor::{Actor, Role, RoleSet};
pub use client::{Capability, ClientRequirements, ClientVersion, DeviceInfo, Platform};
pub use cmdlet::{
    Cmdlet, Command, ExecOutput, GrantTarget, PolicySettings, execute, format_policy_list,
    parse_command, run_cmdlet,
};
pub use decision::{
    CallIndicator, CallShape, ContentKind, Decision, DecisionSummary, E2eeGrant, Outcome, Party,
    Reason, Side, decide,
};
pub use error::{NameProblem, PolicyError, StoreError};
pub use features::{BlockReason, Feature, FeatureBlocked, check_feature};
pub use intent::{
    CallIntent, Disagreement, EndReason, LocalState, Settlement, local_intent, settle,
};
pub use memory::{MemoryState, MemoryStore};
pub use model::{
    CallingEncryptionType, EnhancedEncryptionPolicy, GroupId, MAX_DESCRIPTION_CHARS,
    MAX_POLICY_NAME_CHARS, MAX_PRINCIPAL_CHARS, MeetingEncryptionType, PolicyIdentity, PolicyName,
    Rank, Timestamp, UserId,
};
pub use resolve::{
    ComplianceStatus, EffectivePolicy, PolicySource, SettingLock, UserSettingState,
    compliance_status, effective_policy, resolve_party, user_e2ee_setting,
};
pub use settings::{set_client_requirements, set_compliance_recording, set_user_e2ee};
pub use store::{
    AuditAction, AuditOutcome, AuditRecord, Change, ComplianceScope, GroupAssignment, PolicyStore,
    PolicyUsage,
};
