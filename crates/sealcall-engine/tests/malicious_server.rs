//! A malicious server, played by a signaling proxy between the engines and the real server,
//! tries what issue 11 lists — and fails:
//!
//! * it tells both devices "standard" (with a believable reason, compliance recording) while both
//!   intend end-to-end encryption: the call is end-to-end encrypted anyway (the two signed
//!   intents decide), both devices get the downgrade warning, and a device whose cached policy
//!   is `Required` ends the call before any media;
//! * it rewrites the DTLS fingerprints in the SDP it relays and terminates DTLS itself (a real
//!   WebRTC peer towards each device): both devices end the call, in standard and in end-to-end
//!   calls, because the certificate they saw is not the one the other device signed;
//! * it flips an intent inside the handshake: refused;
//! * it swaps the identity keys it hands out for two devices that have called before, and runs
//!   the handshake with each of them itself: both devices show "key changed" before any media,
//!   the verified mark is gone, and the two security codes differ;
//! * it replays and alters the sealed control messages (hold, resume) it relays: refused with a
//!   warning, the hold unchanged;
//! * it drops the recording notice: nothing is recorded.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::result_large_err)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use common::signaling_proxy::{Rewrite, rewriting, signaling_proxy};
use common::*;
use sealcall_e2ee::rand_core::UnwrapErr;
use sealcall_e2ee::{
    CalleeHandshake, CallerAwaitingConfirm, CallerHandshake, CipherSuite, Completed,
    DeviceIdentity, HandshakeMessage, HandshakeParams, Intent,
};
use sealcall_engine::call::{CallEvent, Ended};
use sealcall_engine::contacts::PeerKeyStatus;
use sealcall_engine::identity::IdentityStore;
use sealcall_engine::transport::{CallTransport, TransportConfig};
use sealcall_engine::{EngineConfig, EngineEvent, EngineEvents};
use sealcall_policy::{DecisionSummary, Outcome, Reason, Side};
use sealcall_signaling::{
    HandshakeBytes, IdentityKey, SdpKind, SdpText, ServerMessage, encode_server,
    parse_server_message,
};
use tokio::sync::Mutex;

/// What one device showed during the call.
#[derive(Debug, Default)]
struct Seen {
    warnings: Vec<String>,
    connected: Option<bool>,
    code: Option<String>,
    first_audio: bool,
    ended: Option<Ended>,
    /// Key continuity as reported (before answering, and at connect).
    peer_keys: Vec<PeerKeyStatus>,
}

async fn watch(events: &mut EngineEvents, seen: &mut Seen) {
    while let Some(e) = events.recv().await {
        match e {
            EngineEvent::SecurityWarning { message, .. } => seen.warnings.push(message),
            EngineEvent::SecurityCode { code, .. } => seen.code = Some(code),
            EngineEvent::FirstAudio { .. } => seen.first_audio = true,
            EngineEvent::PeerKey { status, .. } => seen.peer_keys.push(status),
            EngineEvent::Call(CallEvent::Connected { end_to_end, .. }) => {
                seen.connected = Some(end_to_end);
            }
            EngineEvent::Call(CallEvent::Ended { reason, .. }) => {
                seen.ended = Some(reason);
                return;
            }
            _ => {}
        }
    }
}

