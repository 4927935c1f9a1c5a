//! Video in the desktop app, against a real in-process server and real engines (real WebRTC
//! over loopback): the camera button, the screen-share picker, the peer's camera and screen,
//! the self-views, the per-stream statistics and Settings > Video. Driven by accessible labels;
//! the picture counters on the call's state show the textures keep being updated.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use egui_kittest::kittest::Queryable;
use sealcall_desktop::labels;
use sealcall_engine::{EngineEvent, EngineEvents, ScreenSpec, VideoSpec, VideoStream};
use tokio::runtime::Runtime;

/// Waits for a picture of `stream` from the other side at `events`' engine.
fn wait_picture(rt: &Runtime, events: &mut EngineEvents, stream: VideoStream) {
    wait_event(rt, events, |e| match e {
        EngineEvent::Video { picture, .. } if picture.stream == stream => Some(()),
        _ => None,
    });
}

/// Waits for the other side's engine to report that `stream` stopped.
fn wait_stopped(rt: &Runtime, events: &mut EngineEvents, stream: VideoStream) {
    wait_event(rt, events, |e| match e {
        EngineEvent::VideoStopped { stream: s, .. } if *s == stream => Some(()),
        _ => None,
    });
}

/// Signs Alex in (E2EE on) and calls the echo bot; returns once the call is connected.
fn e2ee_call_to_the_echo_bot(
    rt: &Runtime,
    server: &TestServer,
) -> (
    egui_kittest::Harness<'static, sealcall_desktop::SealcallApp>,
    sealcall_engine::Engine,
    EngineEvents,
) {
    server.policy(rt, "DisabledUserOverride");
    server.set_e2ee(rt, ALEX, true);
    let (echo, echo_events) = server.echo_bot(rt);
    let mut app = server.app(rt, ALEX);
    sign_in(&mut app);
    wait_for_label(&mut app, &labels::call("Echo Bot"));
    click(&mut app, &labels::call("Echo Bot"));
    wait_for_label(&mut app, labels::SHIELD_E2EE);
    wait_for_label_containing(&mut app, "Call time");
    (app, echo, echo_events)
}

