//! A real PostgreSQL for tests: one cluster per test process, made with `initdb` in a temporary
//! folder and started with `pg_ctl` on a free port of 127.0.0.1 (as the `postgres` OS user via
//! `runuser` when running as root, since PostgreSQL refuses to run as root), and a fresh
//! database per test. Connections over TCP need the cluster's password (SCRAM), so a test can
//! also try a wrong one.
//!
//! The cluster outlives every test of the process: a watchdog shell, started with it, stops it
//! (`pg_ctl stop -m immediate`) and removes its folder once the test process has exited.
//!
//! Without PostgreSQL installed, [`database`] returns `None` after printing why (the test
//! skips); with `CI=true` in the environment it panics instead, so CI never passes by skipping.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use crate::{PgUrl, StoreLocation};

/// A running test cluster.
#[derive(Debug)]
pub struct Cluster {
    dir: PathBuf,
    bin: PathBuf,
    /// The TCP port on 127.0.0.1.
    pub port: u16,
    password: String,
}

static CLUSTER: OnceLock<Result<Cluster, String>> = OnceLock::new();
static DATABASES: AtomicUsize = AtomicUsize::new(0);

/// Runs `f` on a fresh thread and waits for it: the `postgres` client (and so the PostgreSQL
/// store and the `cli` commands on it) blocks on its own runtime, which an async task may not
/// do.
pub fn blocking<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| match s.spawn(f).join() {
        Ok(value) => value,
        Err(panic) => std::panic::resume_unwind(panic),
    })
}

/// The process's cluster, started on first use.
pub fn cluster() -> Result<&'static Cluster, String> {
    CLUSTER
        .get_or_init(|| blocking(Cluster::start))
        .as_ref()
        .map_err(Clone::clone)
}

/// A fresh, empty database on the process's cluster, or `None` (with the reason printed) when
/// PostgreSQL is not available; with `CI=true` that panics instead.
pub fn database() -> Option<PgUrl> {
    let made = cluster().and_then(Cluster::create_database);
    match made {
        Ok(url) => Some(url),
        Err(why) if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("PostgreSQL is required in CI: {why}")
        }
        Err(why) => {
            eprintln!("skipping the PostgreSQL run: {why}");
            None
        }
    }
}

/// A fresh database as a [`StoreLocation`] (see [`database`]).
pub fn store() -> Option<StoreLocation> {
    database().map(StoreLocation::Postgres)
}

fn find_bin() -> Result<PathBuf, String> {
    let mut candidates: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("bin"))
        .collect();
    candidates.sort();
    candidates.reverse();
    candidates
        .into_iter()
        .find(|bin| bin.join("initdb").is_file() && bin.join("pg_ctl").is_file())
        .ok_or_else(|| {
            "no initdb/pg_ctl under /usr/lib/postgresql/*/bin (install postgresql)".to_owned()
        })
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// `program` run as the `postgres` OS user when we are root.
fn as_postgres(program: &Path) -> Command {
    if is_root() {
        let mut cmd = Command::new("runuser");
        cmd.args(["-u", "postgres", "--"]).arg(program);
        cmd
    } else {
        Command::new(program)
    }
}

fn run(mut cmd: Command, what: &str) -> Result<(), String> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{what}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{what} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free port: {e}"))
}

impl Cluster {
    fn start() -> Result<Self, String> {
        let began = Instant::now();
        let bin = find_bin()?;
        let dir = tempfile::Builder::new()
            .prefix("sealcall-pg-")
            .tempdir()
            .map_err(|e| format!("temporary folder: {e}"))?
            .keep();
        let mut random = [0u8; 16];
        getrandom::fill(&mut random).map_err(|e| format!("randomness: {e}"))?;
        let password = hex::encode(random);
        let pwfile = dir.join("pwfile");
        std::fs::write(&pwfile, &password).map_err(|e| format!("password file: {e}"))?;
        if is_root() {
            run(
                {
                    let mut c = Command::new("chown");
                    c.args(["-R", "postgres:"]).arg(&dir);
                    c
                },
                "chown",
            )?;
        }
        let data = dir.join("data");
        let mut initdb = as_postgres(&bin.join("initdb"));
        initdb
            .args([
                "--no-sync",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "-U",
                "postgres",
                "-E",
                "UTF8",
            ])
            .arg(format!("--pwfile={}", pwfile.display()))
            .arg("-D")
            .arg(&data);
        run(initdb, "initdb")?;
        let port = free_port()?;
        let cluster = Self {
            dir,
            bin,
            port,
            password,
        };
        let initialised = began.elapsed();
        cluster.start_server()?;
        cluster.watch();
        eprintln!(
            "test PostgreSQL on 127.0.0.1:{port}: initdb {initialised:?}, ready after {:?}",
            began.elapsed()
        );
        Ok(cluster)
    }

