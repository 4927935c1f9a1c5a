//! UDP impairment proxies for real WebRTC tests: every ICE candidate in an SDP is rewritten to
//! point at a proxy that drops 10% of the media packets, duplicates 10% and holds 15% back
//! 30-70 ms (so they arrive out of order). STUN and DTLS pass untouched.
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
            while let Ok((n, from)) = front.recv_from(&mut buf).await {
                *client.lock().await = Some(from);
                forward(&back, buf[..n].to_vec(), target, &mut dice, &counters).await;
            }
        });
    }
    // Target -> peer: untouched unless `both_ways`.
    tokio::spawn(async move {
        let mut dice = Dice((seed << 1) | 1);
        let mut buf = vec![0u8; 2048];
        while let Ok((n, _)) = back.recv_from(&mut buf).await {
            let Some(to) = *client.lock().await else {
                continue;
            };
            if counters.both_ways.load(Ordering::Relaxed) {
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
