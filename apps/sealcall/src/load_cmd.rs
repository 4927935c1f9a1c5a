//! `sealcall bench-signaling`: a signaling load benchmark over real `sealcall server` processes
//! (one, or several on one PostgreSQL database and one Redis).
//!
//! Clients in pairs, each pair in an answered call (with two nodes, the two devices of a pair
//! are on different nodes, so every message crosses Redis), send handshake messages to each
//! other at a sustained total rate; the latency of each message is measured from the sender's
//! write to the peer's read (both in this process, on one clock). Then `--idle` more devices
//! connect and stay quiet: the first node's memory growth per device. CPU and memory per node
//! come from `/proc`. The clients run on the same machine as the nodes and take CPU from them:
//! the figures are an upper bound on what the server alone costs.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Args;
use futures_util::{SinkExt, StreamExt};
use sealcall_server::{HttpClient, PasswordCost, RedisUrl, StoreLocation, cli};
use sealcall_signaling::{
    CallId, ClientMessage, HandshakeBytes, ServerMessage, encode_client, parse_server_message,
};
use serde::Serialize;
use serde_json::json;
use tokio::net::TcpSocket;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const PASSWORD: &str = "bench password 1";
/// Connections from one source address (the server allows 500 per address by default).
const PER_SOURCE: usize = 400;
/// Clients set up at once (sign-ins in flight from one address count against its sign-in
/// throttle, which allows 20).
const SETUP_CONCURRENCY: usize = 16;
const WARM_UP: Duration = Duration::from_secs(2);

/// `sealcall bench-signaling`.
#[derive(Debug, Args)]
pub struct LoadArgs {
    /// Server nodes (processes); more than one needs --db (PostgreSQL) and --redis.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=4))]
    nodes: u16,
    /// Clients (an even number: they call each other in pairs).
    #[arg(long, default_value_t = 1000)]
    clients: usize,
    /// Messages per second offered, all clients together.
    #[arg(long, default_value_t = 2000)]
    rate: u32,
    /// How long the measured window lasts, in seconds (after 2 s of warm-up).
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Idle devices to connect afterwards to the first node (its memory per device); 0: none.
    #[arg(long, default_value_t = 0)]
    idle: usize,
    /// An empty store for the benchmark's tenant: a SQLite file (default: a temporary one) or
    /// a PostgreSQL URL (needed with several nodes).
    #[arg(long)]
    db: Option<String>,
    /// Redis for several nodes.
    #[arg(long)]
    redis: Option<String>,
    /// Where to write the JSON results.
    #[arg(
        long,
        value_name = "PATH",
        default_value = "target/sealcall-signaling-bench.json"
    )]
    json: PathBuf,
}

/// What one node cost.
#[derive(Debug, Serialize)]
struct NodeFigures {
    /// CPU time over the measured window, percent of one core.
    cpu_percent: f64,
    /// Resident memory at the end of the window, bytes.
    rss_bytes: u64,
}

/// The results (`--json`).
#[derive(Debug, Serialize)]
struct Report {
    schema: u32,
    nodes: u16,
    clients: usize,
    offered_per_second: u32,
    seconds: u64,
    sent: u64,
    received: u64,
    /// Messages sent in the window whose peer never read them.
    lost: u64,
    received_per_second: f64,
    latency_ms: Percentiles,
    per_node: Vec<NodeFigures>,
    idle: Option<IdleFigures>,
    goals: Vec<Goal>,
}

#[derive(Debug, Serialize)]
struct Percentiles {
    p50: f64,
    p99: f64,
    max: f64,
}

#[derive(Debug, Serialize)]
struct IdleFigures {
    devices: usize,
    rss_before_bytes: u64,
    rss_after_bytes: u64,
    per_device_bytes: u64,
    /// What 10,000 idle devices would take at this rate.
    projected_10k_bytes: u64,
}

#[derive(Debug, Serialize)]
struct Goal {
    what: String,
    met: bool,
}

