//! Why a step missed the cache, typed, for `--debug-cache`.
//!
//! The build's explaining executor (`build::explain`) compares a step's key
//! preimage with the previous build's record of the same step
//! ([`KeyExplanation::diff`](crate::solver::KeyExplanation::diff) gives typed
//! [`KeyChange`]s) and turns the changes into [`MissReason`]s: an input's key
//! becomes the name of the step that made it, a changed context selection the
//! files that changed ([`FileChange`]). Nothing is parsed back from text; each
//! reason is rendered once, by its `Display`, where it is shown.

use std::fmt;

use crate::solver::KeyChange;

/// What happened to one file of a context selection since the previous build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileChangeKind {
    /// It is new (`path (added)`).
    Added,
    /// It is gone (`path (removed)`).
    Removed,
    /// Its mode, owner or content changed; what it is now
    /// (`path (100644 0:0 sha256:..)`).
    Changed(String),
}

/// One file of a context selection that differs from the previous build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileChange {
    /// Its path in the context.
    pub path: String,
    /// What changed.
    pub kind: FileChangeKind,
}

impl fmt::Display for FileChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            FileChangeKind::Added => write!(f, "{} (added)", self.path),
            FileChangeKind::Removed => write!(f, "{} (removed)", self.path),
            FileChangeKind::Changed(now) => write!(f, "{} ({now})", self.path),
        }
    }
}

/// One reason a step missed the cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MissReason {
    /// The solver computed no key for it (the step failed before).
    NoKey,
    /// No earlier build of this step (same name, same project) was recorded.
    NoPreviousBuild,
    /// Its key is the recorded one: `--no-cache`, or its cache entry is gone.
    KeyUnchanged,
    /// The step that makes its input `slot` changed (`input 0 changed: [..] RUN ..`).
    InputChanged {
        /// The input slot.
        slot: usize,
        /// The progress name of the step that made the input.
        step: String,
    },
    /// A component of its own key changed.
    Key(KeyChange),
    /// A file its context sources select changed.
    ContextFile {
        /// The instruction, without the stage prefix (`COPY app /app`).
        instruction: String,
        /// The file.
        file: FileChange,
    },
}

impl fmt::Display for MissReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MissReason::NoKey => f.write_str("no cache key was computed"),
            MissReason::NoPreviousBuild => f.write_str("no previous build of this step"),
            MissReason::KeyUnchanged => {
                f.write_str("key unchanged (--no-cache, or its cache record is gone)")
            }
            MissReason::InputChanged { slot, step } => write!(f, "input {slot} changed: {step}"),
            MissReason::Key(change) => change.fmt(f),
            MissReason::ContextFile { instruction, file } => {
                write!(f, "content of {instruction} sources changed: {file}")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::solver::cache_key::Field;
    use crate::solver::CacheKey;
    use crate::Digest;

    /// The texts users saw before the reasons were typed stay the same.
    #[test]
    fn reasons_render_as_before() {
        let key = |s: &str| CacheKey(Digest::of(s.as_bytes()));
        let cases: Vec<(MissReason, String)> = vec![
            (
                MissReason::NoPreviousBuild,
                "no previous build of this step".into(),
            ),
            (
                MissReason::KeyUnchanged,
                "key unchanged (--no-cache, or its cache record is gone)".into(),
            ),
            (
                MissReason::InputChanged {
                    slot: 0,
                    step: "[2/3] RUN make".into(),
                },
                "input 0 changed: [2/3] RUN make".into(),
            ),
            (
                MissReason::Key(KeyChange::Field {
                    name: "chmod".into(),
                    before: Field::Absent,
                    now: Field::Str("0755".into()),
                }),
                "field chmod: (unset) -> \"0755\"".into(),
            ),
            (
                MissReason::Key(KeyChange::Env {
                    name: "A".into(),
                    before: None,
                    now: Some("1".into()),
                }),
                "env A: (unset) -> \"1\"".into(),
            ),
            (
                MissReason::Key(KeyChange::Input {
                    slot: 1,
                    before: None,
                    now: Some(key("k")),
                }),
                format!("input 1: (none) -> {}", key("k")),
            ),
            (
                MissReason::ContextFile {
                    instruction: "COPY app /app".into(),
                    file: FileChange {
                        path: "app/a.txt".into(),
                        kind: FileChangeKind::Removed,
                    },
                },
                "content of COPY app /app sources changed: app/a.txt (removed)".into(),
            ),
        ];
        for (reason, text) in cases {
            assert_eq!(reason.to_string(), text);
        }
    }
}
