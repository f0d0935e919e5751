//! `kiln-runtime`: containers.
//!
//! Owns OCI bundles (runtime-spec config from an image config plus run options),
//! the low-level runtimes behind one trait (embedded libcontainer; crun/runc binaries),
//! the per-container monitor process (stdio, logs, exit code, restart policy,
//! healthcheck), exec, signals, cgroup limits, volumes and networks.
//!
//! Status: not built yet; see the project's issue tracker ("Containers").
//! Depends on `kiln-image` and `kiln-snapshotter`.
