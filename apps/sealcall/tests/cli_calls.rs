//! The real `sealcall` binary against a real server on 127.0.0.1:0 (real SQLite file): an echo
//! bot and a caller, end-to-end encrypted, and the admin front end.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Stdio};
use std::time::Duration;

use sealcall_server::{Config, PasswordCost, Server, cli};

const PASSWORD: &str = "correct horse battery";

fn sealcall() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_sealcall"));
    c.env("SEALCALL_PASSWORD", PASSWORD).stdin(Stdio::null());
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_echo_bot_and_call_through_the_binary() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("sealcall.db");
    let cost = PasswordCost::insecure_for_tests();
    cli::server_init(
        &db,
        "Contoso",
        "admin@contoso.onmicrosoft.com",
        "Admin",
        PASSWORD,
        cost,
    )
    .unwrap();
    cli::user_add(
        &db,
        "ken@contoso.onmicrosoft.com",
        "Ken",
        PASSWORD,
        &[],
        cost,
    )
    .unwrap();
    cli::user_add(
        &db,
        "echo@contoso.onmicrosoft.com",
        "Echo",
        PASSWORD,
        &[],
        cost,
    )
    .unwrap();
    let mut config = Config::new(&db);
    config.password_cost = cost;
    config.turn = None;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let server = Server::start(config, listener).await.unwrap();
    let url = format!("http://{}", server.addr());

    // `sealcall admin` with one cmdlet line, then a bad one (clear error, non-zero exit).
    let out = sealcall()
        .args(["admin", "--server", &url, "--user", "admin@contoso.onmicrosoft.com"])
        .arg("Set-CsTeamsEnhancedEncryptionPolicy -Identity Global -CallingEndtoEndEncryptionEnabledType DisabledUserOverride")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bad = sealcall()
        .args(["admin", "--server", &url, "--user", "admin@contoso.onmicrosoft.com", "Set-CsTeamsEnhancedEncryptionPolicy -Identity Global -CallingEndtoEndEncryptionEnabledType Sometimes"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&bad.stdout),
        String::from_utf8_lossy(&bad.stderr)
    );
    assert!(
        all.contains("CallingEndtoEndEncryptionEnabledType"),
        "{all}"
    );

    // The echo bot serves one call.
    let bot = sealcall()
        .args([
            "echo-bot",
            "--once",
            "--server",
            &url,
            "--user",
            "echo@contoso.onmicrosoft.com",
            "--e2ee",
            "on",
            "--bind",
            "127.0.0.1:0",
        ])
        .args(["--identity-dir", dir.path().join("bot").to_str().unwrap()])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;

    let heard = dir.path().join("heard.wav");
    let seen = dir.path().join("seen.y4m");
    let call = sealcall()
        .args([
            "call",
            "--server",
            &url,
            "--user",
            "ken@contoso.onmicrosoft.com",
            "--e2ee",
            "on",
            "--bind",
            "127.0.0.1:0",
        ])
        .args([
            "--input",
            "tone:440",
            "--output",
            heard.to_str().unwrap(),
            "--duration",
            "3",
            "--then",
            "hold@0.8",
            "--then",
            "resume@1.6",
            "--record",
            dir.path().join("refused.wav").to_str().unwrap(),
            "--video",
            "test-pattern",
            "--video-output",
            seen.to_str().unwrap(),
        ])
        .args(["--identity-dir", dir.path().join("ken").to_str().unwrap()])
        .arg("echo@contoso.onmicrosoft.com")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&call.stdout);
    eprintln!("{text}");
    assert!(
        call.status.success(),
        "{}",
        String::from_utf8_lossy(&call.stderr)
    );
    assert!(text.contains("connected — end-to-end encrypted"), "{text}");
    let code_line = text
        .lines()
        .find(|l| l.starts_with("security code: "))
        .unwrap();
    let code = &code_line["security code: ".len().."security code: ".len() + 23];
    assert!(code.chars().all(|c| c.is_ascii_digit() || c == ' '));
    // Post-quantum by default, said next to the lock on both sides.
    assert!(
        text.lines().any(|l| l == "post-quantum protected"),
        "{text}"
    );

    let bot_out = bot.wait_with_output().unwrap();
    let bot_text = String::from_utf8_lossy(&bot_out.stdout);
    assert!(
        bot_text.contains(&format!("security code: {code}")),
        "both sides show the same code:\n{bot_text}"
    );
    assert!(bot_text.contains("post-quantum protected"), "{bot_text}");
    // Recording is refused in an end-to-end encrypted call, with the policy's reason, and
    // nothing is written.
    assert!(
        text.contains(
            "not recorded: Recording isn't available during an end-to-end encrypted call"
        ),
        "{text}"
    );
    assert!(!dir.path().join("refused.wav").exists());
    // The hold and the resume, on both sides, in that order.
    let order = |text: &str, first: &str, then: &str| {
        let a = text
            .find(first)
            .unwrap_or_else(|| panic!("no '{first}' in:\n{text}"));
        let b = text
            .rfind(then)
            .unwrap_or_else(|| panic!("no '{then}' in:\n{text}"));
        assert!(a < b, "'{first}' before '{then}':\n{text}");
    };
    order(&text, "on hold: you put the call on hold", "call resumed");
    order(
        &bot_text,
        "on hold: the other person put the call on hold",
        "call resumed",
    );
    // The echo bot sent the test pattern back; the call wrote what it received as YUV4MPEG2.
    assert!(text.contains("received video frames to"), "{text}");
    let frames = sealcall_engine::media::video::y4m::read_y4m(&seen).unwrap();
    let pattern = sealcall_engine::media::video::TestPattern::new(640, 480).unwrap();
    let readable = frames
        .iter()
        .filter(|f| pattern.read_counter(f).is_some())
        .count();
    eprintln!(
        "{} frames echoed, {readable} with a readable counter",
        frames.len()
    );
    assert!(frames.len() >= 20 && readable * 10 >= frames.len() * 9);
    // A bad video spec is refused with the choices.
    let bad = sealcall()
        .args([
            "call",
            "--user",
            "ken@contoso.onmicrosoft.com",
            "--video",
            "webcam",
            "x@y.z",
        ])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("test-pattern"));

    // The identity was created and stored on first use, and the contact store beside it.
    let mut files: Vec<String> = std::fs::read_dir(dir.path().join("ken"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(files.len(), 2, "{files:?}");
    assert!(files[0].ends_with(".contacts.json") && files[1].ends_with(".identity.json"));

    // Key continuity: each side remembers the other's device, with the same safety number.
    let contacts = |who: &str, id_dir: &str, rest: &[&str]| {
        let out = sealcall()
            .args(["contacts", "--server", &url, "--user", who])
            .args(["--identity-dir", dir.path().join(id_dir).to_str().unwrap()])
            .args(rest)
            .output()
            .unwrap();
        (
            out.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    };
    let (ok, kens) = contacts("ken@contoso.onmicrosoft.com", "ken", &["list"]);
    assert!(ok, "{kens}");
    assert!(
        kens.contains("echo@contoso.onmicrosoft.com device d-"),
        "{kens}"
    );
    assert!(kens.contains("not verified"), "{kens}");
    let number_of = |text: &str| {
        text.lines()
            .find_map(|l| l.trim().strip_prefix("safety number: "))
            .unwrap()
            .to_owned()
    };
    let (ok, bots) = contacts("echo@contoso.onmicrosoft.com", "bot", &["list"]);
    assert!(ok, "{bots}");
    assert!(
        bots.contains("ken@contoso.onmicrosoft.com device d-"),
        "{bots}"
    );
    let number = number_of(&kens);
    assert_eq!(number.split(' ').count(), 12);
    assert_eq!(
        number,
        number_of(&bots),
        "both sides show the same safety number"
    );
    // A number that does not match marks nothing; the right one marks the contact verified.
    let wrong = format!("1{}", &number[1..]);
    let wrong = if wrong == number {
        format!("2{}", &number[1..])
    } else {
        wrong
    };
    let echo = "echo@contoso.onmicrosoft.com";
    let (ok, out) = contacts(
        "ken@contoso.onmicrosoft.com",
        "ken",
        &["verify", echo, "--number", &wrong],
    );
    assert!(!ok && out.contains("nothing was marked"), "{out}");
    let (_, still) = contacts("ken@contoso.onmicrosoft.com", "ken", &["list"]);
    assert!(still.contains("not verified"), "{still}");
    let (ok, out) = contacts(
        "ken@contoso.onmicrosoft.com",
        "ken",
        &["verify", echo, "--number", &number],
    );
    assert!(ok && out.contains("1 device(s) marked verified"), "{out}");
    let (_, now) = contacts("ken@contoso.onmicrosoft.com", "ken", &["list"]);
    assert!(now.contains(": verified"), "{now}");
    let (ok, out) = contacts(
        "ken@contoso.onmicrosoft.com",
        "ken",
        &["verify", "nobody@contoso.onmicrosoft.com"],
    );
    assert!(!ok && out.contains("no call with nobody"), "{out}");
    server.shutdown().await.unwrap();
}
