//! What a container is *doing*: its lifecycle state
//! (`<root>/containers/<id>/state.json`), rewritten atomically at every change
//! by whoever holds the container's lock (the monitor or a CLI command).
//!
//! # Lifecycle
//!
//! ```text
//!            start            pause
//! created ──────────► running ─────► paused
//!    ▲                  │  ▲  ◄──────  │
//!    │ (never back)     │  │  unpause  │ kill/stop
//!    │             exit │  │ restart   ▼
//!    │                  ▼  │ policy
//!    │               exited ──► restarting ──► running
//!    │                  │
//!    └──────────────────┴──► removed (directory gone)
//! ```
//!
//! [`Status::can`] is the table of which [`Event`] is allowed in which status;
//! commands check it before acting, so `kiln unpause` of a running container or
//! `kiln start` of a running one fails with Docker's words.

use serde::{Deserialize, Serialize};

/// Docker's container statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Made, never started (or its start failed).
    #[default]
    Created,
    /// Its process runs.
    Running,
    /// Frozen by `pause`.
    Paused,
    /// Exited; the monitor waits before starting it again (restart policy).
    Restarting,
    /// Its process has ended.
    Exited,
    /// Its monitor and process vanished in a way kiln could not clean up.
    Dead,
}

impl Status {
    /// The lowercase word Docker uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Restarting => "restarting",
            Status::Exited => "exited",
            Status::Dead => "dead",
        }
    }

    /// Whether a process of the container may be alive.
    pub fn is_active(self) -> bool {
        matches!(self, Status::Running | Status::Paused | Status::Restarting)
    }

    /// Whether `event` is allowed in this status; `Err` holds Docker's reason.
    pub fn can(self, event: Event) -> Result<(), Refusal> {
        use Event::*;
        use Status::*;
        let ok = match event {
            Start => matches!(self, Created | Exited | Dead),
            Stop | Kill => matches!(self, Running | Paused | Restarting),
            Pause => self == Running,
            Unpause => self == Paused,
            Exec => self == Running,
            Remove => !self.is_active(),
        };
        if ok {
            return Ok(());
        }
        Err(Refusal(match (event, self) {
            (Pause, Paused) => "is already paused".into(),
            (Unpause, _) => "is not paused".into(),
            (Exec, Paused) => "is paused, unpause the container before exec".into(),
            (Remove, _) => format!(
                "cannot remove container: container is {}: stop the container before removing or force remove",
                self.as_str()
            ),
            (Start, Running | Paused) => "is already running".into(),
            _ => "is not running".into(),
        }))
    }
}

/// Why a command is refused in a container's status, in Docker's words
/// (`is not running`, `is already paused`…): the phrase that follows
/// `container ID`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal(String);

impl std::ops::Deref for Refusal {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl PartialEq<&str> for Refusal {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl From<Refusal> for String {
    fn from(refusal: Refusal) -> String {
        refusal.0
    }
}

/// What a command asks of a container (rows of the lifecycle table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// `start`, `restart`.
    Start,
    /// `stop`.
    Stop,
    /// `kill`.
    Kill,
    /// `pause`.
    Pause,
    /// `unpause`.
    Unpause,
    /// `exec`.
    Exec,
    /// `rm` without `-f`.
    Remove,
}

/// Docker's `State` plus what kiln needs to find the truth after a crash.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct State {
    /// Lifecycle status.
    pub status: Status,
    /// Host PID of the container's init (0 when none).
    pub pid: u32,
    /// Its `/proc/<pid>/stat` start time, so a recycled PID is not mistaken for it.
    pub pid_start: u64,
    /// PID of the monitor process (0 when none).
    pub monitor_pid: u32,
    /// The monitor's start time.
    pub monitor_start: u64,
    /// Last exit code (Docker's: 128+signal for a signal).
    pub exit_code: i32,
    /// Why the last start failed, or what went wrong.
    pub error: String,
    /// RFC 3339 (nanoseconds) of the last start; empty if never.
    pub started_at: String,
    /// RFC 3339 of the last exit; empty if never.
    pub finished_at: String,
    /// Killed by the memory cgroup.
    #[serde(rename = "OOMKilled")]
    pub oom_killed: bool,
    /// Restarts done by the restart policy.
    pub restart_count: u32,
    /// `stop`/`kill` was asked: the restart policy must not start it again.
    pub stopped_by_user: bool,
    /// Healthcheck state, when the container has one.
    pub health: Option<Health>,
}

/// Docker's `State.Health`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct Health {
    /// `starting`, `healthy` or `unhealthy`.
    pub status: String,
    /// Consecutive failed checks.
    pub failing_streak: u32,
    /// The last (at most five) checks.
    pub log: Vec<HealthLog>,
}

/// One healthcheck run.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct HealthLog {
    /// RFC 3339 start.
    pub start: String,
    /// RFC 3339 end.
    pub end: String,
    /// Exit code (-1: timed out or could not run).
    pub exit_code: i32,
    /// Its output (first 4 KiB).
    pub output: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifecycle_table() {
        assert!(Status::Created.can(Event::Start).is_ok());
        assert!(Status::Exited.can(Event::Start).is_ok());
        assert_eq!(
            Status::Running.can(Event::Start).unwrap_err(),
            "is already running"
        );
        assert!(Status::Running.can(Event::Pause).is_ok());
        assert_eq!(
            Status::Paused.can(Event::Pause).unwrap_err(),
            "is already paused"
        );
        assert_eq!(
            Status::Running.can(Event::Unpause).unwrap_err(),
            "is not paused"
        );
        assert!(Status::Paused
            .can(Event::Exec)
            .unwrap_err()
            .contains("unpause"));
        assert!(Status::Exited.can(Event::Stop).is_err());
        assert!(Status::Running
            .can(Event::Remove)
            .unwrap_err()
            .contains("force remove"));
        assert!(Status::Exited.can(Event::Remove).is_ok());
        assert!(Status::Created.can(Event::Remove).is_ok());
    }

    #[test]
    fn state_round_trips_with_dockers_names() {
        let state = State {
            status: Status::Running,
            pid: 42,
            oom_killed: true,
            ..State::default()
        };
        let json = serde_json::to_value(&state).unwrap();
        assert_eq!(json["Status"], "running");
        assert_eq!(json["Pid"], 42);
        assert_eq!(json["OOMKilled"], true);
        let back: State = serde_json::from_value(json).unwrap();
        assert_eq!(back.status, Status::Running);
    }
}
