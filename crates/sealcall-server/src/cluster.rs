//! Several server nodes over one Redis (`--redis redis://…`): which node holds which device
//! (presence), messages for a device on another node (one pub/sub channel per node), the call
//! state every node shares, and events every node must hear (policy changes, answered and ended
//! calls for the relays, sessions that ended).
//!
//! What lives in Redis, under the `sealcall:` prefix:
//!
//! | key | value | lifetime |
//! | --- | --- | --- |
//! | `dev:{device}` | the holding node's id | a lease ([`LEASE`]), renewed every [`RENEW_EVERY`] while the socket lives |
//! | `user:{user key}` | sorted set: the user's connected devices, scored by lease end (ms) | as the lease |
//! | `call:{id}` | hash: caller, caller_device, callee, mode, invited_ms, answered, answered_ms | the ring time while ringing, then [`CALL_TTL`] renewed while a party is connected |
//! | `call:{id}:ring` | set: the devices still ringing | as the call while ringing |
//! | `devcall:{device}` | the call the device takes part in | as its call |
//! | `gone:{device}` | present while a party whose connection closed may come back to its answered call | the rejoin grace |
//! | `relay:{node}` | the node's relay addresses (JSON list of TURN URLs) | a lease, renewed with the devices' |
//! | channel `node:{node}` | a message for a device held by that node | |
//! | channel `all` | an event for every node | |
//!
//! Every change to a call is one Lua script, so it is atomic across nodes: the first accept
//! wins (`HSETNX answered`), an end deletes the call once and tells the node that deleted it
//! who took part. Nothing in Redis is durable state: users, devices, sessions and policy stay in
//! the database. A Redis restart loses the presence (rebuilt within [`RENEW_EVERY`]), the calls
//! in progress (their media goes on; their hang-up no longer reaches the other side, whose
//! device ends the call when the media stops) and the messages in flight.
//!
//! These scripts touch keys they compute, so the store is one standalone Redis, not a Redis
//! Cluster (and the client does not ask Sentinel for the primary).
//!
//! An answered call whose party left (its connection closed; its node died and the lease
//! ran out) ends once that party has neither a presence nor a `gone` marker: every node checks
//! the peers of its own devices' calls each time it renews their presence, so the end does not
//! depend on the node the party left.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use redis::aio::ConnectionManager;
use redis::{AsyncCommands, Script};
use sealcall_policy::UserId;
use sealcall_signaling::{CallId, DeviceId};
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, watch};

use crate::hub::Call;
use crate::{Result, ServerError};

/// How long a device's presence lasts without renewal: a node that dies loses its devices
/// after this.
pub const LEASE: Duration = Duration::from_secs(15);
/// How often a node renews the presence of its devices (and the calls they are in).
pub const RENEW_EVERY: Duration = Duration::from_secs(5);
/// How long an answered call's state lasts without renewal by a connected party.
pub const CALL_TTL: Duration = Duration::from_secs(120);
/// Extra time a ringing call's keys live past its ring timeout (its timer ends it first).
const RING_MARGIN: Duration = Duration::from_secs(10);
/// Key prefix.
const P: &str = "sealcall:";

/// A Redis URL; shown (logs, errors) without its password.
#[derive(Clone)]
pub struct RedisUrl {
    url: String,
    shown: String,
}

impl RedisUrl {
    /// Checks a `redis://` URL; the error never quotes a password.
    pub fn parse(url: &str) -> Result<Self> {
        let invalid = |reason: String| ServerError::Invalid {
            what: "redis URL",
            reason,
        };
        if url.starts_with("rediss://") {
            return Err(invalid(
                "TLS to Redis (rediss://) is not supported yet: reach Redis over a private \
                 network or a tunnel, with redis://"
                    .to_owned(),
            ));
        }
        if !url.starts_with("redis://") {
            return Err(invalid(
                "expected redis://[user:password@]host[:port][/db]".to_owned(),
            ));
        }
        let info = redis::IntoConnectionInfo::into_connection_info(url)
            .map_err(|e| invalid(format!("cannot read it ({})", e.category())))?;
        let shown = format!(
            "redis://{}{}/{}",
            if info.redis_settings().password().is_some() {
                "***@"
            } else {
                ""
            },
            info.addr(),
            info.redis_settings().db()
        );
        Ok(Self {
            url: url.to_owned(),
            shown,
        })
    }
}

