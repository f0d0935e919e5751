//! `start`, `stop`, `restart`, `kill`, `rm`, `wait`, `pause`, `unpause`,
//! `container prune`.

use std::path::Path;

use anyhow::Result;
use clap::Args;
use kiln_parser::values::parse_signal;
use kiln_runtime::container::{ContainerStore, Status};
use kiln_runtime::lifecycle;

use super::{for_each, Exit};

/// Containers named by ID, ID prefix or name.
#[derive(Debug, Args)]
pub struct NamesArgs {
    /// Containers.
    #[arg(required = true)]
    pub containers: Vec<String>,
}

/// `stop`/`restart` flags.
#[derive(Debug, Args)]
pub struct StopArgs {
    /// Seconds to wait before killing the container.
    #[arg(short = 't', long = "time", visible_alias = "timeout")]
    time: Option<i64>,
    /// Signal to send (default: the container's stop signal).
    #[arg(short = 's', long)]
    signal: Option<String>,
    /// Containers.
    #[arg(required = true)]
    containers: Vec<String>,
}

/// `kill` flags.
#[derive(Debug, Args)]
pub struct KillArgs {
    /// Signal to send.
    #[arg(short = 's', long, default_value = "KILL")]
    signal: String,
    /// Containers.
    #[arg(required = true)]
    containers: Vec<String>,
}

/// `rm` flags.
#[derive(Debug, Args)]
pub struct RmArgs {
    /// Force the removal of a running container (uses SIGKILL).
    #[arg(short = 'f', long)]
    force: bool,
    /// Remove anonymous volumes associated with the container.
    #[arg(short = 'v', long)]
    volumes: bool,
    /// Containers.
    #[arg(required = true)]
    containers: Vec<String>,
}

/// `container prune` flags.
#[derive(Debug, Args)]
pub struct PruneArgs {
    /// Do not prompt for confirmation (kiln never prompts).
    #[arg(short = 'f', long)]
    force: bool,
}

/// `kiln start`.
pub fn start(root: &Path, args: NamesArgs) -> Result<()> {
    for_each(root, &args.containers, true, |_, c| {
        if c.state.status.is_active() {
            return Ok(());
        }
        lifecycle::start_detached(root, c)
    })
}

/// `kiln stop`.
pub fn stop(root: &Path, args: StopArgs) -> Result<()> {
    for_each(root, &args.containers, true, |store, c| {
        let signal = args.signal.as_deref().map(parse_signal).transpose()?;
        lifecycle::stop(store, c, args.time, signal)
    })
}

/// `kiln restart`: stop (if running), then start.
pub fn restart(root: &Path, args: StopArgs) -> Result<()> {
    for_each(root, &args.containers, true, |store, c| {
        lifecycle::stop(store, c, args.time, None)?;
        let c = store.get(&c.record.id)?;
        lifecycle::start_detached(root, &c)
    })
}

/// `kiln kill`.
pub fn kill(root: &Path, args: KillArgs) -> Result<()> {
    for_each(root, &args.containers, true, |store, c| {
        lifecycle::kill(store, c, parse_signal(&args.signal)?)
    })
}

/// `kiln rm`.
pub fn rm(root: &Path, args: RmArgs) -> Result<()> {
    for_each(root, &args.containers, true, |store, c| {
        lifecycle::remove(root, store, c, args.force, args.volumes)
    })
}

/// `kiln wait`: prints each container's exit code once it has stopped.
pub fn wait(root: &Path, args: NamesArgs) -> Result<()> {
    for_each(root, &args.containers, false, |store, c| {
        let done = lifecycle::wait_inactive(store, &c.record.id, None)?;
        println!("{}", done.state.exit_code);
        Ok(())
    })
}

/// `kiln pause`.
pub fn pause(root: &Path, args: NamesArgs) -> Result<()> {
    for_each(root, &args.containers, true, lifecycle::pause)
}

/// `kiln unpause`.
pub fn unpause(root: &Path, args: NamesArgs) -> Result<()> {
    for_each(root, &args.containers, true, lifecycle::unpause)
}

/// `kiln container prune`: removes every stopped container.
pub fn prune(root: &Path, _args: PruneArgs) -> Result<()> {
    let store = ContainerStore::open(root)?;
    let mut removed = Vec::new();
    let mut reclaimed = 0u64;
    for mut container in store.list()? {
        lifecycle::reconcile(&store, &mut container);
        if matches!(
            container.state.status,
            Status::Created | Status::Exited | Status::Dead
        ) {
            let record = &container.record;
            if let Ok(snapshotter) =
                kiln_runtime::rootfs::open_snapshotter(root, Some(&record.snapshotter))
            {
                reclaimed += snapshotter
                    .usage(&record.snapshot_key)
                    .map(|u| u.bytes)
                    .unwrap_or(0);
            }
            lifecycle::remove(root, &store, &container, false, false)
                .map_err(|e| Exit::new(1, &e.to_string()))?;
            removed.push(container.record.id);
        }
    }
    if !removed.is_empty() {
        println!("Deleted Containers:");
        for id in &removed {
            println!("{id}");
        }
        println!();
    }
    println!(
        "Total reclaimed space: {}",
        crate::cli::display::human_size(reclaimed)
    );
    Ok(())
}
