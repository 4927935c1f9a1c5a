//! Command-line arguments and start-up: everything `main` does, so that `main.rs` stays thin.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use sealcall_engine::transport::TransportConfig;

use crate::app::{AppOptions, AutoPilot, SealcallApp, SignInForm};
use crate::bridge::{Bridge, EngineSettings};
use crate::demo::{self, Demo, DemoOptions};
use crate::prefs::{Prefs, data_dir};

/// Command-line arguments.
#[derive(Debug, Clone, Default, PartialEq, Eq, clap::Parser)]
#[command(
    name = "sealcall-desktop",
    version,
    about = "Sealcall: end-to-end encrypted calls (desktop app)"
)]
pub struct Args {
    /// Server address (default: the remembered one, or https://127.0.0.1:7878).
    #[arg(long, value_name = "URL")]
    pub server: Option<String>,
    /// Sign-in name.
    #[arg(long, value_name = "NAME")]
    pub user: Option<String>,
    /// Read the password from this environment variable and sign in at once.
    #[arg(long, value_name = "VAR")]
    pub password_env: Option<String>,
    /// Start (or join) the local demo server with its demo organisation and echo bot, and sign
    /// in as the demo user (alex@demo.example by default).
    #[arg(long)]
    pub embedded: bool,
    /// Where the demo and the app keep their files (default: $XDG_DATA_HOME/sealcall or
    /// ~/.local/share/sealcall).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// With --embedded: call the echo bot, turn the camera on and share the screen (both with
    /// the test pattern), save a window capture (PPM) and exit.
    #[arg(long, value_name = "FILE.ppm", requires = "embedded")]
    pub screenshot: Option<PathBuf>,
}

/// Whether a graphical display is available (`DISPLAY` or `WAYLAND_DISPLAY` set, or not Linux
/// or BSD, where a display is always there).
pub fn has_display() -> bool {
    let set = |v: &str| std::env::var_os(v).is_some_and(|x| !x.is_empty());
    !cfg!(any(
        target_os = "linux",
        target_os = "freebsd",
        target_os = "openbsd",
        target_os = "netbsd"
    )) || set("DISPLAY")
        || set("WAYLAND_DISPLAY")
}

/// What to print when there is no display.
pub const NO_DISPLAY: &str = "\
sealcall-desktop: no graphical display (neither DISPLAY nor WAYLAND_DISPLAY is set).
Use the command line instead:
  sealcall demo                      # embedded server, demo organisation, echo bot, one E2EE test call
  sealcall call --user NAME PEER     # a call from a terminal (see `sealcall call --help`)
or run the app under a virtual display: xvfb-run cargo xtask run";

/// The window size of `--screenshot` (the screenshot script's virtual screen is 1280x900).
pub const SCREENSHOT_SIZE: [f32; 2] = [1200.0, 860.0];

/// Starts the runtime, the demo (with `--embedded`) and the window; returns when the window
/// closes.
pub fn run(args: Args) -> Result<()> {
    if !has_display() {
        bail!("{NO_DISPLAY}");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .thread_name("sealcall-engine")
        .build()
        .context("starting the async runtime")?;
    let dir = args.data_dir.clone().unwrap_or_else(data_dir);
    let log_dir = crate::logs::log_dir(&dir);
    crate::logs::install(&log_dir)?;
    tracing::info!(log_dir = %log_dir.display(), version = env!("CARGO_PKG_VERSION"), "sealcall-desktop started");
    let prefs_path = dir.join("desktop.json");
    let mut settings = EngineSettings {
        identity_dir: Some(dir.clone()),
        ..EngineSettings::default()
    };
    let mut autopilot = AutoPilot::default();
    let mut demo = None;
    let form = if args.embedded {
        let started = runtime.block_on(Demo::start_or_join(&DemoOptions::new(&dir)))?;
        let user = args.user.clone().unwrap_or_else(|| demo::ALEX.to_owned());
        let Some(password) = started.credentials.password_for(&user) else {
            bail!(
                "{user} is not a demo user; use {} or {}",
                demo::ALEX,
                demo::SAM
            );
        };
        let form = SignInForm {
            server: started.url.clone(),
            user: user.clone(),
            password: password.to_owned(),
            pin: started.trust.pin.map(|p| p.to_string()).unwrap_or_default(),
            ..SignInForm::default()
        };
        println!(
            "Sealcall demo: server {} ({}), signed in as {user}; call \"Echo Bot\" for an \
             end-to-end encrypted test call.",
            started.url,
            if started.owns_server() {
                "started here"
            } else {
                "joined"
            }
        );
        settings.transport = TransportConfig::loopback();
        autopilot.sign_in = true;
        if let Some(path) = &args.screenshot {
            autopilot.call = Some(demo::ECHO.to_owned());
            autopilot.video = true;
            autopilot.screenshot = Some(path.clone());
        }
        demo = Some(started);
        form
    } else {
        let prefs = Prefs::load(&prefs_path);
        let mut form = SignInForm {
            server: args
                .server
                .clone()
                .or_else(|| Some(prefs.server).filter(|s| !s.is_empty()))
                .unwrap_or_else(|| format!("https://127.0.0.1:{}", demo::DEFAULT_PORT)),
            user: args.user.clone().unwrap_or(prefs.user),
            ..SignInForm::default()
        };
        if let Some(var) = &args.password_env {
            form.password =
                std::env::var(var).with_context(|| format!("--password-env: {var} is not set"))?;
            autopilot.sign_in = true;
        }
        form
    };
    let title = format!(
        "Sealcall — {}",
        if form.user.is_empty() {
            "sign in"
        } else {
            &form.user
        }
    );
    let bridge = Bridge::new(runtime.handle().clone(), settings);
    let app = SealcallApp::new(
        bridge,
        AppOptions {
            form,
            prefs_path: (!args.embedded).then_some(prefs_path),
            autopilot,
            devices: None,
            log_dir: Some(log_dir),
        },
    );
    // The screenshot's video call needs more room than the everyday window.
    let size = if args.screenshot.is_some() {
        SCREENSHOT_SIZE
    } else {
        [860.0, 640.0]
    };
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title(title)
            .with_inner_size(size),
        renderer: eframe::Renderer::Glow,
        ..eframe::NativeOptions::default()
    };
    let result = eframe::run_native("Sealcall", options, Box::new(move |_cc| Ok(Box::new(app))));
    if let Some(demo) = demo {
        runtime.block_on(demo.shutdown())?;
    }
    runtime.shutdown_timeout(std::time::Duration::from_secs(2));
    result.map_err(|e| anyhow::anyhow!("the window failed: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Args, String> {
        use clap::Parser;
        Args::try_parse_from(std::iter::once("sealcall-desktop").chain(args.iter().copied()))
            .map_err(|e| e.to_string())
    }

    #[test]
    fn parses_the_options() {
        let a = parse(&["--server", "http://h:1", "--user=a@b", "--embedded"]).unwrap();
        assert_eq!(a.server.as_deref(), Some("http://h:1"));
        assert_eq!(a.user.as_deref(), Some("a@b"));
        assert!(a.embedded);
        assert!(parse(&[]).unwrap() == Args::default());
    }

    #[test]
    fn bad_arguments_are_messages() {
        assert!(parse(&["--server"]).unwrap_err().contains("--server"));
        assert!(parse(&["--bogus"]).unwrap_err().contains("--bogus"));
        assert!(
            parse(&["--screenshot", "x.ppm"])
                .unwrap_err()
                .contains("--embedded")
        );
    }
}
