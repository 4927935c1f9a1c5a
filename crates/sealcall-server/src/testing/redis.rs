//! A real Redis for tests: `redis-server` on a free port of 127.0.0.1, with a password, no
//! persistence (a restart empties it, as a Redis without persistence does), stopped when the
//! [`TestRedis`] is dropped.
//!
//! Without `redis-server` installed, [`TestRedis::start`] returns `None` after printing why (the
//! test skips); with `CI=true` in the environment it panics instead, so CI never passes by
//! skipping.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::RedisUrl;

/// A running `redis-server`.
pub struct TestRedis {
    child: Option<Child>,
    /// Its TCP port on 127.0.0.1.
    pub port: u16,
    password: String,
    dir: tempfile::TempDir,
}

impl std::fmt::Debug for TestRedis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestRedis")
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

impl TestRedis {
    /// Starts one, or `None` (with the reason printed) when `redis-server` is missing; with
    /// `CI=true` that panics instead.
    pub fn start() -> Option<Self> {
        match Self::try_start() {
            Ok(redis) => Some(redis),
            Err(why) if in_ci() => panic!("redis-server is required in CI: {why}"),
            Err(why) => {
                eprintln!("skipping the Redis run: {why}");
                None
            }
        }
    }

    fn try_start() -> Result<Self, String> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .map_err(|e| format!("no free port: {e}"))?;
        let mut random = [0u8; 16];
        getrandom::fill(&mut random).map_err(|e| format!("randomness: {e}"))?;
        let dir = tempfile::tempdir().map_err(|e| format!("temporary folder: {e}"))?;
        let mut redis = Self {
            child: None,
            port,
            password: hex::encode(random),
            dir,
        };
        redis.start_server()?;
        Ok(redis)
    }

    /// Starts the server (again, after [`stop_server`](TestRedis::stop_server)) on the same
    /// port, empty, and waits until it answers.
    pub fn start_server(&mut self) -> Result<(), String> {
        let began = Instant::now();
        let child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port"])
            .arg(self.port.to_string())
            .args(["--requirepass", &self.password])
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .arg("--dir")
            .arg(self.dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("redis-server: {e} (apt-get install redis-server)"))?;
        self.child = Some(child);
        while began.elapsed() < Duration::from_secs(10) {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Err("redis-server did not listen within 10 s".to_owned())
    }

    /// Kills the server at once (SIGKILL): every connection breaks, everything in it is lost.
    pub fn stop_server(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// The URL with the right password.
    pub fn url(&self) -> RedisUrl {
        self.url_with_password(&self.password)
    }

    /// The URL with `password`, as text (also for a wrong one).
    pub fn url_text(&self, password: &str) -> String {
        format!("redis://:{password}@127.0.0.1:{}/0", self.port)
    }

    /// The URL with `password`.
    pub fn url_with_password(&self, password: &str) -> RedisUrl {
        #[allow(clippy::expect_used)]
        RedisUrl::parse(&self.url_text(password)).expect("a valid test URL")
    }

    /// The password (a secret a log-leak test looks for).
    pub fn password(&self) -> &str {
        &self.password
    }
}

impl Drop for TestRedis {
    fn drop(&mut self) {
        self.stop_server();
    }
}
