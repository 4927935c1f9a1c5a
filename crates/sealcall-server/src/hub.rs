//! Connected devices and calls: who is online, who rings, who is in which call, and where a
//! call's messages go. This node's connections are in memory behind one mutex held only for
//! map updates (never across an await or a database call). The calls are in that memory too on
//! a single node; with several nodes ([`Cluster`]) they are in Redis, and a message for a
//! device on another node goes through it.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use sealcall_policy::UserId;
use sealcall_signaling::{CallId, DeviceId, EndReason, ServerMessage, encode_server};
use tokio::sync::mpsc;

use crate::Result;
use crate::cluster::{Change, Cluster, LeaveKind};
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
    /// The other nodes and the shared call state, with `--redis`.
    cluster: Option<Arc<Cluster>>,
    /// [`crate::Config::rejoin_grace`].
    rejoin_grace: std::time::Duration,
}

/// Result of a state change: messages to send after the lock is released.
pub(crate) type Sends = Vec<(DeviceId, ServerMessage)>;

impl Hub {
    /// An empty hub that counts calls in `metrics`; with `cluster`, calls live in Redis, and
    /// an answered call waits `rejoin_grace` for a party whose connection closed.
    pub fn new(
        metrics: Arc<Metrics>,
        cluster: Option<Arc<Cluster>>,
        rejoin_grace: std::time::Duration,
    ) -> Self {
        Self {
            cluster,
            rejoin_grace,
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

    /// The cluster, with several nodes.
    pub fn cluster(&self) -> Option<&Arc<Cluster>> {
        self.cluster.as_ref()
    }

    /// Registers a connection; an older connection of the same device is told to close. With
    /// several nodes, the device's presence is recorded in Redis (a lease), which fails when
    /// Redis is unavailable.
    pub async fn connect(
        &self,
        device: DeviceId,
        user: UserId,
        session: [u8; 32],
        tx: mpsc::Sender<Outbound>,
    ) -> Result<u64> {
        if let Some(cluster) = &self.cluster {
            cluster.register(&device, &user).await?;
        }
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
        Ok(id)
    }

    /// Unregisters a connection (if it is still the device's current one) and ends or updates
    /// its call.
    pub async fn disconnect(&self, device: &DeviceId, conn_id: u64) {
        let (sends, user) = {
            let mut s = self.lock();
            match s.devices.get(device) {
                Some(c) if c.id == conn_id => {}
                _ => return,
            }
            let mut sends = Vec::new();
            let conn = remove_conn(&mut s, device, &mut sends);
            (sends, conn.map(|c| c.user))
        };
        tracing::info!(device = %device, "device disconnected");
        self.send_all(sends);
        if let (Some(cluster), Some(user)) = (self.cluster.clone(), user) {
            self.leave_cluster(&cluster, device, &user).await;
        }
    }

    /// With several nodes: `device` left this node: its lease goes, and its call is updated.
    /// A ringing device stops ringing; a caller or answering device gets the rejoin grace to
    /// come back (on any node) before its call ends.
    async fn leave_cluster(&self, cluster: &Arc<Cluster>, device: &DeviceId, user: &UserId) {
        if let Err(e) = cluster.release(device, user).await {
            tracing::warn!(device = %device, error = %e, "could not release the device's presence (its lease expires)");
        }
        let call_id = match cluster.call_of(device).await {
            Ok(Some(call_id)) => call_id,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(device = %device, error = %e, "could not update the device's call");
                return;
            }
        };
        let answered = matches!(cluster.call(&call_id).await, Ok(Some(c)) if c.answered.is_some());
        if !answered {
            if let Err(e) = self
                .leave_shared(cluster, &call_id, device, LeaveKind::Disconnect)
                .await
            {
                tracing::warn!(device = %device, error = %e, "could not update the device's call");
            }
            return;
        }
        // The nodes of the call's other parties end it once the grace is over (their presence
        // renewal checks), so the end does not depend on this node staying up.
        if let Err(e) = cluster.mark_gone(device, self.rejoin_grace).await {
            tracing::warn!(device = %device, error = %e, "could not record the rejoin grace: the call ends when its other party's node next checks");
        }
    }

    /// With several nodes: the other party of `call_id` (here) is gone for good: the call ends
    /// for everyone else.
    pub async fn abandoned(&self, call_id: &CallId, party: &DeviceId) {
        if let Some(cluster) = self.cluster.clone()
            && let Err(e) = self
                .leave_shared(&cluster, call_id, party, LeaveKind::Disconnect)
                .await
        {
            tracing::warn!(call_id = %call_id, error = %e, "could not end an abandoned call");
        }
    }

    /// A shared call change; the ends it causes are logged and sent.
    async fn leave_shared(
        &self,
        cluster: &Arc<Cluster>,
        call_id: &CallId,
        device: &DeviceId,
        kind: LeaveKind,
    ) -> Result<Change> {
        let change = cluster.leave(call_id, device, kind).await?;
        if let Change::Ended(call) = &change {
            let (reason, from) = match kind {
                LeaveKind::Busy => (EndReason::Busy, Some(device)),
                LeaveKind::Disconnect => (EndReason::PeerDisconnected, Some(device)),
                LeaveKind::Timeout => (EndReason::Timeout, None),
            };
            log_end(call_id, call, reason, &self.lock().metrics);
            self.end_sends(call_id, call, from, reason);
        }
        Ok(change)
    }

    /// Sends `CallEnded` to every participant of `call` but `from`.
    fn end_sends(&self, call_id: &CallId, call: &Call, from: Option<&DeviceId>, reason: EndReason) {
        for d in participants(call) {
            if Some(&d) != from {
                self.send(
                    &d,
                    &ServerMessage::CallEnded {
                        call_id: call_id.clone(),
                        reason,
                    },
                );
            }
        }
    }

    /// Closes (with `code` and `reason`) and unregisters at once every connection `which`
    /// picks: a removed device stops ringing and leaves its call now, whatever its client does.
    /// Returns how many.
    pub fn evict(&self, which: impl Fn(&Conn) -> bool, code: u16, reason: &'static str) -> usize {
        let (picked, sends) = {
            let mut s = self.lock();
            let picked: Vec<DeviceId> = s
                .devices
                .values()
                .filter(|c| which(c))
                .map(|c| c.device.clone())
                .collect();
            let mut sends = Vec::new();
            let mut gone = Vec::new();
            for device in &picked {
                tracing::info!(device = %device, code, reason, "device disconnected by the server");
                if let Some(conn) = remove_conn(&mut s, device, &mut sends) {
                    let _ = conn.tx.try_send(Outbound::Close(code, reason));
                    gone.push((conn.device, conn.user));
                }
            }
            (gone, sends)
        };
        let count = picked.len();
        self.send_all(sends);
        if let Some(cluster) = &self.cluster {
            for (device, user) in picked {
                let cluster = Arc::clone(cluster);
                let metrics = Arc::clone(&self.lock().metrics);
                tokio::spawn(async move {
                    let _ = cluster.release(&device, &user).await;
                    if let Ok(Some(call_id)) = cluster.call_of(&device).await {
                        disconnected(&cluster, &metrics, &call_id, &device).await;
                    }
                });
            }
        }
        count
    }

    /// The session token hash of every connection.
    pub fn sessions(&self) -> Vec<[u8; 32]> {
        let mut all: Vec<[u8; 32]> = self.lock().devices.values().map(|c| c.session).collect();
        all.sort_unstable();
        all.dedup();
        all
    }

    /// This node's devices and their users.
    pub fn local_devices(&self) -> Vec<(DeviceId, UserId)> {
        self.lock()
            .devices
            .values()
            .map(|c| (c.device.clone(), c.user.clone()))
            .collect()
    }

    /// Sends one message to one device: on this node, or through Redis to the node that holds
    /// it (dropped if it is offline).
    pub fn send(&self, device: &DeviceId, msg: &ServerMessage) {
        self.send_ringing(device, msg, None);
    }

    /// [`send`](Hub::send); `ring` (an invite's call and ring time) lets the node that holds
    /// the device end the call when it rings too long, if this node is gone by then.
    pub fn send_ringing(
        &self,
        device: &DeviceId,
        msg: &ServerMessage,
        ring: Option<(&CallId, std::time::Duration)>,
    ) {
        let Ok(text) = encode_server(msg) else {
            return;
        };
        let text: Arc<str> = text.into();
        if !self.deliver(device, Arc::clone(&text))
            && let Some(cluster) = &self.cluster
        {
            cluster.send(device, text, ring);
        }
    }

    /// Queues encoded `text` for a device of this node; false if it is not here.
    pub fn deliver(&self, device: &DeviceId, text: Arc<str>) -> bool {
        let tx = self.lock().devices.get(device).map(|c| c.tx.clone());
        let Some(tx) = tx else {
            return false;
        };
        if tx.try_send(Outbound::Text(text)).is_err() {
            // The device is not reading: disconnect it rather than queue without bound.
            tracing::warn!(device = %device, "device too slow: disconnecting");
            let _ = tx.try_send(Outbound::Close(1008, "too slow"));
        }
        true
    }

    /// Sends a batch.
    pub fn send_all(&self, sends: Sends) {
        for (device, msg) in sends {
            self.send(&device, &msg);
        }
    }

    /// Sends to every connected device of a user (on any node).
    pub async fn send_user(&self, user: &UserId, msg: &ServerMessage) {
        for device in self.online_devices(user).await {
            self.send(&device, msg);
        }
    }

    /// The user's devices connected to this node.
    pub fn local_devices_of(&self, user: &UserId) -> Vec<DeviceId> {
        self.lock()
            .by_user
            .get(&user.key())
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// The user's connected devices (on any node; this node's alone when Redis is unavailable).
    pub async fn online_devices(&self, user: &UserId) -> Vec<DeviceId> {
        if let Some(cluster) = &self.cluster {
            match cluster.devices(user).await {
                Ok((online, _)) => return online,
                Err(e) => {
                    tracing::warn!(error = %e, "presence unavailable: this node's devices only")
                }
            }
        }
        self.local_devices_of(user)
    }

    /// Every user with a device connected to this node.
    pub fn online_users(&self) -> Vec<UserId> {
        let s = self.lock();
        let mut users: Vec<UserId> = s.devices.values().map(|c| c.user.clone()).collect();
        users.sort();
        users.dedup();
        users
    }

    /// Whether the device is in (or placing, or ringing for) a call.
    pub async fn in_call(&self, device: &DeviceId) -> Result<bool> {
        match &self.cluster {
            Some(cluster) => cluster.in_call(device).await,
            None => Ok(self.lock().device_call.contains_key(device)),
        }
    }

    /// The callee's connected devices, counted, and those that are free.
    pub async fn free_devices(&self, user: &UserId) -> Result<(usize, Vec<DeviceId>)> {
        if let Some(cluster) = &self.cluster {
            let (online, free) = cluster.devices(user).await?;
            return Ok((online.len(), free));
        }
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
        Ok((online.len(), free))
    }

    /// Registers a ringing call if the caller and at least one of `ring` are still free.
    /// Returns the devices that ring.
    pub async fn start_call(
        &self,
        call_id: &CallId,
        call: Call,
        ring_time: std::time::Duration,
    ) -> Result<Option<Vec<DeviceId>>> {
        if let Some(cluster) = &self.cluster {
            return cluster.start_call(call_id, &call, ring_time).await;
        }
        let mut s = self.lock();
        if s.device_call.contains_key(&call.caller_device)
            || !s.devices.contains_key(&call.caller_device)
        {
            return Ok(None);
        }
        let ringing: BTreeSet<DeviceId> = call
            .ringing
            .iter()
            .filter(|d| !s.device_call.contains_key(*d) && s.devices.contains_key(*d))
            .cloned()
            .collect();
        if ringing.is_empty() {
            return Ok(None);
        }
        s.device_call
            .insert(call.caller_device.clone(), call_id.clone());
        for d in &ringing {
            s.device_call.insert(d.clone(), call_id.clone());
        }
        let out = ringing.iter().cloned().collect();
        s.calls.insert(call_id.clone(), Call { ringing, ..call });
        Ok(Some(out))
    }

    /// Whether `device` is the caller's or the answering device of the answered call `call_id`
    /// (the relay's check of its credentials).
    pub fn answered_party(&self, call_id: &str, device: &str) -> bool {
        if let Some(cluster) = &self.cluster {
            return cluster.answered_party(call_id, device);
        }
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
    pub async fn call(&self, call_id: &CallId) -> Result<Option<Call>> {
        match &self.cluster {
            Some(cluster) => cluster.call(call_id).await,
            None => Ok(self.lock().calls.get(call_id).cloned()),
        }
    }

    /// The first accept wins: marks `device` as the answering device if it is ringing. Returns
    /// the call (after the change), or `None` if the device can't accept.
    pub async fn accept(&self, call_id: &CallId, device: &DeviceId) -> Result<Option<Call>> {
        let (call, others) = match &self.cluster {
            Some(cluster) => match cluster.accept(call_id, device).await? {
                Some(found) => found,
                None => return Ok(None),
            },
            None => {
                let mut s = self.lock();
                let Some(call) = s.calls.get_mut(call_id) else {
                    return Ok(None);
                };
                if call.answered.is_some() || !call.ringing.contains(device) {
                    return Ok(None);
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
                (call, others)
            }
        };
        for d in others {
            self.send(
                &d,
                &ServerMessage::CallEnded {
                    call_id: call_id.clone(),
                    reason: EndReason::AnsweredElsewhere,
                },
            );
        }
        Ok(Some(call))
    }

    /// Ends the call for everyone: each other participant (caller, ringing devices, answering
    /// device) except `from` gets `CallEnded { reason }`. Returns false if there is no such call.
    pub async fn end(
        &self,
        call_id: &CallId,
        from: Option<&DeviceId>,
        reason: EndReason,
    ) -> Result<bool> {
        let call = match &self.cluster {
            Some(cluster) => cluster.end(call_id).await?,
            None => {
                let mut s = self.lock();
                let call = s.calls.remove(call_id);
                if let Some(call) = &call {
                    for d in participants(call) {
                        s.device_call.remove(&d);
                    }
                }
                call
            }
        };
        let Some(call) = call else {
            return Ok(false);
        };
        log_end(call_id, &call, reason, &self.lock().metrics);
        self.end_sends(call_id, &call, from, reason);
        Ok(true)
    }

    /// A ringing device leaves the call (busy); the call ends with `Busy` if none rings any
    /// more. Returns false if the device was not ringing for it.
    pub async fn busy(&self, call_id: &CallId, device: &DeviceId) -> Result<bool> {
        if let Some(cluster) = &self.cluster {
            let change = self
                .leave_shared(cluster, call_id, device, LeaveKind::Busy)
                .await?;
            return Ok(!matches!(change, Change::None));
        }
        let sends = {
            let mut s = self.lock();
            match s.calls.get(call_id) {
                Some(c) if c.ringing.contains(device) && c.answered.is_none() => {}
                _ => return Ok(false),
            }
            let mut sends = Vec::new();
            leave_call(&mut s, call_id, device, EndReason::Busy, &mut sends);
            sends
        };
        self.send_all(sends);
        Ok(true)
    }

    /// Ends a call that is still unanswered (the invite timer).
    pub async fn timeout(&self, call_id: &CallId) {
        if let Some(cluster) = &self.cluster {
            // Any device id: the timeout does not depend on who asks.
            if let Ok(nobody) = DeviceId::new("ring-timer") {
                let _ = self
                    .leave_shared(cluster, call_id, &nobody, LeaveKind::Timeout)
                    .await;
            }
            return;
        }
        let unanswered = matches!(self.lock().calls.get(call_id), Some(c) if c.answered.is_none());
        if unanswered {
            let _ = self.end(call_id, None, EndReason::Timeout).await;
        }
    }

    /// Sends one message to every device connected to this node.
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

    /// Number of devices connected to this node.
    pub fn connected(&self) -> usize {
        self.lock().devices.len()
    }
}

/// Everyone in a call: the caller, the ringing devices, the answering device.
fn participants(call: &Call) -> Vec<DeviceId> {
    std::iter::once(call.caller_device.clone())
        .chain(call.ringing.iter().cloned())
        .chain(call.answered.iter().cloned())
        .collect()
}

/// With several nodes: `device` left `call_id` for good (its connection closed); the others
/// hear of the end it causes (for tasks that outlive a borrow of the hub).
async fn disconnected(cluster: &Cluster, metrics: &Metrics, call_id: &CallId, device: &DeviceId) {
    if let Ok(Change::Ended(call)) = cluster.leave(call_id, device, LeaveKind::Disconnect).await {
        log_end(call_id, &call, EndReason::PeerDisconnected, metrics);
        notify_end(
            cluster,
            call_id,
            &call,
            Some(device),
            EndReason::PeerDisconnected,
        );
    }
}

/// `CallEnded` to every participant but `from`, through the cluster (for tasks that outlive a
/// borrow of the hub).
fn notify_end(
    cluster: &Cluster,
    call_id: &CallId,
    call: &Call,
    from: Option<&DeviceId>,
    reason: EndReason,
) {
    let Ok(text) = encode_server(&ServerMessage::CallEnded {
        call_id: call_id.clone(),
        reason,
    }) else {
        return;
    };
    let text: Arc<str> = text.into();
    for d in participants(call) {
        if Some(&d) != from {
            cluster.send(&d, Arc::clone(&text), None);
        }
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
