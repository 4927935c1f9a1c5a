//! The HTTP JSON API. Every error is `{"error": "<reason>"}` with a 4xx/5xx status; nothing
//! changes on an error.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, DefaultBodyLimit, FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::json;
use subtle::ConstantTimeEq;

use sealcall_policy::{
    Actor, ClientVersion, EnhancedEncryptionPolicy, Platform, PolicyError, Role, RoleSet,
    Timestamp, UserId, effective_policy, run_cmdlet, set_user_e2ee, user_e2ee_setting,
};
use sealcall_signaling::{DeviceId, IdentityKey, ServerMessage, SettingView};

use crate::AppState;
use crate::auth::{Token, token_hash};
use crate::error::ServerError;
use crate::listen::Peer;
use crate::metrics::SignInFailure;
use crate::store::{DeviceRecord, SessionRecord, UserRecord, policy};

/// Largest request body.
pub(crate) const MAX_BODY_BYTES: usize = 64 * 1024;

/// An HTTP error with a reason.
#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    message: String,
    retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            retry_after: None,
        }
    }
}

impl ApiError {
    /// The reason.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response =
            (self.status, axum::Json(json!({ "error": self.message }))).into_response();
        if let Some(secs) = self.retry_after
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
        response
    }
}

/// The `Retry-After` (seconds) of a 503 while the database is unavailable.
const STORE_RETRY_AFTER_SECS: u64 = 5;

impl From<ServerError> for ApiError {
    fn from(e: ServerError) -> Self {
        match e {
            ServerError::Policy(p) => policy_error(p),
            ServerError::UserExists(_) => ApiError::new(StatusCode::CONFLICT, e.to_string()),
            ServerError::UserNotFound(_) | ServerError::GroupNotFound(_) => {
                ApiError::new(StatusCode::NOT_FOUND, e.to_string())
            }
            ServerError::Invalid { .. } => ApiError::new(StatusCode::BAD_REQUEST, e.to_string()),
            ServerError::StoreUnavailable(_) => {
                // The cause (which database, why) is for the operator only.
                tracing::error!(error = %e, "request failed");
                ApiError {
                    retry_after: Some(STORE_RETRY_AFTER_SECS),
                    ..ApiError::new(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "the server's database is unavailable: try again shortly",
                    )
                }
            }
            ServerError::ClusterUnavailable(_) => {
                tracing::error!(error = %e, "request failed");
                ApiError {
                    retry_after: Some(STORE_RETRY_AFTER_SECS),
                    ..ApiError::new(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "the server's cluster bus is unavailable: try again shortly",
                    )
                }
            }
            _ => {
                // The client hears only "internal server error"; the operator gets the cause.
                tracing::error!(error = %e, "request failed");
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal server error")
            }
        }
    }
}

/// The status for a policy error.
pub(crate) fn policy_error(e: PolicyError) -> ApiError {
    let status = match &e {
        PolicyError::AccessDenied { .. } => StatusCode::FORBIDDEN,
        PolicyError::SettingNotAllowed { .. } | PolicyError::SettingLocked { .. } => {
            StatusCode::CONFLICT
        }
        PolicyError::PolicyNotFound { .. }
        | PolicyError::UserNotFound { .. }
        | PolicyError::GroupNotFound { .. } => StatusCode::NOT_FOUND,
        PolicyError::PolicyAlreadyExists { .. }
        | PolicyError::PolicyStillAssigned { .. }
        | PolicyError::RankInUse { .. } => StatusCode::CONFLICT,
        PolicyError::Storage(_) | PolicyError::DanglingAssignment { .. } => {
            StatusCode::INTERNAL_SERVER_ERROR
        }
        _ => StatusCode::BAD_REQUEST,
    };
    ApiError::new(status, e.to_string())
}

type ApiResult<T> = Result<T, ApiError>;

