//! The independent store checker of the reliability tests: re-hashes every
//! blob with the system `sha256sum` and follows every index entry to its
//! manifest, config and layers.

use super::json::Json;
use super::kiln;
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

// ------------------------------------------------------- store checker

/// What a consistency check saw.
#[derive(Debug, Default)]
pub(crate) struct StoreReport {
    pub(crate) blobs: usize,
    pub(crate) ingest_leftovers: usize,
    pub(crate) index_tmp_present: bool,
    /// reference -> (manifest digest, config digest)
    pub(crate) images: BTreeMap<String, (String, String)>,
}

/// sha256 of each file, via the system `sha256sum` (one process for all).
fn sha256_files(files: &[PathBuf]) -> Result<Vec<String>, String> {
    if files.is_empty() {
        return Ok(Vec::new());
    }
    let out = Command::new("sha256sum")
        .args(files)
        .output()
        .map_err(|e| format!("sha256sum: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "sha256sum: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let sums: Vec<String> = text
        .lines()
        .map(|l| l.split_whitespace().next().unwrap_or("").to_string())
        .collect();
    if sums.len() != files.len() {
        return Err(format!(
            "sha256sum gave {} lines for {} files",
            sums.len(),
            files.len()
        ));
    }
    Ok(sums)
}

fn hex_of(digest: &str) -> Result<&str, String> {
    digest
        .strip_prefix("sha256:")
        .filter(|h| {
            h.len() == 64
                && h.bytes()
                    .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        })
        .ok_or_else(|| format!("bad digest {digest:?}"))
}

/// Checks the store under `root`: every blob hashes to its name; images.json
/// (never images.json.tmp) parses and every image is complete; `kiln images`
/// succeeds and lists exactly images.json's references.
pub(crate) fn check_store(root: &Path) -> Result<StoreReport, String> {
    let mut report = StoreReport::default();
    let blobs_dir = root.join("content/blobs/sha256");
    let mut files = Vec::new();
    let mut names = Vec::new();
    if let Ok(entries) = fs::read_dir(&blobs_dir) {
        for entry in entries {
            let entry = entry.map_err(|e| e.to_string())?;
            let name = entry.file_name().to_string_lossy().into_owned();
            hex_of(&format!("sha256:{name}"))
                .map_err(|_| format!("foreign file in blobs: {name}"))?;
            files.push(entry.path());
            names.push(name);
        }
    }
    for (name, sum) in names.iter().zip(sha256_files(&files)?) {
        if *name != sum {
            return Err(format!("blob {name} hashes to {sum}"));
        }
    }
    report.blobs = names.len();
    report.ingest_leftovers = fs::read_dir(root.join("content/ingest")).map_or(0, |d| d.count());
    report.index_tmp_present = root.join("images.json.tmp").exists();

    let blob = |digest: &str| -> Result<Vec<u8>, String> {
        fs::read(blobs_dir.join(hex_of(digest)?)).map_err(|e| format!("blob {digest}: {e}"))
    };
    let check_desc = |desc: &Json| -> Result<String, String> {
        let digest = desc
            .get("digest")
            .and_then(Json::str)
            .ok_or("descriptor without digest")?;
        let size = desc
            .get("size")
            .and_then(Json::num)
            .ok_or("descriptor without size")?;
        let meta = fs::metadata(blobs_dir.join(hex_of(digest)?))
            .map_err(|e| format!("missing blob {digest}: {e}"))?;
        if meta.len() as f64 != size {
            return Err(format!(
                "blob {digest} has {} bytes, descriptor says {size}",
                meta.len()
            ));
        }
        Ok(digest.to_string())
    };
    // Returns the config digest of a manifest (the first one, for an index).
    fn walk(
        digest: &str,
        blob: &dyn Fn(&str) -> Result<Vec<u8>, String>,
        check_desc: &dyn Fn(&Json) -> Result<String, String>,
    ) -> Result<String, String> {
        let doc = Json::parse(&blob(digest)?).map_err(|e| format!("manifest {digest}: {e}"))?;
        if let Some(children) = doc.get("manifests").and_then(Json::arr) {
            let mut first = None;
            for child in children {
                let d = check_desc(child)?;
                let c = walk(&d, blob, check_desc)?;
                first.get_or_insert(c);
            }
            return first.ok_or_else(|| format!("index {digest} is empty"));
        }
        let config = doc
            .get("config")
            .ok_or(format!("manifest {digest}: no config"))?;
        let config_digest = check_desc(config)?;
        let config_doc = Json::parse(&blob(&config_digest)?)
            .map_err(|e| format!("config {config_digest}: {e}"))?;
        let layers = doc
            .get("layers")
            .and_then(Json::arr)
            .ok_or("manifest without layers")?;
        for layer in layers {
            check_desc(layer)?;
        }
        let diff_ids = config_doc
            .get("rootfs")
            .and_then(|r| r.get("diff_ids"))
            .and_then(Json::arr)
            .ok_or(format!("config {config_digest}: no rootfs.diff_ids"))?;
        if diff_ids.len() != layers.len() {
            return Err(format!(
                "manifest {digest}: {} layers, {} diff_ids",
                layers.len(),
                diff_ids.len()
            ));
        }
        Ok(config_digest)
    }

    match fs::read(root.join("images.json")) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(format!("images.json: {e}")),
        Ok(bytes) => {
            let index = Json::parse(&bytes).map_err(|e| format!("images.json: {e}"))?;
            if index.get("version").and_then(Json::num) != Some(1.0) {
                return Err("images.json: version is not 1".into());
            }
            let Some(Json::Obj(images)) = index.get("images") else {
                return Err("images.json: no images object".into());
            };
            for (reference, record) in images {
                let digest = record
                    .get("digest")
                    .and_then(Json::str)
                    .ok_or(format!("images.json: {reference} has no digest"))?;
                record
                    .get("created")
                    .and_then(Json::num)
                    .ok_or(format!("images.json: {reference} has no created"))?;
                let config =
                    walk(digest, &blob, &check_desc).map_err(|e| format!("{reference}: {e}"))?;
                report
                    .images
                    .insert(reference.clone(), (digest.to_string(), config));
            }
        }
    }

    // The next command works, and sees images.json (not a leftover .tmp).
    let out = kiln(root, &["images", "--digests"]);
    if !out.status.success() {
        return Err(format!(
            "kiln images: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let listed = String::from_utf8_lossy(&out.stdout)
        .lines()
        .count()
        .saturating_sub(1);
    if listed != report.images.len() {
        return Err(format!(
            "kiln images lists {listed} rows, images.json has {}",
            report.images.len()
        ));
    }
    Ok(report)
}

pub(crate) fn assert_consistent(root: &Path, context: &str) -> StoreReport {
    check_store(root).unwrap_or_else(|e| panic!("store inconsistent ({context}): {e}"))
}
