//! The embedded TURN relay (webrtc-rs' `turn` server on one UDP socket) and its short-lived,
//! per-call credentials in the TURN REST API style: username `expiry:call:party`, password
//! `base64(HMAC-SHA1(secret, username))`. The secret never leaves the server; a credential
//! works until its expiry and only for the username it was issued for.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

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

/// Relay configuration.
#[derive(Debug, Clone)]
pub struct TurnConfig {
    /// UDP address the relay listens on (e.g. `127.0.0.1:3478`; port 0 picks one).
    pub listen: SocketAddr,
    /// Address relayed transport addresses are allocated on (and advertised).
    pub relay_ip: IpAddr,
    /// TURN realm.
    pub realm: String,
    /// How long issued credentials work.
    pub credential_ttl: Duration,
}

impl Default for TurnConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 3478)),
            relay_ip: IpAddr::from([127, 0, 0, 1]),
            realm: "sealcall".to_owned(),
            credential_ttl: Duration::from_secs(600),
        }
    }
}

/// The relay's HMAC secret: no `Debug`, `Clone` or `Serialize`.
struct Secret([u8; 32]);

/// Computes the TURN password for a username under the secret.
fn password(secret: &[u8; 32], username: &str) -> String {
    let Ok(mut mac) = <Hmac<sha1::Sha1> as KeyInit>::new_from_slice(secret) else {
        return String::new();
    };
    mac.update(username.as_bytes());
    BASE64.encode(mac.finalize().into_bytes())
}

struct CallAuth {
    secret: Arc<Secret>,
}

impl AuthHandler for CallAuth {
    fn auth_handle(
        &self,
        username: &str,
        realm: &str,
        _src: SocketAddr,
    ) -> std::result::Result<Vec<u8>, turn::Error> {
        let expiry: u64 = username
            .split(':')
            .next()
            .and_then(|t| t.parse().ok())
            .ok_or_else(|| turn::Error::Other("malformed username".to_owned()))?;
        if expiry <= crate::unix_now() {
            return Err(turn::Error::Other("expired credentials".to_owned()));
        }
        let pass = password(&self.secret.0, username);
        Ok(generate_auth_key(username, realm, &pass))
    }
}

/// The running relay.
pub struct Relay {
    server: Server,
    addr: SocketAddr,
    secret: Arc<Secret>,
    ttl: Duration,
}

impl std::fmt::Debug for Relay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Relay").field("addr", &self.addr).finish()
    }
}

impl Relay {
    /// Binds the UDP socket and starts the relay with a fresh random secret.
    pub async fn start(config: &TurnConfig) -> Result<Self> {
        let socket = UdpSocket::bind(config.listen).await?;
        let addr = socket.local_addr()?;
        let secret = Arc::new(Secret(crate::auth::random_bytes::<32>()?));
        let server = Server::new(ServerConfig {
            conn_configs: vec![ConnConfig {
                conn: Arc::new(socket),
                relay_addr_generator: Box::new(RelayAddressGeneratorStatic {
                    relay_address: config.relay_ip,
                    address: config.relay_ip.to_string(),
                    net: Arc::new(Net::new(None)),
                }),
            }],
            realm: config.realm.clone(),
            auth_handler: Arc::new(CallAuth {
                secret: Arc::clone(&secret),
            }),
            channel_bind_timeout: Duration::from_secs(0),
            alloc_close_notify: None,
        })
        .await
        .map_err(|e| ServerError::Turn(e.to_string()))?;
        Ok(Self {
            server,
            addr,
            secret,
            ttl: config.credential_ttl,
        })
    }

    /// The relay's UDP address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Credentials for one party (`caller` or a callee device id) of one call.
    pub fn credentials(&self, call: &CallId, party: &str) -> TurnCredentials {
        let expires_at = crate::unix_now().saturating_add(self.ttl.as_secs().max(1));
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
            urls: vec![format!("turn:{}?transport=udp", self.addr)],
            credential: password(&self.secret.0, &username),
            username,
            expires_at,
        }
    }

    /// Stops the relay.
    pub async fn close(&self) -> Result<()> {
        self.server
            .close()
            .await
            .map_err(|e| ServerError::Turn(e.to_string()))
    }
}