/// A JSON body parsed strictly, with the reason in a 400.
pub(crate) struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> axum::extract::FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;
    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, ApiError> {
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!("request body is larger than {MAX_BODY_BYTES} bytes"),
                )
            } else {
                ApiError::new(StatusCode::BAD_REQUEST, "could not read the request body")
            }
        })?;
        serde_json::from_slice(&bytes).map(JsonBody).map_err(|e| {
            let mut detail = e.to_string();
            detail.truncate(200);
            ApiError::new(
                StatusCode::BAD_REQUEST,
                format!("invalid JSON body: {detail}"),
            )
        })
    }
}

fn ok<T: Serialize>(value: T) -> Response {
    axum::Json(value).into_response()
}

/// A signed-in caller: the session is valid and unexpired.
pub(crate) struct Authed {
    pub user: UserRecord,
    pub token_hash: [u8; 32],
    /// The device this session belongs to, if bound.
    pub device: Option<DeviceId>,
}

impl Authed {
    pub fn actor(&self) -> Actor {
        Actor::new(self.user.id.clone(), self.user.roles)
    }
}

/// Looks up a bearer token.
pub(crate) async fn authenticate(state: &AppState, token: &str) -> ApiResult<Authed> {
    let unauthorized =
        || ApiError::new(StatusCode::UNAUTHORIZED, "invalid or expired session token");
    if token.is_empty() || token.len() > 256 {
        return Err(unauthorized());
    }
    let hash = token_hash(token);
    let session = state
        .db(move |s| s.session(&hash))
        .await?
        .ok_or_else(unauthorized)?;
    if !bool::from(session.token_hash.ct_eq(&hash)) {
        return Err(unauthorized());
    }
    if session.expires_at <= crate::unix_now() {
        let _ = state.db(move |s| s.delete_session(&hash)).await;
        return Err(unauthorized());
    }
    let who = session.user.clone();
    let user = state
        .db(move |s| s.user(&who))
        .await?
        .ok_or_else(unauthorized)?;
    Ok(Authed {
        user,
        token_hash: hash,
        device: session.device,
    })
}

pub(crate) fn bearer(parts: &Parts) -> Option<&str> {
    parts
        .headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

impl FromRequestParts<Arc<AppState>> for Authed {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &Arc<AppState>) -> ApiResult<Self> {
        let token = bearer(parts).ok_or_else(|| {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "missing 'Authorization: Bearer <token>' header",
            )
        })?;
        authenticate(state, token).await
    }
}

/// The router.
/// The metrics listener's router: `GET /metrics` and nothing else.
pub(crate) fn metrics_router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .with_state(state)
}

/// `GET /metrics`: every series in the Prometheus text format.
async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    let text = state.metrics.render(state.hub.connected());
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static(crate::metrics::CONTENT_TYPE),
        )],
        text,
    )
        .into_response()
}

pub(crate) fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/sign-in", post(sign_in))
        .route("/sign-out", post(sign_out))
        .route("/me", get(me))
        .route("/devices", get(list_devices).post(register_device))
        .route("/devices/{id}", delete(remove_device))
        .route("/admin/users/{user}/devices", get(admin_user_devices))
        .route(
            "/admin/users/{user}/devices/{id}",
            delete(admin_remove_device),
        )
        .route("/directory", get(directory))
        .route("/directory/{user}/devices", get(user_devices))
        .route("/settings/e2ee", get(get_setting).put(put_own_setting))
        .route("/users/{user}/settings/e2ee", put(put_user_setting))
        .route("/admin/cmdlet", post(admin_cmdlet))
        .route("/admin/policies", get(admin_policies))
        .route("/admin/users/{user}/effective-policy", get(admin_effective))
        .route("/admin/audit", get(admin_audit))
        .route("/ws", get(crate::ws::upgrade))
        .merge(crate::admin::router())
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "no such endpoint") })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SignIn {
    user: String,
    password: String,
    /// The signing-in device, when it registered before: the session belongs to it if the id
    /// and the identity key match one of the user's devices.
    #[serde(default)]
    device_id: Option<String>,
    #[serde(default)]
    identity_key: Option<IdentityKey>,
}

