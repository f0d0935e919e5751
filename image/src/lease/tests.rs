use super::*;

/// A holder that has exited: a child that ran `true` and was reaped.
pub(crate) fn dead_holder() -> Holder {
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let pid = child.id();
    let start = process_start(pid);
    child.wait().unwrap();
    Holder { pid, start }
}

#[test]
fn current_process_is_alive_and_reaped_child_is_not() {
    assert!(Holder::current().is_alive());
    assert!(Holder::current().start.is_some());
    assert!(!dead_holder().is_alive());
    // A recycled pid (same pid, other start time) is not the holder.
    let other = Holder {
        start: Holder::current().start.map(|s| s + 1),
        ..Holder::current()
    };
    assert!(!other.is_alive());
}

#[test]
fn live_lists_held_leases_and_deletes_stale_ones() {
    let dir = tempfile::tempdir().unwrap();
    let store = LeaseStore::new(dir.path()).unwrap();
    let lease = store.create().unwrap();
    let d = Digest::of(b"x");
    lease.add_digests(&[d]).unwrap();
    lease.add_snapshots(&["snap".into()]).unwrap();
    let dead = store.create_with(dead_holder(), None).unwrap();
    let expired = store.create_with(Holder::current(), Some(1)).unwrap();
    std::fs::write(dir.path().join("leases/garbage"), b"not json").unwrap();
    let (dead_id, expired_id) = (dead.id(), expired.id());
    std::mem::forget(dead); // as if its holder was killed
    std::mem::forget(expired);

    let live = store.live().unwrap();
    assert_eq!(live.len(), 1);
    assert_eq!(live[0].digests, BTreeSet::from([d]));
    assert_eq!(live[0].snapshots, BTreeSet::from(["snap".to_string()]));
    for stale in [dead_id, expired_id, "garbage".into()] {
        assert!(!dir.path().join("leases").join(stale).exists());
    }
    lease.release().unwrap();
    assert!(store.live().unwrap().is_empty());
}

#[test]
fn dropping_a_lease_releases_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = LeaseStore::new(dir.path()).unwrap();
    drop(store.create().unwrap());
    assert!(store.live().unwrap().is_empty());
    assert_eq!(
        std::fs::read_dir(dir.path().join("leases"))
            .unwrap()
            .count(),
        0
    );
}
