//! What the server does with each message a device sends.

use sealcall_policy::{
    CallShape, DecisionSummary, DeviceInfo, Outcome, PolicyError, Side, UserId, decide,
    resolve_party,
};
use sealcall_signaling::{
    CallId, ClientMessage, DeviceId, EndReason, ErrorCode, FailReason, IdentityKey, ServerMessage,
    TurnCredentials,
};

use crate::AppState;
use crate::hub::Call;
use crate::metrics::{CallOutcome, mode_label};
use crate::store::{DeviceRecord, policy};
use crate::ws::Session;

fn err(code: ErrorCode, message: impl Into<String>) -> ServerMessage {
    ServerMessage::Error {
        code,
        message: message.into(),
    }
}

fn unknown_call(call_id: &CallId) -> ServerMessage {
    err(
        ErrorCode::UnknownCall,
        format!("no call '{call_id}' that this device takes part in"),
    )
}

/// No relay credentials (an invite's: they come once the call is answered).
fn no_turn() -> TurnCredentials {
    TurnCredentials {
        urls: Vec::new(),
        username: String::new(),
        credential: String::new(),
        expires_at: 0,
    }
}

/// Relay credentials for one device of an answered call (none when the relay is off). With
/// several nodes, they point at the relay of the node that holds the device (every relay
/// shares the secret), so that its media does not depend on this node.
async fn turn_for(state: &AppState, call: &CallId, device: &DeviceId) -> Option<TurnCredentials> {
    let mut creds = state
        .relay
        .as_ref()
        .map(|r| r.credentials(call, device.as_str()))?;
    if let Some(cluster) = state.hub.cluster() {
        match cluster.relay_urls_of(device).await {
            Ok(Some(urls)) => creds.urls = urls,
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(error = %e, "relay of the device's node unknown: this node's relay")
            }
        }
    }
    Some(creds)
}

/// Decision for caller device × callee device, from the store.
fn decision_for(
    p: &mut dyn sealcall_policy::PolicyStore,
    caller: &DeviceRecord,
    callee: &DeviceRecord,
) -> Result<DecisionSummary, PolicyError> {
    let a = resolve_party(
        p,
        &caller.user,
        &DeviceInfo::new(caller.platform, caller.client_version),
    )?;
    let b = resolve_party(
        p,
        &callee.user,
        &DeviceInfo::new(callee.platform, callee.client_version),
    )?;
    Ok(decide(&a, &b, CallShape::one_to_one()).summary())
}

