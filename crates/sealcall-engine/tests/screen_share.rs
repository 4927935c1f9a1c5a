//! Screen sharing of a real X11 window under Xvfb in an end-to-end encrypted call between two
//! engines (real server, real WebRTC on loopback, real VP8): the receiver reads back what was
//! drawn, and starting and stopping the share ten times shows no wrong picture and no key error.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::*;
use sealcall_engine::media::video::convert::rgb_at;
use sealcall_engine::media::video::screen::{WindowChoice, list_windows};
use sealcall_engine::{EngineEvent, EngineEvents, ScreenSpec, VideoStream};
use x11rb::connection::Connection;
use x11rb::protocol::xproto::{
    AtomEnum, ConnectionExt, CreateGCAux, CreateWindowAux, PropMode, Rectangle, WindowClass,
};
use x11rb::wrapper::ConnectionExt as _;

const TITLE: &str = "sealcall share test";
const W: u16 = 320;
const H: u16 = 240;
/// The red rectangle drawn on the blue window.
const RED: (u16, u16, u16, u16) = (80, 60, 160, 120);

/// Draws a blue window with a red rectangle on `display`, redrawing it until `stop` is set.
fn draw_window(display: &str, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<()> {
    let display = display.to_owned();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let handle = std::thread::spawn(move || {
        let (conn, screen) = x11rb::connect(Some(&display)).unwrap();
        let root = conn.setup().roots[screen].root;
        let win = conn.generate_id().unwrap();
        conn.create_window(
            x11rb::COPY_DEPTH_FROM_PARENT,
            win,
            root,
            0,
            0,
            W,
            H,
            0,
            WindowClass::INPUT_OUTPUT,
            0,
            &CreateWindowAux::new().background_pixel(0x0000ff),
        )
        .unwrap();
        conn.change_property8(
            PropMode::REPLACE,
            win,
            AtomEnum::WM_NAME,
            AtomEnum::STRING,
            TITLE.as_bytes(),
        )
        .unwrap();
        conn.map_window(win).unwrap();
        let gc = conn.generate_id().unwrap();
        conn.create_gc(gc, win, &CreateGCAux::new().foreground(0xff0000))
            .unwrap();
        let mut told = false;
        while !stop.load(Ordering::Relaxed) {
            conn.clear_area(false, win, 0, 0, W, H).unwrap();
            conn.poly_fill_rectangle(
                win,
                gc,
                &[Rectangle {
                    x: RED.0 as i16,
                    y: RED.1 as i16,
                    width: RED.2,
                    height: RED.3,
                }],
            )
            .unwrap();
            conn.sync().unwrap();
            if !told {
                told = true;
                ready_tx.send(()).unwrap();
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    });
    ready_rx.recv_timeout(Duration::from_secs(10)).unwrap();
    handle
}

fn close(a: [u8; 3], b: [u8; 3]) -> bool {
    a.iter()
        .zip(b)
        .all(|(x, y)| (i32::from(*x) - i32::from(y)).abs() <= 40)
}

/// Whether a received screen picture is the drawn window: blue at the corner, red inside.
fn is_the_window(frame: &sealcall_engine::media::video::VideoFrame) -> bool {
    frame.width() == u32::from(W)
        && frame.height() == u32::from(H)
        && close(rgb_at(frame, 20, 20).unwrap(), [0, 0, 255])
        && close(
            rgb_at(
                frame,
                u32::from(RED.0 + RED.2 / 2),
                u32::from(RED.1 + RED.3 / 2),
            )
            .unwrap(),
            [255, 0, 0],
        )
}

/// Counts screen pictures for up to `secs` until `want` arrived; every one must be the window.
async fn screen_pictures(events: &mut EngineEvents, want: usize, secs: u64) -> usize {
    let mut n = 0;
    let end = tokio::time::Instant::now() + Duration::from_secs(secs);
    while n < want && tokio::time::Instant::now() < end {
        let Ok(Some(e)) = tokio::time::timeout_at(end, events.recv()).await else {
            break;
        };
        if let EngineEvent::Video { picture, .. } = e
            && picture.stream == VideoStream::Screen
        {
            assert!(
                is_the_window(&picture.frame),
                "a shared-screen picture that is not the window was shown"
            );
            n += 1;
        }
    }
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shared_x11_window_arrives_intact_across_ten_starts_and_stops() {
    let Some(xvfb) = Xvfb::start() else { return };
    let stop = Arc::new(AtomicBool::new(false));
    let drawer = draw_window(&xvfb.display, Arc::clone(&stop));
    let windows = list_windows(Some(&xvfb.display)).unwrap();
    assert!(
        windows
            .iter()
            .any(|w| w.title == TITLE && w.width == u32::from(W)),
        "the picker lists the window: {windows:?}"
    );

    let server = TestServer::start().await;
    let Pair {
        ken,
        mut ken_ev,
        ana: _ana,
        mut ana_ev,
    } = server
        .pair(("ken-hears.wav", "ana-hears.wav"), |_, _| {}, (true, true))
        .await;
    ken.call(ANA).unwrap();
    assert!(connected(&mut ken_ev).await);
    assert!(connected(&mut ana_ev).await);

    let share = ScreenSpec::X11 {
        display: Some(xvfb.display.clone()),
        window: WindowChoice::Title(TITLE.to_owned()),
    };
    for round in 0..10 {
        ken.share_screen(share.clone()).unwrap();
        let n = screen_pictures(&mut ana_ev, 3, 10).await;
        assert_eq!(n, 3, "round {round}: the share arrived");
        ken.share_screen(ScreenSpec::None).unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let stats = wait_for(&mut ana_ev, 5, |e| match e {
        EngineEvent::Stats { stats, .. } => Some(stats.clone()),
        _ => None,
    })
    .await;
    eprintln!("ana's screen stream: {:?}", stats.screen);
    assert!(stats.end_to_end);
    assert_eq!(stats.screen.frames_refused, 0, "no key error");
    assert_eq!(stats.inbound.auth_failures, 0);
    assert_eq!(stats.screen.decode_errors, 0);
    assert!(
        stats.screen.keyframes_received >= 10,
        "each share starts with a keyframe"
    );
    assert_eq!(stats.screen.receive_epoch, Some(0));

    // Stopped for good: the receiver says so.
    let stopped = wait_for(&mut ana_ev, 5, |e| match e {
        EngineEvent::VideoStopped { stream, .. } => Some(*stream),
        _ => None,
    })
    .await;
    assert_eq!(stopped, VideoStream::Screen);
    ken.hangup().unwrap();
    stop.store(true, Ordering::Relaxed);
    drawer.join().unwrap();
}
