//! Call set-up time: from `call()` to the first decrypted audio frame at the caller, over 20
//! end-to-end encrypted calls between two engines (real server on 127.0.0.1, real SQLite file,
//! real WebRTC over loopback, real Opus). Run with `cargo bench -p sealcall-engine --bench call_setup`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use common::*;
use sealcall_engine::EngineEvent;

const CALLS: usize = 20;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run());
}

async fn run() {
    let server = TestServer::start().await;
    server.cmdlet(ALLOW_E2EE).await;
    let (ken, mut ken_ev) = engine(server.config(KEN, "tone:440", &server.wav("k.wav"))).await;
    let mut bot = server.config(ANA, "tone:880", &server.wav("a.wav"));
    bot.auto_answer = true;
    let (ana, mut ana_ev) = engine(bot).await;
    ken.set_e2ee(true).await.unwrap();
    ana.set_e2ee(true).await.unwrap();

    let mut setup = Vec::with_capacity(CALLS);
    let mut to_connected = Vec::with_capacity(CALLS);
    for _ in 0..CALLS {
        let start = Instant::now();
        ken.call(ANA).unwrap();
        assert!(connected(&mut ken_ev).await, "E2EE call");
        to_connected.push(start.elapsed());
        wait_for(&mut ken_ev, 15, |e| {
            matches!(e, EngineEvent::FirstAudio { .. }).then_some(())
        })
        .await;
        setup.push(start.elapsed());
        ken.hangup().unwrap();
        ended(&mut ken_ev).await;
        ended(&mut ana_ev).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    report(
        "invite -> connected (media + handshake ready)",
        &mut to_connected,
    );
    report("invite -> first decrypted audio", &mut setup);
}

fn report(what: &str, samples: &mut [Duration]) {
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let n = samples.len();
    println!(
        "{what}: {n} E2EE calls, min {:.0} ms, median {:.0} ms, p90 {:.0} ms, max {:.0} ms",
        ms(samples[0]),
        ms(samples[n / 2]),
        ms(samples[(n * 9) / 10 - 1]),
        ms(samples[n - 1]),
    );
}
