//! `sealcall call`, `sealcall answer`, `sealcall echo-bot` and `sealcall demo`: headless calls
//! over the engine.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Args;
use sealcall_engine::call::{CallEvent, Ended, MediaMode};
use sealcall_engine::identity::IdentityStore;
use sealcall_engine::media::AudioProcessingSetting;
use sealcall_engine::media::analysis::analyse_wav;
use sealcall_engine::media::video::y4m::{Y4mWriter, read_y4m};
use sealcall_engine::media::video::{TestPattern, psnr_y};
use sealcall_engine::transport::TransportConfig;
use sealcall_engine::{
    AudioRoute, ConnectionState, Engine, EngineConfig, EngineEvent, EngineEvents, PostQuantum,
    RecordingState, ScreenSpec, Trust, VideoSpec, VideoStream, VideoStreamStats,
};

use crate::server_cmd::{TrustArgs, password};

/// Options shared by the call commands.
#[derive(Debug, Args)]
pub struct ClientArgs {
    /// Server URL.
    #[arg(long, default_value = "https://127.0.0.1:7878")]
    server: String,
    /// Another node of the same deployment, tried when the current one cannot be reached (at
    /// sign-in and when reconnecting; repeat for more). Trusted as --server is.
    #[arg(long = "other-server", value_name = "URL")]
    other_servers: Vec<String>,
    #[command(flatten)]
    trust: TrustArgs,
    /// Sign-in name (password from SEALCALL_PASSWORD or a prompt).
    #[arg(long)]
    user: String,
    /// Audio input: `tone:440`, `tone:440:0.3`, `silence`, `device`, or a WAV file.
    #[arg(long, default_value = "device")]
    input: String,
    /// Audio output: `device`, `null`, or a WAV file to write.
    #[arg(long, default_value = "device")]
    output: String,
    /// Echo cancellation, noise suppression, gain control and high-pass filter on the
    /// microphone: `auto` (on for a microphone, off for files, tones and silence), `on`, `off`,
    /// or the parts to run, from `aec,ns,agc,hpf`.
    #[arg(long, default_value = "auto", value_parser = parse_audio_processing)]
    audio_processing: AudioProcessingSetting,
    /// Where the device identity is kept (default: the user's data directory).
    #[arg(long)]
    identity_dir: Option<PathBuf>,
    /// Turn "End-to-end encrypted calls" on or off for this user before calling.
    #[arg(long, value_parser = ["on", "off"])]
    e2ee: Option<String>,
    /// Local UDP address for media (`0.0.0.0:0` for all interfaces).
    #[arg(long, default_value = "0.0.0.0:0")]
    bind: String,
    /// Camera video: `none`, `test-pattern` (a moving picture, 640x480 at 30 fps) or `camera`
    /// (falls back to the test pattern, with a note, where there is no camera).
    #[arg(long, default_value = "none", value_parser = parse_video)]
    video: VideoSpec,
    /// Screen share: `none`, `test-pattern`, `x11` (the whole X screen), or `x11:WINDOW` (a
    /// window id such as 0x1e00007, or text of its title).
    #[arg(long, default_value = "none", value_parser = parse_screen)]
    screen: ScreenSpec,
    /// Write the received camera video, decoded, to this YUV4MPEG2 file (`.y4m`).
    #[arg(long)]
    video_output: Option<PathBuf>,
    /// Post-quantum key agreement (X25519 + ML-KEM-768) in end-to-end encrypted calls: `on`
    /// (the default: used whenever the other device can), `require` (end a call that cannot
    /// have it) or `off` (X25519 alone, for interoperability tests).
    #[arg(long, default_value = "on", value_parser = parse_post_quantum)]
    post_quantum: PostQuantum,
}

fn parse_post_quantum(s: &str) -> std::result::Result<PostQuantum, String> {
    match s {
        "on" => Ok(PostQuantum::Offered),
        "require" => Ok(PostQuantum::Required),
        "off" => Ok(PostQuantum::Unavailable),
        _ => Err(format!("{s:?}: expected on, require or off")),
    }
}

