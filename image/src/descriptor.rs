//! Descriptors: oci-spec's [`Descriptor`] plus thin helpers that speak kiln's
//! [`Digest`] and [`Platform`].
//!
//! kiln does not define its own descriptor struct: oci-spec's serialises
//! exactly as the spec says (camelCase, optional fields omitted) and the
//! manifest/index types embed it. The helpers below only convert at the edges.

pub use oci_spec::image::Descriptor;

use crate::digest::Digest;
use crate::error::Result;
use crate::media::oci_media_type;
use crate::platform::Platform;

/// Builds a descriptor for a blob of `size` bytes with the given media type.
pub fn descriptor(media_type: &str, digest: &Digest, size: u64) -> Descriptor {
    Descriptor::new(oci_media_type(media_type), size, *digest)
}

/// kiln-flavoured accessors on oci-spec's [`Descriptor`].
pub trait DescriptorExt {
    /// The descriptor's digest as a kiln [`Digest`]; fails for non-sha256 digests.
    fn sha256(&self) -> Result<Digest>;
    /// The media type as a string, comparable with the constants in [`crate::media`].
    fn media_type_str(&self) -> String;
    /// The normalised platform, if the descriptor has one (index entries do).
    fn kiln_platform(&self) -> Option<Platform>;
    /// Returns the descriptor with `platform` set (for building indexes).
    fn with_platform(self, platform: &Platform) -> Descriptor;
    /// Returns the descriptor with one annotation added.
    fn with_annotation(self, key: &str, value: &str) -> Descriptor;
}

impl DescriptorExt for Descriptor {
    fn sha256(&self) -> Result<Digest> {
        Digest::try_from(self.digest())
    }

    fn media_type_str(&self) -> String {
        self.media_type().to_string()
    }

    fn kiln_platform(&self) -> Option<Platform> {
        self.platform().as_ref().map(Platform::from_oci)
    }

    fn with_platform(mut self, platform: &Platform) -> Descriptor {
        self.set_platform(Some(platform.to_oci()));
        self
    }

    fn with_annotation(mut self, key: &str, value: &str) -> Descriptor {
        let mut annotations = self.annotations().clone().unwrap_or_default();
        annotations.insert(key.to_string(), value.to_string());
        self.set_annotations(Some(annotations));
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media;

    #[test]
    fn builds_and_serialises_like_the_spec() {
        let d = Digest::of(b"{}");
        let desc = descriptor(media::OCI_CONFIG, &d, 2)
            .with_platform(&"linux/arm64".parse().unwrap())
            .with_annotation("org.opencontainers.image.ref.name", "v1");
        let json: serde_json::Value = serde_json::to_value(&desc).unwrap();
        assert_eq!(json["mediaType"], media::OCI_CONFIG);
        assert_eq!(json["digest"], d.to_string());
        assert_eq!(json["size"], 2);
        assert_eq!(json["platform"]["architecture"], "arm64");
        assert_eq!(
            json["annotations"]["org.opencontainers.image.ref.name"],
            "v1"
        );
        assert_eq!(desc.sha256().unwrap(), d);
        assert_eq!(desc.media_type_str(), media::OCI_CONFIG);
        assert_eq!(desc.kiln_platform().unwrap().to_string(), "linux/arm64");
    }

    #[test]
    fn docker_media_types_survive_a_roundtrip() {
        let desc = descriptor(media::DOCKER_LAYER_TAR_GZIP, &Digest::of(b"x"), 1);
        let text = serde_json::to_string(&desc).unwrap();
        let back: Descriptor = serde_json::from_str(&text).unwrap();
        assert_eq!(back.media_type_str(), media::DOCKER_LAYER_TAR_GZIP);
        assert!(back.kiln_platform().is_none());
    }
}
