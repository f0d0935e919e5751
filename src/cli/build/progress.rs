//! `kiln build --progress plain|tty|rawjson|auto`: how solver events are shown.
//!
//! - plain (BuildKit's): `#3 [stage-1 2/4] RUN echo hi` when a step starts,
//!   `#3 0.123 hi` for each output line (seconds since the step started),
//!   `#3 DONE 0.4s`, `#3 CACHED` (after the name line), `#3 ERROR: …`, and
//!   with `--debug-cache` `#3 cache miss: <reason>` lines;
//! - rawjson: one JSON object per event and line:
//!   `{"vertex":3,"name":"[…] RUN echo hi","event":"log","line":"hi","t":0.123}`
//!   (`event` is `started`, `log`, `cached`, `done` (`seconds`), `error`
//!   (`error`), or `cache-miss` (`reason`));
//! - tty: a live view redrawn in place on standard error, one line per step
//!   with its state and time (`CACHED`, `DONE 0.4s`, running seconds and the
//!   last output line, `ERROR`), under a `[+] Building 3.2s (4/7)` header;
//! - auto: tty when standard error is a terminal, else plain.
//!
//! Everything goes to standard error; standard output stays for `-q`.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use kiln_builder::cache_miss::MissReason;
use kiln_builder::graph::VertexId;
use kiln_builder::solver::Event;

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// One line per event (CI logs).
    Plain,
    /// A live view redrawn in place.
    Tty,
    /// One JSON object per line.
    RawJson,
}

impl Mode {
    /// `--progress VALUE`; `auto` is tty on a terminal, else plain.
    pub fn parse(value: &str) -> Result<Mode> {
        Ok(match value {
            "plain" => Mode::Plain,
            "tty" => Mode::Tty,
            "rawjson" => Mode::RawJson,
            "auto" if std::io::stderr().is_terminal() => Mode::Tty,
            "auto" => Mode::Plain,
            other => bail!("invalid --progress {other:?}: use auto, plain, tty or rawjson"),
        })
    }
}

/// The state of one step in the tty view.
#[derive(Debug, Clone)]
enum State {
    Running { since: Instant, last: String },
    Cached,
    Done(Duration),
    Failed,
}

#[derive(Default)]
struct Inner {
    names: Vec<String>,
    started: BTreeMap<usize, Instant>,
    /// tty: steps in the order they appeared, and what was drawn last.
    steps: Vec<(usize, State)>,
    drawn: usize,
}

/// Prints build events in one [`Mode`]; shared by the solver's threads.
pub struct Progress {
    mode: Mode,
    began: Instant,
    inner: Mutex<Inner>,
    finished: AtomicBool,
}

