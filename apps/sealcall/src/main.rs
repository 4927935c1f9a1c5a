//! `sealcall`: the Sealcall command line.
//!
//! Subcommands:
//! - `sealcall demo`: an embedded server, a demo organisation, an echo bot and an end-to-end
//!   encrypted test call (what `cargo xtask run` starts).
//! - `sealcall server [init]`, `sealcall user|group|role …`: run and manage a server.
//! - `sealcall admin`: run enhanced encryption policy cmdlets against a server.
//! - `sealcall device list|remove`: a user's devices (any user's, for an administrator).
//! - `sealcall call USER`, `sealcall answer`, `sealcall echo-bot`: headless calls.
//! - `sealcall contacts list|verify`: key continuity (peer devices seen, safety numbers).
//! - `sealcall bench`: what end-to-end encryption costs per frame (and per handshake, with and
//!   without ML-KEM-768) on this machine, in under a minute, with a table and a JSON file to
//!   compare machines.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use sealcall_benches::measure::Settings;
use sealcall_benches::report::{self, Plan};
use sealcall_e2ee::{AeadBackend, CipherSuite};

mod call_cmd;
mod contacts_cmd;
mod load_cmd;
mod server_cmd;
mod server_config;

/// Sealcall: end-to-end encrypted one-to-one calls.
#[derive(Debug, Parser)]
#[command(name = "sealcall", version, about)]
struct Cli {
    /// How log lines (on standard error) look: `human` or `json` (one JSON object a line).
    /// `RUST_LOG` picks what is logged (default `info` for Sealcall, `warn` for the rest;
    /// `warn` for everything in `sealcall demo`).
    #[arg(long, global = true, value_enum, default_value = "human")]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

/// The log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum LogFormat {
    /// Readable lines.
    Human,
    /// One JSON object a line, for log collectors.
    Json,
}

/// What is logged without `RUST_LOG`: Sealcall's own crates at `info`, everything else at `warn`.
const DEFAULT_LOG_FILTER: &str = "warn,sealcall=info,sealcall_server=info,sealcall_engine=info";

/// What `sealcall demo` logs without `RUST_LOG`: warnings only, so that no INFO line interleaves
/// with what the demo prints.
const DEMO_LOG_FILTER: &str = "warn";

