//! The embedded TURN relay (webrtc-rs' `turn` server on one UDP socket) and its short-lived,
//! per-call credentials in the TURN REST API style: username `expiry:call:device`, password
//! `base64(HMAC-SHA1(secret, username))`. The secret never leaves the server (one secret from
//! the configuration for every node, or a random one per run); a credential works until its
//! expiry, only for the username it was issued for, and only while its call is answered and
//! the device is one of that call's two.
//!
//! Relay permissions (`CreatePermission`, `ChannelBind`) are refused (403) for peer addresses
//! in loopback, private, link-local (cloud metadata included), CGNAT, multicast and other
//! special ranges unless the operator allows them ([`TurnConfig::allow`]): the relay cannot be
//! used to reach the server's own network.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use ipnet::IpNet;
use stun::attributes::ATTR_XOR_PEER_ADDRESS;
use stun::error_code::{CODE_FORBIDDEN, ErrorCodeAttribute};
use stun::message::{
    CLASS_ERROR_RESPONSE, CLASS_REQUEST, Getter, METHOD_CHANNEL_BIND, METHOD_CREATE_PERMISSION,
    Message, MessageType,
};
use turn::proto::peeraddr::PeerAddress;
use zeroize::Zeroizing;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, KeyInit, Mac};
use sealcall_signaling::{CallId, TurnCredentials};
use tokio::net::UdpSocket;
use turn::auth::{AuthHandler, generate_auth_key};
use turn::relay::relay_static::RelayAddressGeneratorStatic;
use turn::server::Server;
use turn::server::config::{ConnConfig, ServerConfig};
use webrtc_util::vnet::net::Net;

use crate::error::{Result, ServerError};
use crate::metrics::Metrics;

/// Relay configuration.
#[derive(Debug, Clone)]
pub struct TurnConfig {
    /// UDP address the relay listens on (e.g. `127.0.0.1:3478`; port 0 picks one).
    pub listen: SocketAddr,
    /// Address relayed transport addresses are allocated on (and advertised, without
    /// [`public_ip`](TurnConfig::public_ip)).
    pub relay_ip: IpAddr,
    /// The address devices reach the relay at, when it is not the one it binds (behind NAT, in
    /// a container, or listening on every address): advertised in relayed addresses and in the
    /// TURN URLs handed out (`--turn-public-ip`). `None`: `relay_ip`, and the listen address in
    /// the URLs.
    pub public_ip: Option<IpAddr>,
    /// TURN realm.
    pub realm: String,
    /// How long issued credentials work.
    pub credential_ttl: Duration,
    /// Peer ranges the relay may reach although they are special (loopback, private, …):
    /// `--relay-allow CIDR`. Empty by default.
    pub allow: Vec<IpNet>,
    /// The credential secret shared by every node of a deployment (`--turn-secret-file`);
    /// `None`: a random one for this run.
    pub secret: Option<TurnSecret>,
}

impl Default for TurnConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 3478)),
            relay_ip: IpAddr::from([127, 0, 0, 1]),
            public_ip: None,
            realm: "sealcall".to_owned(),
            credential_ttl: Duration::from_secs(600),
            allow: Vec::new(),
            secret: None,
        }
    }
}

impl TurnConfig {
    /// `127.0.0.0/8` and `::1/128`: what [`TurnConfig::allow`] needs for a relay between
    /// devices on one machine (the demo, tests).
    pub fn loopback_peers() -> Vec<IpNet> {
        [
            ipnet::Ipv4Net::new(std::net::Ipv4Addr::LOCALHOST, 8)
                .map(IpNet::V4)
                .ok(),
            ipnet::Ipv6Net::new(std::net::Ipv6Addr::LOCALHOST, 128)
                .map(IpNet::V6)
                .ok(),
        ]
        .into_iter()
        .flatten()
        .map(|n| n.trunc())
        .collect()
    }
}

/// A TURN credential secret (at least 32 bytes). Its `Debug` shows nothing of it; it is erased
/// on drop.
#[derive(Clone)]
pub struct TurnSecret(Arc<Zeroizing<Vec<u8>>>);

impl std::fmt::Debug for TurnSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TurnSecret(<redacted>)")
    }
}

impl TurnSecret {
    /// Shortest secret accepted.
    pub const MIN_BYTES: usize = 32;

