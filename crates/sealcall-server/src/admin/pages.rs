//! The admin center's pages and form handlers.

use std::collections::BTreeMap;
use std::sync::Arc;

use askama::Template;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use sealcall_policy::{
    CallingEncryptionType, ClientRequirements, ClientVersion, Command, ComplianceScope,
    EnhancedEncryptionPolicy, GrantTarget, GroupId, Platform, PolicyError, PolicyIdentity,
    PolicyName, PolicySettings, PolicySource, PolicyStore, Rank, Timestamp, UserId,
    compliance_status, effective_policy, execute,
};

use super::{Admin, AdminForm, Chrome, HOME, render};
use crate::AppState;
use crate::http::{check_password, client_ip, open_session, policy_error, push_settings};
use crate::listen::Peer;
use crate::store::{UserRecord, policy};

type Page = Result<Response, Response>;

/// Every field the admin forms send; each handler reads the ones its form has, and validates
/// them with the policy types. A missing field is empty.
#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct Fields {
    form_token: String,
    name: String,
    description: String,
    calling: String,
    confirm: Option<String>,
    policy: String,
    user: String,
    group: String,
    rank: String,
    scope: String,
    enabled: String,
}

/// Users shown per page of a user table.
const USERS_SHOWN: usize = 50;
/// Audit rows per page.
const AUDIT_PAGE: usize = 50;

/// A server failure as a page (the detail stays in the server).
fn failed(_: impl std::fmt::Display) -> Response {
    super::message(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong",
        "The server could not complete this request. Nothing was changed.",
    )
}

/// Runs `f` against the policy store in one transaction.
async fn read<T: Send + 'static>(
    state: &AppState,
    mut f: impl FnMut(&mut dyn PolicyStore) -> Result<T, PolicyError> + Send + 'static,
) -> Result<T, Response> {
    read_directory(state, String::new(), move |_, p| f(p)).await
}

/// Users (matching a search) and groups, read before the policy transaction.
struct Directory {
    users: Vec<UserRecord>,
    groups: Vec<(GroupId, Vec<UserId>)>,
}

/// Reads the directory (users whose name contains `search`, all groups), then runs `f`
/// against it and the policy store in one transaction.
async fn read_directory<T: Send + 'static>(
    state: &AppState,
    search: String,
    mut f: impl FnMut(&Directory, &mut dyn PolicyStore) -> Result<T, PolicyError> + Send + 'static,
) -> Result<T, Response> {
    state
        .db(move |s| {
            let search = (!search.is_empty()).then_some(search.as_str());
            let directory = Directory {
                users: s.users(search, USERS_SHOWN)?,
                groups: s.groups()?,
            };
            policy(s, |p| f(&directory, p))
        })
        .await
        .map_err(failed)?
        .map_err(failed)
}

/// Runs typed commands as the administrator through the policy executor (the cmdlets' one
/// path: authorisation and audit), in one transaction, then tells every signed-in device its
/// new setting. Returns how many devices were told, or the first command's refusal.
async fn apply(
    state: &AppState,
    admin: &Admin,
    commands: Vec<Command>,
) -> Result<Result<usize, PolicyError>, Response> {
    let actor = admin.actor();
    let outcome = state
        .db(move |s| {
            policy(s, |p| {
                let now = Timestamp(crate::unix_now());
                commands
                    .iter()
                    .try_for_each(|c| execute(p, &actor, now, c).map(|_| ()))
            })
        })
        .await
        .map_err(failed)?;
    match outcome {
        Ok(()) => Ok(Ok(push_settings(state).await)),
        Err(e) => Ok(Err(e)),
    }
}

/// 303 to `path` with the notice `done` and how many devices were told.
fn done(path: &str, what: &str, devices: usize) -> Response {
    let sep = if path.contains('?') { '&' } else { '?' };
    Redirect::to(&format!("{path}{sep}done={what}&devices={devices}")).into_response()
}

#[derive(Deserialize, Default)]
pub(crate) struct PageQuery {
    done: Option<String>,
    devices: Option<usize>,
    search: Option<String>,
    page: Option<usize>,
}

/// A malformed query (say `?page=x`) is ignored, not refused: the page is shown plainly.
impl<S: Send + Sync> axum::extract::FromRequestParts<S> for PageQuery {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(Query::<PageQuery>::try_from_uri(&parts.uri)
            .map(|Query(q)| q)
            .unwrap_or_default())
    }
}

impl PageQuery {
    /// The notice after a change: what was done, and that it applies at once.
    fn notice(&self) -> Option<String> {
        let what = match self.done.as_deref()? {
            "added" => "Policy added.",
            "saved" => "Policy saved.",
            "deleted" => "Policy deleted.",
            "assigned" => "Assignment saved.",
            "compliance" => "Compliance recording changed.",
            "clients" => "Minimum client versions saved.",
            _ => return None,
        };
        let devices = self.devices.unwrap_or(0);
        Some(format!(
            "{what} It applies at once: the new setting was sent to {devices} signed-in \
             device{} (setting_changed); others get it when they connect.",
            if devices == 1 { "" } else { "s" }
        ))
    }

