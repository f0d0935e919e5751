//! Names of the kernel objects kiln makes, derived from the kiln root so
//! several roots (the test suite runs many at once) never collide, and so a
//! sweep can tell its own objects by name: nft table `kiln_<tag>`, bridges
//! `kb<tag><n>`, host veths `kv<tag><k>…`, iptables comments
//! `kiln:<tag>:<network id>`. Link names fit the kernel's 15 bytes.
//!
//! A bridge named by the user (`-o com.docker.network.bridge.name=X`) is
//! used as given and recorded; it carries no tag, so only its record (never
//! its name) makes the sweep and `network rm` remove it.

use std::path::Path;

use sha2::{Digest, Sha256};

/// The kernel's limit on a link name (`IFNAMSIZ` - 1).
pub const MAX_LINK_NAME: usize = 15;

/// Six hex digits of the SHA-256 of the kiln root's canonical path.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RootTag(String);

impl RootTag {
    /// The tag of `root`: its canonical path when it exists (so `./r` and
    /// `/abs/r` agree), else its absolute form as given.
    pub fn of(root: &Path) -> RootTag {
        let path = std::fs::canonicalize(root)
            .unwrap_or_else(|_| std::path::absolute(root).unwrap_or_else(|_| root.to_path_buf()));
        let digest = Sha256::digest(path.as_os_str().as_encoded_bytes());
        RootTag(hex::encode(&digest[..3]))
    }

    /// The six hex digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `kiln_<tag>`: the root's nftables table (family `inet`).
    pub fn table(&self) -> String {
        format!("kiln_{}", self.0)
    }

    /// `kb<tag>`: the prefix of the root's bridges.
    pub fn bridge_prefix(&self) -> String {
        format!("kb{}", self.0)
    }

    /// `kv<tag>`: the prefix of the root's host-side veths.
    pub fn veth_prefix(&self) -> String {
        format!("kv{}", self.0)
    }

    /// `kb<tag><n>`: the root's `n`-th bridge (`0` is the default `bridge`
    /// network's). `n` has at most 7 digits to fit the kernel's 15 bytes.
    pub fn bridge_name(&self, n: u32) -> String {
        format!("kb{}{}", self.0, n.min(9_999_999))
    }

    /// `kv<tag>` followed by the first hex digits of `endpoint_id` up to the
    /// kernel's 15 bytes: the host side of an endpoint's veth pair. Non-hex
    /// characters of the ID are skipped, so the name is always a valid link
    /// name.
    pub fn host_veth_name(&self, endpoint_id: &str) -> String {
        let mut name = self.veth_prefix();
        let room = MAX_LINK_NAME - name.len();
        name.extend(
            endpoint_id
                .chars()
                .filter(|c| c.is_ascii_hexdigit())
                .map(|c| c.to_ascii_lowercase())
                .take(room),
        );
        name
    }

    /// `kiln:<tag>:`: the prefix of every iptables shim comment of this root.
    pub fn comment_prefix(&self) -> String {
        format!("kiln:{}:", self.0)
    }

    /// `kiln:<tag>:<network id[..12]>`: the comment on iptables shim rules.
    pub fn comment(&self, network_id: &str) -> String {
        format!(
            "kiln:{}:{}",
            self.0,
            &network_id[..network_id.len().min(12)]
        )
    }

    /// Whether `link` is one of this root's tagged links (bridge or veth).
    pub fn owns_link(&self, link: &str) -> bool {
        link.strip_prefix("kb")
            .or_else(|| link.strip_prefix("kv"))
            .is_some_and(|rest| rest.starts_with(&self.0))
    }
}

/// Whether `name` may name a link: 1 to 15 bytes, none of `/`, `:`, NUL or
/// whitespace, and not `.` or `..` (the kernel's `dev_valid_name`, plus `:`
/// which `ip` reserves for aliases).
pub fn valid_link_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_LINK_NAME
        && name != "."
        && name != ".."
        && !name
            .bytes()
            .any(|b| b == b'/' || b == b':' || b == 0 || b.is_ascii_whitespace())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_is_six_hex_digits_of_the_canonical_path() {
        let dir = tempfile::tempdir().unwrap();
        let tag = RootTag::of(dir.path());
        assert_eq!(tag.as_str().len(), 6);
        assert!(tag.as_str().chars().all(|c| c.is_ascii_hexdigit()));
        // The same root through a `..` detour has the same tag.
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        assert_eq!(RootTag::of(&dir.path().join("sub/..")), tag);
        let expected = hex::encode(
            &Sha256::digest(
                std::fs::canonicalize(dir.path())
                    .unwrap()
                    .as_os_str()
                    .as_encoded_bytes(),
            )[..3],
        );
        assert_eq!(tag.as_str(), expected);
    }

    #[test]
    fn different_roots_have_different_tags() {
        let a = RootTag::of(Path::new("/var/lib/kiln"));
        let b = RootTag::of(Path::new("/var/lib/kiln2"));
        assert_ne!(a, b);
    }

    #[test]
    fn names_fit_the_kernel_and_carry_the_tag() {
        let tag = RootTag("a1b2c3".into());
        assert_eq!(tag.table(), "kiln_a1b2c3");
        assert_eq!(tag.bridge_name(0), "kba1b2c30");
        assert_eq!(tag.bridge_name(42), "kba1b2c342");
        assert!(tag.bridge_name(u32::MAX).len() <= MAX_LINK_NAME);
        let veth = tag.host_veth_name("0123456789abcdef0123");
        assert_eq!(veth, "kva1b2c30123456");
        assert_eq!(veth.len(), MAX_LINK_NAME);
        assert_eq!(tag.host_veth_name("zz-9"), "kva1b2c39");
        assert_eq!(tag.comment("0123456789abcdef"), "kiln:a1b2c3:0123456789ab");
        assert_eq!(tag.comment("ab"), "kiln:a1b2c3:ab");
        assert!(tag
            .comment("0123456789abcdef")
            .starts_with(&tag.comment_prefix()));
        assert!(tag.owns_link("kba1b2c37"));
        assert!(tag.owns_link("kva1b2c3ffff"));
        assert!(!tag.owns_link("kbffffff0"));
        assert!(!tag.owns_link("docker0"));
        assert!(valid_link_name(&tag.bridge_name(u32::MAX)));
    }

    #[test]
    fn user_link_names_are_checked_like_the_kernel() {
        assert!(valid_link_name("br-custom"));
        assert!(!valid_link_name(""));
        assert!(!valid_link_name("sixteen-bytes-xx"));
        assert!(!valid_link_name("a/b"));
        assert!(!valid_link_name("a b"));
        assert!(!valid_link_name("eth0:1"));
        assert!(!valid_link_name(".."));
    }
}
