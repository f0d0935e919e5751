//! Compose files merged in order, as compose-go's `loadYamlFile` does for
//! each file (loader/loader.go at e70e961c): every YAML document of every
//! file, in order, goes through
//!
//! 1. `!reset`/`!override` ([`reset::resolve`]);
//! 2. the caller's per-file step ([`FileHost::prepare`]: interpolation, with
//!    the environment of this file: an included project adds its env files);
//! 3. `include` ([`include`]), then the reset paths are cleared from what
//!    was merged so far, then `extends` ([`extends`]);
//! 4. [`merge()`] over the result so far, [`enforce_unicity`];
//! 5. the caller's after-merge step ([`FileHost::after_merge`]: schema
//!    validation, the canonical form), identity by default.
//!
//! Errors name the file being merged and the position of the value at
//! fault. Nodes keep their line and column through the merge but not their
//! file: a value that fails a check made after each file's merge (the
//! uniqueness pass here, schema validation in `after_merge`) came from the
//! file just merged, since what was merged before passed the same checks;
//! compose-go names the same file (`validating <file>: ...`).
//!
//! Not done as compose-go does: its `ResetProcessor` refuses documents
//! that take more than 100,000 node visits, counting an alias once; here
//! aliases are already expanded, so that count cannot be made the same way
//! and the YAML layer's node budget ([`yaml::MAX_NODES`]) bounds the work
//! instead.
//!
//! The passes are pure: reading files, checking that a path is a file and
//! parsing env files go through [`FileHost`]. Relative paths named by a
//! project (`extends.file`, `include`) are resolved against the project's
//! working directory, as compose-go resolves them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::merge::{merge, MergeError};
use super::reset::{self, Resets};
use super::unicity::enforce_unicity;
use super::yaml::{self, Node, Value};
use super::{extends, include};

/// Variables (the process environment plus `.env` files), name -> value.
pub type Env = BTreeMap<String, String>;

/// What the merge passes need from their caller: file access and the
/// per-file steps that are not theirs.
pub trait FileHost {
    /// The text of the file at `path`.
    fn read(&self, path: &Path) -> Result<String, String>;
    /// Whether `path` names an existing regular file.
    fn is_file(&self, path: &Path) -> bool;
    /// Whether `path` names an existing directory.
    fn is_dir(&self, path: &Path) -> bool;
    /// The per-document step after `!reset` handling, before `include` and
    /// `extends` (compose-go interpolates here). Identity by default.
    fn prepare(&self, doc: Node, _file: &str, _env: &Env) -> Result<Node, String> {
        Ok(doc)
    }
    /// The step after each document is merged and made unique (compose-go
    /// validates and makes the model canonical here). Identity by default.
    fn after_merge(&self, dict: Node, _file: &str) -> Result<Node, String> {
        Ok(dict)
    }
    /// The variables of an include's `env_file`s over `env` (dotenv rules).
    /// By default the files are not read and no variable is added.
    fn env_files(&self, _files: &[PathBuf], _env: &Env) -> Result<Env, String> {
        Ok(Env::new())
    }
}

/// One compose file: its path (relative paths are relative to the process'
/// directory, as the host reads them) and, when already read (stdin), its
/// text.
#[derive(Debug, Clone)]
pub struct ComposeFile {
    /// The path, also the name used in errors.
    pub path: PathBuf,
    /// The text when the caller has it; read through the host otherwise.
    pub text: Option<String>,
}

/// Options of one load.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// The project's working directory (relative paths in the files are
    /// relative to it).
    pub working_dir: PathBuf,
    /// The variables interpolation and include env files see.
    pub env: Env,
    /// Leave `include` as it is.
    pub skip_include: bool,
    /// Leave `extends` as it is.
    pub skip_extends: bool,
}