    /// The chrome of a page shown after this query: the notice, and an error to announce.
    fn chrome(
        &self,
        admin: &Admin,
        title: &str,
        section: &'static str,
        error: Option<String>,
    ) -> Chrome {
        let mut chrome = admin.chrome(title, section);
        chrome.notice = self.notice();
        chrome.error = error;
        chrome
    }

    fn search(&self) -> String {
        self.search
            .as_deref()
            .unwrap_or("")
            .trim()
            .chars()
            .take(256)
            .collect()
    }
}

// ---------------------------------------------------------------------------------------------
// Sign-in

#[derive(Template)]
#[template(path = "admin/sign_in.html")]
struct SignInPage {
    chrome: Chrome,
    user: String,
}

pub(crate) async fn sign_in_form() -> Response {
    render(
        StatusCode::OK,
        &SignInPage {
            chrome: Chrome::public("Sign in to the admin center"),
            user: String::new(),
        },
    )
}

#[derive(Deserialize)]
pub(crate) struct SignInForm {
    #[serde(default)]
    user: String,
    #[serde(default)]
    password: String,
}

pub(crate) async fn sign_in(
    State(state): State<Arc<AppState>>,
    ConnectInfo(Peer(peer)): ConnectInfo<Peer>,
    headers: HeaderMap,
    AdminForm(mut form): AdminForm<SignInForm>,
) -> Response {
    let password = zeroize::Zeroizing::new(std::mem::take(&mut form.password));
    let ip = client_ip(peer.ip(), &headers, &state.config.trusted_proxies);
    let record = match check_password(&state, ip, &form.user, password).await {
        Ok(record) => record,
        Err(e) => {
            let mut chrome = Chrome::public("Sign in to the admin center");
            chrome.error = Some(format!("Not signed in: {}.", e.message()));
            let status = e.status();
            let mut user = form.user;
            user.truncate(256);
            return render(status, &SignInPage { chrome, user });
        }
    };
    if !record.roles.can_administer_policies() {
        return super::not_an_administrator(&record);
    }
    let (token, _) = match open_session(&state, &record.id, None).await {
        Ok(session) => session,
        Err(e) => return failed(e.message()),
    };
    let cookie = super::session_cookie(token.expose(), state.config.session_ttl.as_secs());
    ([(header::SET_COOKIE, cookie)], Redirect::to(HOME)).into_response()
}

pub(crate) async fn sign_out(
    State(state): State<Arc<AppState>>,
    admin: Admin,
    AdminForm(form): AdminForm<Fields>,
) -> Page {
    admin.check_form_token(&form.form_token)?;
    let hash = admin.token_hash;
    state
        .db(move |s| s.delete_session(&hash))
        .await
        .map_err(failed)?;
    Ok((
        [(header::SET_COOKIE, super::expired_cookie())],
        Redirect::to("/admin/sign-in"),
    )
        .into_response())
}

// ---------------------------------------------------------------------------------------------
// Enhanced encryption policies

/// How a policy is named on the page.
fn display_name(identity: &PolicyIdentity) -> String {
    match identity {
        PolicyIdentity::Global => "Global (Org-wide default)".to_owned(),
        PolicyIdentity::Tag(name) => name.to_string(),
    }
}

/// A policy's URL segment.
fn path_of(identity: &PolicyIdentity) -> String {
    match identity {
        PolicyIdentity::Global => "Global".to_owned(),
        PolicyIdentity::Tag(name) => name.to_string(),
    }
}

/// One sentence on what each End-to-end call encryption choice means.
fn calling_help(value: CallingEncryptionType) -> &'static str {
    match value {
        CallingEncryptionType::Disabled => "Users can't turn on end-to-end encrypted calls.",
        CallingEncryptionType::DisabledUserOverride => {
            "Off by default; users can turn on end-to-end encrypted calls in their settings."
        }
        CallingEncryptionType::Required => {
            "Sealcall only: always on and locked; calls that can't be end-to-end encrypted are refused."
        }
        CallingEncryptionType::RequiredPostQuantum => {
            "Sealcall only: as Required, and devices also refuse end-to-end encrypted calls whose key agreement isn't post-quantum (X25519 + ML-KEM-768)."
        }
    }
}

struct PolicyRow {
    display_name: String,
    path: String,
    description: String,
    label: &'static str,
    value: &'static str,
    is_global: bool,
}

#[derive(Template)]
#[template(path = "admin/policies.html")]
struct PoliciesPage {
    chrome: Chrome,
    rows: Vec<PolicyRow>,
    tenant_default: Option<String>,
}

