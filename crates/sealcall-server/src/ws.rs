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

use crate::AppState;
use crate::http::{ApiError, Authed, authenticate, bearer, setting_view};
use crate::hub::{OUTBOUND_QUEUE, Outbound};
use crate::store::{DeviceRecord, policy};

/// Frames larger than this are refused by the WebSocket layer itself (the connection fails);
/// messages between [`sealcall_signaling::MAX_MESSAGE_BYTES`] and this get an error and a close with a reason.
const MAX_FRAME_BYTES: usize = 1024 * 1024;

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

pub(crate) async fn upgrade(
    State(state): State<Arc<AppState>>,
    Query(q): Query<WsQuery>,
    parts: WsAuth,
    ws: WebSocketUpgrade,
) -> Result<Response, ApiError> {
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
    let session = Session { auth, device };
    Ok(ws
        .max_message_size(MAX_FRAME_BYTES)
        .max_frame_size(MAX_FRAME_BYTES)
        .on_upgrade(move |socket| connection(state, session, socket))
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

async fn connection(state: Arc<AppState>, session: Session, socket: WebSocket) {
    let (mut sink, mut stream) = socket.split();
    let (tx, mut rx) = mpsc::channel::<Outbound>(OUTBOUND_QUEUE);
    let device = session.device.id.clone();
    let conn_id = state.hub.connect(
        device.clone(),
        session.auth.user.id.clone(),
        session.auth.token_hash,
        tx.clone(),
    );

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
        _ => error_message(ErrorCode::Internal, "could not read the user's setting"),
    };
    state.hub.send(&device, &welcome);

    let mut shutdown = state.shutdown.clone();
    loop {
        let frame = tokio::select! {
            frame = stream.next() => Some(frame),
            _ = shutdown.wait_for(|s| *s) => None,
            // The writer ended (a close was sent: session ended, replaced, too slow).
            _ = tx.closed() => break,
        };
        let Some(frame) = frame else {
            let _ = tx.send(Outbound::Close(1001, "server shutting down")).await;
            break;
        };
        let Some(Ok(frame)) = frame else { break };
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
                state
                    .hub
                    .send(&device, &error_message(e.code(), e.to_string()));
                let _ = tx.send(Outbound::Close(1009, "message too large")).await;
                break;
            }
            Err(e) => state
                .hub
                .send(&device, &error_message(e.code(), e.to_string())),
        }
    }
    state.hub.disconnect(&device, conn_id);
    drop(tx);
    let _ = writer.await;
}