/// A running node.
struct Node {
    child: std::process::Child,
    url: String,
    addr: SocketAddr,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs the benchmark.
pub async fn run(args: LoadArgs) -> Result<()> {
    if args.clients < 2 || !args.clients.is_multiple_of(2) {
        bail!("--clients must be an even number, at least 2");
    }
    if args.rate == 0 || args.seconds == 0 {
        bail!("--rate and --seconds must be at least 1");
    }
    let temp = tempfile::tempdir().context("temporary folder")?;
    // Kept as given (to hand to the nodes in their configuration files), checked here.
    let db_text = match &args.db {
        Some(text) => text.clone(),
        None if args.nodes > 1 => {
            bail!("several nodes need one PostgreSQL database: --db postgres://…")
        }
        None => temp.path().join("bench.db").display().to_string(),
    };
    let db = StoreLocation::parse(&db_text).map_err(|e| anyhow::anyhow!("--db: {e}"))?;
    if args.nodes > 1 && matches!(db, StoreLocation::Sqlite(_)) {
        bail!("several nodes need one PostgreSQL database: --db postgres://…");
    }
    if let Some(redis) = &args.redis {
        RedisUrl::parse(redis).map_err(|e| anyhow::anyhow!("--redis: {e}"))?;
    }
    if args.nodes > 1 && args.redis.is_none() {
        bail!("several nodes need Redis: --redis redis://…");
    }
    write_file(&args.json, "{}\n")?;

    let total = args.clients + args.idle;
    eprintln!("creating a tenant with {total} users in {db}");
    let users: Vec<(String, String)> = (0..total)
        .map(|i| (format!("u{i}@bench.example"), format!("User {i}")))
        .collect();
    {
        let (db, users) = (db.clone(), users.clone());
        tokio::task::spawn_blocking(move || -> Result<()> {
            let cost = PasswordCost::insecure_for_tests();
            cli::server_init(&db, "Bench", "admin@bench.example", "Admin", PASSWORD, cost)
                .context("creating the tenant (the store must be empty)")?;
            cli::users_add(&db, &users, PASSWORD, cost)?;
            Ok(())
        })
        .await??;
    }

    let mut nodes = Vec::new();
    for i in 0..args.nodes {
        nodes.push(start_node(temp.path(), i, &db_text, args.redis.as_deref())?);
    }
    eprintln!(
        "{} node(s) on {}",
        nodes.len(),
        nodes
            .iter()
            .map(|n| n.url.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );

    let started = Instant::now();
    let clients = connect_all(&nodes, &users[..args.clients], 0).await?;
    eprintln!(
        "{} clients connected in {:.1} s",
        clients.len(),
        started.elapsed().as_secs_f64()
    );
    let pairs = pair_up(clients).await?;
    eprintln!("{} calls answered", pairs.len());

    let Measured {
        sent,
        lost,
        latencies: mut held,
        per_node,
    } = load(pairs, args.rate, args.seconds, &nodes).await?;
    held.sort_unstable();
    let received = held.len() as u64;
    let pct = |p: f64| -> f64 {
        if held.is_empty() {
            return 0.0;
        }
        let i = ((held.len() as f64 - 1.0) * p).round() as usize;
        held[i.min(held.len() - 1)] as f64 / 1e6
    };
    let latency = Percentiles {
        p50: pct(0.50),
        p99: pct(0.99),
        max: pct(1.0),
    };

    let idle = if args.idle > 0 {
        let before = rss(nodes[0].child.id());
        let quiet = connect_all(&nodes[..1], &users[args.clients..], args.clients).await?;
        tokio::time::sleep(Duration::from_secs(2)).await;
        let after = rss(nodes[0].child.id());
        let per_device = after.saturating_sub(before) / quiet.len().max(1) as u64;
        drop(quiet);
        Some(IdleFigures {
            devices: args.idle,
            rss_before_bytes: before,
            rss_after_bytes: after,
            per_device_bytes: per_device,
            projected_10k_bytes: before + per_device * 10_000,
        })
    } else {
        None
    };

    let p99_goal = if args.nodes == 1 { 20.0 } else { 30.0 };
    let mut goals = vec![Goal {
        what: format!(
            "p99 <= {p99_goal} ms ({} node(s), {} clients, {} msg/s)",
            args.nodes, args.clients, args.rate
        ),
        met: latency.p99 <= p99_goal && lost == 0,
    }];
    if let Some(idle) = &idle {
        goals.push(Goal {
            what: "10,000 idle devices on one node in <= 1 GiB".to_owned(),
            met: idle.projected_10k_bytes <= 1 << 30,
        });
    }
    let report = Report {
        schema: 1,
        nodes: args.nodes,
        clients: args.clients,
        offered_per_second: args.rate,
        seconds: args.seconds,
        sent,
        received,
        lost,
        received_per_second: received as f64 / args.seconds as f64,
        latency_ms: latency,
        per_node,
        idle,
        goals,
    };
    print!("{}", render(&report));
    let text = serde_json::to_string_pretty(&report).context("serialising the results")?;
    write_file(&args.json, &(text + "\n"))?;
    println!("\nJSON written to {}", args.json.display());
    Ok(())
}

fn write_file(path: &Path, text: &str) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

fn render(r: &Report) -> String {
    let mut out = format!(
        "signaling load: {} node(s), {} clients in {} calls, {} msg/s offered for {} s\n\n",
        r.nodes,
        r.clients,
        r.clients / 2,
        r.offered_per_second,
        r.seconds
    );
    out += "| forwarded | p50 | p99 | max | lost |\n| ---: | ---: | ---: | ---: | ---: |\n";
    out += &format!(
        "| {:.0}/s | {:.2} ms | {:.2} ms | {:.2} ms | {} |\n\n",
        r.received_per_second, r.latency_ms.p50, r.latency_ms.p99, r.latency_ms.max, r.lost
    );
    out += "| node | CPU (one core = 100 %) | memory |\n| ---: | ---: | ---: |\n";
    for (i, n) in r.per_node.iter().enumerate() {
        out += &format!(
            "| {} | {:.0} % | {:.1} MiB |\n",
            i + 1,
            n.cpu_percent,
            n.rss_bytes as f64 / 1048576.0
        );
    }
    if let Some(idle) = &r.idle {
        out += &format!(
            "\nidle devices: {} more on node 1: {:.1} -> {:.1} MiB, {:.1} KiB each; 10,000 would take about {:.0} MiB\n",
            idle.devices,
            idle.rss_before_bytes as f64 / 1048576.0,
            idle.rss_after_bytes as f64 / 1048576.0,
            idle.per_device_bytes as f64 / 1024.0,
            idle.projected_10k_bytes as f64 / 1048576.0
        );
    }
    out += "\n";
    for g in &r.goals {
        out += &format!(
            "goal: {} ... {}\n",
            g.what,
            if g.met { "met" } else { "NOT met" }
        );
    }
    out
}

fn start_node(dir: &Path, i: u16, db: &str, redis: Option<&str>) -> Result<Node> {
    use std::io::{BufRead, BufReader};
    let exe = std::env::current_exe().context("the sealcall binary")?;
    // The URLs can hold passwords: in a file, not on the command line.
    let file = dir.join(format!("node{i}.toml"));
    let mut text = format!(
        "db = {}\nlisten = \"127.0.0.1:0\"\nturn = \"off\"\n",
        toml_string(db)
    );
    if let Some(redis) = redis {
        text += &format!("redis = {}\n", toml_string(redis));
    }
    write_file(&file, &text)?;
    let mut child = std::process::Command::new(exe)
        .args(["server", "--config"])
        .arg(&file)
        .env("RUST_LOG", "warn")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .context("starting sealcall server")?;
    let out = child.stdout.take().context("the node's output")?;
    let mut lines = BufReader::new(out).lines();
    let url = loop {
        match lines.next() {
            Some(Ok(line)) => {
                if let Some(rest) = line.strip_prefix("sealcall server on ") {
                    break rest.split(' ').next().unwrap_or_default().to_owned();
                }
            }
            _ => bail!("node {} did not start", i + 1),
        }
    };
    // Keep reading its output, so that it never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    let addr = url
        .trim_start_matches("http://")
        .parse()
        .context("the node's address")?;
    Ok(Node { child, url, addr })
}

fn toml_string(s: &str) -> String {
    serde_json::Value::String(s.to_owned()).to_string()
}

type Ws = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

/// A connected client.
struct Client {
    ws: Ws,
    user: String,
}

/// Signs in `users` (client `offset + i` on node `i % nodes`), registers a device for each and
/// connects its WebSocket (from 127.0.0.2 upwards, [`PER_SOURCE`] per source address).
async fn connect_all(
    nodes: &[Node],
    users: &[(String, String)],
    offset: usize,
) -> Result<Vec<Client>> {
    let http: Vec<HttpClient> = nodes
        .iter()
        .map(|n| HttpClient::new(&n.url))
        .collect::<Result<_, _>>()?;
    let mut out: Vec<Option<Client>> = (0..users.len()).map(|_| None).collect();
    for chunk in (0..users.len())
        .collect::<Vec<_>>()
        .chunks(SETUP_CONCURRENCY)
    {
        let mut tasks = Vec::new();
        for &i in chunk {
            let n = i % nodes.len();
            let (http, addr, user) = (http[n].clone(), nodes[n].addr, users[i].0.clone());
            let source = source_address(offset + i);
            tasks.push(tokio::spawn(async move {
                connect_one(&http, addr, &user, source, offset + i).await
            }));
        }
        for (&i, task) in chunk.iter().zip(tasks) {
            out[i] = Some(task.await??);
        }
    }
    Ok(out.into_iter().flatten().collect())
}

fn source_address(i: usize) -> std::net::Ipv4Addr {
    let n = 2 + i / PER_SOURCE;
    std::net::Ipv4Addr::new(127, 0, ((n >> 8) & 0xff) as u8, (n & 0xff) as u8)
}

async fn connect_one(
    http: &HttpClient,
    addr: SocketAddr,
    user: &str,
    source: std::net::Ipv4Addr,
    key: usize,
) -> Result<Client> {
    let r = http
        .request(
            "POST",
            "/sign-in",
            None,
            Some(&json!({"user": user, "password": PASSWORD})),
        )
        .await?;
    let token = r.body["token"]
        .as_str()
        .with_context(|| format!("sign-in of {user}: {}", r.body))?
        .to_owned();
    let mut identity = [0u8; 32];
    identity[..8].copy_from_slice(&(key as u64 + 1).to_be_bytes());
    let r = http
        .request(
            "POST",
            "/devices",
            Some(&token),
            Some(&json!({"identity_key": hex::encode(identity), "platform": "Linux", "client_version": "1.0.0"})),
        )
        .await?;
    let device = r.body["device_id"]
        .as_str()
        .with_context(|| format!("device of {user}: {}", r.body))?
        .to_owned();
    let socket = TcpSocket::new_v4()?;
    socket
        .bind(SocketAddr::new(source.into(), 0))
        .with_context(|| format!("binding {source}"))?;
    let stream = socket.connect(addr).await.context("connecting")?;
    let mut req = format!("ws://{addr}/ws?device_id={device}").into_client_request()?;
    req.headers_mut()
        .insert("authorization", format!("Bearer {token}").parse()?);
    let (mut ws, _) = tokio_tungstenite::client_async(req, stream)
        .await
        .context("WebSocket")?;
    // The welcome.
    let _ = next_message(&mut ws).await?;
    Ok(Client {
        ws,
        user: user.to_owned(),
    })
}

async fn next_message(ws: &mut Ws) -> Result<ServerMessage> {
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(30), ws.next())
            .await
            .context("no message within 30 s")?
            .context("connection closed")??;
        if let Message::Text(t) = frame {
            return Ok(parse_server_message(t.as_bytes())?);
        }
    }
}

