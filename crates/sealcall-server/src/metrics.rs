//! The server's metrics in the Prometheus text format, served on their own listen address
//! (`Config::metrics_listen`, `--metrics-listen`) at `GET /metrics`.
//!
//! One [`prometheus::Registry`] per server, so two servers in one process (the tests) count
//! apart. Content-free: labels are small fixed sets (`mode`, `outcome`, `reason`, `result`),
//! never a user name, device id, call id or address.

use std::sync::Arc;
use std::time::Duration;

use prometheus::core::Collector;
use prometheus::{
    Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, Opts, Registry, TextEncoder,
};
use sealcall_policy::Outcome;
use sealcall_signaling::{EndReason, FailReason};

use crate::error::{Result, ServerError};

/// How a call ended, as the `outcome` label counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CallOutcome {
    /// A device answered (counted at the answer).
    Answered,
    /// The callee declined.
    Declined,
    /// Nobody answered before the invite timed out.
    Missed,
    /// The caller gave up before an answer.
    Cancelled,
    /// Every ringing device was busy.
    Busy,
    /// Policy refused the call.
    Refused,
    /// Anything else: offline or unknown callee, a device that disconnected while ringing, an
    /// internal error.
    Failed,
}

impl CallOutcome {
    fn label(self) -> &'static str {
        match self {
            Self::Answered => "answered",
            Self::Declined => "declined",
            Self::Missed => "missed",
            Self::Cancelled => "cancelled",
            Self::Busy => "busy",
            Self::Refused => "refused",
            Self::Failed => "failed",
        }
    }

    /// The outcome of an unanswered call that ended for `reason`.
    pub(crate) fn unanswered(reason: EndReason) -> Self {
        match reason {
            EndReason::Declined => Self::Declined,
            EndReason::Timeout => Self::Missed,
            EndReason::Cancelled => Self::Cancelled,
            EndReason::Busy => Self::Busy,
            _ => Self::Failed,
        }
    }

    /// The outcome of an invite that failed before a call existed.
    pub(crate) fn failed(reason: FailReason) -> Self {
        match reason {
            FailReason::PolicyRefused => Self::Refused,
            FailReason::CalleeBusy => Self::Busy,
            _ => Self::Failed,
        }
    }
}

/// The `mode` label: what the (provisional or final) policy decision made of the call;
/// `none` when no decision was made or it refused the call.
pub(crate) fn mode_label(outcome: Option<Outcome>) -> &'static str {
    match outcome {
        Some(Outcome::EndToEnd) => "e2ee",
        Some(Outcome::Standard) => "standard",
        _ => "none",
    }
}

/// Why a sign-in was refused, as the `reason` label counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SignInFailure {
    /// A known user, a wrong password.
    WrongPassword,
    /// No such user.
    UnknownUser,
    /// The name or password was longer than allowed.
    TooLong,
}

impl SignInFailure {
    fn label(self) -> &'static str {
        match self {
            Self::WrongPassword => "wrong_password",
            Self::UnknownUser => "unknown_user",
            Self::TooLong => "too_long",
        }
    }
}

/// Every series the server exports.
pub(crate) struct Metrics {
    registry: Registry,
    connected_devices: IntGauge,
    calls: IntCounterVec,
    call_setup: Histogram,
    forward_latency: Histogram,
    sign_in_failures: IntCounterVec,
    sign_in_throttled: IntCounter,
    relay_allocations: IntCounter,
    relay_credentials: IntCounter,
    store_errors: IntCounter,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

/// A registration failure (only a programming error: two series of one name).
fn registering(e: prometheus::Error) -> ServerError {
    ServerError::Invalid {
        what: "metrics",
        reason: e.to_string(),
    }
}

/// Registers a newly made series in `registry` and returns it.
fn add<C: Collector + Clone + 'static>(
    registry: &Registry,
    made: prometheus::Result<C>,
) -> Result<C> {
    let series = made.map_err(registering)?;
    registry
        .register(Box::new(series.clone()))
        .map_err(registering)?;
    Ok(series)
}

