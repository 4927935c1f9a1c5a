//! Passwords, session tokens and sign-in throttling.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};
use sha2::{Digest, Sha256};

use crate::error::{Result, ServerError};

/// Argon2id cost parameters for new password hashes (verification uses the parameters stored in
/// each hash).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordCost {
    /// Memory in KiB.
    pub m_cost: u32,
    /// Iterations.
    pub t_cost: u32,
    /// Parallelism.
    pub p_cost: u32,
}

impl Default for PasswordCost {
    /// The argon2 crate's defaults (OWASP-recommended: 19 MiB, 2 iterations, 1 lane).
    fn default() -> Self {
        Self {
            m_cost: Params::DEFAULT_M_COST,
            t_cost: Params::DEFAULT_T_COST,
            p_cost: Params::DEFAULT_P_COST,
        }
    }
}

impl PasswordCost {
    /// Cheap parameters for tests only (8 KiB, 1 iteration).
    pub fn insecure_for_tests() -> Self {
        Self {
            m_cost: 8,
            t_cost: 1,
            p_cost: 1,
        }
    }
}

/// Hashes a password to an argon2id PHC string with a random salt.
pub fn hash_password(password: &str, cost: PasswordCost) -> Result<String> {
    let params = Params::new(cost.m_cost, cost.t_cost, cost.p_cost, None)
        .map_err(|_| ServerError::PasswordHash)?;
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
    argon
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|_| ServerError::PasswordHash)
}

/// Checks a password against a stored PHC string (constant time inside argon2).
pub fn verify_password(password: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(hash) => Argon2::default()
            .verify_password(password.as_bytes(), &hash)
            .is_ok(),
        Err(_) => false,
    }
}

/// Counts password checks and the most at once.
#[derive(Debug, Default)]
pub(crate) struct HashingStats {
    total: std::sync::atomic::AtomicU64,
    now: std::sync::atomic::AtomicUsize,
    peak: std::sync::atomic::AtomicUsize,
}

impl HashingStats {
    /// Checks `password` against `phc` on a blocking thread, holding one of `permits`.
    pub(crate) async fn verify(
        &self,
        permits: &tokio::sync::Semaphore,
        password: zeroize::Zeroizing<String>,
        phc: String,
    ) -> bool {
        use std::sync::atomic::Ordering::SeqCst;
        let Ok(_permit) = permits.acquire().await else {
            return false;
        };
        self.total.fetch_add(1, SeqCst);
        let running = self.now.fetch_add(1, SeqCst) + 1;
        self.peak.fetch_max(running, SeqCst);
        let good = tokio::task::spawn_blocking(move || verify_password(&password, &phc))
            .await
            .unwrap_or(false);
        self.now.fetch_sub(1, SeqCst);
        good
    }

    pub(crate) fn snapshot(&self) -> crate::SignInStats {
        use std::sync::atomic::Ordering::SeqCst;
        crate::SignInStats {
            password_checks: self.total.load(SeqCst),
            peak_concurrent_checks: self.peak.load(SeqCst),
        }
    }
}

/// A hash to verify against when the user does not exist, so that an unknown user takes as
/// long as a wrong password.
pub fn dummy_hash(cost: PasswordCost) -> Result<String> {
    hash_password("sealcall-dummy-password", cost)
}

/// A fresh session token: 32 random bytes, hex-encoded (64 characters). Only its SHA-256 is
/// stored.
pub struct Token(String);

impl Token {
    /// A new random token.
    pub fn generate() -> Result<Self> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|_| ServerError::Random)?;
        Ok(Self(hex::encode(bytes)))
    }

    /// The token text to hand to the client (once).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

/// SHA-256 of a presented token (the lookup key in the sessions table).
pub fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Random bytes (for ids and the TURN secret).
pub fn random_bytes<const N: usize>() -> Result<[u8; N]> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|_| ServerError::Random)?;
    Ok(bytes)
}

/// Sign-in throttling, per account and per client address.
///
/// Per account: the first `max_failures` failed sign-ins cost nothing more; after that each
/// further failure doubles a wait (from `base_backoff` up to `max_backoff`) before the account's
/// next attempt is verified, and once the free attempts are used up only one attempt at a time
/// is verified. Every attempt is counted *before* its password is checked, so concurrent
/// attempts cannot race past the limit. A failure count is forgotten after `window` without
/// failures, or at a successful sign-in. Someone else's failures can delay an account by at most
/// `max_backoff` at a time, never lock it.
///
/// Per address: at most `max_failures * 4` failed sign-ins (and attempts in progress) within
/// `window`, across accounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleConfig {
    /// Failures allowed per account before backoff starts.
    pub max_failures: u32,
    /// How long a failure count is kept (and the per-address window).
    pub window: Duration,
    /// The first wait after `max_failures` failures; it doubles with each further failure.
    pub base_backoff: Duration,
    /// The longest wait.
    pub max_backoff: Duration,
}

