//! [`Reference`]: image references such as `busybox`, `user/app:1` or
//! `localhost:5000/a/b@sha256:...`, normalised the way Docker does.
//!
//! Grammar (docker/distribution `reference`):
//!
//! ```text
//! reference   := name [ ":" tag ] [ "@" digest ]
//! name        := [domain "/"] path-component ["/" path-component]*
//! domain      := host [":" port]        host := domain-name | "[" ipv6 "]"
//! path-component := [a-z0-9]+ ( ( "." | "_" | "__" | "-"+ ) [a-z0-9]+ )*
//! tag         := [\w][\w.-]{0,127}
//! ```
//!
//! Normalisation (`ParseNormalizedNamed` + `TagNameOnly`): the first `/`-separated
//! component is a registry domain only if it contains `.` or `:`, is `localhost`,
//! or has uppercase letters; otherwise the domain is `docker.io`.
//! `index.docker.io` becomes `docker.io`, and a single-component path on Docker
//! Hub gets `library/`. A reference with neither tag nor digest gets `:latest`.
//! The whole name (domain + path) is at most 255 characters; the path must be
//! lowercase; a bare 64-hex string is rejected (it is an image id, not a name).
//! Only sha256 digests are accepted, since kiln's [`Digest`] only knows sha256.
//!
//! `name:tag@digest` keeps both; whoever resolves it should use the digest
//! (as Docker does) and may show the tag.

mod parse;
#[cfg(test)]
mod tests;

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::digest::Digest;
use crate::error::{ImageError, Result};

/// Docker Hub's canonical domain.
pub const DOCKER_HUB_DOMAIN: &str = "docker.io";
/// Docker Hub's legacy domain, normalised to [`DOCKER_HUB_DOMAIN`].
pub const LEGACY_DOCKER_HUB_DOMAIN: &str = "index.docker.io";
/// The namespace of Docker Hub's official images.
pub const OFFICIAL_REPO_PREFIX: &str = "library/";
/// The tag implied when a reference has neither tag nor digest.
pub const DEFAULT_TAG: &str = "latest";
/// Maximum length of domain + "/" + path.
pub const NAME_MAX_LEN: usize = 255;
/// Maximum length of a tag.
pub const TAG_MAX_LEN: usize = 128;

/// A fully normalised image reference.
///
/// Invariant: at least one of `tag` and `digest` is set (parsing adds
/// `latest` when neither is given). Ordering is by domain, path, tag, digest.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Reference {
    domain: String,
    path: String,
    tag: Option<String>,
    digest: Option<Digest>,
}

impl Reference {
    /// Parses and normalises `s` (same as `s.parse()`).
    pub fn parse(s: &str) -> Result<Reference> {
        parse::parse(s)
    }

    /// The registry domain, with port if any: `docker.io`, `localhost:5000`.
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// The repository path within the registry: `library/busybox`, `a/b`.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The full repository name: `docker.io/library/busybox`.
    pub fn name(&self) -> String {
        format!("{}/{}", self.domain, self.path)
    }

    /// The tag, if any (`latest` when the input had neither tag nor digest).
    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    /// The digest, if the reference pins one.
    pub fn digest(&self) -> Option<&Digest> {
        self.digest.as_ref()
    }

    /// The same repository with tag `tag` and no digest (e.g. for `kiln tag`).
    /// Fails if `tag` does not match the tag grammar.
    pub fn with_tag(&self, tag: &str) -> Result<Reference> {
        parse::check_tag(tag).map_err(|reason| ImageError::InvalidReference {
            input: format!("{}:{tag}", self.name()),
            reason,
        })?;
        Ok(Reference {
            tag: Some(tag.to_string()),
            digest: None,
            ..self.clone()
        })
    }

    /// The same repository pinned to `digest`, keeping the tag.
    pub fn with_digest(&self, digest: Digest) -> Reference {
        Reference {
            digest: Some(digest),
            ..self.clone()
        }
    }

    /// The repository name as Docker shows it: `busybox`, `user/app`,
    /// `localhost:5000/a/b` (Docker Hub's domain and `library/` are dropped).
    pub fn familiar_name(&self) -> String {
        if self.domain != DOCKER_HUB_DOMAIN {
            return self.name();
        }
        match self.path.strip_prefix(OFFICIAL_REPO_PREFIX) {
            Some(rest) if !rest.contains('/') => rest.to_string(),
            _ => self.path.clone(),
        }
    }

    /// The whole reference as Docker shows it: `busybox:latest`, `user/app:1`,
    /// `busybox@sha256:...`.
    pub fn familiar(&self) -> String {
        let mut s = self.familiar_name();
        self.push_suffix(&mut s);
        s
    }

    /// Appends `:tag` and `@digest` (whichever are set) to `s`.
    fn push_suffix(&self, s: &mut String) {
        if let Some(tag) = &self.tag {
            s.push(':');
            s.push_str(tag);
        }
        if let Some(digest) = &self.digest {
            s.push('@');
            s.push_str(&digest.to_string());
        }
    }
}

impl FromStr for Reference {
    type Err = ImageError;

    fn from_str(s: &str) -> Result<Reference> {
        parse::parse(s)
    }
}

impl fmt::Display for Reference {
    /// The fully qualified form: `docker.io/library/busybox:latest`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = self.name();
        self.push_suffix(&mut s);
        f.write_str(&s)
    }
}

impl Serialize for Reference {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Reference {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}
