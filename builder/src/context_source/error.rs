//! [`ContextSourceError`]: why a context or its Dockerfile could not be had.

use std::path::PathBuf;

/// Why a context could not be prepared, in `docker build`'s words.
#[derive(Debug, thiserror::Error)]
pub enum ContextSourceError {
    /// A directory context that does not exist.
    #[error("unable to prepare context: path {arg:?} not found")]
    NotFound {
        /// The argument as given.
        arg: String,
    },
    /// The temp folder could not be made.
    #[error("unable to prepare context: create {}", .path.display())]
    CreateTemp {
        /// The folder.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// Standard input could not be read.
    #[error("unable to prepare context: read the tar context from stdin")]
    ReadStdin(#[source] std::io::Error),
    /// Standard input was empty.
    #[error("unable to prepare context: the tar context on stdin is empty")]
    EmptyStdin,
    /// The tar on standard input could not be unpacked.
    #[error("unable to prepare context: unpack the tar on stdin: {reason}")]
    Unpack {
        /// The snapshotter's complaint.
        reason: String,
    },
    /// `git` could not be started.
    #[error("git context {url}: cannot run git")]
    GitRun {
        /// The context argument.
        url: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// `git` failed.
    #[error("git context {url}: {message}")]
    Git {
        /// The context argument.
        url: String,
        /// git's first line on standard error.
        message: String,
    },
    /// Reading the Dockerfile from standard input failed.
    #[error("read Dockerfile from stdin")]
    DockerfileStdin(#[source] Box<ContextSourceError>),
    /// A `-f` file on the host could not be opened.
    #[error("failed to read dockerfile: open {}", .path.display())]
    DockerfileOpen {
        /// The path as given.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// A `-f` file on the host could not be read.
    #[error("failed to read dockerfile {}", .path.display())]
    DockerfileRead {
        /// The path as given.
        path: PathBuf,
        /// The error.
        #[source]
        source: Box<ContextSourceError>,
    },
    /// Reading failed.
    #[error(transparent)]
    DockerfileIo(std::io::Error),
    /// The Dockerfile is larger than the parser accepts.
    #[error("the Dockerfile is over kiln's limit of {max} bytes")]
    DockerfileTooBig {
        /// The limit.
        max: usize,
    },
    /// The context could not be opened, or the Dockerfile in it read.
    #[error("failed to read dockerfile: {0}")]
    DockerfileInRoot(kiln_inroot::Error),
    /// No such Dockerfile in the context.
    #[error("failed to read dockerfile: open {}: no such file in the build context", .shown.display())]
    DockerfileMissing {
        /// The Dockerfile's path under the context.
        shown: PathBuf,
    },
    /// The Dockerfile is not UTF-8.
    #[error("failed to read dockerfile {}: not UTF-8 text", .shown.display())]
    DockerfileNotUtf8 {
        /// The Dockerfile's path under the context.
        shown: PathBuf,
    },
    /// The clone or its `:DIR` could not be opened.
    #[error("git context {url}: no directory {subdir:?} in the repository")]
    GitSubdir {
        /// The context argument.
        url: String,
        /// The `:DIR` part.
        subdir: String,
    },
}
