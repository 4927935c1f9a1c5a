//! One WebSocket per device: `GET /ws?device_id=…` with `Authorization: Bearer <token>`.

use std::sync::Arc;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{FromRequestParts, Query, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use tokio::sync::mpsc;

use sealcall_signaling::{
    DeviceId, ErrorCode, ServerMessage, SignalingError, parse_client_message,
};

use std::time::Duration;

use axum::extract::ConnectInfo;

use crate::AppState;
use crate::http::{ApiError, Authed, authenticate, bearer, setting_view};
use crate::hub::{OUTBOUND_QUEUE, Outbound};
use crate::listen::Peer;
use crate::store::{DeviceRecord, policy};

/// Frames larger than this are refused by the WebSocket layer itself (the connection fails);
/// messages between [`sealcall_signaling::MAX_MESSAGE_BYTES`] and this get an error and a close with a reason.
const MAX_FRAME_BYTES: usize = 1024 * 1024;

/// Each socket's read buffer.
const READ_BUFFER_BYTES: usize = 4 * 1024;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct WsQuery {
    device_id: String,
}

/// The authenticated device behind a connection.
pub(crate) struct Session {
    pub auth: Authed,
    pub device: DeviceRecord,
}

/// One open WebSocket counted against its client address; uncounted on drop.
pub(crate) struct AddressSlot {
    state: Arc<AppState>,
    ip: std::net::IpAddr,
}

impl AddressSlot {
    fn take(state: &Arc<AppState>, ip: std::net::IpAddr) -> Option<Self> {
        let max = state.config.ws_limits.max_per_address;
        let mut open = state
            .ws_per_address
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let n = open.entry(ip).or_insert(0);
        if *n >= max {
            return None;
        }
        *n += 1;
        Some(Self {
            state: Arc::clone(state),
            ip,
        })
    }
}

impl Drop for AddressSlot {
    fn drop(&mut self) {
        let mut open = self
            .state
            .ws_per_address
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(n) = open.get_mut(&self.ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

/// A token bucket: `rate` messages a second on average, `burst` at once.
struct Bucket {
    tokens: f64,
    rate: f64,
    burst: f64,
    last: tokio::time::Instant,
}

impl Bucket {
    fn new(rate: u32, burst: u32) -> Self {
        Self {
            tokens: f64::from(burst.max(1)),
            rate: f64::from(rate.max(1)),
            burst: f64::from(burst.max(1)),
            last: tokio::time::Instant::now(),
        }
    }

    /// Takes one token; false when the connection is over its rate.
    fn take(&mut self) -> bool {
        let now = tokio::time::Instant::now();
        let refill = now.duration_since(self.last).as_secs_f64() * self.rate;
        self.tokens = (self.tokens + refill).min(self.burst);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// What woke the connection's read loop.
enum Next {
    Frame(Option<Result<Message, axum::Error>>),
    Shutdown,
    Tick,
}

/// Closed for sending nothing (not even a pong) for the idle timeout.
const CLOSE_IDLE: u16 = 4002;

pub(crate) async fn upgrade(
    State(state): State<Arc<AppState>>,
    ConnectInfo(Peer(peer)): ConnectInfo<Peer>,
    headers: axum::http::HeaderMap,
    Query(q): Query<WsQuery>,
    parts: WsAuth,
    ws: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    if *state.draining.borrow() {
        // Shutting down: the device reconnects (to this address, where another node or the
        // restarted server answers).
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "the server is shutting down: reconnect",
        ));
    }
    let auth = parts.0;
    let device_id = DeviceId::new(&q.device_id)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, format!("invalid device_id: {e}")))?;
    if auth.device.as_ref() != Some(&device_id) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            match &auth.device {
                Some(_) => "this session belongs to another device",
                None => {
                    "this session has no device yet: register one (POST /devices) or sign in \
                     with your device's id and identity key"
                }
            },
        ));
    }
    let id = device_id.clone();
    let device = state
        .db(move |s| s.device(&id))
        .await?
        .filter(|d| d.user == auth.user.id)
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::FORBIDDEN,
                "device_id is not a registered device of the signed-in user",
            )
        })?;
    let limits = state.config.ws_limits;
    let others = state
        .hub
        .online_devices(&auth.user.id)
        .await
        .into_iter()
        .filter(|d| *d != device.id)
        .count();
    if others >= limits.max_per_user {
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            format!(
                "this user already has {others} connected devices (at most {}); disconnect one",
                limits.max_per_user
            ),
        ));
    }
    let ip = crate::http::client_ip(peer.ip(), &headers, &state.config.trusted_proxies);
    let slot = AddressSlot::take(&state, ip).ok_or_else(|| {
        ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            format!(
                "too many connections from this address (at most {})",
                limits.max_per_address
            ),
        )
    })?;
    let session = Session { auth, device };
    Ok(ws
        .max_message_size(MAX_FRAME_BYTES)
        .max_frame_size(MAX_FRAME_BYTES)
        // Signaling is small and sparse; tens of thousands of sockets are idle. The default
        // 128 KiB read buffer, allocated per socket, was most of an idle device's memory
        // (`sealcall bench-signaling --idle`): a larger message still arrives, in several reads.
        .read_buffer_size(READ_BUFFER_BYTES)
        // Each message is written at once (the writer flushes every message anyway).
        .write_buffer_size(0)
        .on_upgrade(move |socket| connection(state, session, socket, slot))
        .into_response())
}

