//! `kiln-image`: the vocabulary and storage of images.
//!
//! Owns digests, descriptors, platforms, image references (with Docker's
//! `docker.io/library` normalisation), the content store (`<root>/content/blobs/sha256`,
//! atomic ingest), the image index (name:tag -> manifest digest), OCI layout and
//! docker-archive import/export, and the registry client (distribution spec).
//!
//! Status: not built yet; see the project's issue tracker ("Images on disk").
//! Depends on no other kiln crate.
