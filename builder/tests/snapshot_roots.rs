//! The snapshot collector's roots ([`kiln_builder::snapshot_gc::in_use`]) and
//! the build cache's lease on its hits, on a real native snapshotter.

use std::sync::Arc;

use kiln_builder::cache_store::{cache_dir, CacheStore};
use kiln_builder::executor::{BuiltLayer, Output, RootFs, TreeLayer};
use kiln_builder::graph::{Op, SourceOp, Vertex};
use kiln_builder::snapshot_gc::in_use;
use kiln_builder::solver::{CacheKey, CacheLookup};
use kiln_image::{ContentStore, Digest, ImageIndex, LeaseStore, Reference};
use kiln_snapshotter::{chain_ids, Labels, NativeSnapshotter, Snapshotter};

/// Stores an image whose config lists `diff_ids`; returns its manifest.
fn image(content: &ContentStore, diff_ids: &[Digest]) -> Digest {
    let ids: Vec<String> = diff_ids.iter().map(|d| d.to_string()).collect();
    let config = serde_json::json!({"rootfs": {"type": "layers", "diff_ids": ids}});
    let (config, _) = content
        .ingest_bytes(config.to_string().as_bytes(), None)
        .unwrap();
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "config": {"digest": config.to_string(), "size": 1},
        "layers": [],
    });
    content
        .ingest_bytes(manifest.to_string().as_bytes(), None)
        .unwrap()
        .0
}

fn record(key: CacheKey, snapshot: &str, layer: &str) -> RootFs {
    let built = TreeLayer::Built(BuiltLayer {
        snapshot: layer.into(),
        parent: None,
    });
    RootFs {
        key,
        snapshot: Some(snapshot.into()),
        layers: vec![built.clone()],
        own: Some(built),
        image_manifest: None,
    }
}

#[test]
fn images_leases_cache_records_and_containers_are_roots() {
    let root = tempfile::tempdir().unwrap();
    let root = root.path();
    let content = ContentStore::new(root).unwrap();
    let index = ImageIndex::new(root).unwrap();
    let (a, b) = (Digest::of(b"layer a"), Digest::of(b"layer b"));
    let tagged = image(&content, &[a, b]);
    index
        .tag(&Reference::parse("img:1").unwrap(), &tagged)
        .unwrap();
    let leased = image(&content, &[b]);
    let lease = LeaseStore::new(root).unwrap().create().unwrap();
    lease.add_digests(&[leased]).unwrap();
    lease.add_snapshots(&["build-active-held".into()]).unwrap();
    let key = CacheKey(Digest::of(b"vertex"));
    std::fs::create_dir_all(cache_dir(root)).unwrap();
    let json = serde_json::to_vec(&record(key, "build-tree", "build-layer")).unwrap();
    std::fs::write(cache_dir(root).join(format!("{}.json", key.0.hex())), json).unwrap();
    std::fs::write(cache_dir(root).join("junk.json"), b"{").unwrap();
    std::fs::create_dir_all(root.join("containers").join("c1")).unwrap();

    let keys = in_use(root).unwrap();
    let mut expected: Vec<String> = chain_ids(&[a, b]);
    expected.extend(chain_ids(&[b]));
    expected.extend(
        [
            "build-active-held",
            "build-tree",
            "build-layer",
            "container-c1",
        ]
        .map(String::from),
    );
    expected.sort();
    expected.dedup();
    assert_eq!(keys.into_iter().collect::<Vec<_>>(), expected);

    lease.release().unwrap();
    let keys = in_use(root).unwrap();
    assert!(!keys.contains("build-active-held"));
    assert!(
        !keys.contains(&chain_ids(&[b])[0]),
        "the lease's image goes with it"
    );
}

#[test]
fn a_cache_hit_is_held_by_the_builds_lease_before_it_is_checked() {
    let root = tempfile::tempdir().unwrap();
    let root = root.path();
    let content = ContentStore::new(root).unwrap();
    let sn = NativeSnapshotter::new(root).unwrap();
    sn.prepare("w", None, &Labels::new()).unwrap();
    sn.commit("build-tree", "w").unwrap();
    let (hit, miss) = (CacheKey(Digest::of(b"hit")), CacheKey(Digest::of(b"miss")));
    std::fs::create_dir_all(cache_dir(root)).unwrap();
    for (key, snap) in [(hit, "build-tree"), (miss, "build-gone")] {
        let json = serde_json::to_vec(&record(key, snap, snap)).unwrap();
        std::fs::write(cache_dir(root).join(format!("{}.json", key.0.hex())), json).unwrap();
    }
    let lease = Arc::new(LeaseStore::new(root).unwrap().create().unwrap());
    let cache = CacheStore::new(root, &content, &sn, None).with_lease(lease.clone());
    let vertex = Vertex {
        op: Op::Source(SourceOp::Scratch),
        span: None,
        stage: None,
        name: "FROM scratch".into(),
        created_by: None,
        ignore_cache: false,
    };

    assert!(matches!(cache.lookup(&hit, &vertex), Some(Output::Root(_))));
    assert!(cache.lookup(&miss, &vertex).is_none());
    let held = lease.record().snapshots;
    assert!(held.contains("build-tree"), "{held:?}");
    assert!(
        held.contains("build-gone"),
        "held before the check: {held:?}"
    );
}