impl std::fmt::Display for RedisUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.shown)
    }
}

impl std::fmt::Debug for RedisUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RedisUrl({})", self.shown)
    }
}

impl std::str::FromStr for RedisUrl {
    type Err = ServerError;
    fn from_str(s: &str) -> Result<Self> {
        Self::parse(s)
    }
}

/// A Redis failure as a server error (the text names the failure, never a URL or a value).
fn unavailable(e: &redis::RedisError) -> ServerError {
    ServerError::ClusterUnavailable(format!("Redis: {}", e.category()))
}

/// An event every node hears.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(crate) enum Event {
    /// Policy changed (on node `from`, which told its own devices): push every connected
    /// user's setting.
    Policy { from: String },
    /// A call was answered by these two devices (the relays' gate).
    Answered {
        call: String,
        caller_device: String,
        callee_device: String,
    },
    /// A call ended.
    Ended { call: String },
    /// Close the connections of this session (hex of its hash): signed out.
    EvictSession { session: String },
    /// Close the connection of this device: removed.
    EvictDevice { device: String },
}

/// A message for one device on another node.
#[derive(Serialize, Deserialize)]
struct Envelope {
    /// The device.
    d: String,
    /// The encoded server message.
    m: String,
    /// When set, the message is an invite: the receiving node arms a ring timer for this call
    /// (milliseconds), so a call whose caller's node died does not ring forever.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ring: Option<(String, u64)>,
}

/// What a node hears from the others, for its own devices.
pub(crate) enum Inbound {
    /// Deliver this text to the local device.
    Deliver {
        device: DeviceId,
        text: Arc<str>,
        ring: Option<(CallId, Duration)>,
    },
    /// An event for every node.
    Event(Event),
    /// The subscription was (re)established: presence and subscriptions may have been lost
    /// (a Redis restart), renew now.
    Resubscribed,
}

/// The outcome of a conditional call change.
pub(crate) enum Change {
    /// Not applicable (no such call, or the device has no part in it that allows the change).
    None,
    /// The device left the ringing set; the call goes on.
    Left,
    /// The call ended; it was this (with its ringing devices).
    Ended(Call),
}

/// What [`Cluster::leave`] may do.
#[derive(Clone, Copy)]
pub(crate) enum LeaveKind {
    /// A ringing device reports busy.
    Busy,
    /// The device's connection closed.
    Disconnect,
    /// The ring time is over.
    Timeout,
}

/// One node's handle on the shared Redis.
pub(crate) struct Cluster {
    /// This node's id (random per start).
    pub node: String,
    conn: ConnectionManager,
    client: redis::Client,
    outbox: mpsc::UnboundedSender<Outgoing>,
    /// Answered calls anywhere (call → caller device, callee device), for the relay's gate.
    answered: Mutex<HashMap<String, (String, String)>>,
    /// This node's relay addresses (TURN URLs), published for the other nodes.
    relay_urls: std::sync::OnceLock<Vec<String>>,
    scripts: Scripts,
}

struct Outgoing {
    device: DeviceId,
    text: Arc<str>,
    ring: Option<(String, u64)>,
}

struct Scripts {
    start: Script,
    accept: Script,
    end: Script,
    leave: Script,
    release: Script,
    renew: Script,
    free: Script,
}

const LUA_FREE_FN: &str = r"
local P = 'sealcall:'
local function free(d, call)
  if d and d ~= '' and redis.call('GET', P..'devcall:'..d) == call then
    redis.call('DEL', P..'devcall:'..d)
  end
end
local function finish(call, key, h, ring)
  local f = {}
  for i = 1, #h, 2 do f[h[i]] = h[i + 1] end
  redis.call('DEL', key, key..':ring')
  free(f['caller_device'], call)
  free(f['answered'], call)
  for _, d in ipairs(ring) do free(d, call) end
end
";

