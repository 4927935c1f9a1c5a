//! Sign-in under attack: 50 concurrent wrong-password attempts for one account reach argon2 at
//! most `max_failures` times (counted before the check, so they cannot race past it), never more
//! at once than the hashing semaphore allows, and the right password still works after the
//! backoff; peak memory stays bounded (printed). The client address comes from
//! `X-Forwarded-For` only behind a trusted proxy; over-long names are refused before any work.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
mod common;

use std::time::{Duration, Instant};

use common::*;
use sealcall_server::{PasswordCost, cli};
use serde_json::json;

const FLOOD: &str = "flood@contoso.onmicrosoft.com";

fn plain_client() -> reqwest::Client {
    let tls = sealcall_tls::ClientTls::new(&Default::default()).unwrap();
    sealcall_tls::http_client(&tls, Duration::from_secs(30)).unwrap()
}

/// The process's peak resident memory (VmHWM), in KiB, where /proc tells it.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

async fn sign_in(
    http: &reqwest::Client,
    url: &str,
    user: &str,
    password: &str,
    forwarded: Option<&str>,
) -> (u16, Option<u64>) {
    let mut req = http
        .post(format!("{url}/sign-in"))
        .json(&json!({ "user": user, "password": password }));
    if let Some(f) = forwarded {
        req = req.header("x-forwarded-for", f);
    }
    let resp = req.send().await.unwrap();
    let retry = resp
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok()?.parse().ok());
    (resp.status().as_u16(), retry)
}

both_stores! {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn fifty_concurrent_wrong_passwords_reach_argon2_at_most_the_allowed_times() {
        let s = TestServer::start_with(|c| {
            c.password_concurrency = 2;
            c.throttle.base_backoff = Duration::from_secs(1);
        })
        .await;
        // This account's hash has the real cost: 19 MiB per check.
        let cost = PasswordCost::default();
        let db = s.db.clone();
        blocking(move || cli::user_add(&db, FLOOD, "Flood", PASSWORD, &[], cost))
            .await
            .unwrap();
        let before = peak_rss_kib();
        let http = plain_client();
        let started = Instant::now();
        let tasks: Vec<_> = (0..50)
            .map(|n| {
                let (http, url) = (http.clone(), s.url.clone());
                tokio::spawn(async move {
                    sign_in(&http, &url, FLOOD, &format!("guess number {n}"), None).await
                })
            })
            .collect();
        let mut statuses = Vec::new();
        for t in tasks {
            statuses.push(t.await.unwrap());
        }
        let elapsed = started.elapsed();
        let wrong = statuses.iter().filter(|(st, _)| *st == 401).count();
        let throttled = statuses.iter().filter(|(st, _)| *st == 429).count();
        let stats = s.handle.as_ref().unwrap().sign_in_stats();
        let after = peak_rss_kib();
        let bound_mib = stats.peak_concurrent_checks as f64 * f64::from(cost.m_cost) / 1024.0;
        eprintln!(
            "50 concurrent wrong passwords in {elapsed:?}: {wrong} checked (401), {throttled} refused \
             before checking (429); argon2 runs {}, at most {} at once (≤ {bound_mib:.0} MiB of \
             argon2 memory); process peak RSS {} KiB before, {} KiB after",
            stats.password_checks,
            stats.peak_concurrent_checks,
            before.map_or("?".into(), |k| k.to_string()),
            after.map_or("?".into(), |k| k.to_string()),
        );
        assert_eq!(wrong + throttled, 50, "{statuses:?}");
        assert!(
            wrong <= 5,
            "at most max_failures attempts were checked: {wrong}"
        );
        assert!(stats.password_checks <= 5, "{stats:?}");
        assert!(stats.peak_concurrent_checks <= 2, "{stats:?}");
        if let (Some(b), Some(a)) = (before, after) {
            // 50 unbounded checks would need ~950 MiB; the semaphore keeps it to two at a time.
            assert!(
                a.saturating_sub(b) < 200 * 1024,
                "peak grew by {} KiB",
                a - b
            );
        }

        // The right password works once the backoff has passed, and only then.
        let (status, retry) = sign_in(&http, &s.url, FLOOD, PASSWORD, None).await;
        assert_eq!(status, 429);
        let wait = retry.expect("Retry-After");
        assert!((1..=2).contains(&wait), "backoff starts small: {wait} s");
        tokio::time::sleep(Duration::from_secs(wait)).await;
        let (status, _) = sign_in(&http, &s.url, FLOOD, PASSWORD, None).await;
        assert_eq!(status, 200, "the owner gets in after the backoff");
    }
}

both_stores! {
    #[tokio::test]
    async fn the_client_address_comes_from_a_trusted_proxy_only_and_long_names_cost_nothing() {
        // Without a trusted proxy the header is ignored: 20 failures (5 × 4) from 127.0.0.1, across
        // accounts, and the address is throttled whatever X-Forwarded-For says.
        let s = TestServer::start().await;
        let http = plain_client();
        // A wrong password for an unknown account `n`, forwarded for `fwd`.
        let wrong = async |s: &TestServer, n: u32, fwd: &str| {
            let user = format!("nobody{n}@x.y");
            sign_in(&http, &s.url, &user, "wrong one", Some(fwd))
                .await
                .0
        };
        for n in 0..20 {
            assert_eq!(wrong(&s, n, &format!("203.0.113.{n}")).await, 401);
        }
        let status = wrong(&s, 99, "198.51.100.1").await;
        assert_eq!(
            status, 429,
            "X-Forwarded-For from an untrusted peer is ignored"
        );

        // Behind a trusted proxy each forwarded client has its own count, and the proxy's own
        // address is not blamed.
        let s =
            TestServer::start_with(|c| c.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()]).await;
        for n in 0..25 {
            let status = wrong(&s, n, &format!("203.0.113.{n}, 127.0.0.1")).await;
            assert_eq!(status, 401, "attempt {n}");
        }
        s.sign_in(KEN).await;

        // A name over the limit: refused before counting, looking up or hashing.
        let checks = s.handle.as_ref().unwrap().sign_in_stats().password_checks;
        let long = "a".repeat(300);
        let (status, body) = s
            .send(
                "POST",
                "/sign-in",
                None,
                json!({"user": long, "password": "whatever"}),
            )
            .await;
        assert_eq!(status, 400);
        assert!(
            body["error"].as_str().unwrap().contains("longer than 256"),
            "{body}"
        );
        assert_eq!(
            s.handle.as_ref().unwrap().sign_in_stats().password_checks,
            checks
        );
    }
}
