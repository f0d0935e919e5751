//! One long-lived value per network namespace (the libnftables context and
//! the nfnetlink socket), kept for the life of the process.
//!
//! Why: closing a `NETLINK_NETFILTER` socket right after a transaction
//! waits for nf_tables' deferred destruction work, an RCU grace period
//! (measured 3-19 ms a close on this shared machine under load, against
//! 0.1 ms for the transaction). Kept open, the close happens at process
//! exit, long after the work is done. Keyed by namespace because a socket
//! talks to the namespace it was opened in: a thread that entered another
//! namespace (tests do) gets its own. A kept socket pins its namespace
//! until the process exits; kiln processes are short-lived.

use std::io;
use std::os::unix::fs::MetadataExt;
use std::sync::Mutex;

/// The calling thread's network namespace, and this process.
pub fn current() -> io::Result<NetnsId> {
    let meta = std::fs::metadata("/proc/thread-self/ns/net")?;
    Ok((meta.dev(), meta.ino(), std::process::id()))
}

/// A namespace's identity: (device, inode) of its `ns/net` file, and the
/// process asking (a forked child must not share its parent's socket:
/// replies would go to whichever process reads first).
pub type NetnsId = (u64, u64, u32);

/// Values of type `T`, one per namespace, leaked for the process' life.
pub struct PerNetns<T: 'static> {
    entries: Mutex<Vec<(NetnsId, &'static Mutex<T>)>>,
}

impl<T: Send + 'static> Default for PerNetns<T> {
    fn default() -> Self {
        PerNetns::new()
    }
}

impl<T: Send + 'static> PerNetns<T> {
    /// An empty registry (for a `static`).
    pub const fn new() -> PerNetns<T> {
        PerNetns {
            entries: Mutex::new(Vec::new()),
        }
    }

    /// The value of the calling thread's namespace, made by `make` the first
    /// time; `None` when `make` fails.
    pub fn get(&self, make: impl FnOnce() -> Option<T>) -> Option<&'static Mutex<T>> {
        let id = current().ok()?;
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, v)) = entries.iter().find(|(k, _)| *k == id) {
            return Some(v);
        }
        let value: &'static Mutex<T> = Box::leak(Box::new(Mutex::new(make()?)));
        entries.push((id, value));
        Some(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_value_per_namespace_made_once() {
        static VALUES: PerNetns<u32> = PerNetns::new();
        assert!(
            VALUES.get(|| None).is_none(),
            "a failed make stores nothing"
        );
        let first = VALUES.get(|| Some(1)).unwrap();
        let again = VALUES.get(|| Some(2)).unwrap();
        assert!(std::ptr::eq(first, again));
        assert_eq!(*again.lock().unwrap(), 1);
        let other = std::thread::spawn(|| {
            // SAFETY: unshare of this thread's network namespace only.
            assert_eq!(unsafe { libc::unshare(libc::CLONE_NEWNET) }, 0);
            *VALUES.get(|| Some(3)).unwrap().lock().unwrap()
        })
        .join()
        .unwrap();
        assert_eq!(other, 3, "another namespace gets its own");
    }
}