    /// A secret from bytes (refused when shorter than [`TurnSecret::MIN_BYTES`]).
    pub fn new(bytes: Vec<u8>) -> Result<Self> {
        let bytes = Zeroizing::new(bytes);
        if bytes.len() < Self::MIN_BYTES {
            return Err(ServerError::Invalid {
                what: "TURN secret",
                reason: format!("must be at least {} bytes", Self::MIN_BYTES),
            });
        }
        Ok(Self(Arc::new(bytes)))
    }

    /// Reads a secret file (its content, surrounding whitespace removed).
    pub fn from_file(path: &std::path::Path) -> Result<Self> {
        let text = Zeroizing::new(std::fs::read(path).map_err(|e| ServerError::Invalid {
            what: "TURN secret file",
            reason: format!("{}: {e}", path.display()),
        })?);
        let trimmed = text.trim_ascii();
        Self::new(trimmed.to_vec())
    }

    fn random() -> Result<Self> {
        Self::new(crate::auth::random_bytes::<32>()?.to_vec())
    }
}

/// Computes the TURN password for a username under the secret.
fn password(secret: &[u8], username: &str) -> String {
    let Ok(mut mac) = <Hmac<sha1::Sha1> as KeyInit>::new_from_slice(secret) else {
        return String::new();
    };
    mac.update(username.as_bytes());
    BASE64.encode(mac.finalize().into_bytes())
}

/// Says whether `device` is one of the two devices of the answered call `call`.
pub(crate) type CallGate = Arc<dyn Fn(&str, &str) -> bool + Send + Sync>;

struct CallAuth {
    secret: TurnSecret,
    gate: CallGate,
}

impl AuthHandler for CallAuth {
    fn auth_handle(
        &self,
        username: &str,
        realm: &str,
        src: SocketAddr,
    ) -> std::result::Result<Vec<u8>, turn::Error> {
        let mut parts = username.split(':');
        let (Some(expiry), Some(call), Some(device), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            tracing::info!(%src, reason = "malformed username", "relay request refused");
            return Err(turn::Error::Other("malformed username".to_owned()));
        };
        let expiry: u64 = expiry
            .parse()
            .map_err(|_| turn::Error::Other("malformed username".to_owned()))?;
        if expiry <= crate::unix_now() {
            tracing::info!(call_id = call, device, %src, reason = "expired credentials", "relay request refused");
            return Err(turn::Error::Other("expired credentials".to_owned()));
        }
        if !(self.gate)(call, device) {
            // Usually relay packets arriving just after a call ended: routine, so debug.
            tracing::debug!(call_id = call, device, %src, reason = "no answered call", "relay request refused");
            return Err(turn::Error::Other(
                "no answered call for these credentials".to_owned(),
            ));
        }
        // Every authenticated request (allocation, refresh, permission) passes here.
        tracing::debug!(call_id = call, device, %src, "relay request authenticated");
        let pass = password(&self.secret.0, username);
        Ok(generate_auth_key(username, realm, &pass))
    }
}

/// Whether the relay may reach `ip`: outside every special range, or inside an allowed one.
pub(crate) fn peer_allowed(ip: IpAddr, allow: &[IpNet]) -> bool {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    };
    if allow.iter().any(|net| net.contains(&ip)) {
        return true;
    }
    const SPECIAL: &[&str] = &[
        "0.0.0.0/8",      // "this network"
        "10.0.0.0/8",     // private
        "100.64.0.0/10",  // CGNAT
        "127.0.0.0/8",    // loopback
        "169.254.0.0/16", // link-local, cloud metadata (169.254.169.254)
        "172.16.0.0/12",  // private
        "192.0.0.0/24",   // IETF protocol assignments
        "192.168.0.0/16", // private
        "198.18.0.0/15",  // benchmarking
        "224.0.0.0/4",    // multicast
        "240.0.0.0/4",    // reserved, broadcast
        "::/128",         // unspecified
        "::1/128",        // loopback
        "64:ff9b:1::/48", // local-use NAT64
        "fc00::/7",       // unique local (fd00:ec2::254, a metadata address, included)
        "fe80::/10",      // link-local
        "ff00::/8",       // multicast
    ];
    !SPECIAL
        .iter()
        .filter_map(|net| net.parse::<IpNet>().ok())
        .any(|net| net.contains(&ip))
}