#[derive(Serialize)]
struct SignedIn {
    token: String,
    expires_at: u64,
    user: UserId,
    display_name: String,
    roles: Vec<Role>,
    /// The device the session belongs to, or `null` (register one with `POST /devices`).
    device_id: Option<DeviceId>,
}

fn role_list(roles: RoleSet) -> Vec<Role> {
    [
        Role::User,
        Role::TeamsAdministrator,
        Role::GlobalAdministrator,
    ]
    .into_iter()
    .filter(|r| roles.contains(*r))
    .collect()
}

/// Longest sign-in name accepted (bytes); longer ones are refused before any other work.
pub(crate) const MAX_USER_NAME_BYTES: usize = 256;

/// Longest password accepted (bytes).
pub(crate) const MAX_PASSWORD_BYTES: usize = 1024;

/// The client's address: the TCP peer, or, when the peer is a trusted proxy, the right-most
/// `X-Forwarded-For` entry that is not itself a trusted proxy.
pub(crate) fn client_ip(
    peer: std::net::IpAddr,
    headers: &axum::http::HeaderMap,
    trusted: &[ipnet::IpNet],
) -> std::net::IpAddr {
    let is_trusted = |ip: &std::net::IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let forwarded = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect::<Vec<_>>();
    forwarded
        .iter()
        .rev()
        .map(|entry| entry.parse::<std::net::IpAddr>().ok())
        .take_while(Option::is_some)
        .flatten()
        .find(|ip| !is_trusted(ip))
        .unwrap_or(peer)
}

async fn sign_in(
    State(state): State<Arc<AppState>>,
    ConnectInfo(Peer(peer)): ConnectInfo<Peer>,
    headers: axum::http::HeaderMap,
    JsonBody(mut body): JsonBody<SignIn>,
) -> ApiResult<Response> {
    let password = zeroize::Zeroizing::new(std::mem::take(&mut body.password));
    let ip = client_ip(peer.ip(), &headers, &state.config.trusted_proxies);
    let record = check_password(&state, ip, &body.user, password).await?;
    let device = match (
        body.device_id.as_deref().map(DeviceId::new),
        body.identity_key,
    ) {
        (Some(Ok(id)), Some(key)) => state
            .db(move |s| s.device(&id))
            .await?
            .filter(|d| d.user == record.id && d.identity_key == key)
            .map(|d| d.id),
        _ => None,
    };
    let (token, expires_at) = open_session(&state, &record.id, device.clone()).await?;
    Ok(ok(SignedIn {
        token: token.expose().to_owned(),
        expires_at,
        user: record.id,
        display_name: record.display_name,
        roles: role_list(record.roles),
        device_id: device,
    }))
}