impl Metrics {
    /// A fresh registry with every series at zero.
    pub(crate) fn new() -> Result<Arc<Self>> {
        let registry = Registry::new();
        let r = &registry;
        let connected_devices = add(
            r,
            IntGauge::new(
                "sealcall_connected_devices",
                "Devices with an open signaling WebSocket.",
            ),
        )?;
        let calls = add(
            r,
            IntCounterVec::new(
                Opts::new(
                    "sealcall_calls_total",
                    "Calls by mode (e2ee, standard, none) and outcome (answered at the answer; \
                     declined, missed, cancelled, busy, refused, failed at the end of an \
                     unanswered call or a failed invite).",
                ),
                &["mode", "outcome"],
            ),
        )?;
        let call_setup = add(
            r,
            Histogram::with_opts(
                HistogramOpts::new(
                    "sealcall_call_setup_seconds",
                    "From the invite to the answer, for answered calls.",
                )
                .buckets(vec![
                    0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 8.0, 12.0, 20.0, 30.0, 60.0,
                ]),
            ),
        )?;
        let forward_buckets =
            prometheus::exponential_buckets(0.000_01, 4.0, 9).map_err(registering)?;
        let forward_latency = add(
            r,
            Histogram::with_opts(
                HistogramOpts::new(
                    "sealcall_signaling_forward_seconds",
                    "From a parsed sdp, ice or handshake message to the peer's outbound queue.",
                )
                .buckets(forward_buckets),
            ),
        )?;
        let sign_in_failures = add(
            r,
            IntCounterVec::new(
                Opts::new(
                    "sealcall_sign_in_failures_total",
                    "Refused sign-ins by reason (wrong_password, unknown_user, too_long).",
                ),
                &["reason"],
            ),
        )?;
        let sign_in_throttled = add(
            r,
            IntCounter::new(
                "sealcall_sign_in_throttled_total",
                "Sign-ins refused with 429 while an account or address backs off.",
            ),
        )?;
        let relay_allocations = add(
            r,
            IntCounter::new(
                "sealcall_relay_allocations_total",
                "TURN allocations the relay granted.",
            ),
        )?;
        let relay_credentials = add(
            r,
            IntCounter::new(
                "sealcall_relay_credentials_issued_total",
                "Per-call relay credentials issued (two per answered call with the relay on).",
            ),
        )?;
        let store_errors = add(
            r,
            IntCounter::new(
                "sealcall_store_errors_total",
                "Storage operations that failed inside the database.",
            ),
        )?;
        Ok(Arc::new(Self {
            registry,
            connected_devices,
            calls,
            call_setup,
            forward_latency,
            sign_in_failures,
            sign_in_throttled,
            relay_allocations,
            relay_credentials,
            store_errors,
        }))
    }

    /// Counts a call: `mode` from [`mode_label`].
    pub(crate) fn call(&self, mode: &'static str, outcome: CallOutcome) {
        self.calls.with_label_values(&[mode, outcome.label()]).inc();
    }

    /// Records an answered call's time from invite to answer.
    pub(crate) fn call_setup(&self, elapsed: Duration) {
        self.call_setup.observe(elapsed.as_secs_f64());
    }

    /// Records how long forwarding one signaling message took.
    pub(crate) fn forwarded(&self, elapsed: Duration) {
        self.forward_latency.observe(elapsed.as_secs_f64());
    }

    /// Counts a refused sign-in.
    pub(crate) fn sign_in_failed(&self, why: SignInFailure) {
        self.sign_in_failures
            .with_label_values(&[why.label()])
            .inc();
    }

    /// Counts a throttled sign-in.
    pub(crate) fn sign_in_throttled(&self) {
        self.sign_in_throttled.inc();
    }

    /// Counts a granted relay allocation.
    pub(crate) fn relay_allocated(&self) {
        self.relay_allocations.inc();
    }

    /// Counts issued relay credentials.
    pub(crate) fn relay_credentials_issued(&self) {
        self.relay_credentials.inc();
    }

    /// Counts a failed storage operation.
    pub(crate) fn store_error(&self) {
        self.store_errors.inc();
    }

    /// The text exposition of every series, with the connected-device gauge set to `connected`.
    pub(crate) fn render(&self, connected: usize) -> String {
        self.connected_devices
            .set(i64::try_from(connected).unwrap_or(i64::MAX));
        let families = self.registry.gather();
        TextEncoder::new()
            .encode_to_string(&families)
            .unwrap_or_else(|e| {
                tracing::error!(error = %e, "encoding metrics failed");
                String::new()
            })
    }
}

/// The content type of the text exposition format.
pub(crate) const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_start_at_zero_and_count_without_user_content() {
        let m = Metrics::new().unwrap();
        let text = m.render(0);
        assert!(text.contains("sealcall_connected_devices 0"), "{text}");
        assert!(
            text.contains("sealcall_sign_in_throttled_total 0"),
            "{text}"
        );
        m.call(mode_label(Some(Outcome::EndToEnd)), CallOutcome::Answered);
        m.call(
            mode_label(None),
            CallOutcome::failed(FailReason::CalleeOffline),
        );
        m.sign_in_failed(SignInFailure::UnknownUser);
        let text = m.render(3);
        assert!(text.contains("sealcall_connected_devices 3"), "{text}");
        assert!(
            text.contains(r#"sealcall_calls_total{mode="e2ee",outcome="answered"} 1"#),
            "{text}"
        );
        assert!(
            text.contains(r#"sealcall_calls_total{mode="none",outcome="failed"} 1"#),
            "{text}"
        );
        assert!(
            text.contains(r#"sealcall_sign_in_failures_total{reason="unknown_user"} 1"#),
            "{text}"
        );
    }

    #[test]
    fn two_servers_count_apart() {
        let a = Metrics::new().unwrap();
        let b = Metrics::new().unwrap();
        a.sign_in_throttled();
        assert!(a.render(0).contains("sealcall_sign_in_throttled_total 1"));
        assert!(b.render(0).contains("sealcall_sign_in_throttled_total 0"));
    }
}
