//! Store behaviour that the conformance suite cannot see: on-disk format, staging
//! cleanup and crash recovery.

use super::*;

fn mkfs(dir: &Path, _parent: Option<&Path>) -> Result<()> {
    fs::create_dir(dir.join(FS)).map_err(Error::io("create directory", dir))
}

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn metadata_is_versioned_json_written_without_leftovers() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::open(tmp.path(), "t").unwrap();
    store
        .create("a", None, Kind::Active, &Labels::new(), &mkfs)
        .unwrap();
    store.commit("layer", "a").unwrap();
    let json: serde_json::Value =
        serde_json::from_slice(&fs::read(store.dir().join("metadata.json")).unwrap()).unwrap();
    assert_eq!(json["version"], 1);
    assert_eq!(json["next_id"], 2);
    assert_eq!(json["snapshots"]["layer"]["kind"], "committed");
    assert_eq!(json["snapshots"]["layer"]["id"], 1);
    assert_eq!(
        entries(store.dir()),
        ["lock", "metadata.json", "snapshots", "staging"]
    );
    assert_eq!(entries(&store.dir().join(SNAPSHOTS)), ["1"]);
}

#[test]
fn failed_populate_records_nothing_and_cleans_staging() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::open(tmp.path(), "t").unwrap();
    let fail = |_: &Path, _: Option<&Path>| -> Result<()> {
        Err(Error::io("populate", "/x")(std::io::Error::other("boom")))
    };
    let err = store
        .create("a", None, Kind::Active, &Labels::new(), &fail)
        .unwrap_err();
    assert!(err.to_string().contains("boom"), "{err}");
    assert!(matches!(store.stat("a"), Err(Error::NotFound { .. })));
    assert!(entries(&store.dir().join(STAGING)).is_empty());
    assert!(entries(&store.dir().join(SNAPSHOTS)).is_empty());
}

#[test]
fn remove_deletes_the_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::open(tmp.path(), "t").unwrap();
    store
        .create("a", None, Kind::Active, &Labels::new(), &mkfs)
        .unwrap();
    store.remove("a").unwrap();
    assert!(entries(&store.dir().join(SNAPSHOTS)).is_empty());
}

#[test]
fn open_removes_unlocked_leftovers_only() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::open(tmp.path(), "t").unwrap();
    store
        .create("kept", None, Kind::Active, &Labels::new(), &mkfs)
        .unwrap();
    let staging = store.dir().join(STAGING);
    fs::create_dir_all(staging.join("crashed/fs/deep")).unwrap();
    fs::create_dir_all(store.dir().join(SNAPSHOTS).join("99/fs")).unwrap();
    let live = Staging::create(&staging).unwrap();

    let reopened = Store::open(tmp.path(), "t").unwrap();
    let live_name = live
        .path()
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    assert_eq!(entries(&staging), [live_name]);
    assert_eq!(entries(&reopened.dir().join(SNAPSHOTS)), ["1"]);
    assert_eq!(reopened.stat("kept").unwrap().kind, Kind::Active);
    drop(live);
    assert!(entries(&staging).is_empty());
}

#[test]
fn corrupt_metadata_is_an_error_naming_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::open(tmp.path(), "t").unwrap();
    fs::write(store.dir().join("metadata.json"), "{not json").unwrap();
    let err = store.list().unwrap_err();
    assert!(matches!(&err, Error::Metadata { path, .. } if path.ends_with("metadata.json")));
    assert!(err.to_string().contains("metadata.json"), "{err}");
}
