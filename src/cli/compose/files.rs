//! The host's files for the compose loader: compose files, `.env` files and
//! `env_file`s are read as the user named them (they are the user's own
//! configuration, not an image or build context: docker compose reads
//! `extends: {file: ../common.yml}` or `env_file: /etc/app.env` too), but
//! only regular files, bounded in size: `-f /dev/zero` or an `env_file` that
//! names a FIFO fails in one line instead of filling memory or hanging.

use kiln_parser::compose::loader::FileSource;
use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;

/// The largest file the loader reads (far above any real compose file).
const MAX_FILE: u64 = 64 << 20;

/// Reads files from the host filesystem.
pub struct HostFiles;

impl FileSource for HostFiles {
    fn read(&self, path: &str) -> Result<String, String> {
        // O_NONBLOCK: opening a FIFO must not wait for a writer.
        let file = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(path)
            .map_err(|e| describe(&e))?;
        let metadata = file.metadata().map_err(|e| describe(&e))?;
        if metadata.is_dir() {
            return Err("is a directory".to_string());
        }
        if !metadata.is_file() {
            return Err("not a regular file".to_string());
        }
        let mut bytes = Vec::new();
        file.take(MAX_FILE + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| describe(&e))?;
        if bytes.len() as u64 > MAX_FILE {
            return Err(format!("larger than {} MiB", MAX_FILE >> 20));
        }
        String::from_utf8(bytes).map_err(|_| "not UTF-8 text".to_string())
    }

    fn is_file(&self, path: &str) -> bool {
        std::fs::metadata(path).is_ok_and(|m| m.is_file())
    }

    fn is_dir(&self, path: &str) -> bool {
        std::fs::metadata(path).is_ok_and(|m| m.is_dir())
    }
}

/// An I/O error as a short reason (`no such file or directory`).
fn describe(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".to_string(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        std::io::ErrorKind::IsADirectory => "is a directory".to_string(),
        _ => e.to_string(),
    }
}
