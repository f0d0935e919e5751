//! Progress events, for the progress UI and logs.

use std::time::Duration;

use super::CacheKey;
use crate::graph::VertexId;

/// Something that happened to a vertex. Events of one vertex arrive in
/// order; events of different vertices interleave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The vertex started executing (not sent for cache hits).
    Started {
        /// Which vertex.
        vertex: VertexId,
    },
    /// Output of the vertex (stdout and stderr as the executor reports it).
    Log {
        /// Which vertex.
        vertex: VertexId,
        /// The bytes, as they came.
        bytes: Vec<u8>,
    },
    /// The result came from the cache; the vertex did not run.
    Cached {
        /// Which vertex.
        vertex: VertexId,
        /// The key that hit.
        key: CacheKey,
    },
    /// The vertex finished successfully.
    Done {
        /// Which vertex.
        vertex: VertexId,
        /// How long it ran.
        duration: Duration,
    },
    /// The vertex failed (or stopped after cancellation).
    Failed {
        /// Which vertex.
        vertex: VertexId,
        /// The error, one line.
        error: String,
        /// True when it stopped because another vertex failed.
        cancelled: bool,
    },
}
