//! UDP impairment proxies for real WebRTC tests: every ICE candidate in an SDP is rewritten to
//! point at a proxy that drops 10% of the media packets, duplicates 10% and holds 15% back
//! 30-70 ms (so they arrive out of order), or, with a rate cap set, is a bottleneck link instead:
//! media leaves at the capped rate through a 250 ms buffer and what does not fit is dropped, as
//! a router would. STUN and DTLS pass untouched.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use tokio::net::UdpSocket;

#[derive(Default)]
pub struct Counters {
    pub media: AtomicU64,
    pub dropped: AtomicU64,
    pub duplicated: AtomicU64,
    pub delayed: AtomicU64,
    /// Impair the return path (target -> peer) too; by default only peer -> target.
    pub both_ways: AtomicBool,
    /// A rate cap in bit/s for peer -> target, and target -> peer with `both_ways` (0: none,
    /// random impairment instead), read when a proxy starts.
    pub cap_bps: AtomicU64,
    /// Media bytes a capped link delivered.
    pub delivered_bytes: AtomicU64,
}

/// A bottleneck link: packets leave one after another at `bps`, a full buffer drops arrivals.
struct Bottleneck {
    tx: tokio::sync::mpsc::UnboundedSender<Vec<u8>>,
    queued: Arc<AtomicU64>,
    limit: u64,
}

impl Bottleneck {
    const BUFFER: Duration = Duration::from_millis(250);

    fn new(socket: Arc<UdpSocket>, to: SocketAddr, bps: u64, counters: Arc<Counters>) -> Self {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Vec<u8>>();
        let queued = Arc::new(AtomicU64::new(0));
        let q = queued.clone();
        tokio::spawn(async move {
            let mut free_at = tokio::time::Instant::now();
            while let Some(packet) = rx.recv().await {
                free_at = free_at.max(tokio::time::Instant::now())
                    + Duration::from_secs_f64(packet.len() as f64 * 8.0 / bps as f64);
                tokio::time::sleep_until(free_at).await;
                let _ = socket.send_to(&packet, to).await;
                q.fetch_sub(packet.len() as u64, Ordering::Relaxed);
                counters
                    .delivered_bytes
                    .fetch_add(packet.len() as u64, Ordering::Relaxed);
            }
        });
        Self {
            tx,
            queued,
            limit: bps / 8 * Self::BUFFER.as_millis() as u64 / 1000,
        }
    }

