//! The healthcheck schedule of one container, as Docker runs it: the first
//! check `interval` after start, then one every `interval`; each may take at
//! most `timeout`; `retries` consecutive failures make the container
//! `unhealthy`, one success makes it `healthy`; failures inside `start_period`
//! don't count (a success still does).

use std::time::{Duration, Instant};

use crate::container::{Health, HealthConfig, HealthLog};

/// Docker's defaults for zero values.
const DEFAULT_INTERVAL: Duration = Duration::from_secs(30);
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
const DEFAULT_RETRIES: u32 = 3;
/// At most this many results are kept in `Health.Log`.
const KEPT_RESULTS: usize = 5;
/// At most this much output is kept per result.
const KEPT_OUTPUT: usize = 4096;

/// The schedule and the argv of a container's healthcheck.
#[derive(Debug, Clone)]
pub struct HealthSchedule {
    /// What to run inside the container.
    pub argv: Vec<String>,
    interval: Duration,
    /// Longest a check may run.
    pub timeout: Duration,
    start_period: Duration,
    retries: u32,
    started: Instant,
    next: Instant,
}

fn nanos(value: i64, default: Duration) -> Duration {
    if value <= 0 {
        default
    } else {
        Duration::from_nanos(value as u64)
    }
}

impl HealthSchedule {
    /// The schedule for `config`, or `None` when there is no check
    /// (absent, empty or `NONE`).
    pub fn new(config: Option<&HealthConfig>, started: Instant) -> Option<HealthSchedule> {
        let config = config?;
        let argv = match config.test.first().map(String::as_str) {
            Some("CMD") => config.test[1..].to_vec(),
            Some("CMD-SHELL") => vec!["/bin/sh".into(), "-c".into(), config.test[1..].join(" ")],
            _ => return None,
        };
        if argv.is_empty() {
            return None;
        }
        let interval = nanos(config.interval, DEFAULT_INTERVAL);
        Some(HealthSchedule {
            argv,
            interval,
            timeout: nanos(config.timeout, DEFAULT_TIMEOUT),
            start_period: nanos(config.start_period, Duration::ZERO),
            retries: if config.retries > 0 {
                config.retries as u32
            } else {
                DEFAULT_RETRIES
            },
            started,
            next: started + interval,
        })
    }

    /// When the next check is due.
    pub fn next_due(&self) -> Instant {
        self.next
    }

    /// Records a finished check (started at `began`) into `health` and plans
    /// the next one.
    pub fn record(&mut self, health: &mut Health, began: Instant, log: HealthLog) {
        let in_start_period = began.duration_since(self.started) < self.start_period;
        if log.exit_code == 0 {
            health.status = "healthy".into();
            health.failing_streak = 0;
        } else if !in_start_period {
            health.failing_streak += 1;
            if health.failing_streak >= self.retries {
                health.status = "unhealthy".into();
            }
        }
        let mut log = log;
        if log.output.len() > KEPT_OUTPUT {
            let mut cut = KEPT_OUTPUT;
            while !log.output.is_char_boundary(cut) {
                cut -= 1;
            }
            log.output.truncate(cut);
        }
        health.log.push(log);
        if health.log.len() > KEPT_RESULTS {
            let extra = health.log.len() - KEPT_RESULTS;
            health.log.drain(..extra);
        }
        self.next = Instant::now() + self.interval;
    }
}

/// The health of a container that has just started.
pub fn starting() -> Health {
    Health {
        status: "starting".into(),
        failing_streak: 0,
        log: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(test: &[&str], retries: i64, start_period: i64) -> HealthConfig {
        HealthConfig {
            test: test.iter().map(|s| s.to_string()).collect(),
            interval: 1_000_000,
            timeout: 0,
            start_period,
            retries,
        }
    }

    fn result(code: i32) -> HealthLog {
        HealthLog {
            exit_code: code,
            output: "x".repeat(5000),
            ..HealthLog::default()
        }
    }

    #[test]
    fn argv_forms() {
        let now = Instant::now();
        let shell =
            HealthSchedule::new(Some(&config(&["CMD-SHELL", "test -f /x"], 0, 0)), now).unwrap();
        assert_eq!(shell.argv, ["/bin/sh", "-c", "test -f /x"]);
        let exec = HealthSchedule::new(Some(&config(&["CMD", "true"], 0, 0)), now).unwrap();
        assert_eq!(exec.argv, ["true"]);
        assert_eq!(exec.timeout, DEFAULT_TIMEOUT);
        assert!(HealthSchedule::new(Some(&config(&["NONE"], 0, 0)), now).is_none());
        assert!(HealthSchedule::new(None, now).is_none());
    }

    #[test]
    fn retries_and_recovery() {
        let now = Instant::now();
        let mut schedule = HealthSchedule::new(Some(&config(&["CMD", "x"], 2, 0)), now).unwrap();
        let mut health = starting();
        schedule.record(&mut health, now, result(1));
        assert_eq!(
            (health.status.as_str(), health.failing_streak),
            ("starting", 1)
        );
        schedule.record(&mut health, now, result(1));
        assert_eq!(health.status, "unhealthy");
        schedule.record(&mut health, now, result(0));
        assert_eq!(
            (health.status.as_str(), health.failing_streak),
            ("healthy", 0)
        );
        for _ in 0..10 {
            schedule.record(&mut health, now, result(0));
        }
        assert_eq!(health.log.len(), KEPT_RESULTS);
        assert_eq!(health.log[0].output.len(), KEPT_OUTPUT);
    }

    #[test]
    fn failures_in_start_period_do_not_count() {
        let now = Instant::now();
        let mut schedule =
            HealthSchedule::new(Some(&config(&["CMD", "x"], 1, 60_000_000_000)), now).unwrap();
        let mut health = starting();
        schedule.record(&mut health, now, result(1));
        assert_eq!(
            (health.status.as_str(), health.failing_streak),
            ("starting", 0)
        );
    }
}
