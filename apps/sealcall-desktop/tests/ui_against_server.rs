//! The desktop app in an `egui_kittest` harness against a real in-process server and real
//! engines (real WebRTC over loopback), queried and driven by accessible labels only.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use egui_kittest::kittest::{NodeT, Queryable};
use sealcall_desktop::labels;
use sealcall_engine::{EngineEvent, PostQuantumStatus};
use sealcall_policy::Feature;

#[test]
fn sign_in_reports_clear_errors_then_shows_people_and_remembers_the_server() {
    let rt = runtime();
    let server = TestServer::start(&rt);
    let mut app = server.app(&rt, "");
    app.step();
    app.check_accessibility();

    // Empty fields: a message, nothing sent.
    click(&mut app, labels::SIGN_IN);
    assert!(
        app.query_by_label_contains("Enter the server address")
            .is_some()
    );

    // A server address that is not a URL.
    app.get_by_label(labels::SERVER).focus();
    app.get_by_label(labels::SERVER).type_text("localhost:1");
    app.get_by_label(labels::USER).focus();
    app.get_by_label(labels::USER).type_text(ALEX);
    app.get_by_label(labels::PASSWORD).focus();
    app.get_by_label(labels::PASSWORD)
        .type_text("wrong password");
    app.step();
    click(&mut app, labels::SIGN_IN);
    assert!(
        app.query_by_label_contains("must start with https://")
            .is_some()
    );

    // Nothing listening there: unreachable.
    app.state_mut().form_mut().server = "http://127.0.0.1:9".into();
    click(&mut app, labels::SIGN_IN);
    wait_for_label_containing(&mut app, "Cannot reach the server");

    // The right server, a wrong password.
    app.state_mut().form_mut().server = server.url.clone();
    click(&mut app, labels::SIGN_IN);
    wait_for_label_containing(&mut app, "wrong user name or password");

    // The right password: the People tab with the directory.
    app.state_mut().form_mut().password = PASSWORD.into();
    click(&mut app, labels::SIGN_IN);
    wait_for_label(&mut app, &labels::call("Echo Bot"));
    assert!(
        app.query_by_label_contains("Signed in as Alex Ruiz")
            .is_some()
    );
    assert!(
        app.query_by_label(&labels::call("Alex Ruiz")).is_none(),
        "no call button for oneself"
    );
    app.check_accessibility();

    // Search narrows the list.
    app.get_by_label(labels::SEARCH).focus();
    app.get_by_label(labels::SEARCH).type_text("sam");
    wait_until(&mut app, "the search to drop Echo Bot", |h| {
        h.query_by_label(&labels::call("Echo Bot")).is_none()
            && h.query_by_label(&labels::call("Sam Meyer")).is_some()
    });

    // The server and the name are remembered (never the password).
    let prefs = app.state().prefs_path().unwrap().to_owned();
    let saved = sealcall_desktop::prefs::Prefs::load(&prefs);
    assert_eq!(saved.server, server.url);
    assert_eq!(saved.user, ALEX);
    assert!(!std::fs::read_to_string(&prefs).unwrap().contains(PASSWORD));

    // Sign out: back to the form.
    click(&mut app, labels::SIGN_OUT);
    wait_for_label(&mut app, labels::SIGN_IN);
}

