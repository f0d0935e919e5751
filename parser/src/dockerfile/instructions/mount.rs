//! The typed `RUN --mount` model: one [`Mount`] variant per mount type.
//! Parsing and the rules it follows are in [`super::mount_spec`].

/// One `RUN --mount`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mount {
    /// `type=bind` (the default): a read-only view of the context or a stage.
    Bind(BindMount),
    /// `type=cache`: a persistent directory shared between builds.
    Cache(CacheMount),
    /// `type=tmpfs`: an empty in-memory filesystem.
    Tmpfs(TmpfsMount),
    /// `type=secret`: a build secret as a file (or an env variable).
    Secret(SecretMount),
    /// `type=ssh`: the SSH agent socket.
    Ssh(SshMount),
    /// A spec whose typed fields reference variables: typed after expansion.
    Deferred(String),
}

/// `type=bind`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindMount {
    /// Where it appears in the container.
    pub target: String,
    /// Path inside `from` (default: its root).
    pub source: Option<String>,
    /// Stage or image to mount from (default: the build context).
    pub from: Option<String>,
    /// Read-only unless `rw`/`readwrite` (writes are then discarded).
    pub read_only: bool,
}

/// How concurrent builds share a cache mount.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CacheSharing {
    /// Used by all writers at once (the default).
    #[default]
    Shared,
    /// A new instance when the cache is in use.
    Private,
    /// Writers wait for each other.
    Locked,
}

/// `type=cache`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheMount {
    /// Where it appears in the container.
    pub target: String,
    /// Cache identity (default: the target).
    pub id: Option<String>,
    /// `sharing=`.
    pub sharing: CacheSharing,
    /// Stage or image used as the initial contents.
    pub from: Option<String>,
    /// Subpath of `from`.
    pub source: Option<String>,
    /// Mode of a new cache directory (octal in the spec).
    pub mode: Option<u32>,
    /// Owner uid of a new cache directory.
    pub uid: Option<u32>,
    /// Owner gid of a new cache directory.
    pub gid: Option<u32>,
    /// `ro`/`readonly`.
    pub read_only: bool,
}

/// `type=tmpfs`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TmpfsMount {
    /// Where it appears in the container.
    pub target: String,
    /// Size limit in bytes (`size=64m`).
    pub size: Option<u64>,
}

/// `type=secret`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretMount {
    /// Secret id (default: the target's base name).
    pub id: Option<String>,
    /// File path (default: `/run/secrets/<id>`).
    pub target: Option<String>,
    /// Expose the secret as this environment variable.
    pub env: Option<String>,
    /// Fail when the secret is not provided.
    pub required: bool,
    /// File mode (octal in the spec).
    pub mode: Option<u32>,
    /// File owner uid.
    pub uid: Option<u32>,
    /// File owner gid.
    pub gid: Option<u32>,
}

/// `type=ssh`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshMount {
    /// SSH agent id (default: `default`).
    pub id: Option<String>,
    /// Socket path (default: `/run/buildkit/ssh_agent.N`).
    pub target: Option<String>,
    /// Fail when the agent is not provided.
    pub required: bool,
    /// Socket mode (octal in the spec).
    pub mode: Option<u32>,
    /// Socket owner uid.
    pub uid: Option<u32>,
    /// Socket owner gid.
    pub gid: Option<u32>,
}
