//! The typed model: one [`InstructionKind`] variant per Dockerfile instruction,
//! with the fields each instruction carries once its flags and arguments have
//! been checked. Values are kept *unexpanded* (as written); see
//! [`super::expand`] for the per-instruction expansion rules.

use std::fmt;
use std::time::Duration;

use super::mount::Mount;
use crate::dockerfile::ast::Heredoc;
use crate::dockerfile::span::{Position, Span};

/// One instruction of a stage, with where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instruction {
    /// What the instruction does, with its typed fields.
    pub kind: InstructionKind,
    /// The source lines it covers (including heredoc bodies).
    pub span: Span,
    /// The logical line as written (continuations joined), for history entries
    /// and error messages.
    pub original: String,
}

/// The typed instructions. `FROM` is not here: it starts a
/// [`Stage`](super::Stage) instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InstructionKind {
    /// `RUN`: a command run in a container over the stage's filesystem.
    Run(RunSpec),
    /// `CMD`: the image's default command (or ENTRYPOINT arguments).
    Cmd(Command),
    /// `ENTRYPOINT`: the image's entrypoint.
    Entrypoint(Command),
    /// `SHELL ["exe", "args"...]`: the shell used by later shell forms.
    Shell(Vec<String>),
    /// `ENV`: environment variables of the image and later instructions.
    Env(Vec<KeyValue>),
    /// `LABEL`: image labels.
    Label(Vec<KeyValue>),
    /// `MAINTAINER`: the (deprecated) author field.
    Maintainer(String),
    /// `EXPOSE`: ports, raw words; see [`PortSpec`](super::PortSpec) after expansion.
    Expose(Vec<String>),
    /// `ADD`: copy from the context, URLs or git, unpacking local archives.
    Add(AddSpec),
    /// `COPY`: copy from the context, a stage or an image.
    Copy(CopySpec),
    /// `USER`: the user (and group) later instructions and the image run as.
    User(String),
    /// `WORKDIR`: the working directory.
    Workdir(String),
    /// `VOLUME`: mount points declared in the image.
    Volume(Vec<String>),
    /// `ARG`: build arguments declared on this line.
    Arg(Vec<ArgDecl>),
    /// `ONBUILD`: a trigger stored in the image, run by builds that use it as a base.
    Onbuild(Onbuild),
    /// `STOPSIGNAL`: the signal that stops a container of the image.
    StopSignal(String),
    /// `HEALTHCHECK`: the container health probe.
    Healthcheck(Healthcheck),
}

impl InstructionKind {
    /// The instruction keyword in upper case (`RUN`, `COPY`, ...).
    pub fn keyword(&self) -> &'static str {
        match self {
            InstructionKind::Run(_) => "RUN",
            InstructionKind::Cmd(_) => "CMD",
            InstructionKind::Entrypoint(_) => "ENTRYPOINT",
            InstructionKind::Shell(_) => "SHELL",
            InstructionKind::Env(_) => "ENV",
            InstructionKind::Label(_) => "LABEL",
            InstructionKind::Maintainer(_) => "MAINTAINER",
            InstructionKind::Expose(_) => "EXPOSE",
            InstructionKind::Add(_) => "ADD",
            InstructionKind::Copy(_) => "COPY",
            InstructionKind::User(_) => "USER",
            InstructionKind::Workdir(_) => "WORKDIR",
            InstructionKind::Volume(_) => "VOLUME",
            InstructionKind::Arg(_) => "ARG",
            InstructionKind::Onbuild(_) => "ONBUILD",
            InstructionKind::StopSignal(_) => "STOPSIGNAL",
            InstructionKind::Healthcheck(_) => "HEALTHCHECK",
        }
    }
}

/// A command line in shell or exec form (RUN, CMD, ENTRYPOINT, HEALTHCHECK CMD).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Shell form: run through the stage's `SHELL` (default `/bin/sh -c`).
    /// An instruction without arguments gives `Shell("")`, as BuildKit does.
    Shell(String),
    /// Exec (JSON) form: the argv, run directly.
    Exec(Vec<String>),
}

/// `RUN` with its flags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunSpec {
    /// The command.
    pub command: Command,
    /// Heredoc bodies on the line (`RUN <<EOF`), as the syntax layer read them.
    pub heredocs: Vec<Heredoc>,
    /// `--mount` flags, in order.
    pub mounts: Vec<Mount>,
    /// `--network`; `None` when not given (same as `default`).
    pub network: Option<NetworkMode>,
    /// `--security`; `None` when not given (same as `sandbox`).
    pub security: Option<SecurityMode>,
}