#[test]
fn a_private_server_is_trusted_by_its_pin_or_ca_file_remembered_for_that_server() {
    let rt = runtime();
    let server = TestServer::start_tls(&rt);
    let prefs = server.dir().join("prefs-tls.json");
    let mut app = server.app_with_prefs(&rt, ALEX, prefs.clone());
    app.step();

    // The self-signed certificate is not trusted: the message says how to trust it.
    click(&mut app, labels::SIGN_IN);
    wait_for_label_containing(&mut app, "not trusted");
    assert!(app.query_by_label_contains(&server.pin()).is_some());

    // Both a CA file and a pin: a message, nothing sent.
    app.state_mut().form_mut().password = PASSWORD.into();
    app.state_mut().form_mut().ca_file = "/nowhere.pem".into();
    app.get_by_label(labels::PIN).focus();
    app.get_by_label(labels::PIN).type_text(&server.pin());
    app.step();
    click(&mut app, labels::SIGN_IN);
    assert!(app.query_by_label_contains("not both").is_some());

    // The pin alone: signed in, and remembered for this server.
    app.state_mut().form_mut().ca_file.clear();
    click(&mut app, labels::SIGN_IN);
    wait_for_label_containing(&mut app, "Signed in as");
    let saved = sealcall_desktop::prefs::Prefs::load(&prefs);
    assert_eq!(saved.trust[&server.url].pin, server.pin());
    click(&mut app, labels::SIGN_OUT);
    wait_for_label(&mut app, labels::SIGN_IN);
    drop(app);

    // The next start fills the pin in for that server and signs in with it.
    let mut again = server.app_with_prefs(&rt, ALEX, prefs.clone());
    again.step();
    assert_eq!(again.state().form().pin, server.pin());
    sign_in(&mut again);
    click(&mut again, labels::SIGN_OUT);
    wait_for_label(&mut again, labels::SIGN_IN);

    // A CA file (the server's certificate) works too, and replaces the remembered pin.
    again.state_mut().form_mut().pin.clear();
    again.state_mut().form_mut().ca_file = server.cert_file().display().to_string();
    again.state_mut().form_mut().password = PASSWORD.into();
    click(&mut again, labels::SIGN_IN);
    wait_for_label_containing(&mut again, "Signed in as");
    let saved = sealcall_desktop::prefs::Prefs::load(&prefs);
    assert_eq!(
        saved.trust[&server.url].ca_file,
        server.cert_file().display().to_string()
    );
    assert!(saved.trust[&server.url].pin.is_empty());
}

#[test]
fn the_e2ee_toggle_persists_and_syncs_live_to_a_second_device() {
    let rt = runtime();
    let server = TestServer::start(&rt);
    server.policy(&rt, "DisabledUserOverride");
    let mut laptop = server.app(&rt, ALEX);
    let mut desktop = server.app(&rt, ALEX);
    sign_in(&mut laptop);
    sign_in(&mut desktop);
    // The laptop is told that a device joined the account (the desktop); Alex knows it was him.
    wait_for_label_containing(&mut laptop, "was added to your account");
    click(&mut laptop, labels::DISMISS);
    for app in [&mut laptop, &mut desktop] {
        click(app, labels::SETTINGS);
        wait_for_label(app, labels::E2EE_TOGGLE);
        assert!(!is_checked(app, labels::E2EE_TOGGLE), "off until chosen");
        assert!(!is_disabled(app, labels::E2EE_TOGGLE));
    }
    laptop.check_accessibility();

    click(&mut laptop, labels::E2EE_TOGGLE);
    wait_until(&mut laptop, "the toggle to turn on", |h| {
        is_checked(h, labels::E2EE_TOGGLE) && !is_disabled(h, labels::E2EE_TOGGLE)
    });
    // The other device follows without any action.
    wait_until(
        &mut desktop,
        "the change to show on the other device",
        |h| is_checked(h, labels::E2EE_TOGGLE),
    );

    // And back, from the other device.
    click(&mut desktop, labels::E2EE_TOGGLE);
    wait_until(&mut laptop, "the laptop to follow the desktop", |h| {
        !is_checked(h, labels::E2EE_TOGGLE)
    });
    click(&mut laptop, labels::E2EE_TOGGLE);
    wait_until(&mut desktop, "the desktop to follow the laptop", |h| {
        is_checked(h, labels::E2EE_TOGGLE)
    });

    // It persists on the server: a fresh sign-in sees it on.
    click(&mut laptop, labels::SIGN_OUT);
    wait_for_label(&mut laptop, labels::SIGN_IN);
    laptop.state_mut().form_mut().password = PASSWORD.into();
    sign_in(&mut laptop);
    click(&mut laptop, labels::SETTINGS);
    wait_for_label(&mut laptop, labels::E2EE_TOGGLE);
    assert!(is_checked(&laptop, labels::E2EE_TOGGLE));
}