pub(crate) async fn handle(state: &AppState, session: &Session, msg: ClientMessage) {
    let received = std::time::Instant::now();
    let me = &session.device.id;
    let reply = |m: ServerMessage| state.hub.send(me, &m);
    match msg {
        ClientMessage::Ping { nonce } => reply(ServerMessage::Pong { nonce }),
        ClientMessage::SetE2ee { enabled } => {
            if let Err(e) = crate::http::change_setting(
                state,
                session.auth.actor(),
                session.auth.user.id.clone(),
                enabled,
            )
            .await
            {
                reply(err(ErrorCode::SettingRefused, api_message(e)));
            }
        }
        ClientMessage::Invite { callee } => invite(state, session, callee).await,
        ClientMessage::Ringing { call_id } => match state.hub.call(&call_id).await {
            Err(e) => unavailable(state, me, &e),
            Ok(Some(call)) if call.ringing.contains(me) => state.hub.send(
                &call.caller_device,
                &ServerMessage::Ringing {
                    call_id,
                    device_id: me.clone(),
                },
            ),
            _ => reply(unknown_call(&call_id)),
        },
        ClientMessage::Accept { call_id } => accept(state, session, call_id).await,
        ClientMessage::Decline { call_id } => match state.hub.call(&call_id).await {
            Err(e) => unavailable(state, me, &e),
            Ok(Some(call)) if call.ringing.contains(me) && call.answered.is_none() => {
                end(state, me, &call_id, EndReason::Declined).await;
            }
            Ok(_) => reply(unknown_call(&call_id)),
        },
        ClientMessage::Busy { call_id } => match state.hub.busy(&call_id, me).await {
            Err(e) => unavailable(state, me, &e),
            Ok(true) => {}
            Ok(false) => reply(unknown_call(&call_id)),
        },
        ClientMessage::Cancel { call_id } => match state.hub.call(&call_id).await {
            Err(e) => unavailable(state, me, &e),
            Ok(Some(call)) if call.caller_device == *me && call.answered.is_none() => {
                end(state, me, &call_id, EndReason::Cancelled).await;
            }
            Ok(Some(call)) if call.caller_device == *me => reply(err(
                ErrorCode::WrongState,
                "the call was answered: use hangup",
            )),
            Ok(_) => reply(unknown_call(&call_id)),
        },
        ClientMessage::Hangup { call_id } => match state.hub.call(&call_id).await {
            Err(e) => unavailable(state, me, &e),
            Ok(Some(call)) if call.caller_device == *me && call.answered.is_none() => {
                end(state, me, &call_id, EndReason::Cancelled).await;
            }
            Ok(Some(call)) if call.ringing.contains(me) => {
                end(state, me, &call_id, EndReason::Declined).await;
            }
            Ok(Some(call)) if call.caller_device == *me || call.answered.as_ref() == Some(me) => {
                end(state, me, &call_id, EndReason::HungUp).await;
            }
            Ok(_) => reply(unknown_call(&call_id)),
        },
        ClientMessage::Sdp { call_id, kind, sdp } => {
            forward(
                state,
                me,
                &call_id,
                ServerMessage::Sdp {
                    call_id: call_id.clone(),
                    kind,
                    sdp,
                },
                received,
            )
            .await;
        }
        ClientMessage::Ice { call_id, candidate } => {
            forward(
                state,
                me,
                &call_id,
                ServerMessage::Ice {
                    call_id: call_id.clone(),
                    candidate,
                },
                received,
            )
            .await;
        }
        ClientMessage::Handshake { call_id, data } => {
            forward(
                state,
                me,
                &call_id,
                ServerMessage::Handshake {
                    call_id: call_id.clone(),
                    data,
                },
                received,
            )
            .await;
        }
        ClientMessage::Control { call_id, data } => {
            forward(
                state,
                me,
                &call_id,
                ServerMessage::Control {
                    call_id: call_id.clone(),
                    data,
                },
                received,
            )
            .await;
        } // `ClientMessage` is exhaustive today; a future variant must be handled explicitly.
    }
}

/// An invite that failed inside the server: the cause is logged, the device hears `what`.
fn internal(state: &AppState, me: &DeviceId, what: &'static str, error: &str) {
    tracing::error!(caller_device = %me, error, "{what} at invite");
    state.metrics.call(mode_label(None), CallOutcome::Failed);
    state.hub.send(me, &err(ErrorCode::Internal, what));
}

/// The shared call state (Redis) failed: the device hears that the call service is
/// unavailable; the cause is logged.
fn unavailable(state: &AppState, me: &DeviceId, e: &crate::ServerError) {
    tracing::error!(device = %me, error = %e, "call state unavailable");
    state.hub.send(
        me,
        &err(
            ErrorCode::Internal,
            "the call service is unavailable: try again shortly",
        ),
    );
}

/// Ends a call on `me`'s request.
async fn end(state: &AppState, me: &DeviceId, call_id: &CallId, reason: EndReason) {
    if let Err(e) = state.hub.end(call_id, Some(me), reason).await {
        unavailable(state, me, &e);
    }
}

/// A store result around a policy result, as one result with the error's text.
fn flatten<T>(r: crate::Result<Result<T, PolicyError>>) -> Result<T, String> {
    r.map_err(|e| e.to_string())
        .and_then(|r| r.map_err(|e| e.to_string()))
}

fn api_message(e: crate::http::ApiError) -> String {
    e.message().to_owned()
}

/// Routes an answered call's message to the other device, and only to it; the time from
/// `received` to the peer's queue is recorded.
async fn forward(
    state: &AppState,
    me: &DeviceId,
    call_id: &CallId,
    msg: ServerMessage,
    received: std::time::Instant,
) {
    let to_peer = |peer: &DeviceId| {
        state.hub.send(peer, &msg);
        state.metrics.forwarded(received.elapsed());
    };
    match state.hub.call(call_id).await {
        Err(e) => unavailable(state, me, &e),
        Ok(Some(call)) => match &call.answered {
            Some(callee) if callee == me => to_peer(&call.caller_device),
            Some(callee) if call.caller_device == *me => to_peer(callee),
            None if call.caller_device == *me || call.ringing.contains(me) => state.hub.send(
                me,
                &err(
                    ErrorCode::WrongState,
                    "the call is not answered yet: sdp, ice and handshake messages flow after accept",
                ),
            ),
            _ => state.hub.send(me, &unknown_call(call_id)),
        },
        Ok(None) => state.hub.send(me, &unknown_call(call_id)),
    }
}