    /// Starts the stopped server again (`pg_ctl -w start`).
    pub fn start_server(&self) -> Result<(), String> {
        let mut start = as_postgres(&self.bin.join("pg_ctl"));
        start
            .arg("-w")
            .arg("-D")
            .arg(self.dir.join("data"))
            .arg("-l")
            .arg(self.dir.join("log"))
            .arg("-o")
            .arg(format!(
                "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off",
                self.port,
                self.dir.display()
            ))
            .arg("start");
        run(start, "pg_ctl start")
    }

    /// Stops the server at once (`pg_ctl stop -m immediate`): every connection breaks.
    pub fn stop_server(&self) -> Result<(), String> {
        let mut stop = as_postgres(&self.bin.join("pg_ctl"));
        stop.arg("-w")
            .arg("-D")
            .arg(self.dir.join("data"))
            .args(["-m", "immediate", "stop"]);
        run(stop, "pg_ctl stop")
    }

    /// Starts the shell that stops the cluster and removes its folder when this process is
    /// gone.
    fn watch(&self) {
        let script = format!(
            "while kill -0 {pid} 2>/dev/null; do sleep 1; done; {stop} -D '{data}' -m immediate stop >/dev/null 2>&1; rm -rf '{dir}'",
            pid = std::process::id(),
            stop = if is_root() {
                format!(
                    "runuser -u postgres -- '{}'",
                    self.bin.join("pg_ctl").display()
                )
            } else {
                format!("'{}'", self.bin.join("pg_ctl").display())
            },
            data = self.dir.join("data").display(),
            dir = self.dir.display(),
        );
        let _ = Command::new("setsid")
            .args(["sh", "-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
    }

    /// The URL of `database` with `password` for the `postgres` user.
    pub fn url_with_password(&self, database: &str, password: &str) -> String {
        format!(
            "postgres://postgres:{password}@127.0.0.1:{}/{database}",
            self.port
        )
    }

    /// The URL of `database` (with the right password).
    pub fn url(&self, database: &str) -> String {
        self.url_with_password(database, &self.password)
    }

    /// The cluster's password (a secret a log-leak test looks for).
    pub fn password(&self) -> &str {
        &self.password
    }

    /// Creates an empty database with a name unique in this process and returns its URL.
    pub fn create_database(&self) -> Result<PgUrl, String> {
        let n = DATABASES.fetch_add(1, Ordering::Relaxed);
        let name = format!("sealcall_test_{n}");
        let admin = self.url("postgres");
        blocking(|| {
            let mut client = admin
                .parse::<postgres::Config>()
                .and_then(|c| c.connect(postgres::NoTls))
                .map_err(|e| format!("connecting to the test cluster: {e}"))?;
            client
                .batch_execute(&format!("CREATE DATABASE {name}"))
                .map_err(|e| format!("CREATE DATABASE: {e}"))
        })?;
        PgUrl::parse(&self.url(&name)).map_err(|e| e.to_string())
    }

    /// A plain-SQL `pg_dump` of `database` (what a backup holds).
    pub fn dump(&self, database: &str) -> Result<Vec<u8>, String> {
        let out = Command::new(self.bin.join("pg_dump"))
            .args(["-h", "127.0.0.1", "-U", "postgres", "-p"])
            .arg(self.port.to_string())
            .arg(database)
            .env("PGPASSWORD", &self.password)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("pg_dump: {e}"))?;
        if out.status.success() {
            Ok(out.stdout)
        } else {
            Err(format!(
                "pg_dump failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ))
        }
    }

    /// Runs SQL on `database` as the superuser (for tests that prepare a database by hand).
    pub fn execute(&self, database: &str, sql: &str) -> Result<(), String> {
        let url = self.url(database);
        blocking(|| {
            url.parse::<postgres::Config>()
                .and_then(|c| c.connect(postgres::NoTls))
                .and_then(|mut client| client.batch_execute(sql))
                .map_err(|e| e.to_string())
        })
    }
}