#[test]
fn the_toggle_is_disabled_under_disabled_and_locked_on_under_both_required_values() {
    let rt = runtime();
    let server = TestServer::start(&rt);
    server.policy(&rt, "Disabled");
    let mut app = server.app(&rt, ALEX);
    sign_in(&mut app);
    click(&mut app, labels::SETTINGS);
    wait_for_label(&mut app, labels::E2EE_TOGGLE);
    assert!(is_disabled(&app, labels::E2EE_TOGGLE));
    assert!(!is_checked(&app, labels::E2EE_TOGGLE));
    assert!(app.query_by_label(labels::TURNED_OFF).is_some());
    app.check_accessibility();

    // The policy changes while the app is open: the screen follows, each Required value with
    // its own wording.
    let pq_message =
        "Your organisation requires end-to-end encrypted, post-quantum protected calls.";
    for (policy, shown, not_shown) in [
        ("Required", labels::REQUIRED, labels::REQUIRED_POST_QUANTUM),
        (
            "RequiredPostQuantum",
            labels::REQUIRED_POST_QUANTUM,
            labels::REQUIRED,
        ),
        ("Required", labels::REQUIRED, pq_message),
    ] {
        server.policy(&rt, policy);
        wait_until(&mut app, &format!("{policy}: {shown}"), |h| {
            h.query_by_label(shown).is_some()
        });
        assert!(is_disabled(&app, labels::E2EE_TOGGLE), "{policy}");
        assert!(is_checked(&app, labels::E2EE_TOGGLE), "{policy}");
        assert!(app.query_by_label(labels::TURNED_OFF).is_none(), "{policy}");
        assert!(app.query_by_label(not_shown).is_none(), "{policy}");
        if policy == "RequiredPostQuantum" {
            assert!(app.query_by_label(pq_message).is_some());
            app.check_accessibility();
        }
    }
}

#[test]
fn an_e2ee_call_to_the_echo_bot_shows_the_lock_the_code_and_blocks_features() {
    let rt = runtime();
    let server = TestServer::start(&rt);
    server.policy(&rt, "DisabledUserOverride");
    server.set_e2ee(&rt, ALEX, true);
    let (_echo, mut echo_events) = server.echo_bot(&rt);
    let mut app = server.app(&rt, ALEX);
    sign_in(&mut app);
    wait_for_label(&mut app, &labels::call("Echo Bot"));
    click(&mut app, &labels::call("Echo Bot"));

    wait_for_label(&mut app, labels::SHIELD_E2EE);
    assert!(app.query_by_label(labels::SHIELD_STANDARD).is_none());
    let echo_code = wait_event(&rt, &mut echo_events, |e| match e {
        EngineEvent::SecurityCode { code, .. } => Some(code.clone()),
        _ => None,
    });
    wait_for_label_containing(&mut app, "Call time");
    assert!(app.query_by_label(labels::NO_AUDIO_DEVICE).is_some());

    // The input can be changed during the call: choose "Silence" in the input chooser.
    app.get_all_by_role(egui::accesskit::Role::ComboBox)
        .next()
        .expect("the input chooser")
        .click();
    app.step();
    app.step();
    click(&mut app, "Silence");
    wait_until(&mut app, "the input chooser to show Silence", |h| {
        h.get_all_by_role(egui::accesskit::Role::ComboBox)
            .next()
            .and_then(|c| c.value())
            .as_deref()
            == Some("Silence")
    });
    assert!(
        app.query_by_label(labels::NO_AUDIO_DEVICE).is_none(),
        "the test-tone notice goes once the input is no longer the missing device"
    );

    // The shield opens the security code: the same 20 digits as the other side's engine.
    click(&mut app, labels::SHIELD_E2EE);
    wait_for_label(&mut app, &echo_code);
    assert_eq!(echo_code.len(), 23, "four groups of five: {echo_code}");
    // Post-quantum by default: said next to the lock.
    assert!(
        app.query_by_label(PostQuantumStatus::Protected.label())
            .is_some()
    );
    assert!(app.query_by_label(labels::SECURITY_CODE).is_some());
    assert!(
        app.query_by_label_contains("If they differ, hang up")
            .is_some()
    );

    // Every feature in "More" is disabled in an E2EE call.
    click(&mut app, labels::MORE);
    for feature in Feature::ALL {
        assert!(
            is_disabled(&app, feature.display_name()),
            "{} must be disabled in an E2EE call",
            feature.display_name()
        );
    }
    app.get_by_label(Feature::Recording.display_name()).hover();
    // The tooltip explains why.
    wait_for_label(
        &mut app,
        "Recording isn't available during an end-to-end encrypted call",
    );
    app.check_accessibility();
    click(&mut app, labels::MORE);
    // Hold is not among them: it works in end-to-end encrypted calls too.
    assert!(app.query_by_label(labels::HOLD).is_some());

    // Statistics arrive.
    wait_for_label(&mut app, "opus/48000/1");
    assert!(app.query_by_label("Frames protected").is_some());
    assert!(app.query_by_label("Authentication failures").is_some());
    // The app's input here is the test tone (no sound card): automatic processing leaves it
    // alone, and the panel says so.
    assert!(app.query_by_label("Audio processing").is_some());
    assert!(
        app.query_by_label("– (echo cancellation off)").is_some(),
        "no echo canceller on a test tone"
    );

    click(&mut app, labels::HANG_UP);
    wait_for_label(&mut app, labels::HISTORY);
    click(&mut app, labels::HISTORY);
    wait_for_label_containing(&mut app, "Echo Bot · outgoing");
    let entry = text_of(&app, "Echo Bot · outgoing");
    assert!(entry.ends_with("end-to-end encrypted"), "{entry}");
}

