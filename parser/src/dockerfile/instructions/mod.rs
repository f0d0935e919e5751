//! The typed model of a Dockerfile: stages of typed instructions, checked the
//! way BuildKit's `instructions` package checks them, plus the expansion rules
//! the builder applies later.
//!
//! - [`parse_dockerfile`] / [`from_ast`]: text or [`Ast`](super::Ast) -> [`Dockerfile`]
//!   (meta args + [`Stage`]s of [`Instruction`]s). Every error carries the
//!   `line:column` of the offending instruction, flag or word.
//! - [`Instruction::expand`] and [`Stage::expand_from`]: which fields are
//!   expanded with build variables ([`expand`] module docs).
//! - [`GlobalScope`] / [`StageScope`]: which variables an instruction sees
//!   (global args, build args, ENV beats ARG; [`scope`] docs).
//!
//! Values in the model are kept as written (unexpanded, ARG/ENV quotes kept);
//! the builder expands them per build with the right scope.
//!
//! Choices where BuildKit is loose or kiln is stricter:
//! - flags are checked on every instruction (BuildKit ignores them on
//!   STOPSIGNAL and HEALTHCHECK NONE); unknown flags say `unknown flag: --x`;
//! - ONBUILD triggers are typed at parse time (BuildKit only checks them when a
//!   child build runs them), so a bad trigger fails the parent build;
//! - RUN/CMD/ENTRYPOINT without arguments are the empty shell form;
//! - EXPOSE keeps its words in file order (BuildKit sorts them; the image
//!   config is a set either way).

mod copy;
mod ctx;
pub mod expand;
mod expose;
mod flags;
mod healthcheck;
mod meta;
mod model;
mod mount;
mod mount_spec;
mod parse;
mod run;
pub mod scope;
mod stage;
mod suggest;

/// Go's `time.ParseDuration`, moved to [`crate::values`] (re-exported here
/// for the callers that read Dockerfile flags).
pub use crate::values::parse_go_duration;
pub use expose::{PortSpec, Protocol};
pub use model::{
    AddSpec, ArgDecl, Command, CopySpec, Healthcheck, HealthcheckCmd, Instruction, InstructionKind,
    KeyValue, NetworkMode, Onbuild, RunSpec, SecurityMode, Source,
};
pub use mount::{BindMount, CacheMount, CacheSharing, Mount, SecretMount, SshMount, TmpfsMount};
pub use scope::{predefined_args, GlobalScope, StageScope, PREDEFINED_ARGS};
pub use stage::{from_ast, Dockerfile, Stage};

use super::error::DockerfileError;
use super::syntax::parse;

/// Parses Dockerfile text into the typed model (syntax pass, then typing).
/// Refuses files over the [`crate::dockerfile::limits`].
pub fn parse_dockerfile(source: &str) -> Result<Dockerfile, DockerfileError> {
    crate::dockerfile::limits::check_size(source)?;
    let dockerfile = from_ast(&parse(source)?)?;
    crate::dockerfile::limits::check_counts(&dockerfile)?;
    Ok(dockerfile)
}