/// Global first, then custom policies by name.
fn sorted(mut policies: Vec<EnhancedEncryptionPolicy>) -> Vec<EnhancedEncryptionPolicy> {
    if !policies
        .iter()
        .any(|p| p.identity == PolicyIdentity::Global)
    {
        policies.push(EnhancedEncryptionPolicy::builtin_global());
    }
    policies.sort_by(|a, b| a.identity.cmp(&b.identity));
    policies
}

pub(crate) async fn policies(
    State(state): State<Arc<AppState>>,
    admin: Admin,
    q: PageQuery,
) -> Page {
    let (policies, tenant_default) =
        read(&state, |p| Ok((sorted(p.policies()?), p.tenant_default()?))).await?;
    let rows = policies
        .iter()
        .map(|p| PolicyRow {
            display_name: display_name(&p.identity),
            path: path_of(&p.identity),
            description: p.description.clone(),
            label: p.calling.admin_label(),
            value: p.calling.as_str(),
            is_global: p.identity == PolicyIdentity::Global,
        })
        .collect();
    let chrome = q.chrome(&admin, "Enhanced encryption policies", "policies", None);
    Ok(render(
        StatusCode::OK,
        &PoliciesPage {
            chrome,
            rows,
            tenant_default: tenant_default.map(|n| n.to_string()),
        },
    ))
}

struct CallingChoice {
    value: &'static str,
    label: &'static str,
    help: &'static str,
    checked: bool,
}

#[derive(Template)]
#[template(path = "admin/policy_form.html")]
struct PolicyFormPage {
    chrome: Chrome,
    adding: bool,
    action: String,
    name: String,
    description: String,
    choices: Vec<CallingChoice>,
}

fn calling_choices(selected: Option<CallingEncryptionType>) -> Vec<CallingChoice> {
    CallingEncryptionType::ALL
        .into_iter()
        .map(|v| CallingChoice {
            value: v.as_str(),
            label: v.admin_label(),
            help: calling_help(v),
            checked: Some(v) == selected,
        })
        .collect()
}

pub(crate) async fn new_policy_form(admin: Admin) -> Response {
    render(
        StatusCode::OK,
        &PolicyFormPage {
            chrome: admin.chrome("Add an enhanced encryption policy", "policies"),
            adding: true,
            action: "/admin/enhanced-encryption-policies/new".to_owned(),
            name: String::new(),
            description: String::new(),
            choices: calling_choices(Some(CallingEncryptionType::Disabled)),
        },
    )
}

/// The policy form again, with what was typed and the error announced; nothing changed.
fn policy_form_again(
    admin: &Admin,
    identity: Option<&PolicyIdentity>,
    form: &Fields,
    status: StatusCode,
    error: String,
) -> Response {
    let (title, action) = match identity {
        None => (
            "Add an enhanced encryption policy".to_owned(),
            "/admin/enhanced-encryption-policies/new".to_owned(),
        ),
        Some(id) => (
            format!("Edit {}", display_name(id)),
            format!("/admin/enhanced-encryption-policies/{}/edit", path_of(id)),
        ),
    };
    let mut chrome = admin.chrome(&title, "policies");
    chrome.error = Some(error);
    render(
        status,
        &PolicyFormPage {
            chrome,
            adding: identity.is_none(),
            action,
            name: form.name.chars().take(256).collect(),
            description: form.description.chars().take(2048).collect(),
            choices: calling_choices(form.calling.parse().ok()),
        },
    )
}

/// The End-to-end call encryption choice, validated with the policy type.
fn calling_of(form: &Fields) -> Result<CallingEncryptionType, String> {
    if form.calling.is_empty() {
        return Err("Choose an End-to-end call encryption setting.".to_owned());
    }
    form.calling
        .parse::<CallingEncryptionType>()
        .map_err(|e| format!("End-to-end call encryption: {e}"))
}

pub(crate) async fn create_policy(
    State(state): State<Arc<AppState>>,
    admin: Admin,
    AdminForm(form): AdminForm<Fields>,
) -> Page {
    admin.check_form_token(&form.form_token)?;
    let again = |status, error| policy_form_again(&admin, None, &form, status, error);
    let name = match PolicyName::new(form.name.trim_end_matches(['\r', '\n'])) {
        Ok(name) => name,
        Err(problem) => {
            return Ok(again(
                StatusCode::BAD_REQUEST,
                format!(
                    "The name “{}” can't be used: {problem}. For example: ContosoE2EEUserPolicy.",
                    form.name.chars().take(64).collect::<String>()
                ),
            ));
        }
    };
    let make = |settings| Command::New { name, settings };
    submit_policy(&state, &admin, None, &form, make, "added").await
}

