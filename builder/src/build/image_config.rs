//! The image config's `config` object <-> [`ImageConfig`]: reading a base
//! image's (for graph building) and writing the built stage's.

use std::time::Duration;

use serde_json::{json, Map, Value};

use crate::graph::{HealthConfig, ImageConfig};

fn strings(v: &Value) -> Option<Vec<String>> {
    v.as_array().map(|a| {
        a.iter()
            .filter_map(|s| s.as_str().map(str::to_string))
            .collect()
    })
}

fn keys(v: &Value) -> impl Iterator<Item = String> + '_ {
    v.as_object().into_iter().flat_map(|m| m.keys().cloned())
}

fn duration(v: &Value) -> Option<Duration> {
    v.as_u64().filter(|n| *n > 0).map(Duration::from_nanos)
}

/// The [`ImageConfig`] of an image config document.
pub fn from_doc(doc: &Value) -> ImageConfig {
    let c = &doc["config"];
    let mut config = ImageConfig {
        cmd: strings(&c["Cmd"]),
        entrypoint: strings(&c["Entrypoint"]),
        user: c["User"].as_str().unwrap_or_default().to_string(),
        working_dir: c["WorkingDir"].as_str().unwrap_or_default().to_string(),
        exposed_ports: keys(&c["ExposedPorts"]).collect(),
        volumes: keys(&c["Volumes"]).collect(),
        stop_signal: c["StopSignal"].as_str().map(str::to_string),
        shell: strings(&c["Shell"]),
        on_build: strings(&c["OnBuild"]).unwrap_or_default(),
        author: doc["author"].as_str().map(str::to_string),
        ..ImageConfig::default()
    };
    for entry in strings(&c["Env"]).unwrap_or_default() {
        let (k, v) = entry.split_once('=').unwrap_or((&entry, ""));
        config.env.push((k.to_string(), v.to_string()));
    }
    if let Some(labels) = c["Labels"].as_object() {
        for (k, v) in labels {
            config
                .labels
                .insert(k.clone(), v.as_str().unwrap_or_default().to_string());
        }
    }
    let h = &c["Healthcheck"];
    if let Some(test) = strings(&h["Test"]) {
        config.healthcheck = Some(HealthConfig {
            test,
            interval: duration(&h["Interval"]),
            timeout: duration(&h["Timeout"]),
            start_period: duration(&h["StartPeriod"]),
            start_interval: duration(&h["StartInterval"]),
            retries: h["Retries"].as_u64().map(|n| n as u32),
        });
    }
    config
}

fn set(map: &mut Map<String, Value>, key: &str, value: Option<Value>) {
    match value {
        Some(v) => {
            map.insert(key.to_string(), v);
        }
        None => {
            map.remove(key);
        }
    }
}

fn set_map(keys: impl Iterator<Item = String>) -> Option<Value> {
    let map: Map<String, Value> = keys.map(|k| (k, json!({}))).collect();
    (!map.is_empty()).then_some(Value::Object(map))
}

/// Writes `config` into the `config` object `map` (and `author` into `doc`).
pub fn apply(config: &ImageConfig, map: &mut Map<String, Value>) {
    let env: Vec<String> = config.env.iter().map(|(k, v)| format!("{k}={v}")).collect();
    set(map, "Env", (!env.is_empty()).then(|| json!(env)));
    set(map, "Cmd", config.cmd.as_ref().map(|c| json!(c)));
    set(
        map,
        "Entrypoint",
        config.entrypoint.as_ref().map(|c| json!(c)),
    );
    set(
        map,
        "User",
        (!config.user.is_empty()).then(|| json!(config.user)),
    );
    let wd = &config.working_dir;
    set(map, "WorkingDir", (!wd.is_empty()).then(|| json!(wd)));
    set(
        map,
        "ExposedPorts",
        set_map(config.exposed_ports.iter().cloned()),
    );
    set(map, "Volumes", set_map(config.volumes.iter().cloned()));
    set(
        map,
        "Labels",
        (!config.labels.is_empty()).then(|| json!(config.labels)),
    );
    set(
        map,
        "StopSignal",
        config.stop_signal.as_ref().map(|s| json!(s)),
    );
    set(map, "Shell", config.shell.as_ref().map(|s| json!(s)));
    set(
        map,
        "OnBuild",
        (!config.on_build.is_empty()).then(|| json!(config.on_build)),
    );
    let health = config.healthcheck.as_ref().map(|h| {
        let mut o = Map::new();
        o.insert("Test".into(), json!(h.test));
        let ns = |d: &Option<Duration>| d.map(|d| json!(d.as_nanos() as u64));
        for (k, v) in [
            ("Interval", ns(&h.interval)),
            ("Timeout", ns(&h.timeout)),
            ("StartPeriod", ns(&h.start_period)),
            ("StartInterval", ns(&h.start_interval)),
            ("Retries", h.retries.map(|r| json!(r))),
        ] {
            if let Some(v) = v {
                o.insert(k.into(), v);
            }
        }
        Value::Object(o)
    });
    set(map, "Healthcheck", health);
}