impl Default for ThrottleConfig {
    fn default() -> Self {
        Self {
            max_failures: 5,
            window: Duration::from_secs(15 * 60),
            base_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(5 * 60),
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Account {
    failures: u32,
    in_flight: u32,
    last_failure: Instant,
    blocked_until: Option<Instant>,
}

#[derive(Debug, Clone, Copy)]
struct Address {
    first: Instant,
    failures: u32,
    in_flight: u32,
}

#[derive(Debug, Default)]
struct Counters {
    accounts: HashMap<String, Account>,
    addresses: HashMap<IpAddr, Address>,
}

/// Most entries kept before expired ones are dropped.
const MAX_ENTRIES: usize = 100_000;

/// In-memory counters (reset on restart, by design: they slow online guessing; a restart is not
/// something an attacker can cause).
#[derive(Debug, Default)]
pub struct Throttle {
    config: ThrottleConfig,
    counters: Mutex<Counters>,
}

/// A counted sign-in attempt: report its outcome with [`Attempt::succeeded`] or
/// [`Attempt::failed`]; dropped without either, it is uncounted again (the request was
/// abandoned before the password was checked).
pub struct Attempt<'a> {
    throttle: &'a Throttle,
    account: String,
    addr: IpAddr,
    open: bool,
}

impl Attempt<'_> {
    /// The password was right: the account's failures are forgotten.
    pub fn succeeded(mut self) {
        self.open = false;
        let mut c = self.throttle.lock();
        c.accounts.remove(&self.account);
        if let Some(a) = c.addresses.get_mut(&self.addr) {
            a.in_flight = a.in_flight.saturating_sub(1);
        }
    }

    /// The password (or the user) was wrong.
    pub fn failed(mut self) {
        self.open = false;
        let now = Instant::now();
        let config = self.throttle.config;
        let mut c = self.throttle.lock();
        if let Some(a) = c.accounts.get_mut(&self.account) {
            a.in_flight = a.in_flight.saturating_sub(1);
            a.failures = a.failures.saturating_add(1);
            a.last_failure = now;
            if a.failures >= config.max_failures {
                let doublings = (a.failures - config.max_failures).min(20);
                let wait = config
                    .base_backoff
                    .saturating_mul(1u32 << doublings)
                    .min(config.max_backoff);
                a.blocked_until = Some(now + wait);
            }
        }
        if let Some(a) = c.addresses.get_mut(&self.addr) {
            a.in_flight = a.in_flight.saturating_sub(1);
            a.failures = a.failures.saturating_add(1);
        }
    }
}

impl Drop for Attempt<'_> {
    fn drop(&mut self) {
        if !self.open {
            return;
        }
        let mut c = self.throttle.lock();
        if let Some(a) = c.accounts.get_mut(&self.account) {
            a.in_flight = a.in_flight.saturating_sub(1);
        }
        if let Some(a) = c.addresses.get_mut(&self.addr) {
            a.in_flight = a.in_flight.saturating_sub(1);
        }
    }
}