/// Runs Ken's call to Ana (both signed in through `proxy`, configs adjusted by `adjust`) until
/// both report the end or `secs` pass; Ken hangs up once both connected and heard audio.
async fn run_call(
    server: &TestServer,
    proxy: &str,
    (ken_on, ana_on): (bool, bool),
    adjust: impl FnOnce(&mut EngineConfig, &mut EngineConfig),
) -> (Seen, Seen) {
    let mut ken_cfg = server.config(KEN, "tone:440", &server.wav("k.wav"));
    let mut ana_cfg = server.config(ANA, "tone:880", &server.wav("a.wav"));
    ana_cfg.auto_answer = true;
    for c in [&mut ken_cfg, &mut ana_cfg] {
        c.signaling = Some(proxy.to_owned());
        c.timers.connect_timeout = Duration::from_secs(8);
    }
    adjust(&mut ken_cfg, &mut ana_cfg);
    let (ken, mut ken_ev) = engine(ken_cfg).await;
    let (ana, mut ana_ev) = engine(ana_cfg).await;
    // Both signed in on signaling (the Welcome brings the setting) before the call.
    for ev in [&mut ken_ev, &mut ana_ev] {
        tokio::time::timeout(Duration::from_secs(10), async {
            while let Some(e) = ev.recv().await {
                if matches!(e, EngineEvent::Setting(_)) {
                    return;
                }
            }
        })
        .await
        .expect("signed in on signaling");
    }
    if ken_on {
        ken.set_e2ee(true).await.unwrap();
    }
    if ana_on {
        ana.set_e2ee(true).await.unwrap();
    }
    ken.call(ANA).unwrap();
    let (mut k, mut a) = (Seen::default(), Seen::default());
    let _ = tokio::time::timeout(Duration::from_secs(20), async {
        let ken_done = async {
            watch(&mut ken_ev, &mut k).await;
        };
        let ana_done = async {
            watch(&mut ana_ev, &mut a).await;
        };
        let hang_up = async {
            // Long enough for audio to flow both ways in a call that goes ahead.
            tokio::time::sleep(Duration::from_secs(6)).await;
            let _ = ken.hangup();
        };
        tokio::join!(ken_done, ana_done, hang_up);
    })
    .await;
    drop((ken, ana));
    (k, a)
}

/// A believable reason to make the call standard.
fn standard_decision() -> DecisionSummary {
    DecisionSummary {
        outcome: Outcome::Standard,
        required_by: Vec::new(),
        reasons: vec![Reason::ComplianceRecording { side: Side::Callee }],
    }
}

/// Every decision the server hands a device (provisional and final) says "standard".
fn downgrading(count: Arc<AtomicU32>) -> Rewrite {
    Arc::new(move |text: String| {
        let count = count.clone();
        Box::pin(async move {
            let Ok(mut v) = serde_json::from_str::<serde_json::Value>(&text) else {
                return text;
            };
            fn replace(v: &mut serde_json::Value, hits: &mut u32) {
                match v {
                    serde_json::Value::Object(map) => {
                        for (k, child) in map.iter_mut() {
                            if k == "decision" {
                                *child = serde_json::to_value(standard_decision()).unwrap();
                                *hits += 1;
                            } else {
                                replace(child, hits);
                            }
                        }
                    }
                    serde_json::Value::Array(items) => {
                        items.iter_mut().for_each(|c| replace(c, hits));
                    }
                    _ => {}
                }
            }
            let mut hits = 0;
            replace(&mut v, &mut hits);
            if hits == 0 {
                return text;
            }
            count.fetch_add(hits, Ordering::Relaxed);
            // Still a message the devices accept.
            let out = v.to_string();
            assert!(parse_server_message(out.as_bytes()).is_ok(), "{out}");
            out
        })
    })
}