fn parse_audio_processing(s: &str) -> std::result::Result<AudioProcessingSetting, String> {
    s.parse()
        .map_err(|e: sealcall_engine::EngineError| e.to_string())
}

fn parse_video(s: &str) -> std::result::Result<VideoSpec, String> {
    VideoSpec::parse(s).map_err(|e| e.to_string())
}

fn parse_screen(s: &str) -> std::result::Result<ScreenSpec, String> {
    ScreenSpec::parse(s).map_err(|e| e.to_string())
}

/// Where received video goes: the `--video-output` file.
pub struct VideoOutput {
    writer: Option<(Y4mWriter, PathBuf)>,
}

impl VideoOutput {
    fn open(path: Option<&Path>) -> Result<Self> {
        let writer = match path {
            Some(p) => Some((
                Y4mWriter::create(p, 30)
                    .with_context(|| format!("--video-output {}", p.display()))?,
                p.to_owned(),
            )),
            None => None,
        };
        Ok(Self { writer })
    }

    /// Writes a received camera picture.
    fn on_event(&mut self, event: &EngineEvent) -> Result<()> {
        if let (EngineEvent::Video { picture, .. }, Some((w, _))) = (event, self.writer.as_mut())
            && picture.stream == VideoStream::Camera
        {
            w.write(&picture.frame)?;
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<()> {
        if let Some((w, path)) = self.writer.as_mut() {
            w.finish()?;
            println!(
                "wrote {} received video frames to {}{}",
                w.written(),
                path.display(),
                if w.skipped() > 0 {
                    format!(" ({} of another size skipped)", w.skipped())
                } else {
                    String::new()
                }
            );
        }
        Ok(())
    }
}

/// The user's data directory for Sealcall (identities, contacts).
pub fn data_dir() -> PathBuf {
    std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(|| PathBuf::from("."))
        .join("sealcall")
}

impl ClientArgs {
    fn config(&self, auto_answer: bool, audio: AudioRoute) -> Result<EngineConfig> {
        // A refused address fails before the password is asked for.
        sealcall_engine::check_server_url(&self.server)?;
        for other in &self.other_servers {
            sealcall_engine::check_server_url(other)?;
        }
        let pw = password(&format!("Password for {}: ", self.user))?;
        let mut c = EngineConfig::new(&self.server, &self.user, &pw);
        c.other_servers = self.other_servers.clone();
        c.trust = self.trust.trust();
        let dir = self.identity_dir.clone().unwrap_or_else(data_dir);
        c.identity = IdentityStore::in_dir(&dir, &self.server, &self.user);
        c.transport = TransportConfig {
            udp_addrs: vec![self.bind.clone()],
            ..TransportConfig::default()
        };
        c.audio = audio;
        c.audio_processing = self.audio_processing;
        c.video = self.video.clone();
        c.screen = self.screen.clone();
        c.auto_answer = auto_answer;
        c.post_quantum = self.post_quantum;
        Ok(c)
    }

    fn route(&self) -> AudioRoute {
        AudioRoute::Specs {
            input: self.input.clone(),
            output: self.output.clone(),
        }
    }

    async fn connect(
        &self,
        auto_answer: bool,
        audio: AudioRoute,
    ) -> Result<(Engine, EngineEvents)> {
        let (engine, events) = Engine::connect(self.config(auto_answer, audio)?).await?;
        let info = engine.info();
        println!(
            "signed in as {} ({}) on device {} [identity {}]",
            info.display_name, info.user, info.device_id, info.fingerprint
        );
        if let Some(on) = &self.e2ee {
            let view = engine.set_e2ee(on == "on").await?;
            println!(
                "end-to-end encrypted calls: {}",
                if view.effective { "on" } else { "off" }
            );
        }
        Ok((engine, events))
    }
}

/// Prints one event the way the CLI shows calls. Returns the end reason when the call ended.
pub fn print_event(event: &EngineEvent) -> Option<Ended> {
    match event {
        EngineEvent::Call(CallEvent::Placing { callee }) => println!("calling {callee}…"),
        EngineEvent::Call(CallEvent::Ringing { devices, .. }) => {
            println!("ringing ({devices} device(s))")
        }
        EngineEvent::Call(CallEvent::Incoming {
            caller,
            display_name,
            ..
        }) => {
            println!("incoming call from {display_name} ({caller})")
        }
        EngineEvent::Call(CallEvent::Connecting { mode, .. }) => match mode {
            MediaMode::EndToEnd => {
                println!("answered: end-to-end encrypted (shield with lock); connecting…")
            }
            MediaMode::Standard { reasons } => {
                println!("answered: standard encryption (shield without lock); connecting…");
                for r in reasons {
                    println!("  not end-to-end encrypted because {r}");
                }
            }
        },
        EngineEvent::Call(CallEvent::Connected { end_to_end, .. }) => println!(
            "connected — {}",
            if *end_to_end {
                "end-to-end encrypted"
            } else {
                "standard encryption (DTLS-SRTP per hop)"
            }
        ),
        EngineEvent::Call(CallEvent::SignalingLost { .. }) => {
            println!("signaling lost; media continues")
        }
        EngineEvent::Call(CallEvent::Ended { reason, .. }) => {
            println!("call ended: {}", describe_end(reason));
            return Some(reason.clone());
        }
        EngineEvent::SecurityCode {
            code, post_quantum, ..
        } => {
            println!("{}", post_quantum.label());
            println!("security code: {code}  (read it aloud; if it differs, hang up)")
        }
        EngineEvent::Stats { stats, .. } => {
            println!(
                "  {} | sent {} recv {} lost {} | {:.0} kbit/s | frames protected {} unprotected {} auth failures {} | epoch {}/{} | {}",
                stats.media.codec,
                stats.media.packets_sent,
                stats.media.packets_received,
                stats.media.packets_lost,
                f64::from(stats.media.send_bitrate_bps) / 1000.0,
                stats.outbound.frames,
                stats.inbound.frames,
                stats.inbound.auth_failures,
                stats.send_epoch.map_or("-".into(), |e| e.to_string()),
                stats.receive_epoch.map_or("-".into(), |e| e.to_string()),
                stats
                    .outbound
                    .average_cost()
                    .map_or("no E2EE cost".into(), |d| format!(
                        "{} ns/frame (cold: one frame per 20 ms; see the cold rows of sealcall bench)",
                        d.as_nanos()
                    )),
            );
            println!(
                "  send bandwidth estimate {} kbit/s",
                stats.send_estimate_kbps
            );
            println!("  {}", stats.audio_processing);
            for (name, v) in [("camera", &stats.camera), ("screen", &stats.screen)] {
                print_video_stats(name, v);
            }
        }
        EngineEvent::VideoStopped { stream, .. } => {
            println!("the other side's {} stopped", stream.label())
        }
        EngineEvent::Setting(view) => println!(
            "end-to-end encrypted calls setting: {}{}",
            if view.effective { "on" } else { "off" },
            view.lock
                .map_or(String::new(), |l| format!(" ({})", l.user_message()))
        ),
        EngineEvent::Connection(ConnectionState::Connected) => {}
        EngineEvent::Connection(ConnectionState::Reconnecting(n)) => {
            println!("server connection lost; reconnecting (attempt {n})")
        }
        EngineEvent::Notice(n) => println!("note: {n}"),
        EngineEvent::SecurityWarning { message, .. } => println!("WARNING: {message}"),
        EngineEvent::PeerKey {
            user,
            device,
            status,
            safety_number,
            ..
        } => {
            // A change also arrives as a WARNING line.
            if !status.is_warning() {
                println!("key continuity: {}", status.user_message(user));
            }
            println!("  {user} device {device}, safety number {safety_number}");
        }
        EngineEvent::DeviceAdded {
            device_id,
            platform,
            fingerprint,
            while_offline,
        } => println!(
            "WARNING: a new device {device_id}{} [identity {fingerprint}] was added to your \
             account{}. If it was not you, remove it (`sealcall device remove`) and change your \
             password.",
            if platform.is_empty() {
                String::new()
            } else {
                format!(" ({platform})")
            },
            if *while_offline {
                " while this device was offline"
            } else {
                ""
            }
        ),
        EngineEvent::FirstAudio { .. } => println!("audio is flowing"),
        EngineEvent::Recording { state, .. } => match state {
            RecordingState::Waiting { .. } => {
                println!("recording: asking the other device to show the notice…")
            }
            RecordingState::Recording { path } => println!(
                "recording to {} (the other person sees that the call is recorded)",
                path.display()
            ),
            RecordingState::Stopped { path, duration } => println!(
                "recording saved to {} ({:.1} s)",
                path.display(),
                duration.as_secs_f64()
            ),
            RecordingState::Failed(why) => println!("note: not recorded: {why}"),
        },
        EngineEvent::PeerRecording { recording, .. } => println!(
            "{}",
            if *recording {
                "the other person is recording this call"
            } else {
                "the other person stopped recording"
            }
        ),
        EngineEvent::Hold { hold, .. } => match (hold.by_me, hold.by_peer) {
            (true, _) => println!("on hold: you put the call on hold (nothing is sent or played)"),
            (false, true) => println!("on hold: the other person put the call on hold"),
            (false, false) => println!("call resumed"),
        },
        _ => {}
    }
    None
}

/// One line per direction of a video stream that is flowing.
fn print_video_stats(name: &str, v: &VideoStreamStats) {
    let res = |r: Option<(u32, u32)>| r.map_or("-".to_owned(), |(w, h)| format!("{w}x{h}"));
    let epoch = |e: Option<u64>| e.map_or("-".to_owned(), |e| e.to_string());
    if v.sending {
        println!(
            "  {name} out {} {:.0} fps {:.0} kbit/s (target {}) | keyframes {} (asked {}) | epoch {}",
            res(v.sent_resolution),
            v.sent_fps,
            v.sent_kbps,
            v.target_kbps,
            v.keyframes_sent,
            v.keyframe_requests_received,
            epoch(v.send_epoch),
        );
    }
    if v.frames_received > 0 {
        println!(
            "  {name} in  {} {:.0} fps {:.0} kbit/s | decoded {} refused {} gaps {} keyframe requests {} | epoch {}",
            res(v.received_resolution),
            v.received_fps,
            v.received_kbps,
            v.frames_decoded,
            v.frames_refused,
            v.gaps,
            v.keyframe_requests_sent,
            epoch(v.receive_epoch),
        );
    }
}

fn describe_end(reason: &Ended) -> String {
    match reason {
        Ended::Local => "you ended the call".into(),
        Ended::Remote(r) => format!("{r:?}").to_lowercase(),
        Ended::Failed(f) => format!("{f:?}"),
        Ended::Refused(msgs) => format!("refused: {}", msgs.join("; ")),
        Ended::Timeout(what) => format!("timed out: {what}"),
        Ended::ServerLost => "lost the server".into(),
        Ended::MediaFailed(why) => format!("media failed: {why}"),
    }
}

/// `sealcall call USER`.
#[derive(Debug, Args)]
pub struct CallArgs {
    #[command(flatten)]
    client: ClientArgs,
    /// Who to call (sign-in name).
    callee: String,
    /// Hang up after this many seconds of connected call.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Something to do during the call, at a time in seconds after it connected: `hold@2`
    /// puts the call on hold, `resume@5` takes it off hold. Repeat for several steps.
    #[arg(long = "then", value_name = "ACTION@SECS", value_parser = parse_step)]
    then: Vec<Step>,
    /// Record the call into this new .wav file (stereo: what you send left, what you hear
    /// right) from when it connects until it ends. Standard calls only; the other person is
    /// told and their device confirms before anything is recorded.
    #[arg(long, value_name = "FILE.wav")]
    record: Option<PathBuf>,
}

/// One scripted in-call action.
#[derive(Debug, Clone, PartialEq)]
struct Step {
    /// When, after the call connected.
    at: Duration,
    /// Hold (`true`) or resume.
    hold: bool,
}

fn parse_step(s: &str) -> std::result::Result<Step, String> {
    let (action, at) = s
        .split_once('@')
        .ok_or_else(|| format!("'{s}': expected ACTION@SECS, e.g. hold@2 or resume@5"))?;
    let hold = match action {
        "hold" => true,
        "resume" => false,
        other => return Err(format!("unknown action '{other}': expected hold or resume")),
    };
    let secs: f64 = at
        .parse()
        .map_err(|_| format!("'{at}' is not a number of seconds"))?;
    if !(0.0..=86_400.0).contains(&secs) {
        return Err(format!("{secs} s is not between 0 and 86400"));
    }
    Ok(Step {
        at: Duration::from_secs_f64(secs),
        hold,
    })
}

async fn run_call(
    engine: &Engine,
    events: &mut EngineEvents,
    callee: &str,
    duration: Duration,
    steps: &[Step],
    record: Option<&Path>,
    video: &mut VideoOutput,
) -> Result<Ended> {
    engine.call(callee)?;
    let mut hangup_at: Option<tokio::time::Instant> = None;
    let mut steps_at: Vec<(tokio::time::Instant, bool)> = Vec::new();
    loop {
        let sleep = async {
            match hangup_at {
                Some(t) => tokio::time::sleep_until(t).await,
                None => std::future::pending().await,
            }
        };
        let next_step = steps_at.iter().map(|(t, _)| *t).min();
        let step = async {
            match next_step {
                Some(t) => tokio::time::sleep_until(t).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            e = events.recv() => {
                let Some(e) = e else { bail!("the engine stopped") };
                if matches!(e, EngineEvent::Call(CallEvent::Connected { .. })) {
                    let now = tokio::time::Instant::now();
                    hangup_at = Some(now + duration);
                    steps_at = steps.iter().map(|s| (now + s.at, s.hold)).collect();
                    if let Some(path) = record
                        && let Err(e) = engine.start_recording(path)
                    {
                        println!("note: not recorded: {e}");
                    }
                }
                video.on_event(&e)?;
                if let Some(end) = print_event(&e) {
                    return Ok(end);
                }
            }
            _ = sleep => {
                engine.hangup()?;
                hangup_at = None;
                steps_at.clear();
            }
            _ = step => {
                let now = tokio::time::Instant::now();
                for (_, hold) in steps_at.iter().filter(|(t, _)| *t <= now) {
                    let done = if *hold { engine.hold() } else { engine.resume() };
                    if let Err(e) = done {
                        println!("note: {e}");
                    }
                }
                steps_at.retain(|(t, _)| *t > now);
            }
            _ = tokio::signal::ctrl_c() => {
                engine.hangup()?;
            }
        }
    }
}

/// Runs `sealcall call`.
pub async fn call(args: CallArgs) -> Result<()> {
    let mut video = VideoOutput::open(args.client.video_output.as_deref())?;
    let (engine, mut events) = args.client.connect(false, args.client.route()).await?;
    let end = run_call(
        &engine,
        &mut events,
        &args.callee,
        Duration::from_secs_f64(args.duration.max(0.0)),
        &args.then,
        args.record.as_deref(),
        &mut video,
    )
    .await?;
    engine.shutdown().await?;
    video.finish()?;
    match end {
        Ended::Local | Ended::Remote(_) => Ok(()),
        other => bail!("{}", describe_end(&other)),
    }
}

/// `sealcall answer` / `sealcall echo-bot`.
#[derive(Debug, Args)]
pub struct AnswerArgs {
    #[command(flatten)]
    client: ClientArgs,
    /// Answer one call and exit when it ends (default for `answer`); the echo bot serves forever.
    #[arg(long)]
    once: bool,
}

/// Runs `sealcall answer` (echo = false) or `sealcall echo-bot` (echo = true).
pub async fn answer(args: AnswerArgs, echo: bool) -> Result<()> {
    let route = if echo {
        AudioRoute::Echo
    } else {
        args.client.route()
    };
    let mut video = VideoOutput::open(args.client.video_output.as_deref())?;
    let (engine, mut events) = args.client.connect(true, route).await?;
    println!(
        "{}",
        if echo {
            "echo bot ready: answering every call and playing back what it hears and sees"
        } else {
            "waiting for a call…"
        }
    );
    let once = args.once || !echo;
    loop {
        tokio::select! {
            e = events.recv() => {
                let Some(e) = e else { bail!("the engine stopped") };
                video.on_event(&e)?;
                if print_event(&e).is_some() && once {
                    break;
                }
            }
            _ = tokio::signal::ctrl_c() => break,
        }
    }
    engine.shutdown().await?;
    video.finish()?;
    Ok(())
}

/// `sealcall demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Seconds to stay in the test call.
    #[arg(long, default_value_t = 4.0)]
    duration: f64,
    /// Where the demo keeps its database and recordings (default: a fresh temporary folder).
    #[arg(long)]
    data_dir: Option<PathBuf>,
}

/// Runs `sealcall demo`: an embedded server with a demo organisation, an echo bot, and an
/// end-to-end encrypted test call to it; then checks the echoed tone.
pub async fn demo(args: DemoArgs) -> Result<()> {
    let temp;
    let dir: &Path = match &args.data_dir {
        Some(d) => {
            std::fs::create_dir_all(d)?;
            d
        }
        None => {
            temp = tempdir()?;
            &temp
        }
    };
    let db = dir.join("sealcall-demo.db");
    let _ = std::fs::remove_file(&db);
    let secret = random_password();
    let cost = sealcall_server::PasswordCost::default();
    let admin = "admin@demo.example";
    let me = "alex@demo.example";
    let bot = "echo@demo.example";
    sealcall_server::cli::server_init(&db, "Demo", admin, "Demo Admin", &secret, cost)?;
    sealcall_server::cli::user_add(&db, me, "Alex Demo", &secret, &[], cost)?;
    sealcall_server::cli::user_add(&db, bot, "Echo Bot", &secret, &[], cost)?;
    let mut config = sealcall_server::Config::new(&db);
    config.turn = Some(sealcall_server::TurnConfig {
        listen: "127.0.0.1:0".parse()?,
        // The demo's devices are on this machine.
        allow: sealcall_server::TurnConfig::loopback_peers(),
        ..sealcall_server::TurnConfig::default()
    });
    // TLS as in a real deployment: a fresh self-signed certificate that the demo's clients pin.
    let cert =
        sealcall_server::SelfSigned::generate(&sealcall_server::SelfSigned::default_names())?;
    config.tls = Some(cert.server_tls()?);
    let trust = Trust::pinned(cert.fingerprint);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let server = sealcall_server::Server::start(config, listener).await?;
    let url = server.url();
    println!(
        "Sealcall demo: server on {url} (SQLite {}), demo organisation created",
        db.display()
    );
    println!(
        "TLS: self-signed certificate {}, pinned by the demo's clients",
        cert.fingerprint
    );

    let mut out = Vec::new();
    let line = "Set-CsTeamsEnhancedEncryptionPolicy -Identity Global -CallingEndtoEndEncryptionEnabledType DisabledUserOverride";
    sealcall_server::cli::admin_run(
        &url,
        &trust,
        admin,
        &secret,
        Some(line),
        std::io::empty(),
        &mut out,
        false,
    )
    .await?;
    println!("admin> {line}");

    let engine_config = |user: &str, audio: AudioRoute, auto: bool| {
        let mut c = EngineConfig::new(&url, user, &secret);
        c.trust = trust.clone();
        c.transport = TransportConfig::loopback();
        c.audio = audio;
        c.auto_answer = auto;
        c
    };
    let (echo, mut echo_events) =
        Engine::connect(engine_config(bot, AudioRoute::Echo, true)).await?;
    echo.set_e2ee(true).await?;
    tokio::spawn(async move { while echo_events.recv().await.is_some() {} });
    println!("echo bot {bot} is online and answers every call");

    let heard = dir.join("demo-heard.wav");
    let route = AudioRoute::Specs {
        input: "tone:440".into(),
        output: heard.display().to_string(),
    };
    let mut config = engine_config(me, route, false);
    config.video = VideoSpec::TestPattern;
    let (engine, mut events) = Engine::connect(config).await?;
    engine.set_e2ee(true).await?;
    println!(
        "signed in as {me}; \"End-to-end encrypted calls\" turned on for both users; sending a 440 Hz tone and the video test pattern"
    );
    let seen = dir.join("demo-seen.y4m");
    let mut video = VideoOutput::open(Some(&seen))?;
    let end = run_call(
        &engine,
        &mut events,
        bot,
        Duration::from_secs_f64(args.duration.clamp(1.0, 600.0)),
        &[],
        None,
        &mut video,
    )
    .await?;
    video.finish()?;
    engine.shutdown().await?;
    echo.shutdown().await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    server.shutdown().await?;
    if !matches!(end, Ended::Local) {
        bail!("the test call did not complete: {}", describe_end(&end));
    }
    let (freq, snr) = analyse(&heard)?;
    let (pictures, psnr) = analyse_video(&seen)?;
    println!("echo seen back: {pictures} video frames of the test pattern, PSNR-Y {psnr:.1} dB");
    if args.data_dir.is_some() {
        println!(
            "echo heard back: {freq:.1} Hz at {snr:.1} dB SNR (recording: {})",
            heard.display()
        );
    } else {
        println!(
            "echo heard back: {freq:.1} Hz at {snr:.1} dB SNR (--data-dir DIR keeps the database and the recording)"
        );
        let _ = std::fs::remove_dir_all(dir);
    }
    if (freq - 440.0).abs() > 5.0 {
        bail!("the echo did not carry the tone");
    }
    if pictures == 0 {
        bail!("the echo did not carry the video");
    }
    println!(
        "demo complete: an end-to-end encrypted call, both sides showing the same security code"
    );
    Ok(())
}

fn analyse(path: &Path) -> Result<(f64, f64)> {
    let tone = analyse_wav(path, None).context("reading the recording")?;
    Ok((tone.frequency_hz, tone.snr_db))
}

/// Frames of the test pattern in a received `.y4m`, and their mean PSNR-Y against what was sent.
fn analyse_video(path: &Path) -> Result<(usize, f64)> {
    let frames = read_y4m(path).context("reading the received video")?;
    let Some(first) = frames.first() else {
        return Ok((0, 0.0));
    };
    let pattern = TestPattern::new(first.width(), first.height())?;
    let scores: Vec<f64> = frames
        .iter()
        .filter_map(|f| {
            let n = pattern.read_counter(f)?;
            psnr_y(&pattern.frame(u64::from(n)), f)
        })
        .collect();
    let mean = scores.iter().sum::<f64>() / scores.len().max(1) as f64;
    Ok((scores.len(), mean))
}

fn random_password() -> String {
    let mut b = [0u8; 18];
    let _ = getrandom::fill(&mut b);
    hex::encode(b)
}

fn tempdir() -> Result<PathBuf> {
    let mut b = [0u8; 8];
    let _ = getrandom::fill(&mut b);
    let dir = std::env::temp_dir().join(format!("sealcall-demo-{}", hex::encode(b)));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn in_call_steps_parse_and_bad_ones_say_what_is_wrong() {
        assert_eq!(
            parse_step("hold@1.5"),
            Ok(Step {
                at: Duration::from_millis(1500),
                hold: true
            })
        );
        assert_eq!(
            parse_step("resume@3"),
            Ok(Step {
                at: Duration::from_secs(3),
                hold: false
            })
        );
        for (bad, says) in [
            ("hold", "expected ACTION@SECS"),
            ("park@2", "unknown action 'park'"),
            ("hold@soon", "not a number"),
            ("hold@-1", "between 0 and 86400"),
            ("hold@NaN", "between 0 and 86400"),
        ] {
            let e = parse_step(bad).unwrap_err();
            assert!(e.contains(says), "{bad}: {e}");
        }
    }
}