/// The relay's UDP socket with a gate in front of the `turn` server: permission requests for
/// peers the relay may not reach are answered with 403 here and never reach it.
struct PeerGuard {
    socket: UdpSocket,
    allow: Vec<IpNet>,
    metrics: Arc<Metrics>,
}

/// Whether `packet` is a STUN Allocate success response (type 0x0103): a granted allocation.
fn is_allocate_success(packet: &[u8]) -> bool {
    packet.get(..2) == Some(&[0x01, 0x03][..]) && stun::message::is_message(packet)
}

impl PeerGuard {
    /// The 403 for a permission request naming a refused peer, if `packet` is one.
    fn refusal(&self, packet: &[u8]) -> Option<Vec<u8>> {
        if !stun::message::is_message(packet) {
            return None;
        }
        let mut m = Message::new();
        m.raw = packet.to_vec();
        m.decode().ok()?;
        let permission = m.typ.class == CLASS_REQUEST
            && (m.typ.method == METHOD_CREATE_PERMISSION || m.typ.method == METHOD_CHANNEL_BIND);
        if !permission {
            return None;
        }
        let refused = m
            .attributes
            .0
            .iter()
            .filter(|a| a.typ == ATTR_XOR_PEER_ADDRESS)
            .any(|a| {
                let mut one = Message::new();
                one.transaction_id = m.transaction_id;
                one.attributes.0.push(a.clone());
                let mut peer = PeerAddress::default();
                peer.get_from(&one).is_err() || !peer_allowed(peer.ip, &self.allow)
            });
        if !refused {
            return None;
        }
        tracing::info!(method = %m.typ.method, "relay permission refused: peer address not allowed");
        let mut reply = Message::new();
        reply
            .build(&[
                Box::new(m.transaction_id),
                Box::new(MessageType::new(m.typ.method, CLASS_ERROR_RESPONSE)),
                Box::new(ErrorCodeAttribute {
                    code: CODE_FORBIDDEN,
                    reason: b"peer address not allowed".to_vec(),
                }),
            ])
            .ok()?;
        Some(reply.raw)
    }
}

#[async_trait::async_trait]
impl webrtc_util::Conn for PeerGuard {
    async fn connect(&self, addr: SocketAddr) -> webrtc_util::Result<()> {
        Ok(self.socket.connect(addr).await?)
    }

    async fn recv(&self, buf: &mut [u8]) -> webrtc_util::Result<usize> {
        Ok(self.recv_from(buf).await?.0)
    }

    async fn recv_from(&self, buf: &mut [u8]) -> webrtc_util::Result<(usize, SocketAddr)> {
        loop {
            let (n, from) = self.socket.recv_from(buf).await?;
            match buf.get(..n).and_then(|packet| self.refusal(packet)) {
                Some(reply) => {
                    let _ = self.socket.send_to(&reply, from).await;
                }
                None => return Ok((n, from)),
            }
        }
    }

    async fn send(&self, buf: &[u8]) -> webrtc_util::Result<usize> {
        Ok(self.socket.send(buf).await?)
    }

    async fn send_to(&self, buf: &[u8], target: SocketAddr) -> webrtc_util::Result<usize> {
        let sent = self.socket.send_to(buf, target).await?;
        if is_allocate_success(buf) {
            self.metrics.relay_allocated();
        }
        Ok(sent)
    }

    fn local_addr(&self) -> webrtc_util::Result<SocketAddr> {
        Ok(self.socket.local_addr()?)
    }

    fn remote_addr(&self) -> Option<SocketAddr> {
        None
    }

    async fn close(&self) -> webrtc_util::Result<()> {
        Ok(())
    }

    fn as_any(&self) -> &(dyn std::any::Any + Send + Sync) {
        self
    }
}

/// The running relay.
pub struct Relay {
    server: Server,
    addr: SocketAddr,
    /// The address in the TURN URLs handed out.
    advertised: SocketAddr,
    secret: TurnSecret,
    ttl: Duration,
    metrics: Arc<Metrics>,
}

impl std::fmt::Debug for Relay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Relay").field("addr", &self.addr).finish()
    }
}