/// Checks a sign-in name and password from `ip`, counted by the throttle before the password
/// is checked (an unknown user costs as much as a wrong password). Shared by the JSON API and
/// the admin page's sign-in.
pub(crate) async fn check_password(
    state: &AppState,
    ip: std::net::IpAddr,
    user: &str,
    password: zeroize::Zeroizing<String>,
) -> ApiResult<UserRecord> {
    // Cheap checks first: nothing is counted, looked up or hashed for these.
    if user.len() > MAX_USER_NAME_BYTES {
        tracing::warn!(user_bytes = user.len(), %ip, reason = "user name too long", "sign-in refused");
        state.metrics.sign_in_failed(SignInFailure::TooLong);
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("the user name is longer than {MAX_USER_NAME_BYTES} bytes"),
        ));
    }
    if password.len() > MAX_PASSWORD_BYTES {
        tracing::warn!(user, %ip, reason = "password too long", "sign-in refused");
        state.metrics.sign_in_failed(SignInFailure::TooLong);
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("the password is longer than {MAX_PASSWORD_BYTES} bytes"),
        ));
    }
    let refused = || ApiError::new(StatusCode::UNAUTHORIZED, "wrong user name or password");
    // Counted before the password is checked, so concurrent attempts cannot race past it.
    let attempt = state.throttle.begin(user, ip).map_err(|wait| {
        tracing::warn!(
            user,
            %ip,
            reason = "throttled",
            retry_after_secs = wait.as_secs(),
            "sign-in refused"
        );
        state.metrics.sign_in_throttled();
        let mut e = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too many failed sign-ins; try again later",
        );
        e.retry_after = Some(wait.as_secs_f64().ceil().max(1.0) as u64);
        e
    })?;
    let user_id = UserId::new(user).ok();
    let record = match user_id {
        Some(id) => state.db(move |s| s.user(&id)).await?,
        None => None,
    };
    let hash = record
        .as_ref()
        .map_or_else(|| state.dummy_hash.clone(), |r| r.password_hash.clone());
    let good = state
        .hashing_stats
        .verify(&state.hashing, password, hash)
        .await;
    let known = record.is_some();
    let Some(record) = record.filter(|_| good) else {
        attempt.failed();
        let (reason, why) = if known {
            ("wrong password", SignInFailure::WrongPassword)
        } else {
            ("unknown user", SignInFailure::UnknownUser)
        };
        tracing::warn!(user, %ip, reason, "sign-in refused");
        state.metrics.sign_in_failed(why);
        return Err(refused());
    };
    attempt.succeeded();
    tracing::info!(user = %record.id, %ip, "sign-in succeeded");
    Ok(record)
}

/// Opens a session for `user` (bound to `device`, if any): a fresh token, of which only the
/// hash is stored. Returns the token and its expiry (Unix seconds).
pub(crate) async fn open_session(
    state: &AppState,
    user: &UserId,
    device: Option<DeviceId>,
) -> ApiResult<(Token, u64)> {
    let token = Token::generate()?;
    let expires_at = crate::unix_now().saturating_add(state.config.session_ttl.as_secs());
    let session = SessionRecord {
        token_hash: token_hash(token.expose()),
        user: user.clone(),
        expires_at,
        device,
    };
    state
        .db(move |s| {
            let now = crate::unix_now();
            s.purge_sessions(now)?;
            s.put_session(&session, now)
        })
        .await?;
    Ok((token, expires_at))
}