impl Scripts {
    fn new() -> Self {
        let with_free = |body: &str| Script::new(&format!("{LUA_FREE_FN}{body}"));
        Self {
            // ARGV: call, ring ttl ms, caller, caller_device, callee, mode, invited_ms, devices…
            start: Script::new(
                r"
local P = 'sealcall:'
local call = ARGV[1]
if redis.call('EXISTS', P..'devcall:'..ARGV[4]) == 1 then return false end
if redis.call('EXISTS', P..'dev:'..ARGV[4]) == 0 then return false end
local ring = {}
for i = 8, #ARGV do
  local d = ARGV[i]
  if redis.call('EXISTS', P..'devcall:'..d) == 0 and redis.call('EXISTS', P..'dev:'..d) == 1 then
    table.insert(ring, d)
  end
end
if #ring == 0 then return false end
local key = P..'call:'..call
redis.call('HSET', key, 'caller', ARGV[3], 'caller_device', ARGV[4], 'callee', ARGV[5],
  'mode', ARGV[6], 'invited_ms', ARGV[7])
redis.call('SADD', key..':ring', unpack(ring))
redis.call('PEXPIRE', key, ARGV[2])
redis.call('PEXPIRE', key..':ring', ARGV[2])
redis.call('SET', P..'devcall:'..ARGV[4], call, 'PX', ARGV[2])
for _, d in ipairs(ring) do redis.call('SET', P..'devcall:'..d, call, 'PX', ARGV[2]) end
return ring
",
            ),
            // ARGV: call, device, answered_ms, call ttl ms. The first accept wins.
            accept: with_free(
                r"
local call, me = ARGV[1], ARGV[2]
local key = P..'call:'..call
if redis.call('SISMEMBER', key..':ring', me) == 0 then return false end
if redis.call('HSETNX', key, 'answered', me) == 0 then return false end
redis.call('HSET', key, 'answered_ms', ARGV[3])
local others = {}
for _, d in ipairs(redis.call('SMEMBERS', key..':ring')) do
  if d ~= me then table.insert(others, d); free(d, call) end
end
redis.call('DEL', key..':ring')
redis.call('PEXPIRE', key, ARGV[4])
redis.call('PEXPIRE', P..'devcall:'..me, ARGV[4])
redis.call('PEXPIRE', P..'devcall:'..redis.call('HGET', key, 'caller_device'), ARGV[4])
return others
",
            ),
            // ARGV: call. Ends it once: returns what it was, or nil.
            end: with_free(
                r"
local call = ARGV[1]
local key = P..'call:'..call
local h = redis.call('HGETALL', key)
if #h == 0 then return false end
local ring = redis.call('SMEMBERS', key..':ring')
finish(call, key, h, ring)
return {h, ring}
",
            ),
            // ARGV: call, device, kind (busy | disconnect | timeout).
            leave: with_free(
                r"
local call, me, kind = ARGV[1], ARGV[2], ARGV[3]
local key = P..'call:'..call
local h = redis.call('HGETALL', key)
if #h == 0 then free(me, call); return {'none'} end
local f = {}
for i = 1, #h, 2 do f[h[i]] = h[i + 1] end
local ring = redis.call('SMEMBERS', key..':ring')
local ringing = redis.call('SISMEMBER', key..':ring', me) == 1
if kind == 'timeout' then
  if f['answered'] then return {'none'} end
else
  if kind == 'busy' and (not ringing or f['answered']) then return {'none'} end
  local ends = f['caller_device'] == me or f['answered'] == me or (ringing and #ring == 1)
  if not ends then
    if ringing then
      redis.call('SREM', key..':ring', me)
      free(me, call)
      return {'left'}
    end
    return {'none'}
  end
end
finish(call, key, h, ring)
return {'ended', h, ring}
",
            ),
            // KEYS: dev, user. ARGV: node, device. The device left this node.
            release: Script::new(
                r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  redis.call('ZREM', KEYS[2], ARGV[2])
end
return 1
",
            ),
            // KEYS: dev, user, devcall. ARGV: node, lease ms, lease end ms, device, call ttl ms.
            renew: Script::new(
                r"
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. (tonumber(ARGV[3]) - tonumber(ARGV[2])))
redis.call('PEXPIRE', KEYS[2], ARGV[2])
local call = redis.call('GET', KEYS[3])
if call then
  local key = 'sealcall:call:'..call
  local answered = redis.call('HGET', key, 'answered')
  if answered then
    redis.call('PEXPIRE', KEYS[3], ARGV[5])
    redis.call('PEXPIRE', key, ARGV[5])
    local peer = redis.call('HGET', key, 'caller_device')
    if peer == ARGV[4] then peer = answered end
    if redis.call('EXISTS', 'sealcall:dev:'..peer) == 0
      and redis.call('EXISTS', 'sealcall:gone:'..peer) == 0 then
      return {call, peer}
    end
  end
end
return 0
",
            ),
            // KEYS: user. ARGV: now ms. Returns {online devices…} and {free devices…}.
            free: Script::new(
                r"
local online = redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[1], '+inf')
local free = {}
for _, d in ipairs(online) do
  if redis.call('EXISTS', 'sealcall:devcall:'..d) == 0 then table.insert(free, d) end
end
return {online, free}
",
            ),
        }
    }
}

fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// An instant `ms_ago` milliseconds before now.
fn instant_at(unix: u64) -> Instant {
    let ago = Duration::from_millis(unix_ms().saturating_sub(unix));
    Instant::now().checked_sub(ago).unwrap_or_else(Instant::now)
}

fn mode_of(label: &str) -> &'static str {
    match label {
        "e2ee" => "e2ee",
        "standard" => "standard",
        _ => "none",
    }
}

/// A call from its hash fields and ringing set; `None` when a field is missing or invalid.
fn call_from(fields: &[String], ring: &[String]) -> Option<Call> {
    let mut f: HashMap<&str, &str> = HashMap::new();
    for pair in fields.chunks_exact(2) {
        f.insert(pair[0].as_str(), pair[1].as_str());
    }
    let answered = match f.get("answered") {
        Some(d) => Some(DeviceId::new(d).ok()?),
        None => None,
    };
    Some(Call {
        caller: UserId::new(f.get("caller")?).ok()?,
        caller_device: DeviceId::new(f.get("caller_device")?).ok()?,
        callee: UserId::new(f.get("callee")?).ok()?,
        ringing: ring.iter().filter_map(|d| DeviceId::new(d).ok()).collect(),
        answered,
        invited_at: instant_at(f.get("invited_ms")?.parse().ok()?),
        answered_at: f
            .get("answered_ms")
            .and_then(|v| v.parse().ok())
            .map(instant_at),
        mode: mode_of(f.get("mode").copied().unwrap_or("none")),
    })
}

fn dev_key(device: &str) -> String {
    format!("{P}dev:{device}")
}

fn user_key(user: &UserId) -> String {
    format!("{P}user:{}", user.key())
}

fn devcall_key(device: &str) -> String {
    format!("{P}devcall:{device}")
}

fn node_channel(node: &str) -> String {
    format!("{P}node:{node}")
}

fn all_channel() -> String {
    format!("{P}all")
}