#[test]
fn in_a_standard_call_the_shield_says_why_more_offers_recording_and_hold_works() {
    let rt = runtime();
    let server = TestServer::start(&rt);
    server.policy(&rt, "DisabledUserOverride");
    // Alex has not turned E2EE on: the call to the echo bot is standard.
    let (_echo, mut echo_events) = server.echo_bot(&rt);
    let mut app = server.app(&rt, ALEX);
    sign_in(&mut app);
    wait_for_label(&mut app, &labels::call("Echo Bot"));
    click(&mut app, &labels::call("Echo Bot"));
    wait_for_label(&mut app, labels::SHIELD_STANDARD);
    assert!(app.query_by_label(labels::SHIELD_E2EE).is_none());
    wait_event(&rt, &mut echo_events, |e| is_connected(e).then_some(()));
    wait_for_label_containing(&mut app, "Call time");

    click(&mut app, labels::SHIELD_STANDARD);
    wait_for_label(&mut app, "This call is not end-to-end encrypted");
    assert!(app.query_by_label(labels::SECURITY_CODE).is_none());

    // No placeholder menu: "More" lists only what Sealcall offers in a standard call
    // (docs/USER.md says what is missing and why).
    click(&mut app, labels::MORE);
    for feature in Feature::ALL {
        let offered = sealcall_engine::STANDARD_CALL_FEATURES.contains(&feature);
        assert_eq!(
            app.query_by_label(feature.display_name()).is_some(),
            offered,
            "{}",
            feature.display_name()
        );
    }
    // Recording: a file to choose (suggested), the other side is told, then it records.
    click(&mut app, Feature::Recording.display_name());
    wait_for_label(&mut app, labels::START_RECORDING);
    click(&mut app, labels::START_RECORDING);
    let peer_recording = |e: &EngineEvent| match e {
        EngineEvent::PeerRecording { recording, .. } => Some(*recording),
        _ => None,
    };
    assert!(wait_event(&rt, &mut echo_events, peer_recording));
    wait_for_label(&mut app, labels::RECORDING);
    app.check_accessibility();
    click(&mut app, labels::STOP_RECORDING);
    wait_for_label_containing(&mut app, "Recording saved to");
    assert!(!wait_event(&rt, &mut echo_events, peer_recording));
    let saved = text_of(&app, "Recording saved to");
    let path = saved
        .strip_prefix("Recording saved to ")
        .and_then(|rest| rest.rsplit_once(" ("))
        .map(|(path, _)| path.to_owned())
        .unwrap();
    // A WAV header with two channels, and about a second of audio or more.
    let wav = std::fs::read(&path).unwrap();
    assert_eq!(&wav[..4], b"RIFF", "{path}");
    assert_eq!(u16::from_le_bytes([wav[22], wav[23]]), 2, "stereo: {path}");

    // Hold: both sides see it, the button turns into Resume; resuming clears it on both.
    click(&mut app, labels::HOLD);
    wait_for_label(&mut app, labels::ON_HOLD_BY_ME);
    let held = |e: &EngineEvent| match e {
        EngineEvent::Hold { hold, .. } => Some(hold.by_peer),
        _ => None,
    };
    assert!(
        wait_event(&rt, &mut echo_events, held),
        "the echo bot is held"
    );
    click(&mut app, labels::RESUME);
    wait_for_label(&mut app, labels::HOLD);
    assert!(app.query_by_label(labels::ON_HOLD_BY_ME).is_none());
    assert!(!wait_event(&rt, &mut echo_events, held), "and resumed");

    click(&mut app, labels::HANG_UP);
    wait_for_label(&mut app, labels::HISTORY);
    click(&mut app, labels::HISTORY);
    wait_for_label_containing(&mut app, "Echo Bot · outgoing");
    assert!(app.query_by_label_contains("standard encryption").is_some());
}

