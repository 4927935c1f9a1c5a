//! A test runner for browser tests (`harness = false`): one chromedriver for the whole binary,
//! the tests one after another, each with a time limit, reported like libtest.
//!
//! Arguments that don't start with `-` filter the tests by name (as with libtest);
//! `--list` lists them.

use std::future::Future;
use std::pin::Pin;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::browser::{BROWSER, Chromedriver, DRIVER};

/// A test: an async function of the shared chromedriver.
pub type TestFn = fn(Arc<Chromedriver>) -> Pin<Box<dyn Future<Output = ()> + Send>>;

/// Longest one test may run.
pub const TEST_TIMEOUT: Duration = Duration::from_secs(180);

/// Lists browser tests for [`run`]: `tests![first, second]`.
#[macro_export]
macro_rules! tests {
    ($($name:ident),* $(,)?) => {
        vec![$((
            stringify!($name),
            (|driver| Box::pin($name(driver))) as $crate::harness::TestFn,
        )),*]
    };
}

/// Runs the tests whose names match the command line's filters and reports each.
pub fn run(tests: Vec<(&'static str, TestFn)>) -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--list") {
        for (name, _) in &tests {
            println!("{name}: test");
        }
        return ExitCode::SUCCESS;
    }
    let filters: Vec<&String> = args.iter().filter(|a| !a.starts_with('-')).collect();
    let selected: Vec<_> = tests
        .into_iter()
        .filter(|(name, _)| filters.is_empty() || filters.iter().any(|f| name.contains(f.as_str())))
        .collect();
    let in_ci = std::env::var("CI").is_ok_and(|v| v == "true");
    let driver = match Chromedriver::start() {
        Ok(Some(driver)) => Arc::new(driver),
        Ok(None) if in_ci => {
            eprintln!(
                "error: {BROWSER} or {DRIVER} is missing, and CI=true: the browser tests must run \
                 (apt-get install chromium chromium-driver; `cargo xtask test` does)"
            );
            return ExitCode::FAILURE;
        }
        Ok(None) => {
            println!(
                "note: skipping {} browser tests: {BROWSER} or {DRIVER} is missing \
                 (apt-get install chromium chromium-driver)",
                selected.len()
            );
            println!(
                "\ntest result: ok. 0 passed; 0 failed; {} ignored; 0 measured; 0 filtered out; finished in 0.00s\n",
                selected.len()
            );
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: no tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("\nrunning {} tests", selected.len());
    let started = Instant::now();
    let mut failed = Vec::new();
    for (name, test) in &selected {
        let one = Instant::now();
        let handle = runtime.spawn(test(Arc::clone(&driver)));
        let outcome = runtime.block_on(async { tokio::time::timeout(TEST_TIMEOUT, handle).await });
        runtime.block_on(driver.quit_all());
        let secs = one.elapsed().as_secs_f64();
        match outcome {
            Ok(Ok(())) => println!("test {name} ... ok ({secs:.1} s)"),
            Ok(Err(_)) => {
                println!("test {name} ... FAILED ({secs:.1} s)");
                failed.push(*name);
            }
            Err(_) => {
                println!("test {name} ... FAILED (no result within {TEST_TIMEOUT:?})");
                failed.push(*name);
            }
        }
    }
    runtime.shutdown_timeout(Duration::from_secs(5));
    drop(driver);
    let passed = selected.len() - failed.len();
    if !failed.is_empty() {
        println!("\nfailures:");
        for name in &failed {
            println!("    {name}");
        }
    }
    println!(
        "\ntest result: {}. {passed} passed; {} failed; 0 ignored; 0 measured; 0 filtered out; finished in {:.2}s\n",
        if failed.is_empty() { "ok" } else { "FAILED" },
        failed.len(),
        started.elapsed().as_secs_f64()
    );
    if failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
