//! Connected devices and calls: who is online, who rings, who is in which call, and where a
//! call's messages go. All state is in memory behind one mutex held only for map updates (never
//! across an await or a database call).

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use sealcall_policy::UserId;
use sealcall_signaling::{CallId, DeviceId, EndReason, ServerMessage, encode_server};
use tokio::sync::mpsc;

use crate::metrics::{CallOutcome, Metrics};

/// What a connection's writer task sends.
#[derive(Debug, Clone)]
pub(crate) enum Outbound {
    /// A text message (already encoded).
    Text(Arc<str>),
    /// Close the connection with this code and reason.
    Close(u16, &'static str),
    /// A WebSocket ping (keep-alive; the client's pong counts as activity).
    Ping,
}

/// Per-connection outbound queue length; a device that falls this far behind is disconnected.
pub(crate) const OUTBOUND_QUEUE: usize = 1024;

/// The close code for a connection whose session ended: signed out, expired, its device or
/// user removed.
pub(crate) const CLOSE_SESSION_ENDED: u16 = 4001;

/// One live connection.
pub(crate) struct Conn {
    id: u64,
    /// The connected device.
    pub device: DeviceId,
    user: UserId,
    /// The SHA-256 of the session token it connected with.
    pub session: [u8; 32],
    tx: mpsc::Sender<Outbound>,
}

/// A call's routing state.
#[derive(Debug, Clone)]
pub(crate) struct Call {
    pub caller: UserId,
    pub caller_device: DeviceId,
    pub callee: UserId,
    pub ringing: BTreeSet<DeviceId>,
    pub answered: Option<DeviceId>,
    /// When the invite was placed.
    pub invited_at: Instant,
    /// When it was answered.
    pub answered_at: Option<Instant>,
    /// The provisional mode (the `mode` metrics label) decided at the invite, for counting a
    /// call that ends unanswered.
    pub mode: &'static str,
}

/// Logs a call's end: who was in it, why it ended, how long it rang and lasted; counts an
/// unanswered one (an answered call was counted at its answer).
fn log_end(call_id: &CallId, call: &Call, reason: EndReason, metrics: &Metrics) {
    if call.answered.is_none() {
        metrics.call(call.mode, CallOutcome::unanswered(reason));
    }
    let answered_at = call.answered_at.unwrap_or_else(Instant::now);
    tracing::info!(
        call_id = %call_id,
        caller = %call.caller,
        caller_device = %call.caller_device,
        callee = %call.callee,
        callee_device = call.answered.as_ref().map(DeviceId::as_str),
        reason = ?reason,
        answered = call.answered.is_some(),
        ring_ms = answered_at.duration_since(call.invited_at).as_millis() as u64,
        duration_ms = call.answered_at.map(|at| at.elapsed().as_millis() as u64),
        "call ended"
    );
}

struct State {
    next_conn: u64,
    devices: HashMap<DeviceId, Conn>,
    by_user: HashMap<String, BTreeSet<DeviceId>>,
    calls: HashMap<CallId, Call>,
    device_call: HashMap<DeviceId, CallId>,
    metrics: Arc<Metrics>,
}

/// The hub.
pub(crate) struct Hub {
    state: Mutex<State>,
}

/// Result of a state change: messages to send after the lock is released.
pub(crate) type Sends = Vec<(DeviceId, ServerMessage)>;

impl Hub {
    /// An empty hub that counts calls in `metrics`.
    pub fn new(metrics: Arc<Metrics>) -> Self {
        Self {
            state: Mutex::new(State {
                next_conn: 0,
                devices: HashMap::new(),
                by_user: HashMap::new(),
                calls: HashMap::new(),
                device_call: HashMap::new(),
                metrics,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers a connection; an older connection of the same device is told to close.
    pub fn connect(
        &self,
        device: DeviceId,
        user: UserId,
        session: [u8; 32],
        tx: mpsc::Sender<Outbound>,
    ) -> u64 {
        tracing::info!(user = %user, device = %device, "device connected");
        let mut s = self.lock();
        s.next_conn += 1;
        let id = s.next_conn;
        s.by_user
            .entry(user.key())
            .or_default()
            .insert(device.clone());
        let conn = Conn {
            id,
            device: device.clone(),
            user,
            session,
            tx,
        };
        if let Some(old) = s.devices.insert(device, conn) {
            let _ = old
                .tx
                .try_send(Outbound::Close(4000, "replaced by a newer connection"));
        }
        id
    }

    /// Unregisters a connection (if it is still the device's current one) and ends or updates
    /// its call.
    pub fn disconnect(&self, device: &DeviceId, conn_id: u64) {
        let sends = {
            let mut s = self.lock();
            match s.devices.get(device) {
                Some(c) if c.id == conn_id => {}
                _ => return,
            }
            let mut sends = Vec::new();
            remove_conn(&mut s, device, &mut sends);
            sends
        };
        tracing::info!(device = %device, "device disconnected");
        self.send_all(sends);
    }

    /// Closes (with `code` and `reason`) and unregisters at once every connection `which`
    /// picks: a removed device stops ringing and leaves its call now, whatever its client does.
    /// Returns how many.
    pub fn evict(&self, which: impl Fn(&Conn) -> bool, code: u16, reason: &'static str) -> usize {
        let sends = {
            let mut s = self.lock();
            let picked: Vec<DeviceId> = s
                .devices
                .values()
                .filter(|c| which(c))
                .map(|c| c.device.clone())
                .collect();
            let mut sends = Vec::new();
            for device in &picked {
                tracing::info!(device = %device, code, reason, "device disconnected by the server");
                if let Some(conn) = remove_conn(&mut s, device, &mut sends) {
                    let _ = conn.tx.try_send(Outbound::Close(code, reason));
                }
            }
            (picked.len(), sends)
        };
        let (count, sends) = sends;
        self.send_all(sends);
        count
    }

    /// The session token hash of every connection.
    pub fn sessions(&self) -> Vec<[u8; 32]> {
        let mut all: Vec<[u8; 32]> = self.lock().devices.values().map(|c| c.session).collect();
        all.sort_unstable();
        all.dedup();
        all
    }

    /// Sends one message to one device (dropped if it is offline).
    pub fn send(&self, device: &DeviceId, msg: &ServerMessage) {
        let Ok(text) = encode_server(msg) else {
            return;
        };
        let tx = self.lock().devices.get(device).map(|c| c.tx.clone());
        if let Some(tx) = tx
            && tx.try_send(Outbound::Text(text.into())).is_err()
        {
            // The device is not reading: disconnect it rather than queue without bound.
            tracing::warn!(device = %device, "device too slow: disconnecting");
            let _ = tx.try_send(Outbound::Close(1008, "too slow"));
        }
    }

    /// Sends a batch.
    pub fn send_all(&self, sends: Sends) {
        for (device, msg) in sends {
            self.send(&device, &msg);
        }
    }

    /// Sends to every connected device of a user.
    pub fn send_user(&self, user: &UserId, msg: &ServerMessage) {
        for device in self.online_devices(user) {
            self.send(&device, msg);
        }
    }

    /// The user's connected devices.
    pub fn online_devices(&self, user: &UserId) -> Vec<DeviceId> {
        self.lock()
            .by_user
            .get(&user.key())
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Every user with a connected device.
    pub fn online_users(&self) -> Vec<UserId> {
        let s = self.lock();
        let mut users: Vec<UserId> = s.devices.values().map(|c| c.user.clone()).collect();
        users.sort();
        users.dedup();
        users
    }

    /// Whether the device is in (or placing, or ringing for) a call.
    pub fn in_call(&self, device: &DeviceId) -> bool {
        self.lock().device_call.contains_key(device)
    }

    /// The callee's connected devices that are free.
    pub fn free_devices(&self, user: &UserId) -> (usize, Vec<DeviceId>) {
        let s = self.lock();
        let online: Vec<DeviceId> = s
            .by_user
            .get(&user.key())
            .map(|set| set.iter().cloned().collect())
            .unwrap_or_default();
        let free = online
            .iter()
            .filter(|d| !s.device_call.contains_key(*d))
            .cloned()
            .collect();
        (online.len(), free)
    }

    /// Registers a ringing call if the caller and at least one of `ring` are still free.
    /// Returns the devices that ring.
    pub fn start_call(&self, call_id: &CallId, call: Call) -> Option<Vec<DeviceId>> {
        let mut s = self.lock();
        if s.device_call.contains_key(&call.caller_device)
            || !s.devices.contains_key(&call.caller_device)
        {
            return None;
        }
        let ringing: BTreeSet<DeviceId> = call
            .ringing
            .iter()
            .filter(|d| !s.device_call.contains_key(*d) && s.devices.contains_key(*d))
            .cloned()
            .collect();
        if ringing.is_empty() {
            return None;
        }
        s.device_call
            .insert(call.caller_device.clone(), call_id.clone());
        for d in &ringing {
            s.device_call.insert(d.clone(), call_id.clone());
        }
        let out = ringing.iter().cloned().collect();
        s.calls.insert(call_id.clone(), Call { ringing, ..call });
        Some(out)
    }

    /// Whether `device` is the caller's or the answering device of the answered call `call_id`
    /// (the relay's check of its credentials).
    pub fn answered_party(&self, call_id: &str, device: &str) -> bool {
        let Ok(id) = CallId::new(call_id) else {
            return false;
        };
        self.lock().calls.get(&id).is_some_and(|c| {
            c.answered
                .as_ref()
                .is_some_and(|a| a.as_str() == device || c.caller_device.as_str() == device)
        })
    }

    /// A copy of the call.
    pub fn call(&self, call_id: &CallId) -> Option<Call> {
        self.lock().calls.get(call_id).cloned()
    }

    /// The first accept wins: marks `device` as the answering device if it is ringing. Returns
    /// the call (after the change), or `None` if the device can't accept.
    pub fn accept(&self, call_id: &CallId, device: &DeviceId) -> Option<Call> {
        let sends;
        let call = {
            let mut s = self.lock();
            let call = s.calls.get_mut(call_id)?;
            if call.answered.is_some() || !call.ringing.contains(device) {
                return None;
            }
            call.answered = Some(device.clone());
            call.answered_at = Some(Instant::now());
            let others: Vec<DeviceId> = call
                .ringing
                .iter()
                .filter(|d| *d != device)
                .cloned()
                .collect();
            call.ringing.clear();
            let call = call.clone();
            for d in &others {
                s.device_call.remove(d);
            }
            sends = others
                .into_iter()
                .map(|d| {
                    (
                        d,
                        ServerMessage::CallEnded {
                            call_id: call_id.clone(),
                            reason: EndReason::AnsweredElsewhere,
                        },
                    )
                })
                .collect::<Vec<_>>();
            call
        };
        self.send_all(sends);
        Some(call)
    }

    /// Ends the call for everyone: each other participant (caller, ringing devices, answering
    /// device) except `from` gets `CallEnded { reason }`. Returns false if there is no such call.
    pub fn end(&self, call_id: &CallId, from: Option<&DeviceId>, reason: EndReason) -> bool {
        let sends = {
            let mut s = self.lock();
            let Some(call) = s.calls.remove(call_id) else {
                return false;
            };
            log_end(call_id, &call, reason, &s.metrics);
            let mut sends = Vec::new();
            let everyone = std::iter::once(call.caller_device.clone())
                .chain(call.ringing.iter().cloned())
                .chain(call.answered.iter().cloned());
            for d in everyone {
                s.device_call.remove(&d);
                if Some(&d) != from {
                    sends.push((
                        d,
                        ServerMessage::CallEnded {
                            call_id: call_id.clone(),
                            reason,
                        },
                    ));
                }
            }
            sends
        };
        self.send_all(sends);
        true
    }

    /// A ringing device leaves the call (busy); the call ends with `Busy` if none rings any
    /// more. Returns false if the device was not ringing for it.
    pub fn busy(&self, call_id: &CallId, device: &DeviceId) -> bool {
        let sends = {
            let mut s = self.lock();
            match s.calls.get(call_id) {
                Some(c) if c.ringing.contains(device) && c.answered.is_none() => {}
                _ => return false,
            }
            let mut sends = Vec::new();
            leave_call(&mut s, call_id, device, EndReason::Busy, &mut sends);
            sends
        };
        self.send_all(sends);
        true
    }

    /// Ends a call that is still unanswered (the invite timer).
    pub fn timeout(&self, call_id: &CallId) {
        let unanswered = matches!(self.lock().calls.get(call_id), Some(c) if c.answered.is_none());
        if unanswered {
            self.end(call_id, None, EndReason::Timeout);
        }
    }

    /// Sends one message to every connected device.
    pub fn send_everyone(&self, msg: &ServerMessage) {
        let devices: Vec<DeviceId> = self.lock().devices.keys().cloned().collect();
        for device in devices {
            self.send(&device, msg);
        }
    }

    /// Tells every connection to close (server shutdown).
    pub fn close_all(&self) {
        let s = self.lock();
        for c in s.devices.values() {
            let _ = c.tx.try_send(Outbound::Close(1001, "server shutting down"));
        }
    }

    /// Number of connected devices.
    pub fn connected(&self) -> usize {
        self.lock().devices.len()
    }
}

/// Removes `device`'s connection and takes it out of its call (messages into `sends`).
fn remove_conn(s: &mut State, device: &DeviceId, sends: &mut Sends) -> Option<Conn> {
    let conn = s.devices.remove(device)?;
    if let Some(set) = s.by_user.get_mut(&conn.user.key()) {
        set.remove(device);
        if set.is_empty() {
            s.by_user.remove(&conn.user.key());
        }
    }
    if let Some(call_id) = s.device_call.get(device).cloned() {
        leave_call(s, &call_id, device, EndReason::PeerDisconnected, sends);
    }
    Some(conn)
}

/// `device` leaves `call_id`: a caller or answering device ends the call for the others; a
/// ringing device only stops ringing, and the call ends if nobody rings any more.
fn leave_call(
    s: &mut State,
    call_id: &CallId,
    device: &DeviceId,
    reason: EndReason,
    sends: &mut Sends,
) {
    let Some(call) = s.calls.get_mut(call_id) else {
        s.device_call.remove(device);
        return;
    };
    let ends_call = call.caller_device == *device
        || call.answered.as_ref() == Some(device)
        || (call.ringing.len() == 1 && call.ringing.contains(device));
    if !ends_call {
        call.ringing.remove(device);
        s.device_call.remove(device);
        return;
    }
    let Some(call) = s.calls.remove(call_id) else {
        return;
    };
    log_end(call_id, &call, reason, &s.metrics);
    let everyone = std::iter::once(call.caller_device.clone())
        .chain(call.ringing.iter().cloned())
        .chain(call.answered.iter().cloned());
    for d in everyone {
        s.device_call.remove(&d);
        if d != *device {
            sends.push((
                d,
                ServerMessage::CallEnded {
                    call_id: call_id.clone(),
                    reason,
                },
            ));
        }
    }
}
