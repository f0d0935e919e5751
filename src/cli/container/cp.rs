//! `kiln cp`: copies files between a container and the host, with
//! `docker cp`'s path rules (the copy itself is
//! [`kiln_runtime::copy`]; this module turns flags into a request and prints
//! Docker's summary line).

use std::path::Path;

use anyhow::Result;
use clap::Args;
use kiln_runtime::copy::{copy, CopyError, CopyOptions, CopyTarget};

use super::Exit;
use crate::cli::display::human_size;

/// `kiln cp [-a] [-L] SRC DEST`.
#[derive(Debug, Args)]
pub struct CpArgs {
    /// Archive mode (copy all uid/gid information).
    #[arg(short = 'a', long)]
    archive: bool,
    /// Always follow symbol link in SRC_PATH.
    #[arg(short = 'L', long = "follow-link")]
    follow_link: bool,
    /// Suppress progress output.
    #[arg(short = 'q', long)]
    quiet: bool,
    /// CONTAINER:SRC_PATH or a host path.
    src: String,
    /// CONTAINER:DEST_PATH or a host path.
    dest: String,
}

/// Runs `kiln cp`: every failure but an unreadable store exits 1, as Docker.
pub fn cp(root: &Path, args: CpArgs) -> Result<()> {
    let (src, dest) = (CopyTarget::parse(&args.src), CopyTarget::parse(&args.dest));
    let options = CopyOptions {
        archive: args.archive,
        follow_link: args.follow_link,
    };
    let copied = match copy(root, &src, &dest, options) {
        Ok(copied) => copied,
        Err(CopyError::Store(e)) => return Err(e.into()),
        Err(e) => return Err(Exit::new(1, &e.to_string()).into()),
    };
    if !args.quiet {
        let shown = match &dest {
            CopyTarget::Container { name, path } => format!("{name}:{path}"),
            CopyTarget::Host(path) => path.clone(),
        };
        eprintln!(
            "Successfully copied {} to {shown}",
            human_size(copied.bytes)
        );
    }
    Ok(())
}