impl Cluster {
    /// Connects to Redis (a clear error when it is unreachable or refuses the password),
    /// starts this node's subscriber (its messages go to `inbound`) and outbox.
    pub async fn connect(
        url: &RedisUrl,
        inbound: mpsc::UnboundedSender<Inbound>,
        stop: watch::Receiver<bool>,
    ) -> Result<Arc<Self>> {
        let client = redis::Client::open(url.url.as_str()).map_err(|e| ServerError::Invalid {
            what: "redis URL",
            reason: e.category().to_owned(),
        })?;
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(3)))
            .set_response_timeout(Some(Duration::from_secs(3)))
            .set_number_of_retries(2)
            .set_max_delay(Duration::from_secs(1));
        let mut conn = client
            .get_connection_manager_with_config(config)
            .await
            .map_err(|e| {
                ServerError::ClusterUnavailable(format!(
                    "cannot use Redis at {url}: {}",
                    redis_reason(&e)
                ))
            })?;
        let _: String = redis::cmd("PING")
            .query_async(&mut conn)
            .await
            .map_err(|e| {
                ServerError::ClusterUnavailable(format!(
                    "Redis at {url} does not answer: {}",
                    redis_reason(&e)
                ))
            })?;
        let mut random = [0u8; 8];
        getrandom::fill(&mut random).map_err(|_| ServerError::Random)?;
        let node = hex::encode(random);
        // The first subscription is made here, so that a node that starts is reachable.
        let mut pubsub = client.get_async_pubsub().await.map_err(|e| {
            ServerError::ClusterUnavailable(format!(
                "cannot subscribe on Redis at {url}: {}",
                redis_reason(&e)
            ))
        })?;
        pubsub
            .subscribe(&[node_channel(&node), all_channel()])
            .await
            .map_err(|e| unavailable(&e))?;
        let (outbox, queued) = mpsc::unbounded_channel();
        let cluster = Arc::new(Self {
            node,
            conn,
            client,
            outbox,
            answered: Mutex::default(),
            relay_urls: std::sync::OnceLock::new(),
            scripts: Scripts::new(),
        });
        tokio::spawn(subscriber(
            Arc::downgrade(&cluster),
            pubsub,
            inbound,
            stop.clone(),
        ));
        tokio::spawn(sender(Arc::downgrade(&cluster), queued, stop));
        tracing::info!(node = %cluster.node, redis = %url, "joined the cluster");
        Ok(cluster)
    }

    fn conn(&self) -> ConnectionManager {
        self.conn.clone()
    }

    /// Queues `text` for `device` on whichever node holds it (dropped if none does).
    pub fn send(&self, device: &DeviceId, text: Arc<str>, ring: Option<(&CallId, Duration)>) {
        let _ = self.outbox.send(Outgoing {
            device: device.clone(),
            text,
            ring: ring.map(|(c, d)| (c.as_str().to_owned(), ms(d))),
        });
    }

    /// Tells every node (this one included) of `event`.
    pub async fn broadcast(&self, event: &Event) -> Result<()> {
        let text = serde_json::to_string(event)
            .map_err(|_| ServerError::Storage("event encoding".to_owned()))?;
        let _: i64 = self
            .conn()
            .publish(all_channel(), text)
            .await
            .map_err(|e| unavailable(&e))?;
        Ok(())
    }

    /// Records that this node holds `device` now (a fresh lease).
    pub async fn register(&self, device: &DeviceId, user: &UserId) -> Result<()> {
        self.renew(&[(device.clone(), user.clone())])
            .await
            .map(|_| ())
    }

    /// `device` left its answered call's node and may come back within `grace`.
    pub async fn mark_gone(&self, device: &DeviceId, grace: Duration) -> Result<()> {
        let _: () = self
            .conn()
            .pset_ex(format!("{P}gone:{}", device.as_str()), 1, ms(grace).max(1))
            .await
            .map_err(|e| unavailable(&e))?;
        Ok(())
    }

    /// Publishes this node's relay addresses: a device held by this node is given them, by
    /// whichever node hands out its call's relay credentials.
    pub async fn publish_relay(&self, urls: Vec<String>) -> Result<()> {
        let _ = self.relay_urls.set(urls);
        self.renew(&[]).await.map(|_| ())
    }

    /// The relay addresses of the node that holds `device`, if it runs a relay.
    pub async fn relay_urls_of(&self, device: &DeviceId) -> Result<Option<Vec<String>>> {
        let mut conn = self.conn();
        let node: Option<String> = conn
            .get(dev_key(device.as_str()))
            .await
            .map_err(|e| unavailable(&e))?;
        let Some(node) = node else {
            return Ok(None);
        };
        let urls: Option<String> = conn
            .get(format!("{P}relay:{node}"))
            .await
            .map_err(|e| unavailable(&e))?;
        Ok(urls.and_then(|u| serde_json::from_str(&u).ok()))
    }

    /// Renews the lease of these local devices (and the answered calls they are in), and of
    /// this node's relay addresses. Returns the calls of these devices whose other party is
    /// gone for good (no presence on any node, no rejoin grace left), with that party.
    pub async fn renew(&self, devices: &[(DeviceId, UserId)]) -> Result<Vec<(CallId, DeviceId)>> {
        let now = unix_ms();
        let lease = ms(LEASE);
        let mut conn = self.conn();
        if let Some(urls) = self.relay_urls.get()
            && let Ok(text) = serde_json::to_string(urls)
        {
            let _: () = conn
                .pset_ex(format!("{P}relay:{}", self.node), text, lease)
                .await
                .map_err(|e| unavailable(&e))?;
        }
        if devices.is_empty() {
            return Ok(Vec::new());
        }
        // Loaded each round (cheap): Redis may have restarted empty since the last.
        let script = &self.scripts.renew;
        script
            .prepare_invoke()
            .load_async(&mut conn)
            .await
            .map_err(|e| unavailable(&e))?;
        let mut pipe = redis::pipe();
        for (device, user) in devices {
            pipe.cmd("EVALSHA")
                .arg(script.get_hash())
                .arg(3)
                .arg(dev_key(device.as_str()))
                .arg(user_key(user))
                .arg(devcall_key(device.as_str()))
                .arg(&self.node)
                .arg(lease)
                .arg(now + lease)
                .arg(device.as_str())
                .arg(ms(CALL_TTL));
        }
        let replies: Vec<redis::Value> = pipe
            .query_async(&mut conn)
            .await
            .map_err(|e| unavailable(&e))?;
        Ok(replies
            .into_iter()
            .filter_map(|v| redis::FromRedisValue::from_redis_value(v).ok())
            .filter_map(|(call, peer): (String, String)| {
                Some((CallId::new(&call).ok()?, DeviceId::new(&peer).ok()?))
            })
            .collect())
    }

    /// The device left this node (its lease goes, unless another node holds it now).
    pub async fn release(&self, device: &DeviceId, user: &UserId) -> Result<()> {
        self.scripts
            .release
            .key(dev_key(device.as_str()))
            .key(user_key(user))
            .arg(&self.node)
            .arg(device.as_str())
            .invoke_async::<i64>(&mut self.conn())
            .await
            .map_err(|e| unavailable(&e))?;
        Ok(())
    }

    /// The user's devices connected to any node, and those of them in no call.
    pub async fn devices(&self, user: &UserId) -> Result<(Vec<DeviceId>, Vec<DeviceId>)> {
        let (online, free): (Vec<String>, Vec<String>) = self
            .scripts
            .free
            .key(user_key(user))
            .arg(unix_ms())
            .invoke_async(&mut self.conn())
            .await
            .map_err(|e| unavailable(&e))?;
        let ids = |v: Vec<String>| v.iter().filter_map(|d| DeviceId::new(d).ok()).collect();
        Ok((ids(online), ids(free)))
    }

    /// Whether `device` takes part in a call.
    pub async fn in_call(&self, device: &DeviceId) -> Result<bool> {
        self.conn()
            .exists(devcall_key(device.as_str()))
            .await
            .map_err(|e| unavailable(&e))
    }

    /// The call `device` takes part in, if any.
    pub async fn call_of(&self, device: &DeviceId) -> Result<Option<CallId>> {
        let id: Option<String> = self
            .conn()
            .get(devcall_key(device.as_str()))
            .await
            .map_err(|e| unavailable(&e))?;
        Ok(id.and_then(|id| CallId::new(&id).ok()))
    }

    /// Registers a ringing call if the caller and at least one of its devices are free and
    /// connected. Returns the devices that ring.
    pub async fn start_call(
        &self,
        call_id: &CallId,
        call: &Call,
        ring_time: Duration,
    ) -> Result<Option<Vec<DeviceId>>> {
        let mut invoke = self.scripts.start.prepare_invoke();
        invoke
            .arg(call_id.as_str())
            .arg(ms(ring_time + RING_MARGIN))
            .arg(call.caller.as_str())
            .arg(call.caller_device.as_str())
            .arg(call.callee.as_str())
            .arg(call.mode)
            .arg(unix_ms());
        for d in &call.ringing {
            invoke.arg(d.as_str());
        }
        let ring: Option<Vec<String>> = invoke
            .invoke_async(&mut self.conn())
            .await
            .map_err(|e| unavailable(&e))?;
        Ok(ring.map(|r| r.iter().filter_map(|d| DeviceId::new(d).ok()).collect()))
    }

    /// The call, if it exists.
    pub async fn call(&self, call_id: &CallId) -> Result<Option<Call>> {
        let key = format!("{P}call:{}", call_id.as_str());
        let (fields, ring): (Vec<String>, Vec<String>) = redis::pipe()
            .atomic()
            .hgetall(&key)
            .smembers(format!("{key}:ring"))
            .query_async(&mut self.conn())
            .await
            .map_err(|e| unavailable(&e))?;
        if fields.is_empty() {
            return Ok(None);
        }
        Ok(call_from(&fields, &ring))
    }

    /// The first accept wins: returns the call after the change and the devices that stop
    /// ringing, or `None` if `device` cannot accept.
    pub async fn accept(
        &self,
        call_id: &CallId,
        device: &DeviceId,
    ) -> Result<Option<(Call, Vec<DeviceId>)>> {
        let others: Option<Vec<String>> = self
            .scripts
            .accept
            .arg(call_id.as_str())
            .arg(device.as_str())
            .arg(unix_ms())
            .arg(ms(CALL_TTL))
            .invoke_async(&mut self.conn())
            .await
            .map_err(|e| unavailable(&e))?;
        let Some(others) = others else {
            return Ok(None);
        };
        let Some(call) = self.call(call_id).await? else {
            return Ok(None);
        };
        let event = Event::Answered {
            call: call_id.as_str().to_owned(),
            caller_device: call.caller_device.as_str().to_owned(),
            callee_device: device.as_str().to_owned(),
        };
        // This node's relay knows at once; the others when the event arrives.
        self.note(&event);
        let _ = self.broadcast(&event).await;
        let others = others
            .iter()
            .filter_map(|d| DeviceId::new(d).ok())
            .collect();
        Ok(Some((call, others)))
    }

    /// Ends the call (once across all nodes): what it was, or `None` if it had ended.
    pub async fn end(&self, call_id: &CallId) -> Result<Option<Call>> {
        let ended: Option<(Vec<String>, Vec<String>)> = self
            .scripts
            .end
            .arg(call_id.as_str())
            .invoke_async(&mut self.conn())
            .await
            .map_err(|e| unavailable(&e))?;
        let Some((fields, ring)) = ended else {
            return Ok(None);
        };
        self.ended(call_id).await;
        Ok(call_from(&fields, &ring))
    }

    async fn ended(&self, call_id: &CallId) {
        let event = Event::Ended {
            call: call_id.as_str().to_owned(),
        };
        self.note(&event);
        let _ = self.broadcast(&event).await;
    }

    /// `device` leaves `call_id` as `kind` says (see the `leave` script).
    pub async fn leave(
        &self,
        call_id: &CallId,
        device: &DeviceId,
        kind: LeaveKind,
    ) -> Result<Change> {
        let kind_arg = match kind {
            LeaveKind::Busy => "busy",
            LeaveKind::Disconnect => "disconnect",
            LeaveKind::Timeout => "timeout",
        };
        let reply: Vec<redis::Value> = self
            .scripts
            .leave
            .arg(call_id.as_str())
            .arg(device.as_str())
            .arg(kind_arg)
            .invoke_async(&mut self.conn())
            .await
            .map_err(|e| unavailable(&e))?;
        let mut items = reply.into_iter();
        let text = |v: Option<redis::Value>| -> Option<String> {
            v.and_then(|v| redis::FromRedisValue::from_redis_value(v).ok())
        };
        let list = |v: Option<redis::Value>| -> Option<Vec<String>> {
            v.and_then(|v| redis::FromRedisValue::from_redis_value(v).ok())
        };
        let status = text(items.next()).unwrap_or_default();
        Ok(match status.as_str() {
            "ended" => {
                let (fields, ring) = (list(items.next()), list(items.next()));
                self.ended(call_id).await;
                match (fields, ring) {
                    (Some(fields), Some(ring)) => {
                        call_from(&fields, &ring).map_or(Change::None, Change::Ended)
                    }
                    _ => Change::None,
                }
            }
            "left" => Change::Left,
            _ => Change::None,
        })
    }

    /// Whether `device` is a party of the answered call `call` (the relay's gate).
    pub fn answered_party(&self, call: &str, device: &str) -> bool {
        self.answered
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(call)
            .is_some_and(|(a, b)| a == device || b == device)
    }

    /// Applies an event to this node's own records (the relay's gate).
    pub fn note(&self, event: &Event) {
        let mut answered = self.answered.lock().unwrap_or_else(|e| e.into_inner());
        match event {
            Event::Answered {
                call,
                caller_device,
                callee_device,
            } => {
                answered.insert(call.clone(), (caller_device.clone(), callee_device.clone()));
            }
            Event::Ended { call } => {
                answered.remove(call);
            }
            _ => {}
        }
    }
}

