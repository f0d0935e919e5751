//! Media types of the OCI image spec and Docker's image manifest v2 schema 2,
//! and helpers to classify them.
//!
//! kiln reads both families (registries and `docker save` still serve Docker's)
//! and writes OCI. The constants are plain `&str` so they can be matched on and
//! compared with whatever a registry or a descriptor sends; convert with
//! [`oci_media_type`] when an `oci_spec` [`MediaType`] is needed.

use oci_spec::image::MediaType;

/// OCI image manifest.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// OCI image index (multi-platform manifest list).
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// OCI image configuration.
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
/// OCI uncompressed layer tar.
pub const OCI_LAYER_TAR: &str = "application/vnd.oci.image.layer.v1.tar";
/// OCI gzip-compressed layer tar.
pub const OCI_LAYER_TAR_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
/// OCI zstd-compressed layer tar.
pub const OCI_LAYER_TAR_ZSTD: &str = "application/vnd.oci.image.layer.v1.tar+zstd";
/// OCI non-distributable (foreign) uncompressed layer (deprecated by the spec, still seen).
pub const OCI_FOREIGN_LAYER_TAR: &str = "application/vnd.oci.image.layer.nondistributable.v1.tar";
/// OCI non-distributable (foreign) gzip layer.
pub const OCI_FOREIGN_LAYER_TAR_GZIP: &str =
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip";
/// OCI non-distributable (foreign) zstd layer.
pub const OCI_FOREIGN_LAYER_TAR_ZSTD: &str =
    "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd";
/// OCI empty JSON descriptor (`{}`), used for artifacts without a config.
pub const OCI_EMPTY_JSON: &str = "application/vnd.oci.empty.v1+json";
/// OCI image layout header (`oci-layout` file).
pub const OCI_LAYOUT_HEADER: &str = "application/vnd.oci.layout.header.v1+json";

/// Docker image manifest v2 schema 2.
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// Docker manifest list (multi-platform).
pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
/// Docker image configuration.
pub const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
/// Docker uncompressed layer tar.
pub const DOCKER_LAYER_TAR: &str = "application/vnd.docker.image.rootfs.diff.tar";
/// Docker gzip layer tar (what `docker push` produces).
pub const DOCKER_LAYER_TAR_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";
/// Docker zstd layer tar (rare; emitted by some BuildKit versions).
pub const DOCKER_LAYER_TAR_ZSTD: &str = "application/vnd.docker.image.rootfs.diff.tar.zstd";
/// Docker foreign layer (e.g. Windows base layers, fetched from `urls`).
pub const DOCKER_FOREIGN_LAYER_TAR_GZIP: &str =
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";
/// Docker foreign uncompressed layer.
pub const DOCKER_FOREIGN_LAYER_TAR: &str = "application/vnd.docker.image.rootfs.foreign.diff.tar";

/// How a layer blob is compressed, as told by its media type (or chosen when
/// writing one). The default is gzip, as in Docker and BuildKit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Compression {
    /// A plain tar.
    None,
    /// gzip (RFC 1952).
    #[default]
    Gzip,
    /// zstd (RFC 8878).
    Zstd,
}

/// Whether `media_type` is a single-platform image manifest (OCI or Docker).
pub fn is_manifest(media_type: &str) -> bool {
    matches!(media_type, OCI_MANIFEST | DOCKER_MANIFEST)
}

/// Whether `media_type` is a multi-platform index (OCI index or Docker manifest list).
pub fn is_index(media_type: &str) -> bool {
    matches!(media_type, OCI_INDEX | DOCKER_MANIFEST_LIST)
}

/// Whether `media_type` is an image configuration (OCI or Docker).
pub fn is_config(media_type: &str) -> bool {
    matches!(media_type, OCI_CONFIG | DOCKER_CONFIG)
}

