//! Test support for Sealcall's cross-crate scenario tests (the tests themselves are in
//! `tests/tests/`): Debian's Chromium driven through `chromedriver` (WebDriver), with controls
//! found by their accessible names, and a small harness that shares one chromedriver among a
//! test binary's tests.
//!
//! A browser test binary uses [`harness::run`] as its `main`. When `/usr/bin/chromium` or
//! `/usr/bin/chromedriver` is missing, the tests are skipped with a message, except with
//! `CI=true`, where that is a failure.

pub mod browser;
pub mod harness;
