//! Embedding the engine: sign in, call someone, print what happens, hang up.
//!
//! ```sh
//! SEALCALL_SERVER=http://127.0.0.1:7878 SEALCALL_USER=ana@contoso.onmicrosoft.com \
//! SEALCALL_PASSWORD=… cargo run -p sealcall-engine --example place_call -- kenmeyer@contoso.onmicrosoft.com
//! ```
//! Audio: a 440 Hz tone out, what the other side sends written to `heard.wav`.

use std::time::Duration;

use sealcall_engine::call::CallEvent;
use sealcall_engine::{AudioRoute, Engine, EngineConfig, EngineEvent};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let env = |name: &str| std::env::var(name).map_err(|_| format!("set {name}"));
    let callee = std::env::args()
        .nth(1)
        .ok_or("usage: place_call USER-TO-CALL")?;
    let mut config = EngineConfig::new(
        &env("SEALCALL_SERVER")?,
        &env("SEALCALL_USER")?,
        &env("SEALCALL_PASSWORD")?,
    );
    config.audio = AudioRoute::Specs {
        input: "tone:440".into(),
        output: "heard.wav".into(),
    };
    let (engine, mut events) = Engine::connect(config).await?;
    println!("signed in as {}", engine.info().display_name);
    engine.call(&callee)?;
    let mut hang_up = None;
    loop {
        let timer = async {
            match hang_up {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            Some(event) = events.recv() => match event {
                EngineEvent::SecurityCode { code, .. } => println!("security code: {code}"),
                EngineEvent::Call(CallEvent::Connected { end_to_end, .. }) => {
                    println!("connected (end-to-end encrypted: {end_to_end})");
                    hang_up = Some(tokio::time::Instant::now() + Duration::from_secs(5));
                }
                EngineEvent::Call(CallEvent::Ended { reason, .. }) => {
                    println!("ended: {reason:?}");
                    break;
                }
                other => println!("{other:?}"),
            },
            _ = timer => {
                engine.hangup()?;
                hang_up = None;
            }
        }
    }
    engine.shutdown().await?;
    Ok(())
}