impl Throttle {
    /// A throttle with this configuration.
    pub fn new(config: ThrottleConfig) -> Self {
        Self {
            config,
            ..Self::default()
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Counters> {
        self.counters.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Counts a sign-in attempt for `account` from `addr` before its password is checked, or
    /// refuses it with how long to wait.
    pub fn begin(&self, account: &str, addr: IpAddr) -> Result<Attempt<'_>, Duration> {
        let now = Instant::now();
        let c = self.config;
        let key = account.to_ascii_lowercase();
        let mut counters = self.lock();
        if counters.accounts.len() + counters.addresses.len() > MAX_ENTRIES {
            counters.accounts.retain(|_, a| {
                a.in_flight > 0
                    || a.blocked_until.is_some_and(|t| t > now)
                    || now.saturating_duration_since(a.last_failure) < c.window
            });
            counters.addresses.retain(|_, a| {
                a.in_flight > 0 || now.saturating_duration_since(a.first) < c.window
            });
        }
        // Per address, across accounts.
        let address = counters.addresses.entry(addr).or_insert(Address {
            first: now,
            failures: 0,
            in_flight: 0,
        });
        if now.saturating_duration_since(address.first) >= c.window {
            *address = Address {
                first: now,
                failures: 0,
                in_flight: address.in_flight,
            };
        }
        if address.failures.saturating_add(address.in_flight) >= c.max_failures.saturating_mul(4) {
            let left = c
                .window
                .saturating_sub(now.saturating_duration_since(address.first));
            return Err(left.max(Duration::from_secs(1)));
        }
        // Per account.
        let account_state = counters.accounts.entry(key.clone()).or_insert(Account {
            failures: 0,
            in_flight: 0,
            last_failure: now,
            blocked_until: None,
        });
        let quiet = account_state.in_flight == 0
            && account_state.blocked_until.is_none_or(|t| t <= now)
            && now.saturating_duration_since(account_state.last_failure) >= c.window;
        if quiet {
            account_state.failures = 0;
            account_state.blocked_until = None;
        }
        if let Some(until) = account_state.blocked_until.filter(|t| *t > now) {
            return Err(until - now);
        }
        let counted = account_state
            .failures
            .saturating_add(account_state.in_flight);
        if counted >= c.max_failures && account_state.in_flight > 0 {
            // Past the free attempts, one at a time.
            return Err(c.base_backoff.max(Duration::from_secs(1)));
        }
        account_state.in_flight += 1;
        if let Some(a) = counters.addresses.get_mut(&addr) {
            a.in_flight += 1;
        }
        Ok(Attempt {
            throttle: self,
            account: key,
            addr,
            open: true,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_and_verify() {
        let hash = hash_password("correct horse", PasswordCost::insecure_for_tests()).unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(!hash.contains("correct horse"));
        assert!(verify_password("correct horse", &hash));
        assert!(!verify_password("wrong", &hash));
        assert!(!verify_password("x", "not a hash"));
    }

    #[test]
    fn tokens_are_random_and_hidden_in_debug() {
        let a = Token::generate().unwrap();
        let b = Token::generate().unwrap();
        assert_ne!(a.expose(), b.expose());
        assert_eq!(a.expose().len(), 64);
        assert!(!format!("{a:?}").contains(a.expose()));
    }

    #[test]
    fn attempts_are_counted_before_they_are_checked_and_back_off() {
        let t = Throttle::new(ThrottleConfig {
            max_failures: 2,
            window: Duration::from_secs(60),
            base_backoff: Duration::from_millis(50),
            max_backoff: Duration::from_millis(400),
        });
        let ip: IpAddr = [127, 0, 0, 1].into();
        // Two concurrent attempts take the free ones; a third waits, whatever their outcome.
        let a = t.begin("Ken", ip).unwrap();
        let b = t.begin("ken", ip).unwrap();
        assert!(t.begin("KEN", ip).is_err());
        assert!(t.begin("ana", ip).is_ok(), "another account is unaffected");
        a.failed();
        b.failed();
        let wait = t.begin("ken", ip).err().expect("backing off");
        assert!(wait <= Duration::from_millis(50));
        std::thread::sleep(wait + Duration::from_millis(5));
        // After the wait: one attempt at a time, and each failure doubles the wait.
        let c = t.begin("ken", ip).unwrap();
        assert!(t.begin("ken", ip).is_err());
        c.failed();
        let wait = t.begin("ken", ip).err().expect("backing off");
        assert!(wait > Duration::from_millis(50) && wait <= Duration::from_millis(100));
        std::thread::sleep(wait + Duration::from_millis(5));
        // An abandoned attempt is uncounted; a success forgets the failures.
        drop(t.begin("ken", ip).unwrap());
        t.begin("ken", ip).unwrap().succeeded();
        let (x, y) = (t.begin("ken", ip).unwrap(), t.begin("ken", ip).unwrap());
        x.succeeded();
        y.succeeded();
    }

    #[test]
    fn an_address_is_limited_across_accounts() {
        let t = Throttle::new(ThrottleConfig {
            max_failures: 1,
            ..ThrottleConfig::default()
        });
        let ip: IpAddr = [10, 0, 0, 1].into();
        for n in 0..4 {
            t.begin(&format!("user{n}"), ip).unwrap().failed();
        }
        assert!(t.begin("user9", ip).is_err());
        assert!(t.begin("user9", [10, 0, 0, 2].into()).is_ok());
    }
}
