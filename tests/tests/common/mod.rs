//! The organisation the scenarios run against: a real server on 127.0.0.1:0 (real SQLite in a
//! temporary folder) with an administrator, three users and two groups; real engines.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use sealcall_engine::transport::TransportConfig;
use sealcall_engine::{AudioRoute, Engine, EngineConfig, EngineEvent, EngineEvents};
use sealcall_server::cli;
use sealcall_server::testing::{LocalServer, PASSWORD};
use serde_json::Value;

pub const ADMIN: &str = "admin@contoso.onmicrosoft.com";
pub const KEN: &str = "kenmeyer@contoso.onmicrosoft.com";
pub const ANA: &str = "ana@contoso.onmicrosoft.com";
pub const BO: &str = "bo@contoso.onmicrosoft.com";
pub const PASS: &str = PASSWORD;

/// Contoso: the administrator, Ken Meyer, Ana Ruiz and Bo Chen; groups `sales` (Ana, Bo) and
/// `support` (Bo).
pub async fn contoso() -> LocalServer {
    let users = [(KEN, "Ken Meyer"), (ANA, "Ana Ruiz"), (BO, "Bo Chen")];
    let server = LocalServer::start(ADMIN, &users).await.unwrap();
    let db = server.db();
    cli::group_add(&db, "sales").unwrap();
    cli::group_add(&db, "support").unwrap();
    cli::group_add_member(&db, "sales", ANA).unwrap();
    cli::group_add_member(&db, "sales", BO).unwrap();
    cli::group_add_member(&db, "support", BO).unwrap();
    server
}

/// A signed-in engine for `user` (audio: a tone in, a WAV file out in the server's folder).
pub async fn engine(server: &LocalServer, user: &str, tone: u32) -> (Engine, EngineEvents) {
    engine_with(server, user, tone, false).await
}

/// The same, answering incoming calls by itself when `auto_answer` is set.
pub async fn engine_with(
    server: &LocalServer,
    user: &str,
    tone: u32,
    auto_answer: bool,
) -> (Engine, EngineEvents) {
    engine_adjusted(server, user, tone, |c| c.auto_answer = auto_answer).await
}

/// The same, with a last change to the configuration.
pub async fn engine_adjusted(
    server: &LocalServer,
    user: &str,
    tone: u32,
    adjust: impl FnOnce(&mut EngineConfig),
) -> (Engine, EngineEvents) {
    let mut config = engine_config(server, user, tone);
    adjust(&mut config);
    Engine::connect(config).await.unwrap()
}

/// The configuration [`engine`] signs in with (an ephemeral identity, a tone in, a WAV out).
fn engine_config(server: &LocalServer, user: &str, tone: u32) -> EngineConfig {
    let mut config = EngineConfig::new(&server.url, user, PASSWORD);
    config.trust = server.trust.clone();
    config.transport = TransportConfig::loopback();
    config.audio = AudioRoute::Specs {
        input: format!("tone:{tone}"),
        output: server
            .dir
            .path()
            .join(format!("{tone}.wav"))
            .display()
            .to_string(),
    };
    config
}

/// Waits (up to `secs`) for the first event `pick` returns `Some` for.
pub async fn wait_for<T>(
    events: &mut EngineEvents,
    secs: u64,
    pick: impl FnMut(&EngineEvent) -> Option<T>,
) -> T {
    sealcall_engine::next_event(events, Duration::from_secs(secs), pick)
        .await
        .expect("event in time (the engine still running)")
}

/// The newest audit row (the JSON API).
pub async fn last_audit(server: &LocalServer) -> Value {
    server.admin_get("/admin/audit?limit=1").await.unwrap()[0].clone()
}

/// A user's effective policy as the JSON API explains it.
pub async fn effective(server: &LocalServer, user: &str) -> Value {
    server
        .admin_get(&format!("/admin/users/{user}/effective-policy"))
        .await
        .unwrap()
}

/// `Get-CsTeamsEnhancedEncryptionPolicy` output.
pub async fn get_policies(server: &LocalServer) -> String {
    server
        .cmdlet_output("Get-CsTeamsEnhancedEncryptionPolicy")
        .await
        .unwrap()
}
