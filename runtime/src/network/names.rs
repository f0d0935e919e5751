//! Names of the kernel objects kiln makes, derived from the kiln root so
//! several roots (the test suite runs many at once) never collide, and so a
//! sweep can tell its own objects by name: nft table `kiln_<tag>`, bridges
//! `kb<tag><n>`, host veths `kv<tag><k>…`, iptables comments
//! `kiln:<tag>:<network id>`. Link names fit the kernel's 15 bytes.

use std::path::Path;

/// Six hex digits of the SHA-256 of the kiln root's canonical path.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RootTag(String);

impl RootTag {
    /// The tag of `root`.
    pub fn of(root: &Path) -> RootTag {
        let _ = root;
        todo!("names: RootTag::of")
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

    /// `kiln:<tag>:<network id[..12]>`: the comment on iptables shim rules.
    pub fn comment(&self, network_id: &str) -> String {
        format!(
            "kiln:{}:{}",
            self.0,
            &network_id[..network_id.len().min(12)]
        )
    }
}
