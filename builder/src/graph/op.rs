//! The typed operations a build-graph vertex performs (BuildKit's LLB ops,
//! narrowed to what a Dockerfile needs).
//!
//! Inputs are graph edges, not fields: an op refers to its inputs by *slot*
//! (the position in [`super::BuildGraph::inputs`]). Slot 0 of an exec, file or
//! mkdir op is always the filesystem it works on; further slots are mount or
//! copy sources.

use kiln_parser::dockerfile::instructions::{CacheSharing, NetworkMode, SecurityMode};

/// What a vertex does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// A root filesystem to start from (no inputs).
    Source(SourceOp),
    /// The build context, narrowed to what one COPY/ADD or bind mount reads
    /// (no inputs). Its content digest is supplied by the executor.
    Context(ContextOp),
    /// Run a command in a container (RUN).
    Exec(ExecOp),
    /// Copy files into the filesystem of slot 0 (COPY/ADD).
    File(FileAction),
    /// Create a directory in the filesystem of slot 0 (WORKDIR).
    Mkdir(MkdirOp),
}

impl Op {
    /// A short kind name for dumps and progress (`image`, `exec`, ...).
    pub fn kind(&self) -> &'static str {
        match self {
            Op::Source(SourceOp::Image { .. }) => "image",
            Op::Source(SourceOp::Scratch) => "scratch",
            Op::Context(_) => "context",
            Op::Exec(_) => "exec",
            Op::File(_) => "copy",
            Op::Mkdir(_) => "mkdir",
        }
    }
}

/// A base filesystem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceOp {
    /// An image reference as written after expansion (`alpine:3.20`);
    /// normalising and resolving it to a digest is the executor's job.
    Image {
        /// The reference.
        reference: String,
        /// The platform to pull (`os/arch[/variant]`).
        platform: String,
    },
    /// The empty filesystem (`FROM scratch`, heredoc-only COPY sources).
    Scratch,
}

/// The part of the build context one instruction reads.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ContextOp {
    /// Paths or wildcard patterns relative to the context root that are read
    /// (`["."]` for the whole context).
    pub include: Vec<String>,
    /// `--exclude` patterns applied on top of `.dockerignore`.
    pub exclude: Vec<String>,
}

/// RUN: a process in a container over slot 0's filesystem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecOp {
    /// The argv (shell already prepended for the shell form).
    pub args: Vec<String>,
    /// The environment, `KEY=value`, in the order the process sees it: the
    /// image's ENV then the stage's ARGs not hidden by an ENV (and proxy args).
    pub env: Vec<String>,
    /// The working directory.
    pub cwd: String,
    /// The user (`name`, `uid`, `uid:gid`...); empty means root.
    pub user: String,
    /// `--network`.
    pub network: NetworkMode,
    /// `--security`.
    pub security: SecurityMode,
    /// `--mount`s and inline heredoc scripts, in order.
    pub mounts: Vec<ExecMount>,
}

/// One mount of an exec op.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecMount {
    /// Where it appears in the container.
    pub target: String,
    /// What is mounted.
    pub kind: MountKind,
}

/// What an exec mount is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MountKind {
    /// A read-only (or discarded read-write) view of an input's filesystem.
    Bind {
        /// The input slot (a context, stage or image vertex).
        input: usize,
        /// Path inside that input.
        source: String,
        /// `rw` not given.
        read_only: bool,
    },
    /// A persistent cache directory.
    Cache {
        /// Cache identity (the target when not given).
        id: String,
        /// Concurrency policy.
        sharing: CacheSharing,
        /// Initial contents: an input slot, and a path in it.
        from: Option<(usize, String)>,
        /// Mode of a new directory (default 0755).
        mode: u32,
        /// Owner of a new directory.
        uid: u32,
        /// Group of a new directory.
        gid: u32,
        /// `ro`.
        read_only: bool,
    },
    /// An empty in-memory filesystem.
    Tmpfs {
        /// Size limit in bytes.
        size: Option<u64>,
    },
    /// A secret file or env variable (never part of any layer or history).
    Secret {
        /// The secret's id.
        id: String,
        /// Expose as this env variable instead of (or besides) a file.
        env: Option<String>,
        /// Fail when missing.
        required: bool,
        /// File mode (default 0400).
        mode: u32,
        /// File owner.
        uid: u32,
        /// File group.
        gid: u32,
    },
    /// The SSH agent socket.
    Ssh {
        /// Agent id.
        id: String,
        /// Fail when missing.
        required: bool,
        /// Socket mode (default 0600).
        mode: u32,
        /// Socket owner.
        uid: u32,
        /// Socket group.
        gid: u32,
    },
    /// A read-only file made by the builder: the script of a heredoc RUN
    /// starting with `#!` (BuildKit mounts it under `/dev/pipes/`).
    Inline {
        /// The file body.
        content: String,
        /// Its mode (0755).
        mode: u32,
    },
}

/// COPY/ADD: files from a source into slot 0's filesystem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileAction {
    /// What is copied, in order.
    pub sources: Vec<CopySource>,
    /// The destination (absolute; relative ones are resolved against the
    /// working directory). A trailing `/` means "into this directory".
    pub dest: String,
    /// The input slot the path sources are read from (a context, stage or
    /// image vertex); `None` when every source is inline or remote.
    pub from: Option<usize>,
    /// `--chown`, expanded but unresolved (`user:group` names are looked up in
    /// the destination's /etc/passwd by the executor, as BuildKit does).
    pub chown: Option<String>,
    /// `--chmod` (octal or symbolic), expanded.
    pub chmod: Option<String>,
    /// `--link`.
    pub link: bool,
    /// `--exclude` patterns.
    pub exclude: Vec<String>,
    /// `--parents`.
    pub parents: bool,
    /// ADD-only behaviour; `None` for COPY.
    pub add: Option<AddOptions>,
}

/// One source of a COPY/ADD.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CopySource {
    /// A path or wildcard in the `from` input.
    Path(String),
    /// A heredoc: a file `name` with `content`.
    Inline {
        /// The file name.
        name: String,
        /// The body (already expanded when the delimiter was unquoted).
        content: String,
    },
    /// ADD of a URL or git repository.
    Remote(String),
}

/// What ADD does on top of COPY.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddOptions {
    /// `--checksum` of a remote source.
    pub checksum: Option<String>,
    /// `--unpack`: `None` = local archives are unpacked, URLs not.
    pub unpack: Option<bool>,
    /// `--keep-git-dir`.
    pub keep_git_dir: bool,
}

/// WORKDIR's directory creation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MkdirOp {
    /// The absolute path.
    pub path: String,
    /// Mode (0755).
    pub mode: u32,
    /// Create missing parents.
    pub parents: bool,
    /// Owner: the stage's USER at that point, if any (BuildKit chowns the
    /// new directories to it).
    pub owner: Option<String>,
}