/// `RUN --network=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetworkMode {
    /// The builder's default network.
    Default,
    /// No network at all.
    None,
    /// The host's network namespace (needs an entitlement).
    Host,
}

/// `RUN --security=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecurityMode {
    /// The normal sandbox.
    Sandbox,
    /// Full capabilities (needs an entitlement).
    Insecure,
}

/// One `key=value` of ENV or LABEL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyValue {
    /// The key, as written (quotes kept; removed by expansion).
    pub key: String,
    /// The value, as written (quotes kept; removed by expansion).
    pub value: String,
    /// True for the legacy `ENV key value` form (no `=`).
    pub legacy: bool,
}

/// One declaration of an `ARG` line: `NAME` or `NAME=default`.
#[derive(Clone, PartialEq, Eq)]
pub struct ArgDecl {
    /// The argument's name.
    pub name: String,
    /// The default as written: quotes are removed when it is expanded.
    pub default: Option<String>,
    /// Where the declaration is, for errors when its default fails to expand.
    pub at: Position,
}

impl fmt::Debug for ArgDecl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ArgDecl")
            .field("name", &self.name)
            .field("default", &self.default)
            .field("at", &format_args!("{}", self.at))
            .finish()
    }
}

/// A source of ADD/COPY.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A path (or pattern, URL, git ref) as written.
    Path(String),
    /// A heredoc: a file named `name` holding `content`.
    Heredoc {
        /// The file name (the heredoc delimiter).
        name: String,
        /// The body (tabs already removed for `<<-`).
        content: String,
        /// Whether variables in the body are expanded at build time.
        expand: bool,
    },
}

/// `COPY` with its flags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopySpec {
    /// The sources, in order.
    pub sources: Vec<Source>,
    /// The destination.
    pub dest: String,
    /// `--from`: a stage name or index, or an image reference.
    pub from: Option<String>,
    /// `--chown=user[:group]`.
    pub chown: Option<String>,
    /// `--chmod=mode`.
    pub chmod: Option<String>,
    /// `--link`: copy into an independent layer.
    pub link: bool,
    /// `--parents`: keep the sources' parent directories.
    pub parents: bool,
    /// `--exclude` patterns.
    pub exclude: Vec<String>,
}

/// `ADD` with its flags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddSpec {
    /// The sources, in order.
    pub sources: Vec<Source>,
    /// The destination.
    pub dest: String,
    /// `--chown=user[:group]`.
    pub chown: Option<String>,
    /// `--chmod=mode`.
    pub chmod: Option<String>,
    /// `--link`: copy into an independent layer.
    pub link: bool,
    /// `--exclude` patterns.
    pub exclude: Vec<String>,
    /// `--checksum` of a remote source.
    pub checksum: Option<String>,
    /// `--keep-git-dir` for git sources.
    pub keep_git_dir: bool,
    /// `--unpack`: `None` when not given (local archives are unpacked, URLs not).
    pub unpack: Option<bool>,
}

/// `ONBUILD` and its trigger.
#[derive(Clone, PartialEq, Eq)]
pub struct Onbuild {
    /// The trigger, typed (never ONBUILD, FROM or MAINTAINER).
    pub trigger: Box<Instruction>,
    /// The trigger as stored in the image config: the line without `ONBUILD`,
    /// followed by its heredocs (`\n` + body + delimiter), as BuildKit stores it.
    pub expression: String,
}

/// Compact: the trigger's kind and position, then the expression.
impl fmt::Debug for Onbuild {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Onbuild")
            .field("trigger", &self.trigger.kind)
            .field("at", &format_args!("{}", self.trigger.span.start))
            .field("expression", &self.expression)
            .finish()
    }
}

/// `HEALTHCHECK`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Healthcheck {
    /// `HEALTHCHECK NONE`: disable the base image's check.
    None,
    /// `HEALTHCHECK [flags] CMD command`.
    Cmd(HealthcheckCmd),
}

/// The probe of `HEALTHCHECK CMD`. Durations are `None` when not given or `0`
/// (both mean "the runtime default").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthcheckCmd {
    /// The probe (`CMD-SHELL` for the shell form, `CMD` for exec form).
    pub command: Command,
    /// `--interval`.
    pub interval: Option<Duration>,
    /// `--timeout`.
    pub timeout: Option<Duration>,
    /// `--start-period`.
    pub start_period: Option<Duration>,
    /// `--start-interval`.
    pub start_interval: Option<Duration>,
    /// `--retries`; `None` when not given.
    pub retries: Option<u32>,
}