fn fail(
    state: &AppState,
    me: &DeviceId,
    callee: UserId,
    reason: FailReason,
    decision: Option<DecisionSummary>,
) {
    state.metrics.call(
        mode_label(decision.as_ref().map(|d| d.outcome)),
        CallOutcome::failed(reason),
    );
    tracing::info!(
        caller_device = %me,
        callee = %callee,
        reason = ?reason,
        mode = ?decision.as_ref().map(|d| d.outcome),
        policy_reasons = ?decision.as_ref().map(|d| &d.reasons),
        "call failed"
    );
    state.hub.send(
        me,
        &ServerMessage::CallFailed {
            callee,
            reason,
            decision,
        },
    );
}

async fn invite(state: &AppState, session: &Session, callee: UserId) {
    let me = &session.device.id;
    let caller = session.auth.user.id.clone();
    if callee == caller {
        return fail(state, me, callee, FailReason::SelfCall, None);
    }
    match state.hub.in_call(me).await {
        Err(e) => return unavailable(state, me, &e),
        Ok(true) => return fail(state, me, callee, FailReason::AlreadyInCall, None),
        Ok(false) => {}
    }
    let who = callee.clone();
    let record = match state.db(move |s| s.user(&who)).await {
        Ok(r) => r,
        Err(e) => return internal(state, me, "directory lookup failed", &e.to_string()),
    };
    let Some(callee_record) = record else {
        return fail(state, me, callee, FailReason::UnknownCallee, None);
    };
    let callee = callee_record.id.clone();
    let (online, free) = match state.hub.free_devices(&callee).await {
        Ok(found) => found,
        Err(e) => return unavailable(state, me, &e),
    };
    if online == 0 {
        return fail(state, me, callee, FailReason::CalleeOffline, None);
    }
    if free.is_empty() {
        return fail(state, me, callee, FailReason::CalleeBusy, None);
    }
    // Provisional decision per free device.
    let caller_device = session.device.clone();
    let decisions = state
        .db(move |s| {
            let devices: Vec<DeviceRecord> = free
                .iter()
                .filter_map(|d| s.device(d).ok().flatten())
                .collect();
            policy(s, |p| {
                devices
                    .iter()
                    .map(|d| decision_for(p, &caller_device, d).map(|dec| (d.clone(), dec)))
                    .collect::<Result<Vec<_>, PolicyError>>()
            })
        })
        .await;
    let decisions = match flatten(decisions) {
        Ok(decisions) => decisions,
        Err(e) => return internal(state, me, "policy decision failed", &e),
    };
    let (ring, refused): (Vec<_>, Vec<_>) = decisions
        .into_iter()
        .partition(|(_, d)| d.outcome != Outcome::Refused);
    if ring.is_empty() {
        let decision = refused.into_iter().next().map(|(_, d)| d);
        return fail(state, me, callee, FailReason::PolicyRefused, decision);
    }
    let Ok(random) = crate::auth::random_bytes::<16>() else {
        return state
            .hub
            .send(me, &err(ErrorCode::Internal, "no randomness"));
    };
    let Ok(call_id) = CallId::new(&hex::encode(random)) else {
        return;
    };
    let call = Call {
        caller: caller.clone(),
        caller_device: me.clone(),
        callee: callee.clone(),
        ringing: ring.iter().map(|(d, _)| d.id.clone()).collect(),
        answered: None,
        invited_at: std::time::Instant::now(),
        answered_at: None,
        // Provisional: the first ringing device's decision.
        mode: mode_label(ring.first().map(|(_, d)| d.outcome)),
    };
    let timeout = state.config.invite_timeout;
    let ringing = match state.hub.start_call(&call_id, call, timeout).await {
        Ok(Some(ringing)) => ringing,
        Ok(None) => return fail(state, me, callee, FailReason::CalleeBusy, None),
        Err(e) => return unavailable(state, me, &e),
    };
    tracing::info!(
        call_id = %call_id,
        caller = %caller,
        caller_device = %me,
        callee = %callee,
        ringing_devices = ?ringing.iter().map(DeviceId::as_str).collect::<Vec<_>>(),
        "call invited"
    );
    state.hub.send(
        me,
        &ServerMessage::InviteSent {
            call_id: call_id.clone(),
            callee: callee.clone(),
            ringing_devices: u32::try_from(ringing.len()).unwrap_or(u32::MAX),
            turn: no_turn(),
        },
    );
    for (device, decision) in ring.into_iter().filter(|(d, _)| ringing.contains(&d.id)) {
        state.hub.send_ringing(
            &device.id,
            &ServerMessage::IncomingCall {
                call_id: call_id.clone(),
                caller: caller.clone(),
                caller_display_name: session.auth.user.display_name.clone(),
                caller_device: me.clone(),
                caller_identity: session.device.identity_key,
                decision,
                turn: no_turn(),
            },
            Some((&call_id, timeout)),
        );
    }
    let hub_call = call_id.clone();
    // The timer holds only a weak reference to nothing: it re-checks the call's state.
    let state_ptr = StatePtr::of(state);
    tokio::spawn(async move {
        tokio::time::sleep(timeout).await;
        if let Some(state) = state_ptr.upgrade() {
            state.hub.timeout(&hub_call).await;
        }
    });
}

