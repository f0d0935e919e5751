//! The loader's side of the merge passes' [`FileHost`]: file access through
//! the loader's [`FileSource`], interpolation (with compose-go's typed casts)
//! as the per-document step, and schema validation, the canonical form and
//! the second uniqueness pass after each document is merged — compose-go's
//! `loadYamlFile` order.
//!
//! The hooks can only return a `String`; the typed [`LoadError`] they failed
//! with is kept aside and handed back by [`Host::take_error`], so a message
//! keeps its file, position and key path.

use std::cell::RefCell;
use std::collections::HashSet;
use std::path::{Path, PathBuf};

use super::super::files::{Env, FileHost};
use super::super::unicity::enforce_unicity;
use super::super::yaml::{Node, Value};
use super::error::LoadError;
use super::options::LoadOptions;
use super::source::FileSource;
use super::{canonical, passes};

/// Service keys whose merge gives a sequence (compose-go's
/// `mergeToSequence`); with nothing on either side Go's result is a nil
/// slice, which the schema sees as an (empty) array, where our tree has a
/// null.
const SEQUENCE_KEYS: [&str; 11] = [
    "annotations",
    "dns",
    "dns_opt",
    "dns_search",
    "env_file",
    "environment",
    "label_file",
    "labels",
    "sysctls",
    "tmpfs",
    "extra_hosts",
];

/// A [`FileHost`] over a [`FileSource`] with the loader's per-file steps.
pub struct Host<'a> {
    fs: &'a dyn FileSource,
    opts: &'a LoadOptions,
    /// The project's own files: the schema checks them (compose-go skips
    /// validation for the files `extends` reads bases from).
    validated: HashSet<String>,
    /// `services.<name>.<key>` entries written as null in the document
    /// being merged (a null the user wrote stays one).
    written_nulls: RefCell<HashSet<(String, String)>>,
    failed: RefCell<Option<LoadError>>,
    /// What docker compose warns about while loading, in order, once each.
    warnings: RefCell<Vec<String>>,
}

impl<'a> Host<'a> {
    /// A host reading through `fs`, running the steps `opts` switch on.
    /// `validated` are the project's files, by the name errors use.
    pub fn new(
        fs: &'a dyn FileSource,
        opts: &'a LoadOptions,
        validated: HashSet<String>,
    ) -> Host<'a> {
        Host {
            fs,
            opts,
            validated,
            written_nulls: RefCell::new(HashSet::new()),
            failed: RefCell::new(None),
            warnings: RefCell::new(Vec::new()),
        }
    }

    /// Turns the nulls the merge made from two empty sides into empty
    /// sequences, as Go's nil slices are.
    fn nil_slices(&self, dict: &mut Node) {
        let written = self.written_nulls.borrow();
        let Some(Value::Map(services)) =
            canonical::model_get_mut(dict, "services").map(|s| &mut s.value)
        else {
            return;
        };
        for (name, service) in services.iter_mut() {
            let Value::Map(entries) = &mut service.value else {
                continue;
            };
            for (key, value) in entries.iter_mut() {
                let merged = SEQUENCE_KEYS.contains(&key.text.as_str())
                    && !written.contains(&(name.text.clone(), key.text.clone()));
                if merged && matches!(value.value, Value::Null) {
                    value.value = Value::Seq(Vec::new());
                }
            }
        }
    }

    fn record_nulls(&self, doc: &Node) {
        let mut written = self.written_nulls.borrow_mut();
        written.clear();
        let Some(Value::Map(services)) = doc.get("services").map(|s| &s.value) else {
            return;
        };
        for (name, service) in services {
            let Value::Map(entries) = &service.value else {
                continue;
            };
            for (key, value) in entries {
                if matches!(value.value, Value::Null) {
                    written.insert((name.text.clone(), key.text.clone()));
                }
            }
        }
    }

    /// The warnings gathered while loading (see [`Host::warn`]).
    pub fn take_warnings(&self) -> Vec<String> {
        self.warnings.take()
    }

    /// Records a warning docker compose prints while loading (an unset
    /// variable defaulting to blank, the obsolete `version` attribute); the
    /// same warning is kept once.
    fn warn(&self, text: String) {
        let mut warnings = self.warnings.borrow_mut();
        if !warnings.contains(&text) {
            warnings.push(text);
        }
    }

    /// The typed error a hook failed with, if one did.
    pub fn take_error(&self) -> Option<LoadError> {
        self.failed.borrow_mut().take()
    }

    fn fail(&self, e: LoadError) -> String {
        let text = e.to_string();
        *self.failed.borrow_mut() = Some(e);
        text
    }
}

fn text(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

impl FileHost for Host<'_> {
    fn read(&self, path: &Path) -> Result<String, String> {
        self.fs.read(&text(path))
    }

    fn is_file(&self, path: &Path) -> bool {
        self.fs.is_file(&text(path))
    }

    fn is_dir(&self, path: &Path) -> bool {
        self.fs.is_dir(&text(path))
    }

    fn prepare(&self, mut doc: Node, file: &str, env: &Env) -> Result<Node, String> {
        self.record_nulls(&doc);
        if doc.get("version").is_some() {
            self.warn(format!(
                "{file}: the attribute `version` is obsolete, it will be ignored, please remove it to avoid potential confusion"
            ));
        }
        if self.opts.interpolate {
            let lookup = |name: &str| env.get(name).cloned();
            let mut on_unset = |name: &str| {
                self.warn(format!(
                    "The {name:?} variable is not set. Defaulting to a blank string."
                ))
            };
            passes::interpolate(&mut doc, file, &lookup, &mut on_unset)
                .map_err(|e| self.fail(e))?;
        }
        Ok(doc)
    }

    fn after_merge(&self, mut dict: Node, file: &str) -> Result<Node, String> {
        self.nil_slices(&mut dict);
        if self.opts.interpolate && self.validated.contains(file) {
            passes::validate(&dict, file).map_err(|e| self.fail(e))?;
        }
        canonical::canonical(&mut dict, file, !self.opts.interpolate).map_err(|e| self.fail(e))?;
        enforce_unicity(dict, file).map_err(|e| self.fail(LoadError::Merge(e)))
    }

    fn env_files(&self, files: &[PathBuf], env: &Env) -> Result<Env, String> {
        let mut texts = Vec::new();
        for path in files {
            let name = text(path);
            let read = self.fs.read(&name).map_err(|reason| {
                self.fail(LoadError::Read {
                    path: name.clone(),
                    reason,
                })
            })?;
            texts.push((name, read));
        }
        let lookup = |name: &str| env.get(name).cloned();
        let read = passes::read_env_files(&texts, &lookup).map_err(|e| self.fail(e))?;
        Ok(read.into_iter().collect())
    }
}