async fn sign_out(State(state): State<Arc<AppState>>, auth: Authed) -> ApiResult<Response> {
    let hash = auth.token_hash;
    state.db(move |s| s.delete_session(&hash)).await?;
    tracing::info!(user = %auth.user.id, device = auth.device.as_ref().map(DeviceId::as_str), "signed out");
    // The session's live socket closes now, not at the next check.
    state.hub.evict(
        |c| c.session == hash,
        crate::hub::CLOSE_SESSION_ENDED,
        "signed out",
    );
    if let Some(cluster) = state.hub.cluster() {
        // The other nodes close it now too (else at their next session check).
        let _ = cluster
            .broadcast(&crate::cluster::Event::EvictSession {
                session: hex::encode(hash),
            })
            .await;
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn me(auth: Authed) -> Response {
    ok(json!({
        "user": auth.user.id,
        "display_name": auth.user.display_name,
        "roles": role_list(auth.user.roles),
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RegisterDevice {
    identity_key: IdentityKey,
    platform: String,
    client_version: String,
}

#[derive(Serialize)]
struct DeviceView {
    device_id: DeviceId,
    identity_key: IdentityKey,
    platform: Platform,
    client_version: String,
}

fn device_view(d: DeviceRecord) -> DeviceView {
    DeviceView {
        device_id: d.id,
        identity_key: d.identity_key,
        platform: d.platform,
        client_version: d.client_version.to_string(),
    }
}

/// Most devices one user may register.
const MAX_DEVICES_PER_USER: usize = 20;

async fn register_device(
    State(state): State<Arc<AppState>>,
    auth: Authed,
    JsonBody(body): JsonBody<RegisterDevice>,
) -> ApiResult<Response> {
    if let Some(bound) = &auth.device {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!(
                "this session belongs to device {bound}; sign in again to register another device"
            ),
        ));
    }
    let platform: Platform = body.platform.parse().map_err(policy_error)?;
    let version: ClientVersion = body.client_version.parse().map_err(policy_error)?;
    let id = DeviceId::new(&format!(
        "d-{}",
        hex::encode(crate::auth::random_bytes::<12>()?)
    ))
    .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e))?;
    let record = DeviceRecord {
        id,
        user: auth.user.id.clone(),
        identity_key: body.identity_key,
        platform,
        client_version: version,
    };
    let stored = record.clone();
    let session = auth.token_hash;
    state
        .db(move |s| {
            if s.devices_of(&stored.user)?.len() >= MAX_DEVICES_PER_USER {
                return Err(ServerError::Invalid {
                    what: "device",
                    reason: format!(
                        "at most {MAX_DEVICES_PER_USER} devices per user; remove one first"
                    ),
                });
            }
            s.add_device(&stored, crate::unix_now())?;
            // The registering session now belongs to this device.
            s.bind_session(&session, &stored.id).map(|_| ())
        })
        .await?;
    tracing::info!(
        user = %record.user,
        device = %record.id,
        platform = ?record.platform,
        client_version = %record.client_version,
        "device registered"
    );
    // No device joins silently: the account's online devices hear of it now (the new one is
    // not connected yet).
    state
        .hub
        .send_user(
            &record.user,
            &ServerMessage::DeviceAdded {
                device_id: record.id.clone(),
                identity_key: record.identity_key,
                platform: record.platform,
                added_at: crate::unix_now(),
            },
        )
        .await;
    Ok((StatusCode::CREATED, axum::Json(device_view(record))).into_response())
}

async fn list_devices(State(state): State<Arc<AppState>>, auth: Authed) -> ApiResult<Response> {
    let user = auth.user.id.clone();
    let devices = state.db(move |s| s.devices_of(&user)).await?;
    Ok(ok(devices.into_iter().map(device_view).collect::<Vec<_>>()))
}

async fn remove_device(
    State(state): State<Arc<AppState>>,
    auth: Authed,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    // Only the owner's own devices match: another user's device id is "not found".
    remove_device_of(&state, auth.user.id.clone(), &id).await
}

/// Removes `user`'s device `id` (its sessions go with it) and closes its live socket now: it
/// stops ringing and its key is no longer handed out.
async fn remove_device_of(state: &AppState, user: UserId, id: &str) -> ApiResult<Response> {
    let id = DeviceId::new(id).map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, e))?;
    let gone = id.clone();
    let owner = user.clone();
    if state.db(move |s| s.remove_device(&user, &gone)).await? {
        tracing::info!(user = %owner, device = %id, "device removed");
        state.hub.evict(
            |c| c.device == id,
            crate::hub::CLOSE_SESSION_ENDED,
            "device removed",
        );
        if let Some(cluster) = state.hub.cluster() {
            let _ = cluster
                .broadcast(&crate::cluster::Event::EvictDevice {
                    device: id.as_str().to_owned(),
                })
                .await;
        }
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(ApiError::new(StatusCode::NOT_FOUND, "no such device"))
    }
}

fn user_path(user: &str) -> ApiResult<UserId> {
    UserId::new(user)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, format!("invalid user: {e}")))
}

async fn admin_user_devices(
    State(state): State<Arc<AppState>>,
    auth: Authed,
    Path(user): Path<String>,
) -> ApiResult<Response> {
    require_admin(&auth)?;
    let user = user_path(&user)?;
    let devices = state.db(move |s| s.devices_of(&user)).await?;
    Ok(ok(devices.into_iter().map(device_view).collect::<Vec<_>>()))
}