/// Bearer authentication for the upgrade request.
pub(crate) struct WsAuth(Authed);

impl FromRequestParts<Arc<AppState>> for WsAuth {
    type Rejection = ApiError;
    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, ApiError> {
        let token = bearer(parts).ok_or_else(|| {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "missing 'Authorization: Bearer <token>' header",
            )
        })?;
        Ok(WsAuth(authenticate(state, token).await?))
    }
}

fn error_message(code: ErrorCode, message: impl Into<String>) -> ServerMessage {
    ServerMessage::Error {
        code,
        message: message.into(),
    }
}

async fn connection(state: Arc<AppState>, session: Session, socket: WebSocket, slot: AddressSlot) {
    let (mut sink, mut stream) = socket.split();
    let (tx, mut rx) = mpsc::channel::<Outbound>(OUTBOUND_QUEUE);
    let device = session.device.id.clone();
    let conn_id = match state
        .hub
        .connect(
            device.clone(),
            session.auth.user.id.clone(),
            session.auth.token_hash,
            tx.clone(),
        )
        .await
    {
        Ok(id) => id,
        Err(e) => {
            // With several nodes, a device nobody can reach must not look connected.
            tracing::error!(device = %device, error = %e, "could not record the device's presence");
            let _ = sink
                .send(Message::Close(Some(CloseFrame {
                    code: 1013,
                    reason: "the server's cluster bus is unavailable: try again".into(),
                })))
                .await;
            return;
        }
    };

    let writer = tokio::spawn(async move {
        while let Some(out) = rx.recv().await {
            match out {
                Outbound::Text(text) => {
                    if sink
                        .send(Message::Text(text.as_ref().into()))
                        .await
                        .is_err()
                    {
                        break;
                    }
                }
                Outbound::Ping => {
                    if sink.send(Message::Ping(Vec::new().into())).await.is_err() {
                        break;
                    }
                }
                Outbound::Close(code, reason) => {
                    let _ = sink
                        .send(Message::Close(Some(CloseFrame {
                            code,
                            reason: reason.into(),
                        })))
                        .await;
                    break;
                }
            }
        }
        let _ = sink.close().await;
    });

    // Welcome with the current setting.
    let user = session.auth.user.id.clone();
    let welcome = match state
        .db(move |s| policy(s, |p| setting_view(p, &user)))
        .await
    {
        Ok(Ok(setting)) => ServerMessage::Welcome {
            user: session.auth.user.id.clone(),
            device_id: device.clone(),
            setting,
        },
        _ => {
            tracing::error!(device = %device, "could not read the user's setting for the welcome");
            error_message(ErrorCode::Internal, "could not read the user's setting")
        }
    };
    state.hub.send(&device, &welcome);

    let mut shutdown = state.shutdown.clone();
    let limits = state.config.ws_limits;
    let mut bucket = Bucket::new(limits.messages_per_second, limits.burst);
    let mut ping = tokio::time::interval(limits.ping_interval.max(Duration::from_millis(10)));
    ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut heard = tokio::time::Instant::now();
    loop {
        let next = tokio::select! {
            frame = stream.next() => Next::Frame(frame),
            _ = shutdown.wait_for(|s| *s) => Next::Shutdown,
            // The writer ended (a close was sent: session ended, replaced, too slow).
            _ = tx.closed() => break,
            _ = ping.tick() => Next::Tick,
        };
        let frame = match next {
            Next::Frame(frame) => frame,
            Next::Shutdown => {
                let _ = tx.send(Outbound::Close(1001, "server shutting down")).await;
                break;
            }
            Next::Tick if heard.elapsed() >= limits.idle_timeout => {
                tracing::info!(device = %device, "closing an idle connection");
                let _ = tx
                    .send(Outbound::Close(CLOSE_IDLE, "idle: nothing received"))
                    .await;
                break;
            }
            Next::Tick => {
                let _ = tx.try_send(Outbound::Ping);
                continue;
            }
        };
        let Some(Ok(frame)) = frame else { break };
        heard = tokio::time::Instant::now();
        if matches!(frame, Message::Text(_) | Message::Binary(_)) && !bucket.take() {
            tracing::warn!(device = %device, limit = limits.messages_per_second, "rate limited: closing the connection");
            state.hub.send(
                &device,
                &error_message(
                    ErrorCode::RateLimited,
                    format!(
                        "more than {} messages a second: the connection is closed",
                        limits.messages_per_second
                    ),
                ),
            );
            let _ = tx.send(Outbound::Close(1008, "rate limited")).await;
            break;
        }
        let bytes: Vec<u8> = match frame {
            Message::Text(text) => text.as_str().as_bytes().to_vec(),
            Message::Binary(_) => {
                state.hub.send(
                    &device,
                    &error_message(
                        ErrorCode::Malformed,
                        "binary messages are not supported; send JSON text",
                    ),
                );
                continue;
            }
            Message::Ping(_) | Message::Pong(_) => continue,
            Message::Close(_) => break,
        };
        match parse_client_message(&bytes) {
            Ok(msg) => crate::routing::handle(&state, &session, msg).await,
            Err(e @ SignalingError::TooLarge { .. }) => {
                tracing::warn!(device = %device, bytes = bytes.len(), "message too large: closing the connection");
                state
                    .hub
                    .send(&device, &error_message(e.code(), e.to_string()));
                let _ = tx.send(Outbound::Close(1009, "message too large")).await;
                break;
            }
            Err(e) => {
                // The code only: a parser's message may quote the message's content.
                tracing::debug!(device = %device, code = ?e.code(), "malformed message refused");
                state
                    .hub
                    .send(&device, &error_message(e.code(), e.to_string()));
            }
        }
    }
    state.hub.disconnect(&device, conn_id).await;
    // Nothing below needs the server's state (nor counts against the address): let a
    // shutdown close the store meanwhile.
    drop(slot);
    drop(state);
    drop(tx);
    let _ = writer.await;
    // The close handshake: read (and drop) what the client still sends until its close or a
    // second has passed, so that unread data does not turn the close into a reset that loses
    // the last messages (the error saying why) on the client's side.
    let linger = tokio::time::Instant::now() + Duration::from_secs(1);
    while let Ok(Some(Ok(frame))) = tokio::time::timeout_at(linger, stream.next()).await {
        if matches!(frame, Message::Close(_)) {
            break;
        }
    }
}