async fn send(ws: &mut Ws, msg: &ClientMessage) -> Result<()> {
    ws.send(Message::Text(encode_client(msg)?.into())).await?;
    Ok(())
}

/// Client 2k calls client 2k+1, which answers: the pairs with their call.
async fn pair_up(clients: Vec<Client>) -> Result<Vec<(CallId, Client, Client)>> {
    let mut it = clients.into_iter();
    let mut done = Vec::new();
    loop {
        let mut tasks = Vec::new();
        while tasks.len() < SETUP_CONCURRENCY {
            match (it.next(), it.next()) {
                (Some(a), Some(b)) => tasks.push(tokio::spawn(answer(a, b))),
                _ => break,
            }
        }
        if tasks.is_empty() {
            return Ok(done);
        }
        for t in tasks {
            done.push(t.await??);
        }
    }
}

async fn answer(mut a: Client, mut b: Client) -> Result<(CallId, Client, Client)> {
    send(
        &mut a.ws,
        &ClientMessage::Invite {
            callee: b.user.parse().map_err(|e| anyhow::anyhow!("{e:?}"))?,
        },
    )
    .await?;
    let call_id = loop {
        match next_message(&mut a.ws).await? {
            ServerMessage::InviteSent { call_id, .. } => break call_id,
            ServerMessage::CallFailed { reason, .. } => bail!("invite failed: {reason:?}"),
            _ => continue,
        }
    };
    loop {
        if let ServerMessage::IncomingCall { .. } = next_message(&mut b.ws).await? {
            break;
        }
    }
    send(
        &mut b.ws,
        &ClientMessage::Accept {
            call_id: call_id.clone(),
        },
    )
    .await?;
    for ws in [&mut a.ws, &mut b.ws] {
        loop {
            if let ServerMessage::CallAccepted { .. } = next_message(ws).await? {
                break;
            }
        }
    }
    Ok((call_id, a, b))
}