async fn admin_remove_device(
    State(state): State<Arc<AppState>>,
    auth: Authed,
    Path((user, id)): Path<(String, String)>,
) -> ApiResult<Response> {
    require_admin(&auth)?;
    let user = user_path(&user)?;
    let response = remove_device_of(&state, user.clone(), &id).await?;
    let actor = auth.user.id.to_string();
    let target = format!("user:{user} device:{id}");
    state
        .db(move |s| {
            s.audit(&crate::store::ServerAudit {
                actor: &actor,
                at: crate::unix_now(),
                action: "RemoveDevice",
                target: &target,
            })
        })
        .await?;
    Ok(response)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DirectoryQuery {
    search: Option<String>,
    limit: Option<usize>,
}

async fn directory(
    State(state): State<Arc<AppState>>,
    _auth: Authed,
    Query(q): Query<DirectoryQuery>,
) -> ApiResult<Response> {
    let limit = q.limit.unwrap_or(100).clamp(1, 500);
    let search = q.search.map(|s| s.chars().take(256).collect::<String>());
    let users = state.db(move |s| s.users(search.as_deref(), limit)).await?;
    let mut listed = Vec::with_capacity(users.len());
    for u in users {
        let online = !state.hub.online_devices(&u.id).await.is_empty();
        listed.push(json!({ "user": u.id, "display_name": u.display_name, "online": online }));
    }
    Ok(ok(listed))
}

async fn user_devices(
    State(state): State<Arc<AppState>>,
    _auth: Authed,
    Path(user): Path<String>,
) -> ApiResult<Response> {
    let user = UserId::new(&user)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, format!("invalid user: {e}")))?;
    let devices = state.db(move |s| s.devices_of(&user)).await?;
    Ok(ok(devices.into_iter().map(device_view).collect::<Vec<_>>()))
}

/// The user's setting as devices show it.
pub(crate) fn setting_view(
    store: &mut dyn sealcall_policy::PolicyStore,
    user: &UserId,
) -> Result<SettingView, PolicyError> {
    let state = user_e2ee_setting(store, user)?;
    let recorded = sealcall_policy::compliance_status(store, user)?.is_recorded();
    Ok(SettingView {
        stored_choice: state.stored_choice,
        effective: state.effective,
        lock: state.lock,
        policy: state.policy.policy.identity.to_string(),
        calling: state.policy.policy.calling,
        compliance_recording: recorded,
    })
}

async fn get_setting(State(state): State<Arc<AppState>>, auth: Authed) -> ApiResult<Response> {
    let user = auth.user.id.clone();
    let view = state
        .db(move |s| policy(s, |p| setting_view(p, &user)))
        .await?
        .map_err(policy_error)?;
    Ok(ok(view))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SetSetting {
    enabled: bool,
}

/// Changes `target`'s setting as `actor` and pushes the new state to all the target's devices.
pub(crate) async fn change_setting(
    state: &AppState,
    actor: Actor,
    target: UserId,
    enabled: bool,
) -> Result<SettingView, ApiError> {
    let who = target.clone();
    let view = state
        .db(move |s| {
            policy(s, |p| {
                set_user_e2ee(p, &actor, &who, enabled, Timestamp(crate::unix_now()))?;
                setting_view(p, &who)
            })
        })
        .await?
        .map_err(policy_error)?;
    state
        .hub
        .send_user(
            &target,
            &ServerMessage::SettingChanged {
                setting: view.clone(),
            },
        )
        .await;
    Ok(view)
}

async fn put_own_setting(
    State(state): State<Arc<AppState>>,
    auth: Authed,
    JsonBody(body): JsonBody<SetSetting>,
) -> ApiResult<Response> {
    let view = change_setting(&state, auth.actor(), auth.user.id.clone(), body.enabled).await?;
    Ok(ok(view))
}

async fn put_user_setting(
    State(state): State<Arc<AppState>>,
    auth: Authed,
    Path(user): Path<String>,
    JsonBody(body): JsonBody<SetSetting>,
) -> ApiResult<Response> {
    let user = UserId::new(&user)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, format!("invalid user: {e}")))?;
    let view = change_setting(&state, auth.actor(), user, body.enabled).await?;
    Ok(ok(view))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CmdletRequest {
    line: String,
}