/// Installs the log subscriber: `RUST_LOG` (or `default`) filters, lines go to standard error
/// so that what the commands print on standard output stays as it was.
fn init_logging(format: LogFormat, default: &str) -> Result<()> {
    use tracing_subscriber::EnvFilter;
    let filter = match std::env::var("RUST_LOG") {
        Ok(spec) if !spec.trim().is_empty() => EnvFilter::try_new(&spec)
            .with_context(|| format!("RUST_LOG={spec:?} is not a valid filter"))?,
        _ => EnvFilter::new(default),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let installed = match format {
        LogFormat::Human => builder
            .with_ansi(std::io::stderr().is_terminal())
            .try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
    installed.map_err(|e| anyhow::anyhow!("installing the logger: {e}"))
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Start an embedded server with a demo organisation and an echo bot, and place an end-to-end
    /// encrypted test call to it.
    Demo(call_cmd::DemoArgs),
    /// Run the server (or `server init` to create the tenant and its first administrator).
    Server(server_cmd::ServerArgs),
    /// Manage users in a server's database.
    User(server_cmd::UserArgs),
    /// Manage groups in a server's database.
    Group(server_cmd::GroupArgs),
    /// Grant or revoke roles in a server's database.
    Role(server_cmd::RoleArgs),
    /// Run enhanced encryption policy cmdlets against a server (one line, a script on standard
    /// input, or an interactive prompt).
    Admin(server_cmd::AdminArgs),
    /// List or remove devices (your own, or another user's as an administrator).
    Device(server_cmd::DeviceArgs),
    /// Call a user and print call state, E2EE status, the security code and media stats.
    Call(call_cmd::CallArgs),
    /// The people and devices this device has called with (key continuity): list them with
    /// their safety numbers, or mark one verified.
    Contacts(contacts_cmd::ContactsArgs),
    /// Wait for a call, answer it, and stay in it until it ends.
    Answer(call_cmd::AnswerArgs),
    /// Answer every call and play back what is heard (a test-call service).
    EchoBot(call_cmd::AnswerArgs),
    /// Measure per-frame encryption cost (protect/unprotect) here, side by side with the raw
    /// AEAD call, the sframe crate and SRTP, and the handshake with and without ML-KEM-768; print
    /// a table and write JSON.
    Bench(BenchArgs),
    /// Signaling load over real server processes (one, or several on PostgreSQL and Redis):
    /// forwarding latency p50/p99, messages per second, CPU and memory per node, memory per
    /// idle device; print a table and write JSON.
    BenchSignaling(load_cmd::LoadArgs),
}

#[derive(Debug, Args)]
struct BenchArgs {
    /// The short run (the default): the whole matrix for one suite in under a minute.
    #[arg(long, conflicts_with = "full")]
    quick: bool,
    /// A longer run with tighter numbers (a few minutes).
    #[arg(long)]
    full: bool,
    /// Where to write the JSON results.
    #[arg(
        long,
        value_name = "PATH",
        default_value = "target/sealcall-bench.json"
    )]
    json: PathBuf,
    /// AEAD backend(s) to measure; `all` for every backend in this build.
    #[arg(long, value_enum, default_value = "all")]
    backend: BackendArg,
    /// Cipher suite(s) to measure.
    #[arg(long, value_enum, default_value = "aes128")]
    suite: SuiteArg,
    /// Frame sizes in bytes, comma-separated (K/KiB suffix allowed), e.g. `64,1200,16K`.
    #[arg(long, value_delimiter = ',', value_parser = parse_size,
          default_value = "64,160,1200,16K,128K")]
    sizes: Vec<usize>,
    /// Skip the sframe crate and SRTP.
    #[arg(long)]
    no_comparisons: bool,
    /// Skip the routines: the handshake without and with ML-KEM-768 (and its message sizes),
    /// ML-KEM-768 keygen/encapsulate/decapsulate, rekey and Opus.
    #[arg(long)]
    no_routines: bool,
    /// Skip the video frame stages (VP8 encode, protect, packetize and back).
    #[arg(long)]
    no_video: bool,
    /// Skip the cold rows (Sealcall frames one at a time, 20 ms apart, as in a call).
    #[arg(long)]
    no_cold: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum BackendArg {
    /// Every backend compiled in.
    All,
    /// RustCrypto `aes-gcm`.
    AesGcm,
    /// AWS-LC via `aws-lc-rs` (needs the `aws-lc` feature, on by default).
    AwsLc,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum SuiteArg {
    /// AES_128_GCM_SHA256_128.
    Aes128,
    /// AES_256_GCM_SHA512_128.
    Aes256,
    /// Both.
    Both,
}

/// Largest frame size accepted (SFrame frames are media frames, not files).
const MAX_SIZE: usize = 16 * 1024 * 1024;

fn parse_size(text: &str) -> std::result::Result<usize, String> {
    let t = text.trim();
    let (digits, unit) = match t
        .strip_suffix("KiB")
        .or_else(|| t.strip_suffix('K'))
        .or_else(|| t.strip_suffix('k'))
    {
        Some(d) => (d.trim(), 1024),
        None => (t.strip_suffix('B').unwrap_or(t).trim(), 1),
    };
    let n: usize = digits
        .parse()
        .map_err(|_| format!("`{text}` is not a size in bytes (e.g. 64, 1200, 16K)"))?;
    let n = n
        .checked_mul(unit)
        .filter(|&n| (1..=MAX_SIZE).contains(&n))
        .ok_or_else(|| format!("`{text}` must be between 1 byte and 16 MiB"))?;
    Ok(n)
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    let default_filter = match cli.command {
        Command::Demo(_) => DEMO_LOG_FILTER,
        _ => DEFAULT_LOG_FILTER,
    };
    init_logging(cli.log_format, default_filter)?;
    let runtime = || {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .context("starting the async runtime")
    };
    match cli.command {
        Command::Bench(args) => bench(args),
        Command::BenchSignaling(args) => runtime()?.block_on(load_cmd::run(args)),
        Command::Demo(args) => runtime()?.block_on(call_cmd::demo(args)),
        Command::Server(args) => runtime()?.block_on(server_cmd::server(args)),
        Command::User(args) => server_cmd::user(args),
        Command::Group(args) => server_cmd::group(args),
        Command::Role(args) => server_cmd::role(args),
        Command::Admin(args) => runtime()?.block_on(server_cmd::admin(args)),
        Command::Device(args) => runtime()?.block_on(server_cmd::device(args)),
        Command::Call(args) => runtime()?.block_on(call_cmd::call(args)),
        Command::Contacts(args) => contacts_cmd::contacts(args),
        Command::Answer(args) => runtime()?.block_on(call_cmd::answer(args, false)),
        Command::EchoBot(args) => runtime()?.block_on(call_cmd::answer(args, true)),
    }
}

fn bench(args: BenchArgs) -> Result<()> {
    let backends = match args.backend {
        BackendArg::All => AeadBackend::available().to_vec(),
        BackendArg::AesGcm => vec![AeadBackend::RustCrypto],
        BackendArg::AwsLc => {
            if !AeadBackend::available().contains(&AeadBackend::AwsLc) {
                bail!("this build has no aws-lc backend; build with `--features aws-lc`");
            }
            vec![AeadBackend::AwsLc]
        }
    };
    let suites = match args.suite {
        SuiteArg::Aes128 => vec![CipherSuite::Aes128GcmSha256],
        SuiteArg::Aes256 => vec![CipherSuite::Aes256GcmSha512],
        SuiteArg::Both => vec![CipherSuite::Aes128GcmSha256, CipherSuite::Aes256GcmSha512],
    };
    let mut sizes = args.sizes;
    sizes.dedup();
    if sizes.is_empty() {
        bail!("--sizes needs at least one size");
    }
    let (settings, mode) = if args.full {
        (Settings::FULL, "full")
    } else {
        (Settings::QUICK, "quick")
    };
    let plan = Plan {
        backends,
        suites,
        sizes,
        comparisons: !args.no_comparisons,
        routines: !args.no_routines,
        video: !args.no_video,
        cold: !args.no_cold,
        settings,
        mode,
    };

    // Fail before a minute of measuring, not after, if the JSON cannot be written.
    write_file(&args.json, "{}\n")?;

    let mut bar = progress_bar(plan.steps() as u64);
    let report = report::run(&plan, |step| {
        bar.inc_or_log(step);
    })
    .context("benchmark failed")?;
    bar.finish();

    print!("{}", report::render(&report));
    write_json(&args.json, &report)?;
    println!("\nJSON written to {}", args.json.display());
    Ok(())
}

/// A progress bar on a terminal; plain `[n/total] step` lines on stderr otherwise.
struct Progress {
    bar: Option<ProgressBar>,
    total: u64,
    done: u64,
}

impl Progress {
    fn inc_or_log(&mut self, step: &str) {
        self.done += 1;
        match &self.bar {
            Some(bar) => {
                bar.set_message(step.to_owned());
                bar.set_position(self.done - 1);
            }
            None => eprintln!("[{}/{}] {step}", self.done, self.total),
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

fn progress_bar(total: u64) -> Progress {
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = ProgressBar::new(total);
        if let Ok(style) =
            ProgressStyle::with_template("{bar:30} {pos}/{len} {elapsed_precise} {wide_msg}")
        {
            bar.set_style(style);
        }
        bar
    });
    Progress {
        bar,
        total,
        done: 0,
    }
}

fn write_json(path: &Path, report: &report::Report) -> Result<()> {
    let json = serde_json::to_string_pretty(report).context("cannot serialise the results")?;
    write_file(path, &(json + "\n"))
}

fn write_file(path: &Path, text: &str) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create directory {}", dir.display()))?;
    }
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn sizes_parse() {
        assert_eq!(parse_size("64").unwrap(), 64);
        assert_eq!(parse_size("16K").unwrap(), 16384);
        assert_eq!(parse_size("128KiB").unwrap(), 131072);
        assert_eq!(parse_size("1200B").unwrap(), 1200);
        assert!(parse_size("0").is_err());
        assert!(parse_size("abc").is_err());
        assert!(parse_size("99999999K").is_err());
    }

    #[test]
    fn cli_parses() {
        let cli =
            Cli::try_parse_from(["sealcall", "bench", "--sizes", "64,16K", "--suite", "both"])
                .unwrap();
        let Command::Bench(args) = cli.command else {
            panic!("expected bench")
        };
        assert_eq!(args.sizes, vec![64, 16384]);
        assert_eq!(args.suite, SuiteArg::Both);
        assert!(Cli::try_parse_from(["sealcall", "bench", "--quick", "--full"]).is_err());
        assert!(Cli::try_parse_from(["sealcall", "bench", "--sizes", "x"]).is_err());
    }

    #[test]
    fn call_and_admin_commands_parse_and_refuse_bad_input() {
        assert!(Cli::try_parse_from(["sealcall", "call", "--user", "a@b.c", "ken@b.c"]).is_ok());
        assert!(
            Cli::try_parse_from([
                "sealcall",
                "call",
                "--server",
                "https://node1:7878",
                "--other-server",
                "https://node2:7878",
                "--other-server",
                "https://node3:7878",
                "--user",
                "a@b.c",
                "ken@b.c"
            ])
            .is_ok()
        );
        assert!(Cli::try_parse_from(["sealcall", "call", "--user", "a@b.c"]).is_err());
        assert!(
            Cli::try_parse_from(["sealcall", "call", "--user", "a", "b", "--e2ee", "maybe"])
                .is_err()
        );
        let with_processing = |setting: &str| {
            Cli::try_parse_from([
                "sealcall",
                "call",
                "--user",
                "a",
                "b",
                "--audio-processing",
                setting,
            ])
            .map(|_| ())
            .map_err(|e| e.to_string())
        };
        for setting in ["auto", "on", "off", "aec,ns", "agc"] {
            assert!(with_processing(setting).is_ok(), "{setting}");
        }
        let refused = with_processing("aec,echo").unwrap_err();
        assert!(refused.contains("unknown part") && refused.contains("aec,ns,agc,hpf"));
        assert!(Cli::try_parse_from(["sealcall", "echo-bot", "--user", "bot@b.c"]).is_ok());
        assert!(
            Cli::try_parse_from([
                "sealcall",
                "admin",
                "--user",
                "admin@b.c",
                "Get-CsTeamsEnhancedEncryptionPolicy"
            ])
            .is_ok()
        );
        assert!(Cli::try_parse_from(["sealcall", "server", "--listen", "not-an-address"]).is_err());
        assert!(
            Cli::try_parse_from([
                "sealcall", "server", "init", "--tenant", "T", "--admin", "a@b.c"
            ])
            .is_ok()
        );
        assert!(Cli::try_parse_from(["sealcall", "demo", "--duration", "2"]).is_ok());
    }

    #[test]
    fn tls_trust_and_relay_options_parse_and_refuse_bad_input() {
        let ok = |args: &[&str]| {
            Cli::try_parse_from(std::iter::once("sealcall").chain(args.iter().copied()))
                .map(|_| ())
                .map_err(|e| e.to_string())
        };
        let pin = format!("SHA256:{}", ["AB"; 32].join(":"));
        assert!(ok(&["admin", "--user", "a@b.c", "--pin", &pin, "Get-X"]).is_ok());
        assert!(ok(&["admin", "--user", "a@b.c", "--ca-file", "ca.pem", "Get-X"]).is_ok());
        let e = ok(&["admin", "--user", "a@b.c", "--pin", "12:34", "Get-X"]).unwrap_err();
        assert!(e.contains("64 hex digits"), "{e}");
        assert!(ok(&["admin", "--user", "a", "--pin", &pin, "--ca-file", "x", "L"]).is_err());
        assert!(ok(&["call", "--user", "a@b.c", "--pin", &pin, "ken@b.c"]).is_ok());
        assert!(ok(&["device", "list", "--user", "a@b.c", "--of", "ken@b.c"]).is_ok());
        assert!(ok(&["device", "remove", "d-1", "--user", "a@b.c"]).is_ok());
        assert!(ok(&["device", "list", "--user", "a@b.c", "--ca-file", "ca.pem"]).is_ok());
        assert!(ok(&["server", "--tls-cert", "c.pem", "--tls-key", "k.pem"]).is_ok());
        assert!(
            ok(&["server", "--tls-cert", "c.pem"]).is_err(),
            "the key is required too"
        );
        assert!(
            ok(&[
                "server",
                "init",
                "--tenant",
                "T",
                "--admin",
                "a@b.c",
                "--tls-name",
                "h"
            ])
            .is_ok()
        );
        assert!(
            ok(&[
                "server",
                "--relay-allow",
                "10.0.0.0/8",
                "--trusted-proxy",
                "10.1.1.1"
            ])
            .is_ok()
        );
        let e = ok(&["server", "--relay-allow", "nonsense"]).unwrap_err();
        assert!(e.contains("CIDR"), "{e}");
        assert!(ok(&["server", "--insecure-http", "--listen", "0.0.0.0:7878"]).is_ok());
    }

    fn server_args(args: &[&str]) -> server_cmd::ServerArgs {
        let cli =
            Cli::try_parse_from(std::iter::once("sealcall").chain(args.iter().copied())).unwrap();
        let Command::Server(args) = cli.command else {
            panic!("expected server")
        };
        args
    }

    #[test]
    fn a_file_with_every_key_gives_the_settings_its_flags_give_and_flags_win() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("sealcall.toml");
        std::fs::write(
            &file,
            r#"
db = "/var/lib/sealcall/sealcall.db"
listen = "0.0.0.0:8443"
turn = "0.0.0.0:3479"
tls-cert = "/etc/sealcall/cert.pem"
tls-key = "/etc/sealcall/key.pem"
insecure-http = true
relay-allow = ["10.0.0.0/8", "192.168.1.7"]
turn-secret-file = "/etc/sealcall/turn-secret"
trusted-proxy = ["10.1.1.1"]
metrics-listen = "127.0.0.1:9100"
shutdown-grace = 12
redis = "redis://:hunter2pw@10.0.0.5:6379/2"
ring-timeout = 45
turn-public-ip = "203.0.113.7"
"#,
        )
        .unwrap();
        let from_file = server_args(&["server", "--config", file.to_str().unwrap()])
            .settings()
            .unwrap();
        let from_flags = server_args(&[
            "server",
            "--db",
            "/var/lib/sealcall/sealcall.db",
            "--listen",
            "0.0.0.0:8443",
            "--turn",
            "0.0.0.0:3479",
            "--tls-cert",
            "/etc/sealcall/cert.pem",
            "--tls-key",
            "/etc/sealcall/key.pem",
            "--insecure-http",
            "--relay-allow",
            "10.0.0.0/8",
            "--relay-allow",
            "192.168.1.7",
            "--turn-secret-file",
            "/etc/sealcall/turn-secret",
            "--trusted-proxy",
            "10.1.1.1",
            "--metrics-listen",
            "127.0.0.1:9100",
            "--shutdown-grace",
            "12",
            "--redis",
            "redis://:hunter2pw@10.0.0.5:6379/2",
            "--ring-timeout",
            "45",
            "--turn-public-ip",
            "203.0.113.7",
        ])
        .settings()
        .unwrap();
        assert_eq!(format!("{from_file:?}"), format!("{from_flags:?}"));
        // Nothing is left at its default by the file.
        let defaults = server_args(&["server"]).settings().unwrap();
        assert_ne!(from_file.db.to_string(), defaults.db.to_string());
        assert_ne!(from_file.listen, defaults.listen);
        assert_ne!(from_file.turn, defaults.turn);
        assert_ne!(from_file.tls, defaults.tls);
        assert_ne!(from_file.insecure_http, defaults.insecure_http);
        assert_ne!(from_file.relay_allow, defaults.relay_allow);
        assert_ne!(from_file.turn_secret_file, defaults.turn_secret_file);
        assert_ne!(from_file.trusted_proxies, defaults.trusted_proxies);
        assert_ne!(from_file.metrics_listen, defaults.metrics_listen);
        assert_ne!(from_file.shutdown_grace, defaults.shutdown_grace);
        assert!(from_file.redis.is_some() && defaults.redis.is_none());
        assert_ne!(from_file.ring_timeout, defaults.ring_timeout);
        assert_ne!(from_file.turn_public_ip, defaults.turn_public_ip);
        // The Redis password is never shown.
        assert!(
            !format!("{from_file:?}").contains("hunter2pw"),
            "{from_file:?}"
        );

        // Flags win over the file.
        let mixed = server_args(&[
            "server",
            "--config",
            file.to_str().unwrap(),
            "--listen",
            "127.0.0.1:9000",
            "--turn",
            "off",
            "--relay-allow",
            "172.16.0.0/12",
        ])
        .settings()
        .unwrap();
        assert_eq!(
            mixed.listen,
            "127.0.0.1:9000".parse::<std::net::SocketAddr>().unwrap()
        );
        assert_eq!(mixed.turn, None);
        assert_eq!(
            mixed.relay_allow,
            vec!["172.16.0.0/12".parse::<sealcall_server::IpNet>().unwrap()]
        );
        assert_eq!(mixed.db.to_string(), from_file.db.to_string());
        assert_eq!(mixed.metrics_listen, from_file.metrics_listen);
    }

    #[test]
    fn a_relay_on_every_address_needs_the_address_devices_reach() {
        let e = server_args(&["server", "--turn", "0.0.0.0:3478"])
            .settings()
            .unwrap_err()
            .to_string();
        assert!(e.contains("--turn-public-ip"), "{e}");
        let ok = server_args(&[
            "server",
            "--turn",
            "0.0.0.0:3478",
            "--turn-public-ip",
            "203.0.113.7",
        ])
        .settings()
        .unwrap();
        assert_eq!(ok.turn_public_ip, Some("203.0.113.7".parse().unwrap()));
    }

    #[test]
    fn a_missing_file_is_a_clear_error() {
        let e = server_args(&["server", "--config", "/nonexistent/sealcall.toml"])
            .settings()
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("cannot read the configuration file /nonexistent/sealcall.toml"),
            "{e}"
        );
    }
}