impl Relay {
    /// Binds the UDP socket and starts the relay with the configured secret (or a fresh random
    /// one); `gate` says which (call, device) pairs may use it; allocations and credentials are
    /// counted in `metrics`.
    pub(crate) async fn start(
        config: &TurnConfig,
        gate: CallGate,
        metrics: Arc<Metrics>,
    ) -> Result<Self> {
        let socket = UdpSocket::bind(config.listen).await?;
        let addr = socket.local_addr()?;
        let secret = match &config.secret {
            Some(s) => s.clone(),
            None => TurnSecret::random()?,
        };
        let server = Server::new(ServerConfig {
            conn_configs: vec![ConnConfig {
                conn: Arc::new(PeerGuard {
                    socket,
                    allow: config.allow.clone(),
                    metrics: Arc::clone(&metrics),
                }),
                relay_addr_generator: Box::new(RelayAddressGeneratorStatic {
                    relay_address: config.public_ip.unwrap_or(config.relay_ip),
                    address: config.relay_ip.to_string(),
                    net: Arc::new(Net::new(None)),
                }),
            }],
            realm: config.realm.clone(),
            auth_handler: Arc::new(CallAuth {
                secret: secret.clone(),
                gate,
            }),
            channel_bind_timeout: Duration::from_secs(0),
            alloc_close_notify: None,
        })
        .await
        .map_err(|e| ServerError::Turn(e.to_string()))?;
        // What devices are told: the public address if there is one, else the bound one (the
        // relay address when the socket listens on every address).
        let advertised = match config.public_ip {
            Some(ip) => SocketAddr::new(ip, addr.port()),
            None if addr.ip().is_unspecified() => SocketAddr::new(config.relay_ip, addr.port()),
            None => addr,
        };
        Ok(Self {
            server,
            addr,
            advertised,
            secret,
            ttl: config.credential_ttl,
            metrics,
        })
    }

    /// The relay's UDP address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Credentials for one device of one call (they work only while the call is answered and
    /// the device is one of its two).
    pub fn credentials(&self, call: &CallId, party: &str) -> TurnCredentials {
        let expires_at = crate::unix_now().saturating_add(self.ttl.as_secs().max(1));
        tracing::info!(call_id = %call, device = party, expires_at, "relay credentials issued");
        self.metrics.relay_credentials_issued();
        self.credentials_expiring(call, party, expires_at)
    }

    /// Credentials with an explicit expiry (tests use this to check that expired ones fail).
    pub fn credentials_expiring(
        &self,
        call: &CallId,
        party: &str,
        expires_at: u64,
    ) -> TurnCredentials {
        let username = format!("{expires_at}:{call}:{party}");
        TurnCredentials {
            urls: self.urls(),
            credential: password(&self.secret.0, &username),
            username,
            expires_at,
        }
    }

    /// The relay's TURN URLs (what clients are given).
    pub fn urls(&self) -> Vec<String> {
        vec![format!("turn:{}?transport=udp", self.advertised)]
    }

    /// Stops the relay.
    pub async fn close(&self) -> Result<()> {
        self.server
            .close()
            .await
            .map_err(|e| ServerError::Turn(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn special_ranges_are_refused_unless_allowed() {
        let ip = |t: &str| t.parse::<IpAddr>().unwrap();
        for refused in [
            "127.0.0.1",
            "10.0.0.1",
            "172.16.5.4",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fe80::1",
            "fd00:ec2::254",
            "::ffff:127.0.0.1",
            "::ffff:10.1.2.3",
        ] {
            assert!(!peer_allowed(ip(refused), &[]), "{refused}");
        }
        for public in ["192.0.2.10", "8.8.8.8", "2001:db8::1", "::ffff:8.8.8.8"] {
            assert!(peer_allowed(ip(public), &[]), "{public}");
        }
        let allow: Vec<IpNet> = ["::1/128", "10.0.0.0/8"]
            .iter()
            .map(|n| n.parse().unwrap())
            .collect();
        assert!(peer_allowed(ip("::1"), &allow));
        assert!(peer_allowed(ip("10.9.9.9"), &allow));
        assert!(peer_allowed(ip("::ffff:10.9.9.9"), &allow));
        assert!(!peer_allowed(ip("192.168.1.1"), &allow));
        let loopback = TurnConfig::loopback_peers();
        assert_eq!(loopback.len(), 2);
        assert!(peer_allowed(ip("127.0.0.2"), &loopback) && peer_allowed(ip("::1"), &loopback));
    }
}