#[test]
fn an_incoming_call_can_be_accepted_and_declined() {
    let rt = runtime();
    let server = TestServer::start(&rt);
    server.policy(&rt, "DisabledUserOverride");
    server.set_e2ee(&rt, ALEX, true);
    server.set_e2ee(&rt, SAM, true);
    let mut app = server.app(&rt, ALEX);
    sign_in(&mut app);
    let (sam, mut sam_events) = server.engine(&rt, SAM);

    sam.call(ALEX).unwrap();
    wait_for_label(&mut app, labels::DECLINE);
    assert!(
        app.query_by_label_contains("Incoming call from Sam Meyer")
            .is_some()
    );
    // Key continuity before answering: Alex has never been in a call with this device.
    wait_for_label_containing(&mut app, "First call with Sam Meyer");
    app.check_accessibility();
    click(&mut app, labels::DECLINE);
    wait_event(&rt, &mut sam_events, |e| match e {
        EngineEvent::Call(sealcall_engine::call::CallEvent::Ended { .. }) => Some(()),
        _ => None,
    });

    sam.call(ALEX).unwrap();
    wait_for_label(&mut app, labels::ACCEPT);
    click(&mut app, labels::ACCEPT);
    wait_for_label(&mut app, labels::SHIELD_E2EE);
    wait_for_label_containing(&mut app, "Call time");
    sam.hangup().unwrap();
    wait_for_label(&mut app, labels::HISTORY);
    click(&mut app, labels::HISTORY);
    wait_for_label_containing(&mut app, "Sam Meyer · incoming");
    let entries = texts_of(&app, "Sam Meyer · incoming");
    assert_eq!(entries.len(), 2, "{entries:?}");
    assert!(entries[0].ends_with("end-to-end encrypted"), "{entries:?}");
    assert!(entries[1].ends_with("not connected"), "{entries:?}");
}

#[test]
fn each_person_reads_at_a_glance_on_one_row() {
    let rt = runtime();
    let server = TestServer::start(&rt);
    let mut app = server.app(&rt, ALEX);
    sign_in(&mut app);
    wait_for_label(&mut app, &labels::call("Echo Bot"));
    for width in [900.0, 420.0] {
        app.set_size(egui::vec2(width, 700.0));
        app.step();
        app.step();
        let line = 24.0;
        for (name, address) in [("Echo Bot", ECHO), ("Sam Meyer", SAM)] {
            let name_rect = app.get_by_label(name).rect();
            // The whole address is one label (shortened with "…" on screen when narrow).
            let address_node = app.get_by_label(address);
            let ak = address_node.accesskit_node();
            let text = ak.value().or_else(|| ak.label()).map(|t| t.to_string());
            assert_eq!(text.as_deref(), Some(address));
            let address_rect = address_node.rect();
            let button = app.get_by_label(&labels::call(name)).rect();
            assert!(
                name_rect.height() < line && address_rect.height() < line,
                "at {width}: {name} and {address} are one line each: {name_rect:?} {address_rect:?}"
            );
            assert!(
                address_rect.top() >= name_rect.bottom() - 1.0,
                "the address is under the name"
            );
            assert!(
                button.left() > name_rect.right() && button.left() > address_rect.right(),
                "at {width}: the Call button is to the right: {button:?}"
            );
            assert!(
                button.center().y > name_rect.top() && button.center().y < address_rect.bottom(),
                "at {width}: the Call button is on the person's row"
            );
            assert!(
                button.right() > width - 40.0,
                "at {width}: the Call button is at the right edge: {button:?}"
            );
        }
        if width > 800.0 {
            // Wide: the address is laid out at its natural width, not squeezed into a column.
            let body = app.ctx.global_style().text_styles[&egui::TextStyle::Body].clone();
            let natural = app.ctx.fonts_mut(|f| {
                f.layout_no_wrap(SAM.to_owned(), body, egui::Color32::WHITE)
                    .size()
                    .x
            });
            let sam = app.get_by_label(SAM).rect();
            assert!(
                (sam.width() - natural).abs() < 1.0,
                "the whole address shows: {sam:?}, {natural}"
            );
        }
    }
    app.check_accessibility();
}