/// Validates the End-to-end call encryption choice, builds the command with `make` from the
/// form's settings, and runs it: back to the list with the notice `what`, or the form again
/// with the refusal announced.
async fn submit_policy(
    state: &AppState,
    admin: &Admin,
    identity: Option<&PolicyIdentity>,
    form: &Fields,
    make: impl FnOnce(PolicySettings) -> Command,
    what: &str,
) -> Page {
    let again = |status, error| policy_form_again(admin, identity, form, status, error);
    let calling = match calling_of(form) {
        Ok(c) => c,
        Err(e) => return Ok(again(StatusCode::BAD_REQUEST, e)),
    };
    let command = make(PolicySettings {
        calling: Some(calling),
        meeting: None,
        description: Some(form.description.clone()),
    });
    match apply(state, admin, vec![command]).await? {
        Ok(devices) => Ok(done(HOME, what, devices)),
        Err(e) => Ok(again(policy_error(e.clone()).status(), refusal(&e))),
    }
}

/// A policy refusal as a sentence for the page.
fn refusal(e: &PolicyError) -> String {
    let mut text = e.to_string();
    if let Some(first) = text.get(..1) {
        let upper = first.to_uppercase();
        text.replace_range(..1, &upper);
    }
    if !text.ends_with('.') {
        text.push('.');
    }
    format!("{text} Nothing was changed.")
}

/// The policy a URL names, or a "no such policy" page.
async fn policy_at(
    state: &AppState,
    name: &str,
) -> Result<(PolicyIdentity, EnhancedEncryptionPolicy), Response> {
    let not_found = || {
        super::message(
            StatusCode::NOT_FOUND,
            "No such policy",
            "There is no enhanced encryption policy with this name.",
        )
    };
    let identity = PolicyIdentity::parse(name).map_err(|_| not_found())?;
    let wanted = identity.clone();
    let found = read(state, move |p| {
        Ok(match &wanted {
            PolicyIdentity::Global => Some(
                p.policy(&wanted)?
                    .unwrap_or_else(EnhancedEncryptionPolicy::builtin_global),
            ),
            PolicyIdentity::Tag(_) => p.policy(&wanted)?,
        })
    })
    .await?;
    found.map(|p| (identity, p)).ok_or_else(not_found)
}

pub(crate) async fn edit_policy_form(
    State(state): State<Arc<AppState>>,
    admin: Admin,
    Path(name): Path<String>,
) -> Page {
    let (identity, current) = policy_at(&state, &name).await?;
    Ok(render(
        StatusCode::OK,
        &PolicyFormPage {
            chrome: admin.chrome(&format!("Edit {}", display_name(&identity)), "policies"),
            adding: false,
            action: format!(
                "/admin/enhanced-encryption-policies/{}/edit",
                path_of(&identity)
            ),
            name: display_name(&identity),
            description: current.description,
            choices: calling_choices(Some(current.calling)),
        },
    ))
}

pub(crate) async fn save_policy(
    State(state): State<Arc<AppState>>,
    admin: Admin,
    Path(name): Path<String>,
    AdminForm(form): AdminForm<Fields>,
) -> Page {
    admin.check_form_token(&form.form_token)?;
    let (identity, _) = policy_at(&state, &name).await?;
    // Global too is changed with Set- (never Grant-).
    let target = identity.clone();
    let make = |settings| Command::Set {
        identity: target,
        settings,
    };
    submit_policy(&state, &admin, Some(&identity), &form, make, "saved").await
}

#[derive(Template)]
#[template(path = "admin/delete.html")]
struct DeletePage {
    chrome: Chrome,
    display_name: String,
    path: String,
    usage: Option<String>,
}

fn plural(n: usize, one: &str) -> String {
    format!("{n} {one}{}", if n == 1 { "" } else { "s" })
}

/// The delete confirmation for a custom policy (Global can't be deleted).
async fn delete_page(state: &AppState, admin: &Admin, name: &str, error: Option<String>) -> Page {
    let (identity, _) = policy_at(state, name).await?;
    let PolicyIdentity::Tag(tag) = &identity else {
        return Err(super::message_with_link(
            StatusCode::CONFLICT,
            "Global can't be deleted",
            "The Global (Org-wide default) policy always exists: it applies to everyone without \
             another policy. Edit it instead. Nothing was changed.",
            Some((HOME, "Back to Enhanced encryption policies")),
        ));
    };
    let tag = tag.clone();
    let usage = read(state, move |p| Ok(p.policy_usage(&tag)?)).await?;
    let usage = usage.is_assigned().then(|| {
        let mut parts = Vec::new();
        if usage.users > 0 {
            parts.push(format!("assigned to {}", plural(usage.users, "user")));
        }
        if usage.groups > 0 {
            parts.push(format!("assigned to {}", plural(usage.groups, "group")));
        }
        if usage.tenant_default {
            parts.push("the tenant-wide default".to_owned());
        }
        parts.join(" and ")
    });
    let mut chrome = admin.chrome(&format!("Delete {}", display_name(&identity)), "policies");
    let status = if error.is_some() {
        StatusCode::CONFLICT
    } else {
        StatusCode::OK
    };
    chrome.error = error;
    Ok(render(
        status,
        &DeletePage {
            chrome,
            display_name: display_name(&identity),
            path: path_of(&identity),
            usage,
        },
    ))
}

