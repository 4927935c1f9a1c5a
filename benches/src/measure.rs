//! The sampling `sealcall bench` runs on top of the shared timing loops: a short warm-up that also
//! sizes the batches, then a number of timed batches of equal size, summarised by median and
//! mean nanoseconds per iteration. Criterion does the same with more samples and statistics.

use core::time::Duration;

use crate::Result;

/// How long to sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Settings {
    /// Warm-up time per case (also used to size the batches).
    #[serde(serialize_with = "ser_ms")]
    pub warmup: Duration,
    /// Timed batches per case.
    pub samples: u32,
    /// Target time of one batch.
    #[serde(serialize_with = "ser_ms")]
    pub sample_time: Duration,
}

fn ser_ms<S: serde::Serializer>(d: &Duration, s: S) -> core::result::Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64() * 1e3)
}

impl Settings {
    /// The default run: the whole matrix on one suite in well under a minute.
    pub const QUICK: Settings = Settings {
        warmup: Duration::from_millis(60),
        samples: 15,
        sample_time: Duration::from_millis(12),
    };

    /// A longer run with tighter numbers.
    pub const FULL: Settings = Settings {
        warmup: Duration::from_millis(300),
        samples: 40,
        sample_time: Duration::from_millis(40),
    };
}

/// Summary of one case, in nanoseconds per iteration.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Stats {
    /// Median over the batches.
    pub median_ns: f64,
    /// Mean over the batches.
    pub mean_ns: f64,
    /// Fastest batch.
    pub min_ns: f64,
    /// Slowest batch.
    pub max_ns: f64,
    /// Timed batches.
    pub samples: u32,
    /// Iterations per batch.
    pub iterations_per_sample: u64,
}

/// Samples `timed` (which runs a given number of iterations and returns the time it measured)
/// with `settings`.
pub fn sample(
    settings: &Settings,
    mut timed: impl FnMut(u64) -> Result<Duration>,
) -> Result<Stats> {
    // Warm up, doubling the batch until the warm-up time is spent; the last batch gives the
    // estimate that sizes the timed batches.
    let mut iters = 1u64;
    let mut spent = Duration::ZERO;
    let mut per_iter_ns;
    loop {
        let t = timed(iters)?;
        spent += t;
        per_iter_ns = t.as_secs_f64() * 1e9 / iters as f64;
        if spent >= settings.warmup || iters >= 1 << 40 {
            break;
        }
        iters *= 2;
    }
    let batch = ((settings.sample_time.as_secs_f64() * 1e9) / per_iter_ns.max(0.01))
        .clamp(1.0, 1e12) as u64;
    let mut per_iter: Vec<f64> = Vec::with_capacity(settings.samples as usize);
    for _ in 0..settings.samples.max(1) {
        let t = timed(batch)?;
        per_iter.push(t.as_secs_f64() * 1e9 / batch as f64);
    }
    Ok(summarise(&mut per_iter, batch))
}

/// Samples one operation at a time with `gap` of idle time before each (`std::thread::sleep`),
/// as a call does every 20 ms: caches and branch predictors have gone cold, the timer is read
/// around each single operation. `one` runs one operation and returns the time it measured.
pub fn sample_spaced(
    frames: u32,
    gap: Duration,
    mut one: impl FnMut() -> Result<Duration>,
) -> Result<Stats> {
    let mut per_frame: Vec<f64> = Vec::with_capacity(frames as usize);
    for _ in 0..frames.max(1) {
        std::thread::sleep(gap);
        per_frame.push(one()?.as_secs_f64() * 1e9);
    }
    Ok(summarise(&mut per_frame, 1))
}

fn summarise(values: &mut [f64], batch: u64) -> Stats {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    let median = if n == 0 {
        0.0
    } else if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    };
    let mean = if n == 0 {
        0.0
    } else {
        values.iter().sum::<f64>() / n as f64
    };
    Stats {
        median_ns: median,
        mean_ns: mean,
        min_ns: values.first().copied().unwrap_or(0.0),
        max_ns: values.last().copied().unwrap_or(0.0),
        samples: n as u32,
        iterations_per_sample: batch,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_of_known_values() {
        let mut v = [4.0, 1.0, 3.0, 2.0];
        let s = summarise(&mut v, 10);
        assert_eq!(s.median_ns, 2.5);
        assert_eq!(s.mean_ns, 2.5);
        assert_eq!(s.min_ns, 1.0);
        assert_eq!(s.max_ns, 4.0);
        let mut v = [5.0, 1.0, 3.0];
        assert_eq!(summarise(&mut v, 1).median_ns, 3.0);
    }

    #[test]
    fn spaced_samples_are_one_frame_each_after_the_gap() {
        let mut calls = 0u64;
        let started = std::time::Instant::now();
        let stats = sample_spaced(5, Duration::from_millis(2), || {
            calls += 1;
            Ok(Duration::from_nanos(100 * calls))
        })
        .unwrap();
        assert!(started.elapsed() >= Duration::from_millis(10));
        assert_eq!((stats.samples, stats.iterations_per_sample), (5, 1));
        assert_eq!(stats.median_ns, 300.0);
        assert_eq!((stats.min_ns, stats.max_ns), (100.0, 500.0));
    }

    #[test]
    fn sample_sizes_batches_from_the_warm_up() {
        let settings = Settings {
            warmup: Duration::from_millis(1),
            samples: 3,
            sample_time: Duration::from_micros(100),
        };
        // A fake routine costing exactly 10 ns per iteration.
        let stats = sample(&settings, |n| Ok(Duration::from_nanos(10 * n))).unwrap();
        assert_eq!(stats.samples, 3);
        assert_eq!(stats.median_ns, 10.0);
        assert_eq!(stats.iterations_per_sample, 10_000);
    }
}
