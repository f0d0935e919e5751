//! Cache keys: sha256 over a versioned, typed encoding of a vertex's op, the
//! keys of its inputs and an optional content digest.
//!
//! The preimage is kept as a [`KeyExplanation`] (named op fields, input keys,
//! content digest) so `--debug-cache` can say which component changed
//! ([`KeyExplanation::diff`], typed as [`KeyChange`](super::KeyChange)s). The
//! solver computes each vertex's key once and hands it to the executor as a
//! [`ComputedKey`]. Not part of the key: the Dockerfile line,
//! the progress name, `created_by` and `ignore_cache`; moving a RUN down a
//! line or changing a LABEL before it keeps its key, as in BuildKit.
//! Secret contents are never part of a key (only the secret's id and target).
//!
//! A COPY/ADD that reads from another stage or image (`--from`) and has a
//! content digest is keyed by *what it copies*, not by how the source was
//! built: that input's key is replaced by a fixed marker, so rebuilding the
//! source stage with the same resulting files keeps the COPY cached (BuildKit's
//! content-based checksums). The destination's input key stays.
//!
//! Bump [`KEY_VERSION`] whenever the encoding or the meaning of a field changes.

use std::fmt;

use sha2::{Digest as _, Sha256};

use crate::graph::{CopySource, ExecMount, MountKind, Op, SourceOp, Vertex};
use crate::Digest;

/// The version of the key encoding; part of every key.
pub const KEY_VERSION: u32 = 2;

/// A vertex's cache key.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CacheKey(pub Digest);

impl fmt::Display for CacheKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl fmt::Debug for CacheKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CacheKey({})", self.0)
    }
}

/// One typed value of an op field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Field {
    /// A string.
    Str(String),
    /// An unsigned number.
    Int(u64),
    /// A flag.
    Bool(bool),
    /// An ordered list of strings.
    List(Vec<String>),
    /// An optional field that is not set.
    Absent,
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Field::Str(s) => write!(f, "{s:?}"),
            Field::Int(n) => write!(f, "{n}"),
            Field::Bool(b) => write!(f, "{b}"),
            Field::List(l) => write!(f, "{l:?}"),
            Field::Absent => write!(f, "(unset)"),
        }
    }
}

/// The preimage of a cache key, component by component.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyExplanation {
    /// [`KEY_VERSION`] at the time it was computed.
    pub version: u32,
    /// The op kind (`exec`, `copy`, ...).
    pub op: &'static str,
    /// The op's fields in a fixed order.
    pub fields: Vec<(&'static str, Field)>,
    /// The keys of the inputs, by slot.
    pub inputs: Vec<CacheKey>,
    /// The checksum of the files the op reads, when the executor gave one.
    pub content: Option<Digest>,
}

/// A vertex's cache key as the solver computed it, once per vertex, with its
/// preimage: what the solver looks up and stores, and hands to the executor
/// ([`Executor::keyed`](super::Executor::keyed),
/// [`Executor::execute`](super::Executor::execute)) so that nothing computes
/// it (or the content digest under it) again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComputedKey {
    /// The key ([`KeyExplanation::key`] of `explanation`).
    pub key: CacheKey,
    /// Its preimage, for `--debug-cache` and for keys derived from it.
    pub explanation: KeyExplanation,
}

impl ComputedKey {
    /// Hashes `explanation` into its key.
    pub fn new(explanation: KeyExplanation) -> ComputedKey {
        ComputedKey {
            key: explanation.key(),
            explanation,
        }
    }
}

/// The cache key of `vertex` given its inputs' keys and content digest.
pub fn cache_key(vertex: &Vertex, input_keys: &[CacheKey], content: Option<Digest>) -> CacheKey {
    explain(vertex, input_keys, content).key()
}

/// The components [`cache_key`] hashes.
pub fn explain(
    vertex: &Vertex,
    input_keys: &[CacheKey],
    content: Option<Digest>,
) -> KeyExplanation {
    let mut inputs = input_keys.to_vec();
    if let (Op::File(action), Some(_)) = (&vertex.op, &content) {
        if let Some(slot) = action.from.filter(|&slot| slot > 0 && slot < inputs.len()) {
            inputs[slot] = CacheKey(Digest::of(b"kiln-cache-key: input keyed by its content"));
        }
    }
    KeyExplanation {
        version: KEY_VERSION,
        op: vertex.op.kind(),
        fields: op_fields(&vertex.op),
        inputs,
        content,
    }
}

impl KeyExplanation {
    /// The key: sha256 of the length-prefixed, type-tagged encoding.
    pub fn key(&self) -> CacheKey {
        let mut h = Sha256::new();
        h.update(b"kiln-cache-key\0");
        h.update(self.version.to_be_bytes());
        put_str(&mut h, self.op);
        h.update((self.fields.len() as u64).to_be_bytes());
        for (name, value) in &self.fields {
            put_str(&mut h, name);
            put_field(&mut h, value);
        }
        h.update((self.inputs.len() as u64).to_be_bytes());
        for input in &self.inputs {
            h.update(input.0.as_bytes());
        }
        match &self.content {
            Some(d) => {
                h.update([1]);
                h.update(d.as_bytes());
            }
            None => h.update([0]),
        }
        CacheKey(Digest::from_bytes(h.finalize().into()))
    }
}