pub(crate) async fn delete_form(
    State(state): State<Arc<AppState>>,
    admin: Admin,
    Path(name): Path<String>,
) -> Page {
    delete_page(&state, &admin, &name, None).await
}

pub(crate) async fn delete_policy(
    State(state): State<Arc<AppState>>,
    admin: Admin,
    Path(name): Path<String>,
    AdminForm(form): AdminForm<Fields>,
) -> Page {
    admin.check_form_token(&form.form_token)?;
    let (identity, _) = policy_at(&state, &name).await?;
    if identity == PolicyIdentity::Global {
        return delete_page(&state, &admin, &name, None).await;
    }
    let command = Command::Remove {
        identity,
        // Only with the confirmation are its assignments removed with it.
        force: form.confirm.as_deref() == Some("yes"),
    };
    match apply(&state, &admin, vec![command]).await? {
        Ok(devices) => Ok(done(HOME, "deleted", devices)),
        Err(PolicyError::PolicyStillAssigned { .. }) => {
            let error = "This policy is still assigned. Tick the confirmation to remove its \
                         assignments and delete it. Nothing was changed."
                .to_owned();
            delete_page(&state, &admin, &name, Some(error)).await
        }
        Err(e) => delete_page(&state, &admin, &name, Some(refusal(&e))).await,
    }
}

// ---------------------------------------------------------------------------------------------
// Assignments

struct Choice {
    value: String,
    label: String,
    checked: bool,
}

fn tag_choices(names: &[PolicyName], selected: Option<&PolicyName>) -> Vec<Choice> {
    names
        .iter()
        .map(|n| Choice {
            value: n.to_string(),
            label: n.to_string(),
            checked: Some(n) == selected,
        })
        .collect()
}

fn with_first(first: Choice, rest: Vec<Choice>) -> Vec<Choice> {
    std::iter::once(first).chain(rest).collect()
}

struct UserRow {
    id: String,
    display_name: String,
    direct: String,
    has_direct: bool,
    effective: String,
    why: String,
    choices: Vec<Choice>,
}

struct GroupRow {
    id: String,
    members: usize,
    assigned: String,
    rank: String,
    rank_value: String,
    has_assignment: bool,
    choices: Vec<Choice>,
}

#[derive(Template)]
#[template(path = "admin/assignments.html")]
struct AssignmentsPage {
    chrome: Chrome,
    search: String,
    tenant_choices: Vec<Choice>,
    users: Vec<UserRow>,
    groups: Vec<GroupRow>,
    ranks_taken: String,
}

/// Why a policy applies to a user, in the page's words.
fn why(source: &PolicySource) -> String {
    match source {
        PolicySource::Direct => "direct assignment".to_owned(),
        PolicySource::Group { group, rank } => format!("group {group}, rank {rank}"),
        PolicySource::TenantDefault => "tenant-wide default".to_owned(),
        PolicySource::Global => "no other assignment: Global (Org-wide default)".to_owned(),
    }
}

/// What the assignments page shows, read in one transaction.
struct AssignmentData {
    names: Vec<PolicyName>,
    tenant_default: Option<PolicyName>,
    users: Vec<UserRow>,
    groups: Vec<GroupRow>,
    ranks_taken: String,
}

