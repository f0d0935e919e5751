//! `kiln-snapshotter`: filesystem snapshots and layers.
//!
//! Owns the `Snapshotter` trait (containerd's model: prepare/view/commit/remove/mounts;
//! mounts are returned as data, never mounted here), its overlayfs and native-copy
//! implementations with a shared conformance suite, the Differ (upper dir -> layer tar
//! with OCI whiteouts, and back) and safe tar extraction.
//!
//! Status: not built yet; see the project's issue tracker ("Images on disk").
//! Depends on `kiln-image`.