/// What the load phase measured.
struct Measured {
    /// Messages sent in the window.
    sent: u64,
    /// Of those, never read.
    lost: u64,
    /// The latency (ns) of each one read.
    latencies: Vec<u64>,
    /// What each node cost over the window.
    per_node: Vec<NodeFigures>,
}

/// The load: every client sends to its peer at `rate / clients` a second for warm-up plus
/// `seconds`; returns the messages sent in the window, the latencies, and how many of those
/// were never read.
async fn load(
    pairs: Vec<(CallId, Client, Client)>,
    rate: u32,
    seconds: u64,
    nodes: &[Node],
) -> Result<Measured> {
    let clients = pairs.len() * 2;
    let period = Duration::from_secs_f64(clients as f64 / f64::from(rate));
    let t0 = Instant::now();
    let window = (WARM_UP, WARM_UP + Duration::from_secs(seconds));
    let sent_in_window: Arc<Mutex<HashSet<u64>>> = Arc::default();
    let latencies: Arc<Mutex<Vec<u64>>> = Arc::default();
    let mut tasks = Vec::new();
    let mut index = 0u64;
    for (call_id, a, b) in pairs {
        for c in [a, b] {
            let (sink, stream) = c.ws.split();
            let id = index;
            index += 1;
            let offset = period.mul_f64((id as f64 * 0.618_034) % 1.0);
            tasks.push(tokio::spawn(sender(
                sink,
                call_id.clone(),
                id,
                t0,
                offset,
                period,
                window,
                Arc::clone(&sent_in_window),
            )));
            tasks.push(tokio::spawn(receiver(
                stream,
                t0,
                window,
                Arc::clone(&latencies),
                Arc::clone(&sent_in_window),
            )));
        }
    }
    // CPU over the window.
    tokio::time::sleep_until((t0 + window.0).into()).await;
    let before: Vec<u64> = nodes.iter().map(|n| cpu_ticks(n.child.id())).collect();
    let began = Instant::now();
    tokio::time::sleep_until((t0 + window.1).into()).await;
    let elapsed = began.elapsed().as_secs_f64();
    let per_node = nodes
        .iter()
        .zip(before)
        .map(|(n, b)| NodeFigures {
            cpu_percent: (cpu_ticks(n.child.id()).saturating_sub(b)) as f64
                / TICKS_PER_SECOND
                / elapsed
                * 100.0,
            rss_bytes: rss(n.child.id()),
        })
        .collect();
    // The last messages' answers: a second more, then stop.
    tokio::time::sleep(Duration::from_secs(1)).await;
    for t in &tasks {
        t.abort();
    }
    // What is still in the map was sent in the window and never read.
    let lost = sent_in_window.lock().map(|m| m.len()).unwrap_or(0) as u64;
    let latencies = std::mem::take(&mut *latencies.lock().unwrap_or_else(|e| e.into_inner()));
    let sent = latencies.len() as u64 + lost;
    Ok(Measured {
        sent,
        lost,
        latencies,
        per_node,
    })
}