fn assignment_data(d: &Directory, p: &mut dyn PolicyStore) -> Result<AssignmentData, PolicyError> {
    let names: Vec<PolicyName> = sorted(p.policies()?)
        .into_iter()
        .filter_map(|p| p.identity.tag().cloned())
        .collect();
    let tenant_default = p.tenant_default()?;
    let mut users = Vec::new();
    for u in &d.users {
        let direct = p.user_assignment(&u.id)?;
        let effective = effective_policy(&*p, &u.id)?;
        users.push(UserRow {
            id: u.id.to_string(),
            display_name: u.display_name.clone(),
            direct: direct
                .as_ref()
                .map_or_else(|| "(none)".to_owned(), ToString::to_string),
            has_direct: direct.is_some(),
            effective: format!(
                "{}: {}",
                display_name(&effective.policy.identity),
                effective.policy.calling.admin_label()
            ),
            why: why(&effective.source),
            choices: with_first(
                Choice {
                    value: String::new(),
                    label: "No direct assignment".to_owned(),
                    checked: direct.is_none(),
                },
                tag_choices(&names, direct.as_ref()),
            ),
        });
    }
    let assignments = p.group_assignments()?;
    let mut taken: Vec<(u32, String)> = assignments
        .iter()
        .map(|a| (a.rank.get(), a.group.to_string()))
        .collect();
    taken.sort();
    let free_rank = (1..)
        .find(|r| !taken.iter().any(|(t, _)| t == r))
        .unwrap_or(1);
    let groups = d
        .groups
        .iter()
        .map(|(group, members)| {
            let current = assignments.iter().find(|a| a.group == *group);
            GroupRow {
                id: group.to_string(),
                members: members.len(),
                assigned: current.map_or_else(|| "(none)".to_owned(), |a| a.policy.to_string()),
                rank: current.map_or_else(String::new, |a| a.rank.to_string()),
                rank_value: current.map_or(free_rank, |a| a.rank.get()).to_string(),
                has_assignment: current.is_some(),
                choices: tag_choices(&names, current.map(|a| &a.policy)),
            }
        })
        .collect();
    let ranks_taken = if taken.is_empty() {
        "none".to_owned()
    } else {
        taken
            .iter()
            .map(|(r, g)| format!("{r} ({g})"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    Ok(AssignmentData {
        names,
        tenant_default,
        users,
        groups,
        ranks_taken,
    })
}

async fn assignments_page(
    state: &AppState,
    admin: &Admin,
    q: &PageQuery,
    status: StatusCode,
    error: Option<String>,
) -> Page {
    let search = q.search();
    let needle = search.clone();
    let data = read_directory(state, needle, assignment_data).await?;
    let chrome = q.chrome(admin, "Assign policies", "assignments", error);
    let tenant_choices = with_first(
        Choice {
            value: String::new(),
            label: "Global (Org-wide default)".to_owned(),
            checked: data.tenant_default.is_none(),
        },
        tag_choices(&data.names, data.tenant_default.as_ref()),
    );
    Ok(render(
        status,
        &AssignmentsPage {
            chrome,
            search,
            tenant_choices,
            users: data.users,
            groups: data.groups,
            ranks_taken: data.ranks_taken,
        },
    ))
}

pub(crate) async fn assignments(
    State(state): State<Arc<AppState>>,
    admin: Admin,
    q: PageQuery,
) -> Page {
    assignments_page(&state, &admin, &q, StatusCode::OK, None).await
}

/// `""` (none) or a custom policy's name, validated with the policy type.
fn optional_policy(text: &str) -> Result<Option<PolicyName>, String> {
    if text.is_empty() {
        return Ok(None);
    }
    PolicyName::new(text).map(Some).map_err(|problem| {
        format!(
            "Policy “{}”: {problem}.",
            text.chars().take(64).collect::<String>()
        )
    })
}

/// Runs an assignment and returns to the assignments page: with the notice, or with the
/// refusal announced.
async fn assign(state: &AppState, admin: &Admin, command: Result<Command, String>) -> Page {
    let again = |error: String, status| async move {
        assignments_page(state, admin, &PageQuery::default(), status, Some(error)).await
    };
    let command = match command {
        Ok(c) => c,
        Err(e) => return again(format!("{e} Nothing was changed."), StatusCode::BAD_REQUEST).await,
    };
    match apply(state, admin, vec![command]).await? {
        Ok(devices) => Ok(done("/admin/assignments", "assigned", devices)),
        Err(e) => again(refusal(&e), policy_error(e).status()).await,
    }
}

pub(crate) async fn assign_tenant(
    State(state): State<Arc<AppState>>,
    admin: Admin,
    AdminForm(form): AdminForm<Fields>,
) -> Page {
    admin.check_form_token(&form.form_token)?;
    let command = optional_policy(&form.policy)
        .map(|policy| Command::Grant(GrantTarget::TenantDefault { policy }));
    assign(&state, &admin, command).await
}

pub(crate) async fn assign_user(
    State(state): State<Arc<AppState>>,
    admin: Admin,
    AdminForm(form): AdminForm<Fields>,
) -> Page {
    admin.check_form_token(&form.form_token)?;
    let command = UserId::new(&form.user)
        .map_err(|problem| format!("User: {problem}."))
        .and_then(|user| {
            optional_policy(&form.policy)
                .map(|policy| Command::Grant(GrantTarget::User { user, policy }))
        });
    assign(&state, &admin, command).await
}

/// A rank, validated with the policy type.
fn rank_of(text: &str) -> Result<Rank, String> {
    text.trim()
        .parse::<u32>()
        .ok()
        .and_then(Rank::new)
        .ok_or_else(|| {
            format!(
                "Rank “{}” is not valid: a rank is a whole number from 1 up.",
                text.chars().take(16).collect::<String>()
            )
        })
}

pub(crate) async fn assign_group(
    State(state): State<Arc<AppState>>,
    admin: Admin,
    AdminForm(form): AdminForm<Fields>,
) -> Page {
    admin.check_form_token(&form.form_token)?;
    let command = GroupId::new(&form.group)
        .map_err(|problem| format!("Group: {problem}."))
        .and_then(|group| {
            let assignment = match optional_policy(&form.policy)? {
                None => None,
                Some(policy) => Some((policy, rank_of(&form.rank)?)),
            };
            Ok(Command::Grant(GrantTarget::Group { group, assignment }))
        });
    assign(&state, &admin, command).await
}

// ---------------------------------------------------------------------------------------------
// Compliance recording

struct ComplianceRow {
    id: String,
    display_name: String,
    state: &'static str,
    user_on: bool,
}

#[derive(Template)]
#[template(path = "admin/compliance.html")]
struct CompliancePage {
    chrome: Chrome,
    org_on: bool,
    search: String,
    users: Vec<ComplianceRow>,
}

async fn compliance_page(
    state: &AppState,
    admin: &Admin,
    q: &PageQuery,
    status: StatusCode,
    error: Option<String>,
) -> Page {
    let search = q.search();
    let needle = search.clone();
    let (org_on, users) = read_directory(state, needle, |d, p| {
        let org_on = p.compliance_recording(&ComplianceScope::Organization)?;
        let mut rows = Vec::new();
        for u in &d.users {
            let user_on = p.compliance_recording(&ComplianceScope::User(u.id.clone()))?;
            let state = match compliance_status(&*p, &u.id)? {
                sealcall_policy::ComplianceStatus::NotRecorded => "No",
                sealcall_policy::ComplianceStatus::User => "Yes (this user)",
                sealcall_policy::ComplianceStatus::Organization if user_on => {
                    "Yes (everyone, and this user)"
                }
                sealcall_policy::ComplianceStatus::Organization => "Yes (everyone)",
            };
            rows.push(ComplianceRow {
                id: u.id.to_string(),
                display_name: u.display_name.clone(),
                state,
                user_on,
            });
        }
        Ok((org_on, rows))
    })
    .await?;
    let chrome = q.chrome(admin, "Compliance recording", "compliance", error);
    Ok(render(
        status,
        &CompliancePage {
            chrome,
            org_on,
            search,
            users,
        },
    ))
}

pub(crate) async fn compliance(
    State(state): State<Arc<AppState>>,
    admin: Admin,
    q: PageQuery,
) -> Page {
    compliance_page(&state, &admin, &q, StatusCode::OK, None).await
}

pub(crate) async fn set_compliance(
    State(state): State<Arc<AppState>>,
    admin: Admin,
    AdminForm(form): AdminForm<Fields>,
) -> Page {
    admin.check_form_token(&form.form_token)?;
    let scope = match form.scope.as_str() {
        "organization" => Ok(ComplianceScope::Organization),
        "user" => UserId::new(&form.user)
            .map(ComplianceScope::User)
            .map_err(|problem| format!("User: {problem}.")),
        _ => Err("Choose the organisation or a user.".to_owned()),
    };
    let enabled = match form.enabled.as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err("Choose on or off.".to_owned()),
    };
    let command = match (scope, enabled) {
        (Ok(scope), Ok(enabled)) => Command::SetComplianceRecording { scope, enabled },
        (Err(e), _) | (_, Err(e)) => {
            let error = Some(format!("{e} Nothing was changed."));
            return compliance_page(
                &state,
                &admin,
                &PageQuery::default(),
                StatusCode::BAD_REQUEST,
                error,
            )
            .await;
        }
    };
    match apply(&state, &admin, vec![command]).await? {
        Ok(devices) => Ok(done("/admin/compliance-recording", "compliance", devices)),
        Err(e) => {
            let status = policy_error(e.clone()).status();
            compliance_page(
                &state,
                &admin,
                &PageQuery::default(),
                status,
                Some(refusal(&e)),
            )
            .await
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Client requirements

struct PlatformRow {
    name: &'static str,
    value: String,
}

#[derive(Template)]
#[template(path = "admin/clients.html")]
struct ClientsPage {
    chrome: Chrome,
    default_minimum: String,
    platforms: Vec<PlatformRow>,
}

fn e2ee_platforms() -> impl Iterator<Item = Platform> {
    Platform::ALL.into_iter().filter(|p| p.supports_e2ee())
}

fn clients_page(
    admin: &Admin,
    q: &PageQuery,
    default_minimum: String,
    platforms: Vec<PlatformRow>,
    status: StatusCode,
    error: Option<String>,
) -> Response {
    let chrome = q.chrome(admin, "Client requirements", "clients", error);
    render(
        status,
        &ClientsPage {
            chrome,
            default_minimum,
            platforms,
        },
    )
}

pub(crate) async fn clients(
    State(state): State<Arc<AppState>>,
    admin: Admin,
    q: PageQuery,
) -> Page {
    let current = read(&state, |p| Ok(p.client_requirements()?)).await?;
    let own: BTreeMap<Platform, ClientVersion> = current.platform_minimums().collect();
    let platforms = e2ee_platforms()
        .map(|p| PlatformRow {
            name: p.as_str(),
            value: own.get(&p).map(ToString::to_string).unwrap_or_default(),
        })
        .collect();
    Ok(clients_page(
        &admin,
        &q,
        current.default_minimum().to_string(),
        platforms,
        StatusCode::OK,
        None,
    ))
}

/// The commands that turn `current` into the submitted minimums (only what changed), or the
/// first field that isn't a version.
fn client_commands(
    current: &ClientRequirements,
    fields: &BTreeMap<String, String>,
) -> Result<Vec<Command>, String> {
    let version = |label: &str, text: &str| {
        text.trim().parse::<ClientVersion>().map_err(|_| {
            format!(
                "{label}: “{}” is not a version such as 1.4.0.",
                text.chars().take(32).collect::<String>()
            )
        })
    };
    let default_text = fields.get("default").map_or("", String::as_str);
    let default = version("Minimum version for every platform", default_text)?;
    let mut commands = Vec::new();
    if default != current.default_minimum() {
        commands.push(Command::SetClientMinimum {
            platform: None,
            minimum: Some(default),
        });
    }
    let own: BTreeMap<Platform, ClientVersion> = current.platform_minimums().collect();
    for platform in e2ee_platforms() {
        let text = fields
            .get(&format!("min-{}", platform.as_str()))
            .map_or("", |t| t.trim());
        let wanted = if text.is_empty() {
            None
        } else {
            Some(version(&format!("Minimum version on {platform}"), text)?)
        };
        if wanted != own.get(&platform).copied() {
            commands.push(Command::SetClientMinimum {
                platform: Some(platform),
                minimum: wanted,
            });
        }
    }
    Ok(commands)
}

pub(crate) async fn set_clients(
    State(state): State<Arc<AppState>>,
    admin: Admin,
    AdminForm(form): AdminForm<Vec<(String, String)>>,
) -> Page {
    let mut fields = BTreeMap::new();
    for (k, v) in form {
        fields.entry(k).or_insert(v);
    }
    admin.check_form_token(fields.get("form_token").map_or("", String::as_str))?;
    let current = read(&state, |p| Ok(p.client_requirements()?)).await?;
    let again = |status, error: String| {
        let platforms = e2ee_platforms()
            .map(|p| PlatformRow {
                name: p.as_str(),
                value: fields
                    .get(&format!("min-{}", p.as_str()))
                    .map(|v| v.chars().take(32).collect())
                    .unwrap_or_default(),
            })
            .collect();
        let default = fields
            .get("default")
            .map(|v| v.chars().take(32).collect())
            .unwrap_or_default();
        clients_page(
            &admin,
            &PageQuery::default(),
            default,
            platforms,
            status,
            Some(error),
        )
    };
    let commands = match client_commands(&current, &fields) {
        Ok(c) => c,
        Err(e) => {
            return Ok(again(
                StatusCode::BAD_REQUEST,
                format!("{e} Nothing was changed."),
            ));
        }
    };
    match apply(&state, &admin, commands).await? {
        Ok(devices) => Ok(done("/admin/client-requirements", "clients", devices)),
        Err(e) => Ok(again(policy_error(e.clone()).status(), refusal(&e))),
    }
}

// ---------------------------------------------------------------------------------------------
// Audit log

struct AuditRow {
    when: String,
    who: String,
    what: String,
    target: String,
    before: String,
    after: String,
    outcome: String,
}

#[derive(Template)]
#[template(path = "admin/audit.html")]
struct AuditPage {
    chrome: Chrome,
    page: usize,
    rows: Vec<AuditRow>,
    newer: Option<String>,
    older: Option<String>,
}

pub(crate) async fn audit(State(state): State<Arc<AppState>>, admin: Admin, q: PageQuery) -> Page {
    let page = q.page.unwrap_or(1).clamp(1, 1_000_000);
    let offset = (page - 1) * AUDIT_PAGE;
    // One more than a page tells whether there is an older page.
    let mut entries = state
        .db(move |s| s.audit_page(offset, AUDIT_PAGE + 1))
        .await
        .map_err(failed)?;
    let has_older = entries.len() > AUDIT_PAGE;
    entries.truncate(AUDIT_PAGE);
    let rows = entries
        .into_iter()
        .map(|e| AuditRow {
            when: super::utc(e.at),
            who: e.actor,
            what: e.action,
            target: e.target,
            before: e.before.unwrap_or_default(),
            after: e.after.unwrap_or_default(),
            outcome: e.outcome,
        })
        .collect();
    Ok(render(
        StatusCode::OK,
        &AuditPage {
            chrome: admin.chrome("Audit log", "audit"),
            page,
            rows,
            newer: (page > 1).then(|| format!("/admin/audit-log?page={}", page - 1)),
            older: has_older.then(|| format!("/admin/audit-log?page={}", page + 1)),
        },
    ))
}
