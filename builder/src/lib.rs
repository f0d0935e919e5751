//! `kiln-builder`: Dockerfile stages -> build graph -> solver -> image.
//!
//! Owns the build graph (a DAG of typed ops containing only what the target needs),
//! content-based versioned cache keys, the parallel solver, RUN through the runtime,
//! COPY/ADD through the snapshotter, exporters and progress events.
//!
//! Status: not built yet; see the project's issue tracker ("kiln build").
//! Depends on `kiln-parser`, `kiln-image`, `kiln-snapshotter` and `kiln-runtime`.