fn put_str(h: &mut Sha256, s: &str) {
    h.update((s.len() as u64).to_be_bytes());
    h.update(s.as_bytes());
}

fn put_field(h: &mut Sha256, field: &Field) {
    match field {
        Field::Str(s) => {
            h.update([b's']);
            put_str(h, s);
        }
        Field::Int(n) => {
            h.update([b'i']);
            h.update(n.to_be_bytes());
        }
        Field::Bool(b) => h.update([b'b', u8::from(*b)]),
        Field::List(items) => {
            h.update([b'l']);
            h.update((items.len() as u64).to_be_bytes());
            for item in items {
                put_str(h, item);
            }
        }
        Field::Absent => h.update([b'0']),
    }
}

fn s(v: &str) -> Field {
    Field::Str(v.to_string())
}

fn opt(v: &Option<String>) -> Field {
    v.as_deref().map_or(Field::Absent, s)
}

fn op_fields(op: &Op) -> Vec<(&'static str, Field)> {
    match op {
        Op::Source(SourceOp::Image {
            reference,
            platform,
        }) => vec![("reference", s(reference)), ("platform", s(platform))],
        Op::Source(SourceOp::Scratch) => Vec::new(),
        Op::Context(c) => vec![
            ("include", Field::List(c.include.clone())),
            ("exclude", Field::List(c.exclude.clone())),
        ],
        Op::Exec(e) => vec![
            ("args", Field::List(e.args.clone())),
            ("env", Field::List(e.env.clone())),
            ("cwd", s(&e.cwd)),
            ("user", s(&e.user)),
            ("network", s(&format!("{:?}", e.network).to_lowercase())),
            ("security", s(&format!("{:?}", e.security).to_lowercase())),
            (
                "mounts",
                Field::List(e.mounts.iter().map(mount_text).collect()),
            ),
        ],
        Op::File(f) => vec![
            (
                "sources",
                Field::List(f.sources.iter().map(source_text).collect()),
            ),
            ("dest", s(&f.dest)),
            (
                "from",
                f.from.map_or(Field::Absent, |n| Field::Int(n as u64)),
            ),
            ("chown", opt(&f.chown)),
            ("chmod", opt(&f.chmod)),
            ("link", Field::Bool(f.link)),
            ("exclude", Field::List(f.exclude.clone())),
            ("parents", Field::Bool(f.parents)),
            ("add", add_field(f)),
        ],
        Op::Mkdir(m) => vec![
            ("path", s(&m.path)),
            ("mode", Field::Int(m.mode.into())),
            ("parents", Field::Bool(m.parents)),
            ("owner", opt(&m.owner)),
        ],
    }
}

fn add_field(f: &crate::graph::FileAction) -> Field {
    match &f.add {
        None => Field::Absent,
        Some(a) => Field::List(vec![
            format!("checksum={}", a.checksum.as_deref().unwrap_or("")),
            format!("unpack={:?}", a.unpack),
            format!("keep_git_dir={}", a.keep_git_dir),
        ]),
    }
}

/// A canonical one-line form of a copy source (inline bodies by digest).
fn source_text(source: &CopySource) -> String {
    match source {
        CopySource::Path(p) => format!("path:{p}"),
        CopySource::Inline { name, content } => {
            format!("inline:{name}:{}", Digest::of(content.as_bytes()))
        }
        CopySource::Remote(url) => format!("remote:{url}"),
    }
}

/// A canonical one-line form of a mount: every field that changes what the
/// process sees, and nothing secret.
fn mount_text(m: &ExecMount) -> String {
    let t = &m.target;
    match &m.kind {
        MountKind::Bind {
            input,
            source,
            read_only,
        } => format!("bind;target={t};input={input};source={source};ro={read_only}"),
        MountKind::Cache {
            id,
            sharing,
            from,
            mode,
            uid,
            gid,
            read_only,
        } => {
            let from = from
                .as_ref()
                .map_or(String::new(), |(slot, path)| format!("{slot}:{path}"));
            format!(
                "cache;target={t};id={id};sharing={sharing:?};from={from};mode={mode:o};uid={uid};gid={gid};ro={read_only}"
            )
        }
        MountKind::Tmpfs { size } => format!("tmpfs;target={t};size={}", size.unwrap_or(0)),
        MountKind::Secret {
            id,
            env,
            required,
            mode,
            uid,
            gid,
        } => format!(
            "secret;target={t};id={id};env={};required={required};mode={mode:o};uid={uid};gid={gid}",
            env.as_deref().unwrap_or("")
        ),
        MountKind::Ssh {
            id,
            required,
            mode,
            uid,
            gid,
        } => format!("ssh;target={t};id={id};required={required};mode={mode:o};uid={uid};gid={gid}"),
        MountKind::Inline { content, mode } => format!(
            "inline;target={t};mode={mode:o};content={}",
            Digest::of(content.as_bytes())
        ),
    }
}