    /// Queues `packet`, or drops it when the buffer is full.
    fn offer(&self, packet: Vec<u8>, counters: &Counters) {
        let len = packet.len() as u64;
        if self.queued.load(Ordering::Relaxed) + len > self.limit {
            counters.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        self.queued.fetch_add(len, Ordering::Relaxed);
        let _ = self.tx.send(packet);
    }
}

/// A deterministic xorshift for the impairment decisions.
struct Dice(u64);

impl Dice {
    fn roll(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % 100
    }
}

/// A UDP proxy in front of `target`: returns the address peers should send to. Packets from the
/// target go back to whoever last sent to the proxy. RTP/RTCP (first byte 128..=191) is impaired.
pub async fn impairment_proxy(
    target: SocketAddr,
    seed: u64,
    counters: Arc<Counters>,
) -> SocketAddr {
    let front = Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
    let back = Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
    let addr = front.local_addr().unwrap();
    let client: Arc<tokio::sync::Mutex<Option<SocketAddr>>> = Arc::default();
    // Peer -> target, impaired.
    {
        let (front, back, client, counters) = (
            front.clone(),
            back.clone(),
            client.clone(),
            counters.clone(),
        );
        tokio::spawn(async move {
            let mut dice = Dice(seed | 1);
            let mut buf = vec![0u8; 2048];
            let cap = counters.cap_bps.load(Ordering::Relaxed);
            let bottleneck =
                (cap > 0).then(|| Bottleneck::new(back.clone(), target, cap, counters.clone()));
            while let Ok((n, from)) = front.recv_from(&mut buf).await {
                *client.lock().await = Some(from);
                match &bottleneck {
                    Some(link) if (128..=191).contains(&buf[0]) => {
                        counters.media.fetch_add(1, Ordering::Relaxed);
                        link.offer(buf[..n].to_vec(), &counters);
                    }
                    Some(_) => {
                        let _ = back.send_to(&buf[..n], target).await;
                    }
                    None => forward(&back, buf[..n].to_vec(), target, &mut dice, &counters).await,
                }
            }
        });
    }
    // Target -> peer: untouched unless `both_ways`.
    tokio::spawn(async move {
        let mut dice = Dice((seed << 1) | 1);
        let mut buf = vec![0u8; 2048];
        let cap = counters.cap_bps.load(Ordering::Relaxed);
        let mut bottleneck: Option<(SocketAddr, Bottleneck)> = None;
        while let Ok((n, _)) = back.recv_from(&mut buf).await {
            let Some(to) = *client.lock().await else {
                continue;
            };
            let both_ways = counters.both_ways.load(Ordering::Relaxed);
            if both_ways && cap > 0 && (128..=191).contains(&buf[0]) {
                if bottleneck.as_ref().is_none_or(|(at, _)| *at != to) {
                    bottleneck = Some((
                        to,
                        Bottleneck::new(front.clone(), to, cap, counters.clone()),
                    ));
                }
                if let Some((_, link)) = &bottleneck {
                    counters.media.fetch_add(1, Ordering::Relaxed);
                    link.offer(buf[..n].to_vec(), &counters);
                }
            } else if both_ways && cap == 0 {
                forward(&front, buf[..n].to_vec(), to, &mut dice, &counters).await;
            } else {
                let _ = front.send_to(&buf[..n], to).await;
            }
        }
    });
    addr
}

/// Sends `packet` on to `to` through `socket`, impairing RTP/RTCP (first byte 128..=191).
async fn forward(
    socket: &Arc<UdpSocket>,
    packet: Vec<u8>,
    to: SocketAddr,
    dice: &mut Dice,
    counters: &Counters,
) {
    if !(128..=191).contains(&packet[0]) {
        let _ = socket.send_to(&packet, to).await;
        return;
    }
    counters.media.fetch_add(1, Ordering::Relaxed);
    match dice.roll() {
        0..=9 => {
            counters.dropped.fetch_add(1, Ordering::Relaxed);
        }
        10..=19 => {
            counters.duplicated.fetch_add(1, Ordering::Relaxed);
            let _ = socket.send_to(&packet, to).await;
            let _ = socket.send_to(&packet, to).await;
        }
        20..=34 => {
            // Held back 30-70 ms: overtaken by later packets.
            counters.delayed.fetch_add(1, Ordering::Relaxed);
            let socket = socket.clone();
            let delay = 30 + dice.roll() % 40;
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(delay)).await;
                let _ = socket.send_to(&packet, to).await;
            });
        }
        _ => {
            let _ = socket.send_to(&packet, to).await;
        }
    }
}

/// Rewrites every `127.0.0.1 PORT typ host` candidate to go through a new impairment proxy.
pub async fn route_through_proxies(sdp: &str, seed: u64, counters: &Arc<Counters>) -> String {
    let mut out = String::with_capacity(sdp.len());
    for line in sdp.split_inclusive('\n') {
        if line.starts_with("a=candidate:") && line.contains(" 127.0.0.1 ") {
            let words: Vec<&str> = line.trim_end().split(' ').collect();
            if let Some(i) = words.iter().position(|w| *w == "127.0.0.1") {
                let port: u16 = words[i + 1].parse().unwrap();
                let proxy = impairment_proxy(
                    SocketAddr::from(([127, 0, 0, 1], port)),
                    seed + u64::from(port),
                    counters.clone(),
                )
                .await;
                let mut w: Vec<String> = words.iter().map(|s| s.to_string()).collect();
                w[i + 1] = proxy.port().to_string();
                out.push_str(&w.join(" "));
                out.push_str("\r\n");
                continue;
            }
        }
        out.push_str(line);
    }
    out
}

/// A signaling proxy in front of `server` that routes every ICE candidate in the SDPs it relays
/// through impairment proxies sharing `counters` (random loss, or a rate cap if set).
pub async fn impairing_signaling(server: &str, seed: u64, counters: Arc<Counters>) -> String {
    use sealcall_signaling::{SdpText, ServerMessage, encode_server, parse_server_message};
    super::signaling_proxy::signaling_proxy(
        server,
        Arc::new(move |text: String| {
            let counters = counters.clone();
            Box::pin(async move {
                let Ok(ServerMessage::Sdp { call_id, kind, sdp }) =
                    parse_server_message(text.as_bytes())
                else {
                    return text;
                };
                let routed = route_through_proxies(sdp.as_str(), seed, &counters).await;
                encode_server(&ServerMessage::Sdp {
                    call_id,
                    kind,
                    sdp: SdpText::new(routed).unwrap(),
                })
                .unwrap()
            })
        }),
    )
    .await
}