/// A weak handle to the app state for timers.
struct StatePtr(std::sync::Weak<AppState>);

impl StatePtr {
    fn of(state: &AppState) -> Self {
        Self(state.self_weak.clone())
    }
    fn upgrade(&self) -> Option<std::sync::Arc<AppState>> {
        self.0.upgrade()
    }
}

async fn accept(state: &AppState, session: &Session, call_id: CallId) {
    let me = &session.device.id;
    let accepted = match state.hub.accept(&call_id, me).await {
        Ok(accepted) => accepted,
        Err(e) => return unavailable(state, me, &e),
    };
    let Some(call) = accepted else {
        let msg = match state.hub.call(&call_id).await {
            Ok(Some(c)) if c.answered.is_some() && (c.caller_device != *me) => err(
                ErrorCode::WrongState,
                "the call was already answered on another device",
            ),
            _ => unknown_call(&call_id),
        };
        return state.hub.send(me, &msg);
    };
    let caller_device = call.caller_device.clone();
    let callee_device = session.device.clone();
    let result = state
        .db(move |s| {
            let caller = s
                .device(&caller_device)?
                .ok_or_else(|| crate::ServerError::Storage("caller device vanished".to_owned()))?;
            let decision = policy(s, |p| decision_for(p, &caller, &callee_device))?;
            Ok((caller, decision))
        })
        .await;
    let (caller, decision) = match flatten(result.map(|(c, d)| d.map(|d| (c, d)))) {
        Ok(found) => found,
        Err(e) => {
            tracing::error!(call_id = %call_id, error = %e, "policy decision failed at accept");
            state.metrics.call(mode_label(None), CallOutcome::Failed);
            let _ = state
                .hub
                .end(&call_id, None, EndReason::PeerDisconnected)
                .await;
            return;
        }
    };
    tracing::info!(
        call_id = %call_id,
        caller = %call.caller,
        caller_device = %call.caller_device,
        callee = %call.callee,
        callee_device = %me,
        mode = ?decision.outcome,
        policy_reasons = ?decision.reasons,
        relay = state.relay.is_some(),
        "call accepted"
    );
    if decision.outcome == Outcome::Refused {
        state.metrics.call(mode_label(None), CallOutcome::Refused);
        state.hub.send(
            &call.caller_device,
            &ServerMessage::CallFailed {
                callee: call.callee.clone(),
                reason: FailReason::PolicyRefused,
                decision: Some(decision.clone()),
            },
        );
        let _ = state.hub.end(&call_id, None, EndReason::Declined).await;
        return;
    }
    state
        .metrics
        .call(mode_label(Some(decision.outcome)), CallOutcome::Answered);
    if let Some(at) = call.answered_at {
        state
            .metrics
            .call_setup(at.saturating_duration_since(call.invited_at));
    }
    state.hub.send(
        &call.caller_device,
        &ServerMessage::CallAccepted {
            call_id: call_id.clone(),
            side: Side::Caller,
            peer: call.callee.clone(),
            peer_device: me.clone(),
            peer_identity: session.device.identity_key,
            decision: decision.clone(),
            turn: turn_for(state, &call_id, &call.caller_device).await,
        },
    );
    let turn = turn_for(state, &call_id, me).await;
    state.hub.send(
        me,
        &ServerMessage::CallAccepted {
            call_id,
            side: Side::Callee,
            peer: call.caller.clone(),
            peer_device: caller.id.clone(),
            peer_identity: IdentityKey(caller.identity_key.0),
            decision,
            turn,
        },
    );
}
