//! What differs between two cache key preimages, typed: `--debug-cache` turns
//! these into its reasons without reading any text back, and renders each one
//! once, where it is shown.

use std::fmt;

use super::cache_key::{CacheKey, Field, KeyExplanation};
use crate::Digest;

/// One component of a key's preimage that differs from an earlier one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyChange {
    /// The key encoding's version (`key version: 1 -> 2`).
    Version {
        /// The earlier version.
        before: u32,
        /// The current version.
        now: u32,
    },
    /// The op kind (`op: exec -> copy`); nothing else is compared then.
    Op {
        /// The earlier op.
        before: String,
        /// The current op.
        now: String,
    },
    /// An op field (`field args: [..] -> [..]`).
    Field {
        /// The field's name.
        name: String,
        /// The earlier value.
        before: Field,
        /// The current value.
        now: Field,
    },
    /// One variable of an environment list (`env NAME: "old" -> "new"`),
    /// given instead of the whole `env` field by
    /// [`ExplanationRecord::changes_to`](crate::cache_store::ExplanationRecord::changes_to).
    Env {
        /// The variable.
        name: String,
        /// Its earlier value (`None`: unset).
        before: Option<String>,
        /// Its current value (`None`: unset).
        now: Option<String>,
    },
    /// The key of the input in `slot` (`input 1: sha256:.. -> sha256:..`).
    Input {
        /// The input slot.
        slot: usize,
        /// The earlier key (`None`: no such input).
        before: Option<CacheKey>,
        /// The current key (`None`: no such input).
        now: Option<CacheKey>,
    },
    /// The checksum of the files the op reads (`content: .. -> ..`).
    Content {
        /// The earlier checksum.
        before: Option<Digest>,
        /// The current checksum.
        now: Option<Digest>,
    },
}

impl fmt::Display for KeyChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn or_none<T: fmt::Display>(v: &Option<T>) -> String {
            v.as_ref().map_or("(none)".into(), |v| v.to_string())
        }
        fn or_unset(v: &Option<String>) -> String {
            v.as_ref().map_or("(unset)".into(), |v| format!("{v:?}"))
        }
        match self {
            KeyChange::Version { before, now } => write!(f, "key version: {before} -> {now}"),
            KeyChange::Op { before, now } => write!(f, "op: {before} -> {now}"),
            KeyChange::Field { name, before, now } => write!(f, "field {name}: {before} -> {now}"),
            KeyChange::Env { name, before, now } => {
                write!(f, "env {name}: {} -> {}", or_unset(before), or_unset(now))
            }
            KeyChange::Input { slot, before, now } => {
                write!(f, "input {slot}: {} -> {}", or_none(before), or_none(now))
            }
            KeyChange::Content { before, now } => {
                write!(f, "content: {} -> {}", or_none(before), or_none(now))
            }
        }
    }
}

impl KeyExplanation {
    /// What differs from `previous`, one [`KeyChange`] per changed component
    /// (an op change stops the comparison); empty when the keys are equal.
    pub fn diff(&self, previous: &KeyExplanation) -> Vec<KeyChange> {
        let mut out = Vec::new();
        if self.version != previous.version {
            let (before, now) = (previous.version, self.version);
            out.push(KeyChange::Version { before, now });
        }
        if self.op != previous.op {
            let (before, now) = (previous.op.to_string(), self.op.to_string());
            out.push(KeyChange::Op { before, now });
            return out;
        }
        for ((name, now), (_, before)) in self.fields.iter().zip(&previous.fields) {
            if now != before {
                let (before, now) = (before.clone(), now.clone());
                out.push(KeyChange::Field {
                    name: name.to_string(),
                    before,
                    now,
                });
            }
        }
        for slot in 0..self.inputs.len().max(previous.inputs.len()) {
            let (now, before) = (self.inputs.get(slot), previous.inputs.get(slot));
            if now != before {
                let (before, now) = (before.copied(), now.copied());
                out.push(KeyChange::Input { slot, before, now });
            }
        }
        if self.content != previous.content {
            let (before, now) = (previous.content, self.content);
            out.push(KeyChange::Content { before, now });
        }
        out
    }

    /// [`KeyExplanation::diff`] rendered, one line per changed component
    /// (`field args: [..] -> [..]`, `input 1: sha256:.. -> sha256:..`,
    /// `content: .. -> ..`); empty when the keys are equal.
    pub fn changes(&self, previous: &KeyExplanation) -> Vec<String> {
        self.diff(previous)
            .iter()
            .map(KeyChange::to_string)
            .collect()
    }
}