/// The text of a connection failure: refused, timed out, authentication failed, …
fn redis_reason(e: &redis::RedisError) -> String {
    if e.kind() == redis::ErrorKind::AuthenticationFailed
        || e.code().is_some_and(|c| c == "WRONGPASS" || c == "NOAUTH")
    {
        return "authentication failed (wrong user or password)".to_owned();
    }
    if e.is_connection_refusal() {
        return "connection refused".to_owned();
    }
    if e.is_timeout() {
        return "timed out".to_owned();
    }
    e.category().to_owned()
}

/// Sends queued messages in order, in batches: one lookup of the devices' nodes, then one
/// pipeline of publishes.
async fn sender(
    cluster: Weak<Cluster>,
    mut queued: mpsc::UnboundedReceiver<Outgoing>,
    mut stop: watch::Receiver<bool>,
) {
    let mut batch = Vec::new();
    loop {
        batch.clear();
        let n = tokio::select! {
            n = queued.recv_many(&mut batch, 256) => n,
            _ = stop.wait_for(|s| *s) => 0,
        };
        if n == 0 {
            return;
        }
        let Some(cluster) = cluster.upgrade() else {
            return;
        };
        let keys: Vec<String> = batch.iter().map(|o| dev_key(o.device.as_str())).collect();
        let mut conn = cluster.conn();
        let nodes: Vec<Option<String>> = match redis::cmd("MGET")
            .arg(&keys)
            .query_async(&mut conn)
            .await
        {
            Ok(nodes) => nodes,
            Err(e) => {
                tracing::warn!(messages = n, error = %redis_reason(&e), "Redis unavailable: messages for other nodes dropped");
                continue;
            }
        };
        let mut pipe = redis::pipe();
        let mut any = false;
        for (out, node) in batch.drain(..).zip(nodes) {
            let Some(node) = node else { continue };
            let envelope = Envelope {
                d: out.device.as_str().to_owned(),
                m: out.text.to_string(),
                ring: out.ring,
            };
            if let Ok(text) = serde_json::to_string(&envelope) {
                pipe.publish(node_channel(&node), text).ignore();
                any = true;
            }
        }
        if any && let Err(e) = pipe.query_async::<()>(&mut conn).await {
            tracing::warn!(error = %redis_reason(&e), "Redis unavailable: messages for other nodes dropped");
        }
    }
}

