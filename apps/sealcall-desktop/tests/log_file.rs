//! The app's log file (its own test binary: the logger is installed for the whole process):
//! Help, on the sign-in page and in Settings, shows the log folder and "Open log folder"; what
//! the app and its engine do is written to the day's file there, without the password.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use egui_kittest::kittest::Queryable;
use sealcall_desktop::labels;

#[test]
fn help_shows_the_log_folder_and_the_engine_s_events_reach_the_file() {
    let rt = runtime();
    let server = TestServer::start(&rt);
    let logs = sealcall_desktop::logs::log_dir(&server.dir().join("app-data"));
    sealcall_desktop::logs::install(&logs).unwrap();
    let prefs = server.dir().join("prefs-logs.json");
    let mut app = server.app_with(&rt, ALEX, prefs, Some(logs.clone()));
    app.run();
    // On the sign-in page.
    let where_text = format!("Log files: {}", logs.display());
    assert!(shown(&app, labels::HELP));
    assert!(shown(&app, &where_text));
    app.get_by_label(labels::OPEN_LOG_FOLDER);

    sign_in(&mut app);
    click(&mut app, labels::SETTINGS);
    wait_for_label(&mut app, labels::OPEN_LOG_FOLDER);
    assert!(shown(&app, &where_text));

    // The engine's sign-in and connection are in today's file.
    let deadline = std::time::Instant::now() + WAIT;
    let text = loop {
        let text: String = sealcall_desktop::logs::files(&logs)
            .iter()
            .map(|f| std::fs::read_to_string(f).unwrap())
            .collect();
        if text.contains("signaling connected") || std::time::Instant::now() > deadline {
            break text;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert_eq!(sealcall_desktop::logs::files(&logs).len(), 1);
    assert!(text.contains("signed in"), "{text}");
    assert!(text.contains("signaling connected"), "{text}");
    assert!(text.contains(ALEX), "{text}");
    assert!(!text.contains(PASSWORD), "the password is in the log file");
}
