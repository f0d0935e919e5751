//! Unit tests of the network records (tempdirs only, no kernel objects).

use super::*;

fn network(id: &str, name: &str) -> NetworkRecord {
    NetworkRecord {
        id: id.to_string(),
        name: name.to_string(),
        driver: "bridge".into(),
        created: "2026-12-07T22:00:00.5Z".into(),
        bridge: "kbabcdef1".into(),
        subnets: vec![Subnet {
            subnet: "10.200.0.0/24".into(),
            gateway: "10.200.0.1".parse().unwrap(),
            ip_range: None,
        }],
        internal: false,
        ipv6: false,
        attachable: false,
        dns: true,
        mtu: 1500,
        labels: BTreeMap::new(),
        options: BTreeMap::new(),
    }
}

fn endpoint(network_id: &str, container_id: &str) -> EndpointRecord {
    EndpointRecord {
        network_id: network_id.into(),
        container_id: container_id.into(),
        container_name: format!("c-{container_id}"),
        endpoint_id: "e".repeat(64),
        interface: "eth0".into(),
        host_veth: "kvabcdefeeeeeee".into(),
        mac: "02:42:0a:c8:00:02".into(),
        ipv4: Some(("10.200.0.2".parse().unwrap(), 24)),
        ipv6: None,
        aliases: vec!["web".into()],
        ports: vec![PublishedPort {
            host_ip: None,
            host_port: 8080,
            container_port: 80,
            protocol: Protocol::Tcp,
        }],
        dns_servers: vec![],
        holder_pid: 1,
        holder_start: 2,
    }
}

fn store() -> (tempfile::TempDir, NetworkStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = NetworkStore::open(dir.path()).unwrap();
    (dir, store)
}

#[test]
fn open_creates_the_folder_and_starts_at_generation_zero() {
    let (dir, store) = store();
    assert_eq!(store.dir(), dir.path().join("networks"));
    assert!(store.dir().is_dir());
    assert_eq!(store.generation(), 0);
    assert!(store.networks().unwrap().is_empty());
}

#[test]
fn networks_round_trip_sorted_by_name_and_bump_the_generation() {
    let (_dir, store) = store();
    store
        .put_network(&network(&"b".repeat(64), "zeta"))
        .unwrap();
    store
        .put_network(&network(&"a".repeat(64), "alpha"))
        .unwrap();
    assert_eq!(store.generation(), 2);
    let names: Vec<String> = store
        .networks()
        .unwrap()
        .into_iter()
        .map(|n| n.name)
        .collect();
    assert_eq!(names, ["alpha", "zeta"]);
    assert_eq!(
        store.find("alpha").unwrap(),
        network(&"a".repeat(64), "alpha")
    );
    // No temp file is left behind.
    let leftovers: Vec<_> = std::fs::read_dir(store.dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn find_follows_dockers_order_id_then_name_then_prefix() {
    let (_dir, store) = store();
    let first = format!("abc1{}", "0".repeat(60));
    let second = format!("abc2{}", "0".repeat(60));
    store.put_network(&network(&first, "one")).unwrap();
    store.put_network(&network(&second, "two")).unwrap();
    // A network *named* like the other's ID prefix wins over the prefix.
    store
        .put_network(&network(&"f".repeat(64), "abc1"))
        .unwrap();
    assert_eq!(store.find(&first).unwrap().name, "one");
    assert_eq!(store.find("two").unwrap().id, second);
    assert_eq!(store.find("abc1").unwrap().name, "abc1");
    assert_eq!(store.find("abc2").unwrap().name, "two");
    match store.find("abc") {
        Err(NetworkError::Ambiguous(key, 2)) => assert_eq!(key, "abc"),
        other => panic!("{other:?}"),
    }
    let err = store.find("nope").unwrap_err();
    assert_eq!(err.to_string(), "network nope not found");
    assert!(matches!(store.find(""), Err(NetworkError::NotFound(_))));
}

#[test]
fn endpoints_round_trip_and_are_found_per_container() {
    let (_dir, store) = store();
    let (n1, n2) = ("1".repeat(64), "2".repeat(64));
    store.put_network(&network(&n1, "one")).unwrap();
    store.put_network(&network(&n2, "two")).unwrap();
    store.put_endpoint(&endpoint(&n1, "c1")).unwrap();
    store.put_endpoint(&endpoint(&n2, "c1")).unwrap();
    store.put_endpoint(&endpoint(&n1, "c2")).unwrap();
    assert_eq!(store.endpoints(&n1).unwrap().len(), 2);
    assert_eq!(store.endpoints(&n1).unwrap()[0], endpoint(&n1, "c1"));
    assert_eq!(store.endpoints_of("c1").unwrap().len(), 2);
    assert_eq!(store.endpoints_of("c3").unwrap().len(), 0);
    let before = store.generation();
    store.remove_endpoint(&n1, "c1").unwrap();
    assert_eq!(store.generation(), before + 1);
    // Missing is fine, and changes nothing.
    store.remove_endpoint(&n1, "c1").unwrap();
    assert_eq!(store.generation(), before + 1);
    assert_eq!(store.endpoints_of("c1").unwrap().len(), 1);
}

#[test]
fn remove_network_drops_the_record_and_its_folder() {
    let (_dir, store) = store();
    let id = "1".repeat(64);
    store.put_network(&network(&id, "one")).unwrap();
    store.put_endpoint(&endpoint(&id, "c1")).unwrap();
    store.remove_endpoint(&id, "c1").unwrap();
    store.remove_network(&id).unwrap();
    assert!(store.networks().unwrap().is_empty());
    assert!(!store.dir().join(&id).exists());
    assert!(store.endpoints(&id).unwrap().is_empty());
}

#[test]
fn bad_json_is_corrupt_naming_the_file() {
    let (_dir, store) = store();
    let path = store.dir().join(format!("{}.json", "9".repeat(64)));
    std::fs::write(&path, b"{not json").unwrap();
    let err = store.networks().unwrap_err();
    assert!(matches!(err, NetworkError::Corrupt { .. }));
    assert!(
        err.to_string().contains(&path.display().to_string()),
        "{err}"
    );
}

#[test]
fn ids_that_are_not_one_path_component_are_refused() {
    let (_dir, store) = store();
    for bad in ["../x", "", ".", "..", "a/b", ".hidden"] {
        assert!(
            matches!(
                store.remove_endpoint("n", bad),
                Err(NetworkError::InvalidId(_))
            ),
            "{bad}"
        );
        assert!(
            matches!(store.endpoints(bad), Err(NetworkError::InvalidId(_))),
            "{bad}"
        );
    }
    let mut escaping = network("../../etc", "x");
    escaping.id = "../../etc".into();
    assert!(matches!(
        store.put_network(&escaping),
        Err(NetworkError::InvalidId(_))
    ));
}

#[test]
fn the_lock_is_reentrant_in_a_thread_and_exclusive_across_threads() {
    let (_dir, store) = store();
    let outer = store.lock().unwrap();
    let inner = store.lock().unwrap();
    drop(inner);
    let (tx, rx) = std::sync::mpsc::channel();
    let other = store.clone();
    let handle = std::thread::spawn(move || {
        let _held = other.lock().unwrap();
        tx.send(()).unwrap();
    });
    // While the outer guard lives the other thread cannot take the lock.
    assert!(rx
        .recv_timeout(std::time::Duration::from_millis(200))
        .is_err());
    drop(outer);
    rx.recv_timeout(std::time::Duration::from_secs(30)).unwrap();
    handle.join().unwrap();
    // And this thread can take it again afterwards.
    drop(store.lock().unwrap());
}