/// The files merged in order (see the module docs).
pub fn load(
    files: &[ComposeFile],
    opts: &LoadOptions,
    host: &dyn FileHost,
) -> Result<Node, MergeError> {
    let loader = Loader { host };
    let cx = FileCx {
        working_dir: opts.working_dir.clone(),
        env: opts.env.clone(),
        included: Vec::new(),
        skip_include: opts.skip_include,
        skip_extends: opts.skip_extends,
    };
    let mut dict = empty_map();
    for file in files {
        dict = loader.load_file(file, dict, &cx)?.0;
    }
    Ok(dict)
}

/// The files' trees merged with no include, no extends and no per-file
/// step: what `kiln debug compose merge` prints (compose-go's `Merge` then
/// `EnforceUnicity`, file after file, with `!reset`/`!override`).
pub fn merge_texts(files: &[(String, String)]) -> Result<Node, MergeError> {
    let mut dict = empty_map();
    for (name, text) in files {
        for doc in yaml::parse_documents(text, name)? {
            dict = merge_document(dict, doc, name)?;
        }
    }
    Ok(dict)
}

/// One document merged over `dict`: resets, merge, uniqueness.
pub fn merge_document(mut dict: Node, doc: Node, file: &str) -> Result<Node, MergeError> {
    let (doc, resets) = reset::resolve(doc);
    let doc = top_mapping(doc, file)?;
    resets.apply(&mut dict);
    enforce_unicity(merge(dict, doc, file)?, file)
}

/// The state one file is loaded with.
#[derive(Debug, Clone)]
pub(crate) struct FileCx {
    pub working_dir: PathBuf,
    pub env: Env,
    /// The files that include this one (include cycles).
    pub included: Vec<PathBuf>,
    pub skip_include: bool,
    pub skip_extends: bool,
}

pub(crate) struct Loader<'h> {
    pub host: &'h dyn FileHost,
}

impl Loader<'_> {
    /// One file's documents merged over `dict`; also gives the reset record
    /// of its last document (what `extends` applies to bases it takes from
    /// this file).
    pub(crate) fn load_file(
        &self,
        file: &ComposeFile,
        mut dict: Node,
        cx: &FileCx,
    ) -> Result<(Node, Resets), MergeError> {
        let name = file.path.display().to_string();
        let text = match &file.text {
            Some(text) => text.clone(),
            None => self.read(&file.path)?,
        };
        let mut last = Resets::default();
        for doc in yaml::parse_documents(&text, &name)? {
            let (doc, resets) = reset::resolve(doc);
            let doc = top_mapping(doc, &name)?;
            let mut doc = self
                .host
                .prepare(doc, &name, &cx.env)
                .map_err(|r| file_error(&name, r))?;
            if !cx.skip_include {
                let mut included = cx.included.clone();
                included.push(file.path.clone());
                include::apply(self, &mut doc, &name, cx, &included, &resets)?;
            }
            resets.apply(&mut dict);
            if !cx.skip_extends {
                extends::apply(self, &mut doc, &name, cx, &resets)?;
            }
            dict = enforce_unicity(merge(dict, doc, &name)?, &name)?;
            dict = self
                .host
                .after_merge(dict, &name)
                .map_err(|r| file_error(&name, r))?;
            last = resets;
        }
        Ok((dict, last))
    }

    pub(crate) fn read(&self, path: &Path) -> Result<String, MergeError> {
        self.host
            .read(path)
            .map_err(|reason| file_error(&path.display().to_string(), reason))
    }
}

/// An empty mapping node.
pub(crate) fn empty_map() -> Node {
    Node::new(Value::Map(Vec::new()))
}

/// A [`MergeError::File`].
pub(crate) fn file_error(file: &str, reason: impl Into<String>) -> MergeError {
    MergeError::File {
        file: file.to_string(),
        reason: reason.into(),
    }
}

/// The document as the top-level mapping compose-go requires (an empty
/// document is an empty mapping).
fn top_mapping(doc: Node, file: &str) -> Result<Node, MergeError> {
    match doc.value {
        Value::Map(_) => Ok(doc),
        Value::Null => Ok(Node {
            value: Value::Map(Vec::new()),
            ..doc
        }),
        _ => Err(MergeError::invalid(
            file,
            doc.pos,
            "top-level object must be a mapping",
        )),
    }
}
