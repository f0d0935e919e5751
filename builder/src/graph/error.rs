//! Errors of graph building: each carries the Dockerfile position it is about.

use kiln_parser::dockerfile::{DockerfileError, Position};

/// A Dockerfile that cannot become a build graph.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GraphError {
    /// Expansion or typing failed (bad variable syntax, bad deferred mount...).
    #[error(transparent)]
    Dockerfile(#[from] DockerfileError),
    /// The Dockerfile has no FROM at all.
    #[error("{at}: the Dockerfile has no build stage")]
    NoStages {
        /// Start of the file.
        at: Position,
    },
    /// `--target` names no stage.
    #[error("target stage {target:?} could not be found")]
    TargetNotFound {
        /// The requested target.
        target: String,
    },
    /// `--from=N` / `from=N` with an index that is not an earlier or later stage.
    #[error("{at}: unknown stage {reference:?} in {context}")]
    UnknownStage {
        /// The instruction.
        at: Position,
        /// The reference as written (expanded).
        reference: String,
        /// `COPY --from`, `RUN --mount from`...
        context: String,
    },
    /// Stages that depend on each other in a circle.
    #[error("{at}: circular dependency detected on stage: {stage}")]
    Cycle {
        /// The instruction (or FROM) that closes the circle.
        at: Position,
        /// The stage reached twice.
        stage: String,
    },
    /// `FROM ${X}` where X expands to nothing.
    #[error("{at}: base name ({base}) should not be blank")]
    BlankBase {
        /// The FROM line.
        at: Position,
        /// The base as written.
        base: String,
    },
    /// `FROM --platform=` naming an unparsable platform.
    #[error("{at}: invalid platform {platform:?}")]
    BadPlatform {
        /// The FROM line.
        at: Position,
        /// The expanded platform.
        platform: String,
    },
    /// The base image resolver failed.
    #[error("{at}: resolving base image {reference}: {message}")]
    BaseImage {
        /// The FROM line.
        at: Position,
        /// The image reference.
        reference: String,
        /// The resolver's message.
        message: String,
    },
    /// An ONBUILD trigger of a base image that does not parse.
    #[error("{at}: ONBUILD trigger {expression:?} of base image: {message}")]
    BadTrigger {
        /// The FROM line.
        at: Position,
        /// The stored trigger.
        expression: String,
        /// Why it failed.
        message: String,
    },
}

impl GraphError {
    /// True when the message starts with a `line:column` position (every
    /// variant but `TargetNotFound`).
    pub fn has_position(&self) -> bool {
        !matches!(self, GraphError::TargetNotFound { .. })
    }
}
