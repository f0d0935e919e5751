//! Both snapshotters run the whole conformance suite on the real kernel (as root).

use std::path::Path;

use kiln_snapshotter::{NativeSnapshotter, OverlaySnapshotter, Snapshotter};

mod overlay {
    use super::*;

    kiln_snapshotter::conformance_tests!(|root: &Path| -> Box<dyn Snapshotter> {
        Box::new(OverlaySnapshotter::new(root).expect("open overlay snapshotter"))
    });

    #[test]
    fn overlay_is_supported_here() {
        let root = kiln_snapshotter::conformance::TempRoot::new();
        assert!(OverlaySnapshotter::supported(root.path()));
        let leftovers = std::fs::read_dir(root.path().join("snapshots"))
            .unwrap()
            .count();
        assert_eq!(leftovers, 0, "the probe left files behind");
    }
}

mod native {
    use super::*;

    kiln_snapshotter::conformance_tests!(|root: &Path| -> Box<dyn Snapshotter> {
        Box::new(NativeSnapshotter::new(root).expect("open native snapshotter"))
    });

    #[test]
    fn run_all_drives_every_case() {
        kiln_snapshotter::conformance::run_all(|root: &Path| -> Box<dyn Snapshotter> {
            Box::new(NativeSnapshotter::new(root).expect("open native snapshotter"))
        });
    }
}
