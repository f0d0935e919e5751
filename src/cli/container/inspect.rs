//! `kiln inspect` / `kiln container inspect`: Docker-shaped JSON (Id, Created,
//! Path, Args, State, Image, Name, RestartCount, Mounts, Config, HostConfig,
//! NetworkSettings…), or a `--format` template over it.

use std::path::Path;

use anyhow::Result;
use clap::Args;
use kiln_runtime::container::{Container, ContainerStore, Status};
use kiln_runtime::lifecycle;
use kiln_runtime::monitor::log_path;
use serde_json::{json, Value};

use super::Exit;
use crate::cli::format::Template;

/// `kiln inspect` flags.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Format the output using a Go template.
    #[arg(short = 'f', long)]
    format: Option<String>,
    /// Containers.
    #[arg(required = true)]
    containers: Vec<String>,
}

/// Runs `kiln inspect`.
pub fn inspect(root: &Path, args: InspectArgs) -> Result<()> {
    let store = ContainerStore::open(root)?;
    let mut docs = Vec::new();
    let mut failed = false;
    for name in &args.containers {
        match store.find(name) {
            Ok(mut c) => {
                lifecycle::reconcile(&store, &mut c);
                docs.push(document(root, &store, &c));
            }
            Err(e) => {
                eprintln!("kiln: Error: {e}");
                failed = true;
            }
        }
    }
    match &args.format {
        Some(format) => {
            let template = Template::parse(format)?;
            for doc in &docs {
                println!("{}", template.render(doc)?);
            }
        }
        None => println!("{}", serde_json::to_string_pretty(&Value::Array(docs))?),
    }
    if failed {
        return Err(Exit::code(1).into());
    }
    Ok(())
}

/// The Docker-shaped document of one container.
pub fn document(root: &Path, store: &ContainerStore, c: &Container) -> Value {
    let r = &c.record;
    let s = &c.state;
    let mut state = json!({
        "Status": s.status.as_str(),
        "Running": matches!(s.status, Status::Running | Status::Paused),
        "Paused": s.status == Status::Paused,
        "Restarting": s.status == Status::Restarting,
        "OOMKilled": s.oom_killed,
        "Dead": s.status == Status::Dead,
        "Pid": s.pid,
        "ExitCode": s.exit_code,
        "Error": s.error,
        "StartedAt": if s.started_at.is_empty() { "0001-01-01T00:00:00Z" } else { &s.started_at },
        "FinishedAt": if s.finished_at.is_empty() { "0001-01-01T00:00:00Z" } else { &s.finished_at },
    });
    if let Some(health) = &s.health {
        state["Health"] = serde_json::to_value(health).unwrap_or(Value::Null);
    }
    let mut config = serde_json::to_value(&r.config).unwrap_or(Value::Null);
    config["AttachStdin"] = json!(r.config.open_stdin);
    config["StdinOnce"] = json!(false);
    let mut host_config = serde_json::to_value(&r.host_config).unwrap_or(Value::Null);
    host_config["LogConfig"] = json!({"Type": "json-file", "Config": {}});
    json!({
        "Id": r.id,
        "Created": r.created,
        "Path": r.path,
        "Args": r.args,
        "State": state,
        "Image": r.image_id,
        "ResolvConfPath": store.dir(&r.id).join("etc/resolv.conf"),
        "HostnamePath": store.dir(&r.id).join("etc/hostname"),
        "HostsPath": store.dir(&r.id).join("etc/hosts"),
        "LogPath": log_path(store, &r.id),
        "Name": format!("/{}", r.name),
        "RestartCount": s.restart_count,
        "Driver": r.snapshotter,
        "Platform": "linux",
        "MountLabel": "",
        "ProcessLabel": "",
        "AppArmorProfile": "",
        "HostConfig": host_config,
        "GraphDriver": {"Name": r.snapshotter, "Data": {"SnapshotKey": r.snapshot_key}},
        // Docker lists binds and volumes here; `--tmpfs` is in HostConfig.Tmpfs.
        "Mounts": r.mounts.iter().filter(|m| m.kind != "tmpfs").collect::<Vec<_>>(),
        "Config": config,
        "NetworkSettings": super::inspect_network::network_settings(root, store, c),
        "Runtime": r.runtime,
    })
}
