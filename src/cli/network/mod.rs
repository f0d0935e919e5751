//! `kiln network create|ls|inspect|rm|prune|connect|disconnect`, with
//! Docker's flags and output, over [`kiln_runtime::network`].
//!
//! Every command first runs [`sweep::sweep`] (what a `kill -9` of kiln or
//! of a monitor left is removed before anything is read or changed), then
//! the verb of [`manage`] or [`attach`]. Modules: [`create`] (flags ->
//! [`manage::CreateRequest`], Docker's pairing of `--subnet`, `--gateway`,
//! `--ip-range`), [`list`] (`ls` and its filters, also used by `prune`),
//! [`inspect`] (Docker 20.10's JSON document), [`remove`] (`rm`, `prune`),
//! [`connect`] (`connect`, `disconnect` of a running container), [`port`]
//! (`kiln port`) and [`settings`] (what `ps` and `port` show of a
//! container's networks).
//!
//! [`sweep::sweep`]: kiln_runtime::network::sweep::sweep
//! [`manage`]: kiln_runtime::network::manage
//! [`attach`]: kiln_runtime::network::attach
//! [`manage::CreateRequest`]: kiln_runtime::network::manage::CreateRequest

pub mod connect;
pub mod create;
pub mod inspect;
pub mod list;
pub mod port;
pub mod remove;
pub mod settings;

use std::path::Path;

use anyhow::Result;
use clap::Subcommand;
use kiln_runtime::network::{sweep, NetworkError};

pub use port::PortArgs;

/// `kiln network` subcommands.
#[derive(Debug, Subcommand)]
pub enum NetworkCommand {
    /// Create a network.
    Create(create::CreateArgs),
    /// List networks.
    #[command(visible_alias = "list")]
    Ls(list::LsArgs),
    /// Display detailed information on one or more networks.
    Inspect(inspect::InspectArgs),
    /// Remove one or more networks.
    #[command(visible_alias = "remove")]
    Rm(remove::RmArgs),
    /// Remove all unused networks.
    Prune(remove::PruneArgs),
    /// Connect a container to a network.
    Connect(connect::ConnectArgs),
    /// Disconnect a container from a network.
    Disconnect(connect::DisconnectArgs),
}

/// Runs a `kiln network …` command (after a sweep of the root).
pub fn run(root: &Path, cmd: NetworkCommand) -> Result<()> {
    sweep::sweep(root)?;
    match cmd {
        NetworkCommand::Create(args) => create::create(root, args),
        NetworkCommand::Ls(args) => list::ls(root, args),
        NetworkCommand::Inspect(args) => inspect::inspect(root, args),
        NetworkCommand::Rm(args) => remove::rm(root, args),
        NetworkCommand::Prune(args) => remove::prune(root, args),
        NetworkCommand::Connect(args) => connect::connect(root, args),
        NetworkCommand::Disconnect(args) => connect::disconnect(root, args),
    }
}

/// The line printed (after `kiln: `) for a network command's failure on
/// `name`: Docker CLI's `Error: No such network: X` for a missing network,
/// the library's own message (Docker's daemon words) otherwise.
pub fn error_line(name: &str, error: &NetworkError) -> String {
    match error {
        NetworkError::NotFound(_) => format!("Error: No such network: {name}"),
        other => other.to_string(),
    }
}