/// Reads this node's channel and the broadcast channel; resubscribes (after a pause) when the
/// connection breaks, and says so ([`Inbound::Resubscribed`]).
async fn subscriber(
    cluster: Weak<Cluster>,
    first: redis::aio::PubSub,
    inbound: mpsc::UnboundedSender<Inbound>,
    mut stop: watch::Receiver<bool>,
) {
    let mut pubsub = Some(first);
    let mut pause = Duration::from_millis(100);
    loop {
        if let Some(mut ps) = pubsub.take() {
            pause = Duration::from_millis(100);
            let mut messages = ps.on_message();
            loop {
                let msg = tokio::select! {
                    m = messages.next() => m,
                    _ = stop.wait_for(|s| *s) => return,
                };
                let Some(msg) = msg else { break };
                let Ok(payload) = msg.get_payload::<String>() else {
                    continue;
                };
                let item = if msg.get_channel_name().ends_with(":all") {
                    match serde_json::from_str::<Event>(&payload) {
                        Ok(event) => Inbound::Event(event),
                        Err(_) => continue,
                    }
                } else {
                    let Ok(env) = serde_json::from_str::<Envelope>(&payload) else {
                        continue;
                    };
                    let Ok(device) = DeviceId::new(&env.d) else {
                        continue;
                    };
                    Inbound::Deliver {
                        device,
                        text: env.m.into(),
                        ring: env.ring.and_then(|(c, t)| {
                            CallId::new(&c).ok().map(|c| (c, Duration::from_millis(t)))
                        }),
                    }
                };
                if inbound.send(item).is_err() {
                    return;
                }
            }
            tracing::warn!("lost the Redis subscription: resubscribing");
        }
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        pause = (pause * 2).min(Duration::from_secs(2));
        let Some(c) = cluster.upgrade() else { return };
        let node = c.node.clone();
        let Ok(mut ps) = c.client.get_async_pubsub().await else {
            continue;
        };
        drop(c);
        if ps
            .subscribe(&[node_channel(&node), all_channel()])
            .await
            .is_ok()
        {
            tracing::info!("Redis subscription restored");
            if inbound.send(Inbound::Resubscribed).is_err() {
                return;
            }
            pubsub = Some(ps);
        }
    }
}