/// Whether `media_type` is a layer that may be fetched from elsewhere (`urls`)
/// and must not be pushed: OCI non-distributable or Docker foreign layers.
pub fn is_foreign_layer(media_type: &str) -> bool {
    matches!(
        media_type,
        OCI_FOREIGN_LAYER_TAR
            | OCI_FOREIGN_LAYER_TAR_GZIP
            | OCI_FOREIGN_LAYER_TAR_ZSTD
            | DOCKER_FOREIGN_LAYER_TAR
            | DOCKER_FOREIGN_LAYER_TAR_GZIP
    )
}

/// Whether `media_type` is any known layer type.
pub fn is_layer(media_type: &str) -> bool {
    layer_compression(media_type).is_some()
}

/// The compression of a layer media type, or `None` if it is not a known layer type.
pub fn layer_compression(media_type: &str) -> Option<Compression> {
    match media_type {
        OCI_LAYER_TAR | OCI_FOREIGN_LAYER_TAR | DOCKER_LAYER_TAR | DOCKER_FOREIGN_LAYER_TAR => {
            Some(Compression::None)
        }
        OCI_LAYER_TAR_GZIP
        | OCI_FOREIGN_LAYER_TAR_GZIP
        | DOCKER_LAYER_TAR_GZIP
        | DOCKER_FOREIGN_LAYER_TAR_GZIP => Some(Compression::Gzip),
        OCI_LAYER_TAR_ZSTD | OCI_FOREIGN_LAYER_TAR_ZSTD | DOCKER_LAYER_TAR_ZSTD => {
            Some(Compression::Zstd)
        }
        _ => None,
    }
}

/// The OCI layer media type kiln writes for a layer with this compression.
pub fn oci_layer_media_type(compression: Compression) -> &'static str {
    match compression {
        Compression::None => OCI_LAYER_TAR,
        Compression::Gzip => OCI_LAYER_TAR_GZIP,
        Compression::Zstd => OCI_LAYER_TAR_ZSTD,
    }
}

/// Converts a media type string into oci-spec's enum (unknown types become `Other`).
pub fn oci_media_type(media_type: &str) -> MediaType {
    MediaType::from(media_type)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification() {
        assert!(is_manifest(OCI_MANIFEST) && is_manifest(DOCKER_MANIFEST));
        assert!(is_index(OCI_INDEX) && is_index(DOCKER_MANIFEST_LIST));
        assert!(is_config(OCI_CONFIG) && is_config(DOCKER_CONFIG));
        assert!(!is_manifest(OCI_INDEX) && !is_index(OCI_MANIFEST));
        assert_eq!(layer_compression(OCI_LAYER_TAR), Some(Compression::None));
        assert_eq!(
            layer_compression(DOCKER_LAYER_TAR_GZIP),
            Some(Compression::Gzip)
        );
        assert_eq!(
            layer_compression(OCI_LAYER_TAR_ZSTD),
            Some(Compression::Zstd)
        );
        assert_eq!(layer_compression(OCI_CONFIG), None);
        assert!(is_foreign_layer(DOCKER_FOREIGN_LAYER_TAR_GZIP));
        assert!(is_layer(DOCKER_FOREIGN_LAYER_TAR_GZIP));
        assert!(!is_foreign_layer(OCI_LAYER_TAR_GZIP));
    }

    #[test]
    fn oci_spec_agrees_on_oci_strings() {
        assert_eq!(oci_media_type(OCI_MANIFEST), MediaType::ImageManifest);
        assert_eq!(oci_media_type(OCI_INDEX), MediaType::ImageIndex);
        assert_eq!(oci_media_type(OCI_CONFIG), MediaType::ImageConfig);
        assert_eq!(
            oci_media_type(OCI_LAYER_TAR_GZIP),
            MediaType::ImageLayerGzip
        );
        assert_eq!(oci_media_type(OCI_EMPTY_JSON), MediaType::EmptyJSON);
        assert_eq!(oci_media_type(DOCKER_MANIFEST).to_string(), DOCKER_MANIFEST);
        for c in [Compression::None, Compression::Gzip, Compression::Zstd] {
            assert_eq!(layer_compression(oci_layer_media_type(c)), Some(c));
        }
    }
}
