//! Content digests: [`Digest`] (`sha256:<hex>`) and the streaming [`DigestWriter`].
//!
//! Only sha256 is supported: it is what every registry, Docker and the OCI
//! image spec use by default, and a single algorithm keeps the content store's
//! layout (`blobs/sha256/<hex>`) and every comparison trivial. Parsing is strict
//! (lowercase hex, exactly 64 digits) because digests name files on disk.

use std::fmt;
use std::io::{self, Write};
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest as _, Sha256};

use crate::error::{ImageError, Result};

/// The only supported digest algorithm.
pub const SHA256: &str = "sha256";

/// A sha256 content digest; `Display`/`FromStr` use the OCI form `sha256:<hex>`.
///
/// Stored as the raw 32 bytes, so it is `Copy` and cheap to compare and hash.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest([u8; 32]);

impl Digest {
    /// The digest whose raw sha256 bytes are `bytes` (a hasher's output).
    pub fn from_bytes(bytes: [u8; 32]) -> Digest {
        Digest(bytes)
    }

    /// Hashes `bytes` in one go (for small documents; stream big ones through
    /// a [`DigestWriter`]).
    pub fn of(bytes: &[u8]) -> Digest {
        Digest(Sha256::digest(bytes).into())
    }

    /// Builds a digest from its 64 lowercase hex digits (no `sha256:` prefix),
    /// e.g. a file name under `blobs/sha256/`.
    pub fn from_hex(hex_digits: &str) -> Result<Digest> {
        parse_hex(hex_digits)
            .map(Digest)
            .map_err(|reason| ImageError::InvalidDigest {
                input: hex_digits.to_string(),
                reason,
            })
    }

    /// The algorithm name, always `"sha256"`.
    pub fn algorithm(&self) -> &'static str {
        SHA256
    }

    /// The 64 lowercase hex digits, without the algorithm prefix.
    pub fn hex(&self) -> String {
        hex::encode(self.0)
    }

    /// The raw 32 digest bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The first 12 hex digits: the short image id Docker shows.
    pub fn short(&self) -> String {
        self.hex()[..12].to_string()
    }
}

/// Checks `s` is exactly 64 lowercase hex digits and decodes it.
fn parse_hex(s: &str) -> std::result::Result<[u8; 32], String> {
    if s.len() != 64 {
        return Err(format!("sha256 needs 64 hex digits, got {}", s.len()));
    }
    if let Some(c) = s.chars().find(|c| !matches!(c, '0'..='9' | 'a'..='f')) {
        return Err(format!("{c:?} is not a lowercase hex digit"));
    }
    let mut out = [0u8; 32];
    hex::decode_to_slice(s, &mut out).map_err(|e| e.to_string())?;
    Ok(out)
}

impl FromStr for Digest {
    type Err = ImageError;

    /// Parses `sha256:<64 lowercase hex>`; any other algorithm is rejected.
    fn from_str(s: &str) -> Result<Digest> {
        let invalid = |reason: String| ImageError::InvalidDigest {
            input: s.to_string(),
            reason,
        };
        let (algorithm, hex_digits) = s
            .split_once(':')
            .ok_or_else(|| invalid("expected <algorithm>:<hex>, found no ':'".into()))?;
        if algorithm != SHA256 {
            let why = format!("unsupported algorithm {algorithm:?} (only sha256 is supported)");
            return Err(invalid(why));
        }
        parse_hex(hex_digits).map(Digest).map_err(invalid)
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{SHA256}:{}", self.hex())
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({self})")
    }
}

impl Serialize for Digest {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Digest {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl From<Digest> for oci_spec::image::Digest {
    /// Converts into oci-spec's digest type (for building descriptors).
    fn from(d: Digest) -> Self {
        oci_spec::image::Sha256Digest::from_str(&d.hex())
            .expect("64 lowercase hex digits are a valid sha256 digest")
            .into()
    }
}

impl TryFrom<&oci_spec::image::Digest> for Digest {
    type Error = ImageError;

