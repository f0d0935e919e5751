//! What an image's config says about how to run it (the `config` object of
//! the OCI/Docker image config document), read tolerantly.

use std::collections::BTreeMap;

use serde_json::Value;

/// The run-time defaults an image carries: `Entrypoint`, `Cmd`, `Env`,
/// `WorkingDir`, `User`, `StopSignal`, `Volumes`, `Labels`, `Healthcheck`,
/// `ExposedPorts`. Missing or `null` fields become empty values, so images
/// built by any tool (or by hand) can be run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ImageDefaults {
    /// `Entrypoint`; `None` when absent or null (distinct from an empty list).
    pub entrypoint: Option<Vec<String>>,
    /// `Cmd`; `None` when absent or null.
    pub cmd: Option<Vec<String>>,
    /// `Env` as `KEY=VALUE` strings, in image order.
    pub env: Vec<String>,
    /// `WorkingDir`; "" means "/".
    pub working_dir: String,
    /// `User` (`name|uid[:group|gid]`); "" means root.
    pub user: String,
    /// `StopSignal` (e.g. "SIGTERM"), used by `kiln stop`.
    pub stop_signal: Option<String>,
    /// The keys of `Volumes`: container paths that get anonymous volumes.
    pub volumes: Vec<String>,
    /// `Labels`.
    pub labels: BTreeMap<String, String>,
    /// `Healthcheck`, kept as raw JSON for the monitor to interpret.
    pub healthcheck: Option<Value>,
    /// The keys of `ExposedPorts` (e.g. "80/tcp"), for `-P`.
    pub exposed_ports: Vec<String>,
}

impl ImageDefaults {
    /// Reads the defaults from a whole image config document (the JSON blob
    /// the manifest's `config` descriptor points at). Wrongly-typed fields are
    /// ignored rather than rejected: the image was accepted when it was stored.
    pub fn from_image_config(config: &Value) -> ImageDefaults {
        let c = config.get("config").unwrap_or(&Value::Null);
        ImageDefaults {
            entrypoint: string_list(c.get("Entrypoint")),
            cmd: string_list(c.get("Cmd")),
            env: string_list(c.get("Env")).unwrap_or_default(),
            working_dir: string(c.get("WorkingDir")).unwrap_or_default(),
            user: string(c.get("User")).unwrap_or_default(),
            stop_signal: string(c.get("StopSignal")).filter(|s| !s.is_empty()),
            volumes: object_keys(c.get("Volumes")),
            labels: string_map(c.get("Labels")),
            healthcheck: c.get("Healthcheck").filter(|v| !v.is_null()).cloned(),
            exposed_ports: object_keys(c.get("ExposedPorts")),
        }
    }
}

fn string(v: Option<&Value>) -> Option<String> {
    v.and_then(Value::as_str).map(str::to_owned)
}

/// A JSON array of strings (non-strings skipped); a bare string becomes a
/// one-element list, as some hand-written configs do.
fn string_list(v: Option<&Value>) -> Option<Vec<String>> {
    match v? {
        Value::Array(items) => Some(
            items
                .iter()
                .filter_map(|i| i.as_str().map(str::to_owned))
                .collect(),
        ),
        Value::String(s) => Some(vec![s.clone()]),
        _ => None,
    }
}

fn object_keys(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_object)
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default()
}

fn string_map(v: Option<&Value>) -> BTreeMap<String, String> {
    v.and_then(Value::as_object)
        .map(|o| {
            o.iter()
                .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_owned())))
                .collect()
        })
        .unwrap_or_default()
}
