//! The image config written by the build driver and read back for base
//! images, and the persistent cache's prune.

use std::time::Duration;

use kiln_builder::build::{apply_config, config_from_doc};
use kiln_builder::graph::{HealthConfig, ImageConfig};
use serde_json::json;

#[test]
fn image_config_round_trips_through_the_config_document() {
    let mut config = ImageConfig::default();
    config.env_set("PATH", "/bin");
    config.env_set("A", "x=y");
    config.cmd = Some(vec!["sh".into()]);
    config.entrypoint = Some(vec!["/init".into()]);
    config.user = "1000:1000".into();
    config.working_dir = "/app".into();
    config.exposed_ports.insert("80/tcp".into());
    config.volumes.insert("/data".into());
    config.labels.insert("k".into(), "v".into());
    config.stop_signal = Some("SIGINT".into());
    config.shell = Some(vec!["/bin/bash".into(), "-c".into()]);
    config.on_build = vec!["RUN true".into()];
    config.healthcheck = Some(HealthConfig {
        test: vec!["CMD-SHELL".into(), "true".into()],
        interval: Some(Duration::from_secs(5)),
        timeout: None,
        start_period: None,
        start_interval: None,
        retries: Some(3),
    });
    let mut doc = json!({"config": {"Cmd": ["old"], "Domainname": ""}});
    apply_config(&config, doc["config"].as_object_mut().unwrap());
    let c = &doc["config"];
    assert_eq!(c["Env"], json!(["PATH=/bin", "A=x=y"]));
    assert_eq!(c["ExposedPorts"], json!({"80/tcp": {}}));
    assert_eq!(c["Healthcheck"]["Interval"], json!(5_000_000_000u64));
    assert_eq!(c["Domainname"], "", "fields kiln does not model are kept");
    assert_eq!(config_from_doc(&doc), config);

    // Unset fields are removed, not written as null.
    let mut doc = json!({"config": {"Cmd": ["old"], "User": "x"}});
    apply_config(
        &ImageConfig::default(),
        doc["config"].as_object_mut().unwrap(),
    );
    assert_eq!(doc["config"], json!({}));
}

#[test]
fn prune_removes_cache_entries_and_cache_mounts() {
    let root = tempfile::tempdir().unwrap();
    let cache = kiln_builder::cache_store::cache_dir(root.path());
    std::fs::create_dir_all(&cache).unwrap();
    std::fs::write(cache.join("a.json"), "{}").unwrap();
    std::fs::write(cache.join("b.json"), "{}").unwrap();
    std::fs::create_dir_all(cache.join("rebase")).unwrap();
    std::fs::write(cache.join("rebase/k"), "kiln-rebase-v1 s -\n").unwrap();
    let mounts = root.path().join("builder/cache-mounts/x");
    std::fs::create_dir_all(&mounts).unwrap();
    let layers = root.path().join("builder/layers");
    std::fs::create_dir_all(&layers).unwrap();
    std::fs::write(layers.join("build-x.gzip.json"), "{}").unwrap();
    assert_eq!(kiln_builder::cache_store::prune(root.path()).unwrap(), 2);
    assert_eq!(std::fs::read_dir(&cache).unwrap().count(), 0);
    assert!(!mounts.exists());
    assert!(!layers.exists());
    assert_eq!(kiln_builder::cache_store::prune(root.path()).unwrap(), 0);
}