    /// Converts from oci-spec's digest; fails for algorithms other than sha256.
    fn try_from(d: &oci_spec::image::Digest) -> Result<Digest> {
        d.to_string().parse()
    }
}

/// A `Write` adapter that hashes (and counts) everything passed through it.
///
/// Wrap a file to hash while writing, or use [`DigestWriter::sink`] to only hash.
/// Memory use is constant whatever the stream length.
pub struct DigestWriter<W> {
    inner: W,
    hasher: Sha256,
    len: u64,
}

impl DigestWriter<io::Sink> {
    /// A writer that only hashes and counts, discarding the bytes.
    pub fn sink() -> Self {
        DigestWriter::new(io::sink())
    }
}

impl<W: Write> DigestWriter<W> {
    /// Wraps `inner`; bytes are hashed only once `inner` has accepted them.
    pub fn new(inner: W) -> Self {
        DigestWriter {
            inner,
            hasher: Sha256::new(),
            len: 0,
        }
    }

    /// The digest of everything written so far.
    pub fn digest(&self) -> Digest {
        Digest(self.hasher.clone().finalize().into())
    }

    /// How many bytes have been written so far.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether nothing has been written yet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// A reference to the wrapped writer.
    pub fn get_ref(&self) -> &W {
        &self.inner
    }

    /// Consumes the adapter: the wrapped writer, the digest and the byte count.
    pub fn finish(self) -> (W, Digest, u64) {
        let digest = Digest(self.hasher.finalize().into());
        (self.inner, digest, self.len)
    }
}

impl<W: Write> Write for DigestWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.len += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EMPTY: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    const ABC: &str = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

    #[test]
    fn known_vectors() {
        assert_eq!(Digest::of(b"").hex(), EMPTY);
        assert_eq!(Digest::of(b"abc").to_string(), format!("sha256:{ABC}"));
        assert_eq!(Digest::of(b"abc").short(), &ABC[..12]);
    }

    #[test]
    fn parse_roundtrip() {
        let s = format!("sha256:{ABC}");
        let d: Digest = s.parse().unwrap();
        assert_eq!(d, Digest::of(b"abc"));
        assert_eq!(d.to_string(), s);
        assert_eq!(Digest::from_hex(ABC).unwrap(), d);
        assert_eq!(format!("{d:?}"), format!("Digest({s})"));
    }

    #[test]
    fn parse_rejects_bad_input() {
        let upper = format!("sha256:{}", ABC.to_uppercase());
        let cases = [
            (ABC.to_string(), "no ':'"),
            (format!("sha512:{ABC}"), "unsupported algorithm"),
            (format!("SHA256:{ABC}"), "unsupported algorithm"),
            ("sha256:abc".to_string(), "64 hex digits, got 3"),
            (format!("sha256:{ABC}0"), "got 65"),
            (upper, "not a lowercase hex digit"),
            (format!("sha256:{}g", &ABC[..63]), "'g'"),
            ("".to_string(), "no ':'"),
            ("sha256:".to_string(), "got 0"),
        ];
        for (input, want) in cases {
            let err = input.parse::<Digest>().unwrap_err().to_string();
            assert!(err.contains(want), "{input:?}: {err}");
            assert!(err.contains(&format!("{input:?}")), "{err}");
        }
    }

    #[test]
    fn writer_matches_one_shot_hash() {
        let data: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        let mut w = DigestWriter::new(Vec::new());
        for chunk in data.chunks(777) {
            w.write_all(chunk).unwrap();
        }
        assert_eq!(w.len(), data.len() as u64);
        assert_eq!(w.digest(), Digest::of(&data));
        let (inner, digest, len) = w.finish();
        assert_eq!(inner, data);
        assert_eq!((digest, len), (Digest::of(&data), data.len() as u64));
        let sink = DigestWriter::sink();
        assert!(sink.is_empty());
        assert_eq!(sink.finish().1.hex(), EMPTY);
    }

    #[test]
    fn serde_as_string() {
        let d = Digest::of(b"abc");
        let json = serde_json::to_string(&d).unwrap();
        assert_eq!(json, format!("\"sha256:{ABC}\""));
        assert_eq!(serde_json::from_str::<Digest>(&json).unwrap(), d);
        assert!(serde_json::from_str::<Digest>("\"sha256:zz\"").is_err());
    }

    #[test]
    fn oci_spec_conversion() {
        let d = Digest::of(b"abc");
        let oci: oci_spec::image::Digest = d.into();
        assert_eq!(oci.to_string(), d.to_string());
        assert_eq!(Digest::try_from(&oci).unwrap(), d);
    }
}
