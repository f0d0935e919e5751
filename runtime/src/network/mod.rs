//! Bridge networks, as Docker's: `kiln network create|ls|inspect|rm|prune|
//! connect|disconnect`, the default `bridge` network, container DNS and
//! published ports — in-process, leak-free, beside a Docker daemon.
//!
//! Design (measured in `notes/networking.md` of the shared material):
//! - **State** ([`record`]): `<root>/networks/<id>.json` per network and
//!   `<root>/networks/<id>/endpoints/<container id>.json` per attached
//!   container, under a root-wide lock. Ordering rule: a record is written
//!   before the kernel object it names is made, and the kernel object is
//!   removed before its record: every crash leaves at worst a record
//!   without objects or objects that a record names, which [`sweep`] removes.
//! - **Addresses** ([`ipam`], pure): Docker's default pools, skipping any
//!   prefix already routed on the host; lowest free address first.
//! - **Links** ([`netlink`]): a Linux bridge per network, a veth pair per
//!   attachment whose peer is created directly inside the container's network
//!   namespace, all over one in-process netlink socket (no `ip` processes:
//!   ~1 ms against ~30 ms).
//! - **Firewall** ([`firewall`]): one nftables table per kiln root
//!   (`inet kiln_<tag>`): its rules go through libnftables (loaded with
//!   `dlopen`; `nft -f -` as the fallback); published ports are elements of
//!   nft maps, written as raw nfnetlink batches (a container's ports are
//!   published with one batch and released with one, without loading
//!   libnftables: [`firewall::fast`]), and a stale element fails loudly with
//!   EEXIST instead of shadowing a new one; no userland proxy processes.
//!   When a Docker daemon has set the
//!   iptables `FORWARD` policy to DROP, tagged ACCEPT rules for kiln's bridges
//!   are added beside it.
//! - **DNS** ([`dns`]): each container on a user-defined network gets
//!   Docker's embedded resolver at `127.0.0.11:53`, served by the container's
//!   own monitor process from sockets bound inside the container's network
//!   namespace (as Docker's daemon holds sockets in each container's
//!   namespace). Chosen over one DNS process per root: nothing to start, no
//!   readiness race, no DNAT inside the container, and nothing outlives the
//!   container.
//! - **Attachments** ([`attach`]): made by the monitor between the runtime's
//!   create and the entrypoint's start, so the entrypoint never runs before
//!   its network is ready; published host ports are held as bound sockets by
//!   the monitor (conflicts refused with Docker's message). When the monitor
//!   is done it releases its endpoints ([`attach::release_all`]) and leaves
//!   the veth pairs to go with the namespace, instead of a synchronous
//!   delete (20-60 ms) on every container exit.
//! - **Sweep** ([`sweep`]): at the start of networking commands, whatever a
//!   `kill -9` left (endpoints of dead monitors, their map elements, links and
//!   rules without records) is removed.
//!
//! [`manage`] holds the verbs the CLI and Compose call on networks (and
//! [`manage::reset`], which removes all of a root's networking state);
//! [`plan`] is their pure half (checks and the record a create makes);
//! [`ports`] binds the published host ports and turns them into the
//! firewall's map elements;
//! [`names`]
//! derives every kernel object's name from the kiln root, so several roots
//! (the test suite runs many) never collide; [`etc`] writes `/etc/hosts` and
//! `/etc/resolv.conf` as Docker does.

pub mod attach;
pub mod dns;
pub mod error;
pub mod etc;
pub mod firewall;
pub mod ipam;
pub mod manage;
pub mod names;
pub mod netlink;
pub mod plan;
pub mod ports;
pub mod record;
pub mod sweep;

pub use error::NetworkError;