/// Replaces, in every contact store under `dir`, the key on record for `user`'s devices with
/// another valid key: as if the device had another key at the last call.
fn change_recorded_key(dir: &std::path::Path, user: &str) -> usize {
    let other = sealcall_e2ee::DeviceIdentity::generate(&mut sealcall_e2ee::rand_core::UnwrapErr(
        getrandom::SysRng,
    ));
    let other = hex::encode(other.public().to_bytes());
    let mut changed = 0;
    for entry in walk(dir) {
        if !entry.to_string_lossy().ends_with(".contacts.json") {
            continue;
        }
        let text = std::fs::read_to_string(&entry).unwrap();
        let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
        if let Some(devices) = v["contacts"][user].as_object_mut() {
            for d in devices.values_mut() {
                d["identity_key"] = other.clone().into();
                changed += 1;
            }
        }
        std::fs::write(&entry, v.to_string()).unwrap();
    }
    changed
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

fn call_echo_and_open_the_shield(
    app: &mut egui_kittest::Harness<'static, sealcall_desktop::SealcallApp>,
) {
    wait_for_label(app, &labels::call("Echo Bot"));
    click(app, &labels::call("Echo Bot"));
    wait_for_label(app, labels::SHIELD_E2EE);
    wait_for_label_containing(app, "Call time");
    click(app, labels::SHIELD_E2EE);
    wait_for_label(app, labels::SECURITY_CODE);
}

fn hang_up(app: &mut egui_kittest::Harness<'static, sealcall_desktop::SealcallApp>) {
    click(app, labels::HANG_UP);
    wait_for_label(app, labels::HISTORY);
}

#[test]
fn a_contact_marked_verified_shows_verified_until_its_key_changes() {
    let rt = runtime();
    let server = TestServer::start(&rt);
    server.policy(&rt, "DisabledUserOverride");
    server.set_e2ee(&rt, ALEX, true);
    let (_echo, _echo_events) = server.echo_bot(&rt);
    let mut app = server.app(&rt, ALEX);
    sign_in(&mut app);

    // First call: a first contact, with its safety number; the two compare the code and mark it.
    call_echo_and_open_the_shield(&mut app);
    wait_for_label_containing(&mut app, "First call with Echo Bot");
    assert!(app.query_by_label_contains("Safety number").is_some());
    assert_eq!(app.query_all_by_label(labels::VERIFIED).count(), 0);
    click(&mut app, labels::MARK_VERIFIED);
    wait_for_label_containing(&mut app, "Echo Bot is verified on this device");
    assert!(app.query_all_by_label(labels::VERIFIED).count() >= 1);
    hang_up(&mut app);

    // The next call, same key: "Verified" at once, no button.
    call_echo_and_open_the_shield(&mut app);
    wait_for_label_containing(&mut app, "You verified Echo Bot's device before");
    assert!(app.query_all_by_label(labels::VERIFIED).count() >= 1);
    assert!(app.query_by_label(labels::MARK_VERIFIED).is_none());
    hang_up(&mut app);

    // The key on record no longer matches the one the service hands out: a loud warning, and
    // the verified mark is gone.
    assert_eq!(change_recorded_key(server.dir(), ECHO), 1);
    call_echo_and_open_the_shield(&mut app);
    wait_for_label_containing(
        &mut app,
        "device key has changed since your last call and is no longer verified",
    );
    assert_eq!(app.query_all_by_label(labels::VERIFIED).count(), 0);
    assert!(app.query_by_label(labels::MARK_VERIFIED).is_some());
    app.check_accessibility();
    hang_up(&mut app);
}

#[test]
fn a_device_added_to_the_account_is_shown_until_dismissed() {
    let rt = runtime();
    let server = TestServer::start(&rt);
    let mut app = server.app(&rt, ALEX);
    sign_in(&mut app);
    wait_for_label(&mut app, labels::SIGN_OUT);
    // Alex signs in somewhere else: a new device on the account.
    let (other, _events) = server.engine(&rt, ALEX);
    let id = other.info().device_id.clone();
    wait_for_label_containing(&mut app, "was added to your account");
    let alert = text_of(&app, "was added to your account");
    assert!(
        alert.contains(&id) && alert.contains(&other.info().fingerprint),
        "{alert}"
    );
    assert!(alert.contains("If it was not you, remove it"), "{alert}");
    app.check_accessibility();
    click(&mut app, labels::DISMISS);
    wait_until(&mut app, "the alert to go", |h| {
        h.query_by_label_contains("was added to your account")
            .is_none()
    });
}

#[test]
fn the_audio_processing_choice_applies_and_is_remembered() {
    use sealcall_engine::media::{AudioProcessingSetting, ProcessingParts};
    let rt = runtime();
    let server = TestServer::start(&rt);
    let prefs = server.dir().join("prefs-apm.json");
    let mut app = server.app_with_prefs(&rt, ALEX, prefs.clone());
    sign_in(&mut app);
    click(&mut app, labels::SETTINGS);
    wait_for_label(&mut app, labels::PROCESSING_AUTO);
    assert!(
        is_checked(&app, labels::PROCESSING_AUTO),
        "automatic by default"
    );
    assert_eq!(app.state().audio_processing(), AudioProcessingSetting::Auto);
    // Automatic shows what runs for a microphone, not editable.
    assert!(is_checked(&app, labels::ECHO_CANCELLATION));
    assert!(is_disabled(&app, labels::ECHO_CANCELLATION));

    click(&mut app, labels::PROCESSING_ON);
    assert_eq!(
        app.state().audio_processing(),
        AudioProcessingSetting::On(ProcessingParts::ALL)
    );
    click(&mut app, labels::NOISE_SUPPRESSION);
    let without_ns = AudioProcessingSetting::On(ProcessingParts {
        noise_suppression: false,
        ..ProcessingParts::ALL
    });
    assert_eq!(app.state().audio_processing(), without_ns);
    assert!(!is_checked(&app, labels::NOISE_SUPPRESSION));
    app.check_accessibility();
    let saved = sealcall_desktop::prefs::Prefs::load(&prefs).audio_processing;
    assert_eq!(saved.as_deref(), Some("aec,agc,hpf"));

    // A new window with the same preferences starts with it.
    let mut again = server.app_with_prefs(&rt, ALEX, prefs.clone());
    assert_eq!(again.state().audio_processing(), without_ns);
    sign_in(&mut again);
    click(&mut again, labels::SETTINGS);
    wait_for_label(&mut again, labels::PROCESSING_OFF);
    click(&mut again, labels::PROCESSING_OFF);
    assert_eq!(
        again.state().audio_processing(),
        AudioProcessingSetting::Off
    );
    assert!(!is_checked(&again, labels::ECHO_CANCELLATION));
    assert_eq!(
        sealcall_desktop::prefs::Prefs::load(&prefs)
            .audio_processing
            .as_deref(),
        Some("off")
    );
}

#[test]
fn requiring_post_quantum_on_this_device_applies_and_is_remembered() {
    let rt = runtime();
    let server = TestServer::start(&rt);
    server.policy(&rt, "DisabledUserOverride");
    let prefs = server.dir().join("prefs-pq.json");
    let mut app = server.app_with_prefs(&rt, ALEX, prefs.clone());
    sign_in(&mut app);
    click(&mut app, labels::SETTINGS);
    wait_for_label(&mut app, labels::REQUIRE_POST_QUANTUM);
    assert!(
        !is_checked(&app, labels::REQUIRE_POST_QUANTUM),
        "offered, not required, by default"
    );
    assert!(!app.state().requires_post_quantum());
    click(&mut app, labels::REQUIRE_POST_QUANTUM);
    assert!(is_checked(&app, labels::REQUIRE_POST_QUANTUM));
    assert!(app.state().requires_post_quantum());
    assert!(sealcall_desktop::prefs::Prefs::load(&prefs).require_post_quantum);

    // A new window with the same preferences starts with it, and keeps it through sign-in.
    let mut again = server.app_with_prefs(&rt, ALEX, prefs.clone());
    assert!(again.state().requires_post_quantum());
    sign_in(&mut again);
    click(&mut again, labels::SETTINGS);
    wait_for_label(&mut again, labels::REQUIRE_POST_QUANTUM);
    assert!(is_checked(&again, labels::REQUIRE_POST_QUANTUM));
    assert!(sealcall_desktop::prefs::Prefs::load(&prefs).require_post_quantum);
    click(&mut again, labels::REQUIRE_POST_QUANTUM);
    assert!(!again.state().requires_post_quantum());
    assert!(!sealcall_desktop::prefs::Prefs::load(&prefs).require_post_quantum);
}