impl Progress {
    /// A printer in `mode`; for tty, a thread redraws the view every 200 ms
    /// until [`Progress::finish`].
    pub fn new(mode: Mode) -> Arc<Progress> {
        let progress = Arc::new(Progress {
            mode,
            began: Instant::now(),
            inner: Mutex::new(Inner::default()),
            finished: AtomicBool::new(false),
        });
        if mode == Mode::Tty {
            let ticker = Arc::clone(&progress);
            std::thread::spawn(move || {
                while !ticker.finished.load(Ordering::SeqCst) {
                    std::thread::sleep(Duration::from_millis(200));
                    if !ticker.finished.load(Ordering::SeqCst) {
                        ticker.redraw(&mut ticker.lock());
                    }
                }
            });
        }
        progress
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The steps' names by vertex number (from the build, before events).
    pub fn set_names(&self, names: &[String]) {
        self.lock().names = names.to_vec();
    }

    /// Stops the tty ticker and draws the final view.
    pub fn finish(&self) {
        self.finished.store(true, Ordering::SeqCst);
        if self.mode == Mode::Tty {
            self.redraw(&mut self.lock());
        }
    }

    /// Shows one solver event.
    pub fn event(&self, event: Event) {
        let mut inner = self.lock();
        match self.mode {
            Mode::Plain => plain(&mut inner, event),
            Mode::RawJson => raw_json(&mut inner, event),
            Mode::Tty => {
                tty_update(&mut inner, event);
                self.redraw(&mut inner);
            }
        }
    }

    /// `--debug-cache`: why `vertex` missed the cache, each reason rendered
    /// (its `Display`) on one line.
    pub fn cache_miss(&self, vertex: VertexId, reasons: Vec<MissReason>) {
        let inner = self.lock();
        let n = vertex.0;
        let mut out = String::new();
        for reason in reasons {
            match self.mode {
                Mode::RawJson => {
                    let obj = serde_json::json!({"vertex": n + 1, "name": name(&inner, n),
                        "event": "cache-miss", "reason": reason.to_string()});
                    out.push_str(&format!("{obj}\n"));
                }
                // The tty view is redrawn over; reasons go above it, once.
                _ => out.push_str(&format!("#{} cache miss: {reason}\n", n + 1)),
            }
        }
        let mut inner = inner;
        if self.mode == Mode::Tty {
            erase(&mut inner);
        }
        let _ = std::io::stderr().lock().write_all(out.as_bytes());
        if self.mode == Mode::Tty {
            self.redraw(&mut inner);
        }
    }

    fn redraw(&self, inner: &mut Inner) {
        let width = terminal_width();
        let done = inner
            .steps
            .iter()
            .filter(|(_, s)| !matches!(s, State::Running { .. }))
            .count();
        let mut lines = vec![format!(
            "[+] Building {:.1}s ({done}/{})",
            self.began.elapsed().as_secs_f64(),
            inner.steps.len()
        )];
        for (n, state) in &inner.steps {
            let status = match state {
                State::Running { since, last } => {
                    format!("{:.1}s {last}", since.elapsed().as_secs_f64())
                }
                State::Cached => "CACHED".into(),
                State::Done(d) => format!("DONE {:.1}s", d.as_secs_f64()),
                State::Failed => "ERROR".into(),
            };
            lines.push(format!(" => #{} {} {status}", n + 1, name(inner, *n)));
        }
        let mut out = String::new();
        if inner.drawn > 0 {
            out.push_str(&format!("\x1b[{}A", inner.drawn));
        }
        for line in &lines {
            let line: String = line.chars().take(width.saturating_sub(1)).collect();
            out.push_str(&format!("\x1b[2K{line}\n"));
        }
        inner.drawn = lines.len();
        let _ = std::io::stderr().lock().write_all(out.as_bytes());
    }
}

/// Moves the cursor back over the drawn view and clears it.
fn erase(inner: &mut Inner) {
    if inner.drawn > 0 {
        let _ = write!(std::io::stderr().lock(), "\x1b[{}A\x1b[J", inner.drawn);
        inner.drawn = 0;
    }
}

fn name(inner: &Inner, n: usize) -> &str {
    inner.names.get(n).map_or("", String::as_str)
}

fn plain(inner: &mut Inner, event: Event) {
    let mut out = String::new();
    match event {
        Event::Started { vertex } => {
            inner.started.insert(vertex.0, Instant::now());
            out = format!("#{} {}\n", vertex.0 + 1, name(inner, vertex.0));
        }
        Event::Cached { vertex, .. } => {
            let n = vertex.0 + 1;
            out = format!("#{n} {}\n#{n} CACHED\n", name(inner, vertex.0));
        }
        Event::Done { vertex, duration } => {
            out = format!("#{} DONE {:.1}s\n", vertex.0 + 1, duration.as_secs_f64());
        }
        Event::Log { vertex, bytes } => {
            let t = since(inner, vertex.0);
            for line in String::from_utf8_lossy(&bytes).lines() {
                out.push_str(&format!("#{} {t:.3} {line}\n", vertex.0 + 1));
            }
        }
        Event::Failed { vertex, error, .. } => {
            out = format!("#{} ERROR: {error}\n", vertex.0 + 1);
        }
    }
    let _ = std::io::stderr().lock().write_all(out.as_bytes());
}

fn since(inner: &Inner, n: usize) -> f64 {
    inner
        .started
        .get(&n)
        .map_or(0.0, |t| t.elapsed().as_secs_f64())
}

fn raw_json(inner: &mut Inner, event: Event) {
    let n = match &event {
        Event::Started { vertex }
        | Event::Cached { vertex, .. }
        | Event::Done { vertex, .. }
        | Event::Log { vertex, .. }
        | Event::Failed { vertex, .. } => vertex.0,
    };
    let base =
        |kind: &str| serde_json::json!({"vertex": n + 1, "name": name(inner, n), "event": kind});
    let objects = match event {
        Event::Started { .. } => vec![base("started")],
        Event::Cached { key, .. } => {
            let mut o = base("cached");
            o["key"] = key.to_string().into();
            vec![o]
        }
        Event::Done { duration, .. } => {
            let mut o = base("done");
            o["seconds"] = duration.as_secs_f64().into();
            vec![o]
        }
        Event::Log { bytes, .. } => {
            let t = since(inner, n);
            String::from_utf8_lossy(&bytes)
                .lines()
                .map(|line| {
                    let mut o = base("log");
                    o["line"] = line.into();
                    o["t"] = t.into();
                    o
                })
                .collect()
        }
        Event::Failed {
            error, cancelled, ..
        } => {
            let mut o = base("error");
            o["error"] = error.into();
            o["cancelled"] = cancelled.into();
            vec![o]
        }
    };
    let mut out = String::new();
    for o in objects {
        out.push_str(&format!("{o}\n"));
    }
    let _ = std::io::stderr().lock().write_all(out.as_bytes());
}

fn tty_update(inner: &mut Inner, event: Event) {
    let (n, state) = match event {
        Event::Started { vertex } => (
            vertex.0,
            State::Running {
                since: Instant::now(),
                last: String::new(),
            },
        ),
        Event::Cached { vertex, .. } => (vertex.0, State::Cached),
        Event::Done { vertex, duration } => (vertex.0, State::Done(duration)),
        Event::Failed { vertex, .. } => (vertex.0, State::Failed),
        Event::Log { vertex, bytes } => {
            let text = String::from_utf8_lossy(&bytes);
            let Some(line) = text.lines().rev().find(|l| !l.trim().is_empty()) else {
                return;
            };
            if let Some((_, State::Running { last, .. })) =
                inner.steps.iter_mut().find(|(i, _)| *i == vertex.0)
            {
                *last = line.trim().to_string();
            }
            return;
        }
    };
    match inner.steps.iter_mut().find(|(i, _)| *i == n) {
        Some(entry) => entry.1 = state,
        None => inner.steps.push((n, state)),
    }
}

/// Standard error's width in columns (80 when it is not a terminal).
fn terminal_width() -> usize {
    kiln_runtime::terminal::width(2).unwrap_or(80)
}