/// Clock ticks per second of `/proc/PID/stat` (`getconf CLK_TCK`: 100 on Linux).
const TICKS_PER_SECOND: f64 = 100.0;

/// User plus system CPU ticks of a process.
fn cpu_ticks(pid: u32) -> u64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0;
    };
    // After the command name (in parentheses, which may hold spaces): state is field 3.
    let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
        return 0;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15, i.e. 11 and 12 after the state (field 3).
    let get = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    get(11) + get(12)
}

/// Resident memory of a process, bytes.
fn rss(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or(0, |kib| kib * 1024)
}

#[allow(clippy::too_many_arguments)]
async fn sender(
    mut sink: futures_util::stream::SplitSink<Ws, Message>,
    call_id: CallId,
    id: u64,
    t0: Instant,
    offset: Duration,
    period: Duration,
    window: (Duration, Duration),
    sent: Arc<Mutex<HashSet<u64>>>,
) -> Result<()> {
    let mut next = t0 + offset;
    let mut seq = 0u64;
    loop {
        tokio::time::sleep_until(next.into()).await;
        let at = t0.elapsed();
        if at >= window.1 {
            return Ok(());
        }
        let key = (id << 32) | seq;
        let mut data = Vec::with_capacity(64);
        data.extend_from_slice(&key.to_be_bytes());
        data.extend_from_slice(&(at.as_nanos() as u64).to_be_bytes());
        data.resize(64, 0);
        if at >= window.0
            && let Ok(mut s) = sent.lock()
        {
            s.insert(key);
        }
        let msg = ClientMessage::Handshake {
            call_id: call_id.clone(),
            data: HandshakeBytes::new(data).map_err(anyhow::Error::msg)?,
        };
        sink.send(Message::Text(encode_client(&msg)?.into()))
            .await?;
        seq += 1;
        next += period;
    }
}

async fn receiver(
    mut stream: futures_util::stream::SplitStream<Ws>,
    t0: Instant,
    window: (Duration, Duration),
    latencies: Arc<Mutex<Vec<u64>>>,
    sent: Arc<Mutex<HashSet<u64>>>,
) -> Result<()> {
    while let Some(frame) = stream.next().await {
        let Message::Text(t) = frame? else { continue };
        let Ok(ServerMessage::Handshake { data, .. }) = parse_server_message(t.as_bytes()) else {
            continue;
        };
        let bytes = data.as_bytes();
        if bytes.len() < 16 {
            continue;
        }
        let key = u64::from_be_bytes(bytes[..8].try_into().unwrap_or_default());
        let at = u64::from_be_bytes(bytes[8..16].try_into().unwrap_or_default());
        let now = t0.elapsed().as_nanos() as u64;
        let in_window = Duration::from_nanos(at) >= window.0 && Duration::from_nanos(at) < window.1;
        if in_window {
            let known = sent.lock().map(|mut s| s.remove(&key)).unwrap_or(false);
            if known && let Ok(mut l) = latencies.lock() {
                l.push(now.saturating_sub(at));
            }
        }
    }
    Ok(())
}
