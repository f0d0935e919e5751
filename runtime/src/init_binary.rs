//! The static `kiln-init` executable (built from `runtime/init/main.rs` by
//! `build.rs`) that `kiln run --init` mounts at `/sbin/docker-init`, Docker's
//! path for its init.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// The executable's bytes.
const KILN_INIT: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/kiln-init"));

/// Where the init is mounted inside the container.
pub const INIT_PATH: &str = "/sbin/docker-init";

/// Writes the init to `<root>/bin/kiln-init` (once per kiln version: an
/// existing file of the same content is kept) and returns its path.
pub fn install(root: &Path) -> std::io::Result<PathBuf> {
    let dir = root.join("bin");
    let path = dir.join("kiln-init");
    if std::fs::read(&path).is_ok_and(|bytes| bytes == KILN_INIT) {
        return Ok(path);
    }
    std::fs::create_dir_all(&dir)?;
    let tmp = dir.join(format!(".kiln-init.{}", std::process::id()));
    let mut file = std::fs::File::create(&tmp)?;
    file.write_all(KILN_INIT)?;
    file.set_permissions(std::fs::Permissions::from_mode(0o755))?;
    file.sync_all()?;
    std::fs::rename(&tmp, &path)?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn installs_a_static_executable_that_runs_a_child() {
        let tmp = tempfile::tempdir().unwrap();
        let path = install(tmp.path()).unwrap();
        assert_eq!(install(tmp.path()).unwrap(), path);
        let output = std::process::Command::new(&path)
            .args(["--", "sh", "-c", "echo child; exit 5"])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(5));
        assert_eq!(String::from_utf8_lossy(&output.stdout), "child\n");
        let missing = std::process::Command::new(&path)
            .args(["--", "no-such-program"])
            .output()
            .unwrap();
        assert_eq!(missing.status.code(), Some(127));
        // Static: no PT_INTERP program header (the image may have no C library).
        let elf = std::fs::read(&path).unwrap();
        let u16_at = |at: usize| u16::from_le_bytes([elf[at], elf[at + 1]]) as usize;
        let phoff = u64::from_le_bytes(elf[0x20..0x28].try_into().unwrap()) as usize;
        let (phentsize, phnum) = (u16_at(0x36), u16_at(0x38));
        assert!(phnum > 0);
        for i in 0..phnum {
            let at = phoff + i * phentsize;
            let p_type = u32::from_le_bytes(elf[at..at + 4].try_into().unwrap());
            assert_ne!(
                p_type, 3,
                "kiln-init has a program interpreter (PT_INTERP): not static"
            );
        }
    }
}
