//! Call set-up time: from `call()` to the first decrypted audio frame at the caller, over 20
//! end-to-end encrypted calls between two engines (real server on 127.0.0.1, real SQLite file,
//! real WebRTC over loopback, real Opus), on two servers side by side: one whose two devices offer
//! post-quantum key agreement (the default: the X25519 + ML-KEM-768 hybrid) and one whose devices
//! have it turned off (X25519 alone), calls alternating between them. Every call's security code
//! event is checked to say which it was. Run with
//! `cargo bench -p sealcall-engine --bench call_setup`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use common::*;
use sealcall_engine::call::CallEvent;
use sealcall_engine::{Engine, EngineEvent, EngineEvents, PostQuantum, PostQuantumStatus};

const CALLS: usize = 20;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run());
}

/// A server and two engines (Ana answers automatically) whose devices both say `post_quantum`.
struct Rig {
    post_quantum: PostQuantum,
    agreement: &'static str,
    _server: TestServer,
    ken: Engine,
    ken_ev: EngineEvents,
    _ana: Engine,
    ana_ev: EngineEvents,
    setup: Vec<Duration>,
    to_connected: Vec<Duration>,
}

impl Rig {
    async fn new(post_quantum: PostQuantum, agreement: &'static str) -> Self {
        let server = TestServer::start().await;
        server.cmdlet(ALLOW_E2EE).await;
        let mut caller = server.config(KEN, "tone:440", &server.wav("k.wav"));
        caller.post_quantum = post_quantum;
        let (ken, ken_ev) = engine(caller).await;
        let mut bot = server.config(ANA, "tone:880", &server.wav("a.wav"));
        bot.auto_answer = true;
        bot.post_quantum = post_quantum;
        let (ana, ana_ev) = engine(bot).await;
        ken.set_e2ee(true).await.unwrap();
        ana.set_e2ee(true).await.unwrap();
        Self {
            post_quantum,
            agreement,
            _server: server,
            ken,
            ken_ev,
            _ana: ana,
            ana_ev,
            setup: Vec::with_capacity(CALLS),
            to_connected: Vec::with_capacity(CALLS),
        }
    }

    /// One call, timed to connected and to the first decrypted audio, then hung up.
    async fn call(&mut self) {
        let start = Instant::now();
        self.ken.call(ANA).unwrap();
        let mut status = None;
        let mut connected_after = None;
        wait_for(&mut self.ken_ev, 15, |e| match e {
            EngineEvent::SecurityCode { post_quantum, .. } => {
                status = Some(*post_quantum);
                None
            }
            EngineEvent::Call(CallEvent::Connected { end_to_end, .. }) => {
                assert!(*end_to_end, "E2EE call");
                connected_after = Some(start.elapsed());
                None
            }
            EngineEvent::Call(CallEvent::Ended { reason, .. }) => panic!("call ended: {reason:?}"),
            EngineEvent::FirstAudio { .. } => Some(()),
            _ => None,
        })
        .await;
        self.setup.push(start.elapsed());
        self.to_connected
            .push(connected_after.expect("connected before the first audio"));
        let expected = if self.post_quantum.is_capable() {
            PostQuantumStatus::Protected
        } else {
            PostQuantumStatus::LocalUnavailable
        };
        assert_eq!(status, Some(expected), "key agreement of the call");
        self.ken.hangup().unwrap();
        ended(&mut self.ken_ev).await;
        ended(&mut self.ana_ev).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn run() {
    let mut rigs = [
        Rig::new(PostQuantum::Offered, "x25519+ml-kem-768").await,
        Rig::new(PostQuantum::Unavailable, "x25519").await,
    ];
    // Calls alternate between the two, so a busy moment of the machine hits both alike.
    for _ in 0..CALLS {
        for rig in &mut rigs {
            rig.call().await;
        }
    }
    for rig in &mut rigs {
        let agreement = rig.agreement;
        report(
            &format!("{agreement}: invite -> connected (media + handshake ready)"),
            &mut rig.to_connected,
        );
        report(
            &format!("{agreement}: invite -> first decrypted audio"),
            &mut rig.setup,
        );
    }
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