#[test]
fn the_camera_button_sends_video_and_shows_the_echo_and_the_self_view() {
    let rt = runtime();
    let server = TestServer::start(&rt);
    let (mut app, _echo, mut echo_events) = e2ee_call_to_the_echo_bot(&rt, &server);
    assert!(!shown(&app, labels::REMOTE_VIDEO), "no video before asked");
    assert!(!shown(&app, labels::YOUR_CAMERA));
    assert!(!shown(&app, labels::CAMERA_OFF));

    click(&mut app, labels::CAMERA_ON);
    wait_for_label(&mut app, labels::CAMERA_OFF);
    // There is no camera here: the engine sends the test pattern and the app says so.
    wait_for_label_containing(&mut app, "sending the test pattern");
    // The echo bot receives the camera and sends it back.
    wait_picture(&rt, &mut echo_events, VideoStream::Camera);
    wait_for_label(&mut app, labels::YOUR_CAMERA);
    wait_for_label(&mut app, labels::REMOTE_VIDEO);
    app.check_accessibility();

    // The remote picture keeps being updated (one texture update per new picture).
    let uploads = |h: &egui_kittest::Harness<'static, _>| call_of(h).video.remote_camera.uploads();
    let first = uploads(&app);
    wait_until(&mut app, "ten more remote pictures", |h| {
        uploads(h) >= first + 10
    });
    let video = &call_of(&app).video;
    assert_eq!(video.remote_camera.size(), Some([640, 480]));
    assert!(video.remote_camera.received() >= video.remote_camera.uploads());
    assert!(!video.remote_screen.is_shown());
    // The peer's camera is the main picture; the self-view is small beside it.
    let remote = app.get_by_label(labels::REMOTE_VIDEO).rect();
    let own = app.get_by_label(labels::YOUR_CAMERA).rect();
    assert!(remote.area() > 4.0 * own.area(), "{remote:?} vs {own:?}");
    assert!(own.left() >= remote.right(), "the self-view is beside it");

    // The statistics have a camera section: sent and received at 640×480, all protected.
    wait_for_label(&mut app, labels::STATS_CAMERA);
    wait_until(&mut app, "the camera's resolution both ways", |h| {
        h.query_all_by_label("640×480").count() == 2
    });
    assert!(!shown(&app, labels::STATS_SCREEN), "no screen share yet");
    assert!(shown(&app, "Video frames protected"));
    assert!(shown(&app, "Key epoch"));
    let stats = call_of(&app).stats.clone().unwrap();
    assert!(stats.camera.frames_sent > 0 && stats.camera.frames_decoded > 0);
    assert_eq!(stats.camera.frames_refused, 0);
    assert!(stats.camera.send_epoch.is_some() && stats.camera.receive_epoch.is_some());

    // The one shield covers the video too.
    click(&mut app, labels::SHIELD_E2EE);
    wait_for_label_containing(
        &mut app,
        "audio, video and screen sharing are end-to-end encrypted",
    );

    // In a wide window the security panel and the video statistics go beside the pictures.
    assert!(!shown(&app, labels::VIDEO_STATS), "one panel when narrow");
    app.set_size(egui::vec2(1200.0, 860.0));
    wait_for_label(&mut app, labels::VIDEO_STATS);
    let picture = app.get_by_label(labels::REMOTE_VIDEO).rect();
    let code = app.get_by_label(labels::SECURITY_CODE).rect();
    let camera_stats = app.get_by_label(labels::STATS_CAMERA).rect();
    assert!(code.left() > picture.right() && camera_stats.left() > picture.right());
    assert!(
        code.top() < picture.bottom(),
        "beside, not under, the pictures"
    );
    assert!(shown(&app, labels::STATS), "the audio numbers stay");
    app.set_size(egui::vec2(900.0, 700.0));
    wait_until(&mut app, "the narrow layout again", |h| {
        !shown(h, labels::VIDEO_STATS)
    });

    // Off: the self-view goes at once, and pictures still on their way do not bring it back.
    click(&mut app, labels::CAMERA_OFF);
    wait_for_label(&mut app, labels::CAMERA_ON);
    assert!(!shown(&app, labels::YOUR_CAMERA));
    assert!(
        app.query_by_label_contains("sending the test pattern")
            .is_none()
    );
    let until = std::time::Instant::now() + std::time::Duration::from_millis(500);
    while std::time::Instant::now() < until {
        app.step();
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(!call_of(&app).video.local_camera.is_shown());
    assert!(!shown(&app, labels::YOUR_CAMERA));

    // Hanging up drops every picture with the call.
    click(&mut app, labels::HANG_UP);
    wait_for_label(&mut app, labels::HISTORY);
    assert!(app.state().session().unwrap().call.is_none());
    assert!(!shown(&app, labels::REMOTE_VIDEO));
}

#[test]
fn the_test_pattern_can_be_shared_and_stopped_and_is_not_shared_in_the_next_call() {
    let rt = runtime();
    let server = TestServer::start(&rt);
    let (mut app, _echo, mut echo_events) = e2ee_call_to_the_echo_bot(&rt, &server);
    assert!(!shown(&app, labels::SHARING));

    // The picker opens and closes without sharing.
    click(&mut app, labels::SHARE_SCREEN);
    wait_for_label(&mut app, labels::SHARE_PICKER);
    app.check_accessibility();
    click(&mut app, labels::SHARE_CANCEL);
    assert!(!shown(&app, labels::SHARE_PICKER));
    assert!(call_of(&app).sharing.is_none());

    // Share the test pattern (there may be no display to capture here).
    click(&mut app, labels::SHARE_SCREEN);
    wait_for_label(&mut app, labels::SHARE_TEST_PATTERN);
    // The window list (or why there is none) arrives without blocking the UI.
    wait_until(&mut app, "the window list", |h| {
        call_of(h)
            .picker
            .as_ref()
            .is_some_and(|p| p.windows.is_some())
    });
    click(&mut app, labels::SHARE_TEST_PATTERN);
    assert!(!shown(&app, labels::SHARE_PICKER));
    wait_for_label(&mut app, labels::SHARING);
    assert!(shown(&app, labels::STOP_SHARING));
    assert!(!shown(&app, labels::SHARE_SCREEN));
    wait_picture(&rt, &mut echo_events, VideoStream::Screen);
    wait_for_label(&mut app, labels::YOUR_SCREEN);
    assert_eq!(
        call_of(&app).video.local_screen.size(),
        Some([1280, 720]),
        "the preview is what is sent"
    );
    wait_for_label(&mut app, labels::STATS_SCREEN);
    wait_for_label(&mut app, "1280×720");
    // The echo bot sends no screen back.
    assert!(!shown(&app, labels::SHARED_SCREEN));

    click(&mut app, labels::STOP_SHARING);
    wait_for_label(&mut app, labels::SHARE_SCREEN);
    assert!(!shown(&app, labels::SHARING));
    assert!(!shown(&app, labels::YOUR_SCREEN));
    wait_stopped(&rt, &mut echo_events, VideoStream::Screen);

    // Share again and hang up while sharing: the next call does not share by itself.
    click(&mut app, labels::SHARE_SCREEN);
    wait_for_label(&mut app, labels::SHARE_TEST_PATTERN);
    click(&mut app, labels::SHARE_TEST_PATTERN);
    wait_for_label(&mut app, labels::SHARING);
    click(&mut app, labels::HANG_UP);
    wait_for_label(&mut app, &labels::call("Echo Bot"));
    click(&mut app, &labels::call("Echo Bot"));
    wait_for_label_containing(&mut app, "Call time");
    let reports = call_of(&app).stats_reports;
    wait_until(&mut app, "two statistics reports in the new call", |h| {
        call_of(h).stats_reports >= reports + 2
    });
    let stats = call_of(&app).stats.clone().unwrap();
    assert!(!stats.screen.sending, "the share ended with the last call");
    assert!(!stats.camera.sending, "the camera stays off (Settings)");
    assert!(!shown(&app, labels::SHARING));
}

#[test]
fn the_peers_shared_screen_is_shown_large_with_their_camera_beside_it() {
    let rt = runtime();
    let server = TestServer::start(&rt);
    server.policy(&rt, "DisabledUserOverride");
    server.set_e2ee(&rt, ALEX, true);
    server.set_e2ee(&rt, SAM, true);
    let mut app = server.app(&rt, ALEX);
    sign_in(&mut app);
    let (sam, _sam_events) = server.engine_with(&rt, SAM, |c| {
        c.video = VideoSpec::TestPattern;
        c.screen = ScreenSpec::TestPattern;
    });
    sam.call(ALEX).unwrap();
    wait_for_label(&mut app, labels::ACCEPT);
    click(&mut app, labels::ACCEPT);
    wait_for_label(&mut app, labels::SHIELD_E2EE);

    wait_for_label(&mut app, labels::SHARED_SCREEN);
    wait_for_label(&mut app, labels::REMOTE_VIDEO);
    app.check_accessibility();
    let screen = app.get_by_label(labels::SHARED_SCREEN).rect();
    let camera = app.get_by_label(labels::REMOTE_VIDEO).rect();
    assert!(
        screen.area() > 4.0 * camera.area(),
        "the screen is the large picture: {screen:?} vs {camera:?}"
    );
    assert_eq!(call_of(&app).video.remote_screen.size(), Some([1280, 720]));
    let uploads = |h: &egui_kittest::Harness<'static, _>| call_of(h).video.remote_screen.uploads();
    let first = uploads(&app);
    wait_until(&mut app, "more screen pictures", |h| {
        uploads(h) >= first + 3
    });
    wait_for_label(&mut app, labels::STATS_SCREEN);
    wait_for_label(&mut app, labels::STATS_CAMERA);

    // Sam stops sharing: the screen goes, their camera becomes the large picture.
    sam.share_screen(ScreenSpec::None).unwrap();
    wait_until(&mut app, "the shared screen to go", |h| {
        !shown(h, labels::SHARED_SCREEN)
    });
    assert!(!call_of(&app).video.remote_screen.is_shown());
    let camera_now = app.get_by_label(labels::REMOTE_VIDEO).rect();
    assert!(camera_now.area() > 4.0 * camera.area(), "{camera_now:?}");

    // The call ends: every picture goes with it.
    sam.hangup().unwrap();
    wait_for_label(&mut app, labels::HISTORY);
    assert!(!shown(&app, labels::REMOTE_VIDEO));
    assert!(app.state().session().unwrap().call.is_none());
}

#[test]
fn settings_can_start_every_call_with_the_camera_on_and_remember_it() {
    let rt = runtime();
    let server = TestServer::start(&rt);
    server.policy(&rt, "DisabledUserOverride");
    server.set_e2ee(&rt, ALEX, true);
    let (_echo, mut echo_events) = server.echo_bot(&rt);
    let prefs = server.dir().join("prefs-camera.json");
    let mut app = server.app_with_prefs(&rt, ALEX, prefs.clone());
    sign_in(&mut app);
    click(&mut app, labels::SETTINGS);
    wait_for_label(&mut app, labels::CAMERA_AT_START);
    assert!(!is_checked(&app, labels::CAMERA_AT_START), "off by default");
    click(&mut app, labels::CAMERA_AT_START);
    assert!(is_checked(&app, labels::CAMERA_AT_START));
    assert!(app.state().camera_at_start());
    assert!(sealcall_desktop::prefs::Prefs::load(&prefs).camera_at_start);

    // The next call starts with the camera on, without touching the button.
    click(&mut app, labels::PEOPLE);
    wait_for_label(&mut app, &labels::call("Echo Bot"));
    click(&mut app, &labels::call("Echo Bot"));
    wait_for_label_containing(&mut app, "Call time");
    assert!(shown(&app, labels::CAMERA_OFF));
    wait_picture(&rt, &mut echo_events, VideoStream::Camera);
    wait_for_label(&mut app, labels::YOUR_CAMERA);
    wait_for_label(&mut app, labels::REMOTE_VIDEO);

    // Turned off in this call only: the setting stays on for the next one.
    click(&mut app, labels::CAMERA_OFF);
    wait_for_label(&mut app, labels::CAMERA_ON);
    click(&mut app, labels::HANG_UP);
    wait_for_label(&mut app, &labels::call("Echo Bot"));
    click(&mut app, &labels::call("Echo Bot"));
    wait_for_label_containing(&mut app, "Call time");
    assert!(shown(&app, labels::CAMERA_OFF));
    wait_for_label(&mut app, labels::YOUR_CAMERA);
    click(&mut app, labels::HANG_UP);
    wait_for_label(&mut app, labels::SETTINGS);

    // Remembered: a new window with the same preferences starts with the camera choice on,
    // and keeps it when the sign-in saves the server and the name.
    let mut again = server.app_with_prefs(&rt, ALEX, prefs.clone());
    assert!(again.state().camera_at_start());
    sign_in(&mut again);
    click(&mut again, labels::SETTINGS);
    wait_for_label(&mut again, labels::CAMERA_AT_START);
    assert!(is_checked(&again, labels::CAMERA_AT_START));
    assert!(sealcall_desktop::prefs::Prefs::load(&prefs).camera_at_start);
    click(&mut again, labels::CAMERA_AT_START);
    assert!(!sealcall_desktop::prefs::Prefs::load(&prefs).camera_at_start);
}
