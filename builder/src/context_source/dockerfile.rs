//! The Dockerfile of a build: standard input, a host file, or a file
//! resolved inside a remote context.

use std::io::Read;
use std::path::{Path, PathBuf};

use kiln_parser::dockerfile::limits::MAX_DOCKERFILE_BYTES;

use super::{ContextSource, ContextSourceError};

impl ContextSource {
    /// Reads the Dockerfile: `file` `-` is standard input; with a tar or git
    /// context `file` (default `Dockerfile`) is resolved inside the context
    /// (kiln-inroot), as BuildKit, where the Dockerfile is transferred as part
    /// of the context; an explicit `file` next to a directory context is a
    /// host path the user typed, read as given (as docker does). Returns the
    /// text and the path to show in messages. At most the parser's
    /// `MAX_DOCKERFILE_BYTES` are read (`-f /dev/zero` fails, not fills memory).
    pub fn read_dockerfile(
        &self,
        file: Option<&str>,
    ) -> Result<(String, PathBuf), ContextSourceError> {
        let rel = match file {
            Some("-") => {
                let text = read_bounded(std::io::stdin().lock())
                    .map_err(|e| ContextSourceError::DockerfileStdin(Box::new(e)))?;
                return Ok((text, PathBuf::from("Dockerfile")));
            }
            Some(path) if !self.remote => return read_host_file(Path::new(path)),
            Some(path) => path,
            None => "Dockerfile",
        };
        let shown = self.dir.join(rel.trim_start_matches('/'));
        let root =
            kiln_inroot::Root::open(&self.dir).map_err(ContextSourceError::DockerfileInRoot)?;
        let bytes = root
            .read_file(rel, MAX_DOCKERFILE_BYTES as u64)
            .map_err(ContextSourceError::DockerfileInRoot)?
            .ok_or_else(|| ContextSourceError::DockerfileMissing {
                shown: shown.clone(),
            })?;
        let text = String::from_utf8(bytes).map_err(|_| ContextSourceError::DockerfileNotUtf8 {
            shown: shown.clone(),
        })?;
        Ok((text, shown))
    }
}

/// A `-f` Dockerfile on the host, read as given.
fn read_host_file(path: &Path) -> Result<(String, PathBuf), ContextSourceError> {
    let file = std::fs::File::open(path).map_err(|source| ContextSourceError::DockerfileOpen {
        path: path.to_path_buf(),
        source,
    })?;
    let text = read_bounded(file).map_err(|e| ContextSourceError::DockerfileRead {
        path: path.to_path_buf(),
        source: Box::new(e),
    })?;
    Ok((text, path.to_path_buf()))
}

/// All of `reader` as UTF-8 text, refusing more than the parser's
/// [`MAX_DOCKERFILE_BYTES`] before holding it.
fn read_bounded(reader: impl Read) -> Result<String, ContextSourceError> {
    let mut text = String::new();
    reader
        .take(MAX_DOCKERFILE_BYTES as u64 + 1)
        .read_to_string(&mut text)
        .map_err(ContextSourceError::DockerfileIo)?;
    if text.len() > MAX_DOCKERFILE_BYTES {
        return Err(ContextSourceError::DockerfileTooBig {
            max: MAX_DOCKERFILE_BYTES,
        });
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context_source::{prepare, prepare_tar};

    #[test]
    fn the_dockerfile_of_a_remote_context_is_read_inside_it() {
        let root = tempfile::tempdir().unwrap();
        let source = prepare_tar(
            root.path(),
            &tar_of(&[("sub/Dockerfile.x", "FROM scratch\n")])[..],
        )
        .unwrap();
        std::os::unix::fs::symlink("/etc/hostname", source.dir.join("Dockerfile")).unwrap();
        let (text, shown) = source.read_dockerfile(Some("/sub/Dockerfile.x")).unwrap();
        assert_eq!(
            (text.as_str(), shown),
            ("FROM scratch\n", source.dir.join("sub/Dockerfile.x"))
        );
        // The default name is a symlink to a host file: resolved in the context, it is missing.
        let err = source.read_dockerfile(None).err().unwrap();
        assert_eq!(
            err.to_string(),
            format!(
                "failed to read dockerfile: open {}: no such file in the build context",
                source.dir.join("Dockerfile").display()
            )
        );
    }

    #[test]
    fn a_host_dockerfile_over_the_limit_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let source = prepare(dir.path(), dir.path().to_str().unwrap()).unwrap();
        let big = dir.path().join("Big");
        std::fs::write(&big, vec![b'#'; MAX_DOCKERFILE_BYTES + 1]).unwrap();
        let err = source.read_dockerfile(big.to_str()).err().unwrap();
        let chain = format!("{err}: {}", std::error::Error::source(&err).unwrap());
        assert_eq!(
            chain,
            format!(
                "failed to read dockerfile {}: the Dockerfile is over kiln's limit of {MAX_DOCKERFILE_BYTES} bytes",
                big.display()
            )
        );
    }

    fn tar_of(files: &[(&str, &str)]) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        for (name, text) in files {
            let mut header = tar::Header::new_gnu();
            header.set_size(text.len() as u64);
            header.set_mode(0o644);
            header.set_uid(0);
            header.set_gid(0);
            header.set_mtime(0);
            builder
                .append_data(&mut header, name, text.as_bytes())
                .unwrap();
        }
        builder.into_inner().unwrap()
    }
}