const DOWNGRADE: &str =
    "the service made this call standard although both of you turned on end-to-end encryption";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_saying_standard_cannot_downgrade_two_devices_that_both_intend_e2ee() {
    let server = TestServer::start().await;
    server.cmdlet(ALLOW_E2EE).await;
    let rewritten = Arc::new(AtomicU32::new(0));
    let proxy = signaling_proxy(&server.url, downgrading(rewritten.clone())).await;
    let (k, a) = run_call(&server, &proxy, (true, true), |_, _| {}).await;
    eprintln!("decisions rewritten: {rewritten:?}; ken {k:?}; ana {a:?}");
    assert!(
        rewritten.load(Ordering::Relaxed) >= 2,
        "the server lied to both"
    );
    for (who, s) in [("ken", &k), ("ana", &a)] {
        assert_eq!(s.warnings, vec![DOWNGRADE.to_owned()], "{who}");
        assert_eq!(
            s.connected,
            Some(true),
            "{who}: the signed intents make it end-to-end encrypted"
        );
        assert!(s.first_audio, "{who}: media flowed");
    }
    // The keys are the handshake's, which the server does not know: both codes match.
    assert!(k.code.is_some() && k.code == a.code);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_whose_policy_is_required_ends_a_contradicted_call_before_media() {
    let server = TestServer::start().await;
    server.cmdlet(ALLOW_E2EE).await;
    server.require_e2ee_for(ANA).await;
    let proxy = signaling_proxy(&server.url, downgrading(Arc::default())).await;
    let (k, a) = run_call(&server, &proxy, (true, false), |_, _| {}).await;
    eprintln!("ken {k:?}; ana {a:?}");
    assert_eq!(a.warnings, vec![DOWNGRADE.to_owned()]);
    assert!(
        matches!(&a.ended, Some(Ended::MediaFailed(why)) if why.contains("requires end-to-end encrypted calls")),
        "ana (Required) ended it: {:?}",
        a.ended
    );
    assert_eq!(a.connected, None, "ana never connected");
    for (who, s) in [("ken", &k), ("ana", &a)] {
        assert!(!s.first_audio, "{who}: no media flowed");
        assert!(s.ended.is_some(), "{who}: the call ended");
    }
}

/// The server's own WebRTC peer towards each device: it answers Ken's offer itself and sends Ana
/// an offer of its own, so each device runs DTLS with the server (the fingerprints in the SDP
/// the devices receive are the server's, and consistent with its certificates).
fn dtls_in_the_middle(count: Arc<AtomicU32>) -> Rewrite {
    struct Mitm {
        towards_ken: Option<CallTransport>,
        towards_ana: Option<CallTransport>,
        answer_for_ken: Option<String>,
    }
    let state = Arc::new(Mutex::new(Mitm {
        towards_ken: None,
        towards_ana: None,
        answer_for_ken: None,
    }));
    Arc::new(move |text: String| {
        let state = state.clone();
        let count = count.clone();
        Box::pin(async move {
            let Ok(ServerMessage::Sdp { call_id, kind, sdp }) =
                parse_server_message(text.as_bytes())
            else {
                return text;
            };
            let mut m = state.lock().await;
            let replaced = match kind {
                // Ken's offer, on its way to Ana.
                SdpKind::Offer => {
                    let (k, _ek) = CallTransport::new(TransportConfig::loopback())
                        .await
                        .unwrap();
                    m.answer_for_ken = Some(k.accept_offer(sdp.as_str()).await.unwrap());
                    m.towards_ken = Some(k);
                    let (a, _ea) = CallTransport::new(TransportConfig::loopback())
                        .await
                        .unwrap();
                    let offer = a.create_offer().await.unwrap();
                    m.towards_ana = Some(a);
                    offer
                }
                // Ana's answer, on its way to Ken.
                SdpKind::Answer => {
                    if let Some(a) = &m.towards_ana {
                        a.accept_answer(sdp.as_str()).await.unwrap();
                    }
                    m.answer_for_ken.clone().unwrap()
                }
            };
            count.fetch_add(1, Ordering::Relaxed);
            encode_server(&ServerMessage::Sdp {
                call_id,
                kind,
                sdp: SdpText::new(replaced).unwrap(),
            })
            .unwrap()
        })
    })
}

const IN_THE_MIDDLE: &str = "someone may be in the middle of this call";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_terminating_dtls_itself_is_caught_in_standard_and_e2ee_calls() {
    for e2ee in [false, true] {
        let server = TestServer::start().await;
        server.cmdlet(ALLOW_E2EE).await;
        let rewritten = Arc::new(AtomicU32::new(0));
        let proxy = signaling_proxy(&server.url, dtls_in_the_middle(rewritten.clone())).await;
        let (k, a) = run_call(&server, &proxy, (e2ee, e2ee), |_, _| {}).await;
        eprintln!("e2ee {e2ee}: SDPs replaced {rewritten:?}; ken {k:?}; ana {a:?}");
        assert_eq!(
            rewritten.load(Ordering::Relaxed),
            2,
            "offer and answer replaced"
        );
        for (who, s) in [("ken", &k), ("ana", &a)] {
            assert!(
                matches!(&s.ended, Some(Ended::MediaFailed(why)) if why.contains(IN_THE_MIDDLE))
                    || matches!(&s.ended, Some(Ended::Remote(_))),
                "e2ee {e2ee}, {who}: the call failed on the fingerprint: {:?}",
                s.ended
            );
            assert_eq!(s.connected, None, "e2ee {e2ee}, {who}: never connected");
            assert!(
                !s.first_audio,
                "e2ee {e2ee}, {who}: no media reached the device"
            );
            assert!(s.code.is_none(), "e2ee {e2ee}, {who}: no keys");
        }
        // At least one side caught it itself (the other may hear of it as a hang-up first).
        assert!(
            [&k, &a].iter().any(
                |s| matches!(&s.ended, Some(Ended::MediaFailed(why)) if why.contains(IN_THE_MIDDLE))
            ),
            "e2ee {e2ee}: a device caught the certificate"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_intent_flipped_inside_the_handshake_is_refused() {
    for flip_commit in [true, false] {
        let server = TestServer::start().await;
        server.cmdlet(ALLOW_E2EE).await;
        let flipped = Arc::new(AtomicU32::new(0));
        let f = flipped.clone();
        let proxy = signaling_proxy(
            &server.url,
            rewriting(move |m| {
                let ServerMessage::Handshake { call_id, data } = m else {
                    return None;
                };
                let mut msg = HandshakeMessage::parse(data.as_bytes()).ok()?;
                match &mut msg {
                    HandshakeMessage::Commit(c) if flip_commit => {
                        c.caller_intent = Intent::Standard
                    }
                    HandshakeMessage::Response(r) if !flip_commit => {
                        r.callee_intent = Intent::Standard;
                    }
                    _ => return None,
                }
                f.fetch_add(1, Ordering::Relaxed);
                Some(ServerMessage::Handshake {
                    call_id,
                    data: HandshakeBytes::new(msg.encode().ok()?).ok()?,
                })
            }),
        )
        .await;
        let (k, a) = run_call(&server, &proxy, (true, true), |_, _| {}).await;
        eprintln!("flip commit {flip_commit}: {flipped:?}; ken {k:?}; ana {a:?}");
        assert_eq!(flipped.load(Ordering::Relaxed), 1);
        for (who, s) in [("ken", &k), ("ana", &a)] {
            assert_eq!(s.connected, None, "{who}: a flipped intent never connects");
            assert!(s.code.is_none(), "{who}: no keys");
            assert!(!s.first_audio, "{who}: no media");
        }
        assert!(
            [&k, &a].iter().any(
                |s| matches!(&s.ended, Some(Ended::MediaFailed(why)) if why.contains("handshake"))
            ),
            "the handshake refused it"
        );
    }
}

/// A server that hands out its own identity keys for both devices and runs the handshake with
/// each of them: towards Ken it plays Ana's device (its key `as_ana`), towards Ana it plays
/// Ken's (`as_ken`). It relays nothing of the media itself (the DTLS fingerprints it signs are
/// the real ones, so each device's transport check passes): what is left to catch it is key
/// continuity and the security code.
#[derive(Default)]
struct KeySwap {
    as_ana: Option<DeviceIdentity>,
    as_ken: Option<DeviceIdentity>,
    /// The real keys, from what the server would have sent.
    ken_key: Option<[u8; 32]>,
    ana_key: Option<[u8; 32]>,
    kens_commit: Option<Vec<u8>>,
    towards_ana: Option<CallerHandshake>,
    towards_ana_confirm: Option<CallerAwaitingConfirm>,
    towards_ken: Option<CalleeHandshake>,
    reveal_for_ana: Option<Vec<u8>>,
    confirm_for_ken: Option<Vec<u8>>,
    /// The security codes of the server's two handshakes.
    codes: Vec<String>,
    /// The device id the server signs with, when not the one it names for the call.
    own_device: Option<Vec<u8>>,
}

fn mitm_params(call_id: &[u8], device: &[u8], fp: [u8; 32], peer: [u8; 32]) -> HandshakeParams {
    HandshakeParams {
        suite: CipherSuite::Aes128GcmSha256,
        call_id: call_id.to_vec(),
        local_device: device.to_vec(),
        intent: Intent::EndToEnd,
        dtls_fingerprint: fp,
        post_quantum: sealcall_e2ee::PostQuantum::Offered,
        expected_peer: Some(sealcall_e2ee::IdentityPublicKey::from_bytes(&peer).unwrap()),
    }
}

fn code_of(completed: Completed) -> String {
    match completed {
        Completed::EndToEnd(est) => est.security_code().to_string(),
        Completed::Standard(_) => "standard".to_owned(),
    }
}

impl KeySwap {
    fn new() -> Self {
        let mut rng = UnwrapErr(getrandom::SysRng);
        Self {
            as_ana: Some(DeviceIdentity::generate(&mut rng)),
            as_ken: Some(DeviceIdentity::generate(&mut rng)),
            ..Self::default()
        }
    }

    /// The device id to sign: the named one, unless the server signs as a device of its own.
    fn device<'a>(&'a self, named: &'a [u8]) -> &'a [u8] {
        self.own_device.as_deref().unwrap_or(named)
    }

    fn key(id: &Option<DeviceIdentity>) -> IdentityKey {
        IdentityKey(id.as_ref().unwrap().public().to_bytes())
    }

    /// Rewrites one message on its way to a device.
    fn rewrite(&mut self, m: ServerMessage) -> Option<ServerMessage> {
        let mut rng = UnwrapErr(getrandom::SysRng);
        match m {
            ServerMessage::IncomingCall {
                call_id,
                caller,
                caller_display_name,
                caller_device,
                caller_identity,
                decision,
                turn,
            } => {
                self.ken_key = Some(caller_identity.0);
                Some(ServerMessage::IncomingCall {
                    call_id,
                    caller,
                    caller_display_name,
                    caller_device,
                    caller_identity: Self::key(&self.as_ken),
                    decision,
                    turn,
                })
            }
            ServerMessage::CallAccepted {
                call_id,
                side,
                peer,
                peer_device,
                peer_identity,
                decision,
                turn,
            } => {
                let swapped = match side {
                    Side::Caller => {
                        self.ana_key = Some(peer_identity.0);
                        Self::key(&self.as_ana)
                    }
                    Side::Callee => Self::key(&self.as_ken),
                };
                Some(ServerMessage::CallAccepted {
                    call_id,
                    side,
                    peer,
                    peer_device,
                    peer_identity: swapped,
                    decision,
                    turn,
                })
            }
            ServerMessage::Handshake { call_id, data } => {
                let bytes = data.as_bytes();
                let out = match HandshakeMessage::parse(bytes).ok()? {
                    // Ken's Commit, for Ana: the server starts its own handshake with Ana as
                    // Ken's device.
                    HandshakeMessage::Commit(c) => {
                        self.kens_commit = Some(bytes.to_vec());
                        let (caller, commit) = CallerHandshake::start(
                            &mut rng,
                            self.as_ken.as_ref()?,
                            mitm_params(
                                &c.call_id,
                                self.device(&c.caller_device),
                                c.caller_fingerprint,
                                self.ana_key?,
                            ),
                        )
                        .ok()?;
                        self.towards_ana = Some(caller);
                        commit
                    }
                    // Ana's Response, for Ken: the server answers Ken's Commit as Ana's device.
                    HandshakeMessage::Response(r) => {
                        let (awaiting, reveal) = self
                            .towards_ana
                            .take()?
                            .on_response(self.as_ken.as_ref()?, bytes)
                            .ok()?;
                        self.towards_ana_confirm = Some(awaiting);
                        // Kept for Ken's Reveal (the next message for Ana).
                        self.reveal_for_ana = Some(reveal);
                        let (callee, response) = CalleeHandshake::respond(
                            &mut rng,
                            self.as_ana.as_ref()?,
                            mitm_params(
                                &r.call_id,
                                self.device(&r.callee_device),
                                r.callee_fingerprint,
                                self.ken_key?,
                            ),
                            self.kens_commit.as_ref()?,
                        )
                        .ok()?;
                        self.towards_ken = Some(callee);
                        response
                    }
                    // Ken's Reveal, for Ana: finish with Ken; Ana gets the server's Reveal.
                    HandshakeMessage::Reveal(_) => {
                        let (completed, confirm) = self
                            .towards_ken
                            .take()?
                            .complete(self.as_ana.as_ref()?, bytes)
                            .ok()?;
                        self.codes.push(code_of(completed));
                        self.confirm_for_ken = Some(confirm);
                        self.reveal_for_ana.take()?
                    }
                    // Ana's Confirm, for Ken: finish with Ana; Ken gets the server's Confirm.
                    HandshakeMessage::Confirm(_) => {
                        let completed = self.towards_ana_confirm.take()?.complete(bytes).ok()?;
                        self.codes.push(code_of(completed));
                        self.confirm_for_ken.take()?
                    }
                };
                Some(ServerMessage::Handshake {
                    call_id,
                    data: HandshakeBytes::new(out).ok()?,
                })
            }
            _ => None,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_swapping_the_keys_of_devices_seen_before_shows_key_changed_and_other_codes() {
    let server = TestServer::start().await;
    server.cmdlet(ALLOW_E2EE).await;
    let dir = server.dir().to_owned();
    let persistent = |ken: &mut EngineConfig, ana: &mut EngineConfig| {
        ken.identity = IdentityStore::in_dir(&dir.join("ken"), &ken.server, KEN);
        ana.identity = IdentityStore::in_dir(&dir.join("ana"), &ana.server, ANA);
    };

    // First an honest call through a proxy that changes nothing: first contact on both sides,
    // the same code, and Ken marks Ana verified after comparing it.
    let honest = signaling_proxy(&server.url, rewriting(|_| None)).await;
    let (k, a) = run_call(&server, &honest, (true, true), persistent).await;
    eprintln!("honest: ken {k:?}; ana {a:?}");
    assert_eq!(k.peer_keys, vec![PeerKeyStatus::FirstContact]);
    assert_eq!(a.peer_keys, vec![PeerKeyStatus::FirstContact]);
    assert!(k.code.is_some() && k.code == a.code);
    let kens = IdentityStore::in_dir(&dir.join("ken"), &server.url, KEN);
    let marked = kens
        .contacts()
        .unwrap()
        .update(|b| b.mark_verified(ANA, None))
        .unwrap();
    assert_eq!(marked, 1);

    // Then the server hands out keys of its own and runs both handshakes itself.
    let swap = Arc::new(std::sync::Mutex::new(KeySwap::new()));
    let state = swap.clone();
    let proxy = signaling_proxy(
        &server.url,
        rewriting(move |m| state.lock().unwrap().rewrite(m)),
    )
    .await;
    let (k, a) = run_call(&server, &proxy, (true, true), persistent).await;
    let codes = swap.lock().unwrap().codes.clone();
    eprintln!("swapped: ken {k:?}; ana {a:?}; server's codes {codes:?}");
    assert_eq!(
        codes.len(),
        2,
        "the server completed a handshake with each device"
    );
    // Key continuity: both devices knew the other's device under another key, before media.
    assert_eq!(
        k.peer_keys,
        vec![PeerKeyStatus::Changed { was_verified: true }]
    );
    assert_eq!(
        a.peer_keys,
        vec![PeerKeyStatus::Changed {
            was_verified: false
        }]
    );
    for (who, s) in [("ken", &k), ("ana", &a)] {
        assert!(
            s.warnings
                .iter()
                .any(|w| w.contains("device key has changed")),
            "{who}: {:?}",
            s.warnings
        );
    }
    assert!(k.warnings.iter().any(|w| w.contains("no longer verified")));
    // The call went ahead (the server completed both handshakes), and the codes tell.
    let (kc, ac) = (k.code.clone().unwrap(), a.code.clone().unwrap());
    assert_ne!(kc, ac, "the two people read different codes");
    assert!(codes.contains(&kc) && codes.contains(&ac));
    assert!(
        !k.first_audio && !a.first_audio,
        "no frame decrypts across the two key sets"
    );
    // The verified mark is gone: the key on record now is the one the handshake confirmed.
    let book = kens.contacts().unwrap();
    let ana = &book.book().devices()[0];
    assert!(!ana.seen.verified);
    assert!(ana.seen.key_changed.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handshake_signed_for_another_device_than_the_one_named_is_refused() {
    let server = TestServer::start().await;
    server.cmdlet(ALLOW_E2EE).await;
    let swap = Arc::new(std::sync::Mutex::new(KeySwap {
        own_device: Some(b"d-the-servers-own".to_vec()),
        ..KeySwap::new()
    }));
    let state = swap.clone();
    let proxy = signaling_proxy(
        &server.url,
        rewriting(move |m| state.lock().unwrap().rewrite(m)),
    )
    .await;
    let (k, a) = run_call(&server, &proxy, (true, true), |_, _| {}).await;
    eprintln!("ken {k:?}; ana {a:?}");
    for (who, s) in [("ken", &k), ("ana", &a)] {
        assert_eq!(s.connected, None, "{who}: never connected");
        assert!(!s.first_audio, "{who}: no media");
    }
    assert!(
        [&k, &a].iter().any(|s| matches!(
            &s.ended,
            Some(Ended::MediaFailed(why)) if why.contains("another device id")
        )),
        "refused for the device id"
    );
}

/// The server replays, alters and drops the sealed control messages of a standard call (hold,
/// resume): it cannot make them count. Ken holds (delivered); his resume is replaced by a replay
/// of the hold; his next hold is delivered with one byte altered; his last resume is
/// delivered. Ana warns (once for the call), stays held through both attacks, and resumes
/// with the last one. The proxy tells the messages apart by their sequence number (the only
/// thing it can read).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_cannot_forge_replay_or_alter_a_hold() {
    use sealcall_signaling::ControlBytes;
    let server = TestServer::start().await;
    let first: Arc<std::sync::Mutex<Option<ControlBytes>>> = Arc::default();
    let count = Arc::new(AtomicU32::new(0));
    let (f, n) = (first.clone(), count.clone());
    let proxy = signaling_proxy(
        &server.url,
        rewriting(move |m| {
            let ServerMessage::Control { call_id, data } = m else {
                return None;
            };
            n.fetch_add(1, Ordering::SeqCst);
            let seq = u64::from_be_bytes(data.as_bytes()[1..9].try_into().unwrap());
            let data = match seq {
                0 => {
                    *f.lock().unwrap() = Some(data);
                    return None;
                }
                1 => f.lock().unwrap().clone().unwrap(),
                2 => {
                    let mut bytes = data.into_bytes();
                    let last = bytes.len() - 1;
                    bytes[last] ^= 0x40;
                    ControlBytes::new(bytes).unwrap()
                }
                _ => return None,
            };
            Some(ServerMessage::Control { call_id, data })
        }),
    )
    .await;
    let mut ken_cfg = server.config(KEN, "tone:440", &server.wav("k.wav"));
    let mut ana_cfg = server.config(ANA, "tone:880", &server.wav("a.wav"));
    ana_cfg.auto_answer = true;
    ana_cfg.signaling = Some(proxy);
    ken_cfg.timers.connect_timeout = Duration::from_secs(8);
    let (ken, mut ken_ev) = engine(ken_cfg).await;
    let (_ana, mut ana_ev) = engine(ana_cfg).await;
    wait_for(&mut ana_ev, 10, |e| {
        matches!(e, EngineEvent::Setting(_)).then_some(())
    })
    .await;
    ken.call(ANA).unwrap();
    assert!(!connected(&mut ken_ev).await);
    assert!(!connected(&mut ana_ev).await);
    let held_by_peer = |e: &EngineEvent| match e {
        EngineEvent::Hold { hold, .. } => Some(hold.by_peer),
        _ => None,
    };
    ken.hold().unwrap();
    assert!(wait_for(&mut ana_ev, 5, held_by_peer).await);
    // Ken's resume, replaced by the replayed hold: refused with a warning, nothing changes.
    ken.resume().unwrap();
    let w = wait_for(&mut ana_ev, 5, |e| match e {
        EngineEvent::SecurityWarning { message, .. } => Some(message.clone()),
        EngineEvent::Hold { hold, .. } => panic!("the replay changed the hold: {hold:?}"),
        _ => None,
    })
    .await;
    assert!(w.contains("failed its end-to-end check"), "{w}");
    // Ken's next hold, altered on the way (refused; the warning is not repeated), then his
    // resume, which gets through: the first hold event Ana sees is the resume.
    ken.hold().unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    ken.resume().unwrap();
    assert!(
        !wait_for(&mut ana_ev, 5, |e| match e {
            EngineEvent::SecurityWarning { .. } => panic!("warned twice"),
            other => held_by_peer(other),
        })
        .await
    );
    assert!(count.load(Ordering::SeqCst) >= 4);
    ken.hangup().unwrap();
    ended(&mut ana_ev).await;
}

/// No recording starts without the notice reaching the other side: a server that drops every
/// control message to Ana (so she never sees "Ken is recording") leaves Ken's recording
/// unconfirmed; after the timeout nothing was recorded and the file is gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recording_whose_notice_the_server_drops_records_nothing() {
    use sealcall_engine::RecordingState;
    let server = TestServer::start().await;
    let dropped = Arc::new(AtomicU32::new(0));
    let d = dropped.clone();
    let proxy = signaling_proxy(
        &server.url,
        rewriting(move |m| match m {
            // Replaced by a harmless message: the notice never arrives.
            ServerMessage::Control { .. } => {
                d.fetch_add(1, Ordering::SeqCst);
                Some(ServerMessage::Pong { nonce: 0 })
            }
            _ => None,
        }),
    )
    .await;
    let ken_cfg = server.config(KEN, "tone:440", &server.wav("k.wav"));
    let mut ana_cfg = server.config(ANA, "tone:880", &server.wav("a.wav"));
    ana_cfg.auto_answer = true;
    ana_cfg.signaling = Some(proxy);
    let (ken, mut ken_ev) = engine(ken_cfg).await;
    let (_ana, mut ana_ev) = engine(ana_cfg).await;
    wait_for(&mut ana_ev, 10, |e| {
        matches!(e, EngineEvent::Setting(_)).then_some(())
    })
    .await;
    ken.call(ANA).unwrap();
    assert!(!connected(&mut ken_ev).await);
    let path = server.wav("never.wav");
    ken.start_recording(&path).unwrap();
    let state = |e: &EngineEvent| match e {
        EngineEvent::Recording { state, .. } => Some(state.clone()),
        EngineEvent::PeerRecording { .. } => panic!("the notice was dropped"),
        _ => None,
    };
    assert!(matches!(
        wait_for(&mut ken_ev, 5, state).await,
        RecordingState::Waiting { .. }
    ));
    let failed = wait_for(&mut ken_ev, 10, state).await;
    let RecordingState::Failed(why) = failed else {
        panic!("expected a failed recording, got {failed:?}");
    };
    assert!(why.contains("did not confirm"), "{why}");
    assert!(!path.exists(), "nothing recorded, no file left");
    assert!(dropped.load(Ordering::SeqCst) >= 1);
    ken.hangup().unwrap();
    ended(&mut ken_ev).await;
}