#[derive(Serialize, Deserialize)]
struct CmdletResponse {
    output: String,
    warnings: Vec<String>,
}

async fn admin_cmdlet(
    State(state): State<Arc<AppState>>,
    auth: Authed,
    JsonBody(body): JsonBody<CmdletRequest>,
) -> ApiResult<Response> {
    let actor = auth.actor();
    let line = body.line;
    let out = state
        .db(move |s| {
            policy(s, |p| {
                run_cmdlet(p, &actor, Timestamp(crate::unix_now()), &line)
            })
        })
        .await?
        .map_err(policy_error)?;
    // A change may alter any user's effective setting: push fresh views to online users.
    push_settings(&state).await;
    Ok(ok(CmdletResponse {
        output: out.text,
        warnings: out.warnings,
    }))
}

/// Sends every online user their current setting (after an administrative change); returns
/// how many devices of this node it was sent to. With several nodes, every other node is told
/// to do the same for its devices.
pub(crate) async fn push_settings(state: &AppState) -> usize {
    if let Some(cluster) = state.hub.cluster() {
        let event = crate::cluster::Event::Policy {
            from: cluster.node.clone(),
        };
        if let Err(e) = cluster.broadcast(&event).await {
            tracing::warn!(error = %e, "could not tell the other nodes of a policy change");
        }
    }
    push_local_settings(state).await
}

/// [`push_settings`] for this node's devices only.
pub(crate) async fn push_local_settings(state: &AppState) -> usize {
    let users = state.hub.online_users();
    let Ok(views) = state
        .db(move |s| {
            policy(s, |p| {
                users
                    .iter()
                    .filter_map(|u| setting_view(p, u).ok().map(|v| (u.clone(), v)))
                    .collect::<Vec<_>>()
            })
        })
        .await
    else {
        return 0;
    };
    let mut devices = 0;
    for (user, setting) in views {
        devices += state.hub.local_devices_of(&user).len();
        let msg = ServerMessage::SettingChanged { setting };
        for device in state.hub.local_devices_of(&user) {
            state.hub.send(&device, &msg);
        }
    }
    devices
}

fn require_admin(auth: &Authed) -> ApiResult<()> {
    if auth.user.roles.can_administer_policies() {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "access denied: requires the Teams administrator or global administrator role",
        ))
    }
}

async fn admin_policies(State(state): State<Arc<AppState>>, auth: Authed) -> ApiResult<Response> {
    require_admin(&auth)?;
    let policies: Vec<EnhancedEncryptionPolicy> = state
        .db(move |s| policy(s, |p| p.policies()))
        .await?
        .map_err(|e| policy_error(e.into()))?;
    Ok(ok(policies))
}

async fn admin_effective(
    State(state): State<Arc<AppState>>,
    auth: Authed,
    Path(user): Path<String>,
) -> ApiResult<Response> {
    require_admin(&auth)?;
    let user = UserId::new(&user)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, format!("invalid user: {e}")))?;
    let (effective, setting) = state
        .db(move |s| {
            policy(s, |p| -> Result<_, PolicyError> {
                Ok((effective_policy(p, &user)?, setting_view(p, &user)?))
            })
        })
        .await?
        .map_err(policy_error)?;
    Ok(ok(json!({
        "policy": effective.policy,
        "source": effective.source,
        "explain": effective.explain(),
        "setting": setting,
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AuditQuery {
    limit: Option<usize>,
}

async fn admin_audit(
    State(state): State<Arc<AppState>>,
    auth: Authed,
    Query(q): Query<AuditQuery>,
) -> ApiResult<Response> {
    require_admin(&auth)?;
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    let entries = state.db(move |s| s.audit_log(limit)).await?;
    Ok(ok(entries))
}
