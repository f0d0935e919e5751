//! Image store commands with Docker's names and flags: `import`, `load`,
//! `save`, `tag` (`images` is in `image_list`, `rmi`/`prune` in
//! `image_remove`, `inspect`/`history` in `image_inspect`).
//!
//! `load` of an image without a name and `tag`/`import` moving a name away
//! from an image that then has none keep that image as dangling (see
//! `image_model`).

use super::image_model::{find_one, keep_if_orphaned, tag_image};
use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use kiln_image::archive::{import_rootfs_with, load_file, save, ArchiveFormat, ImportOptions};
use kiln_image::oci::ImageManifest;
use kiln_image::{ContentStore, Digest, ImageIndex, Reference};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// The image stores under `--root`.
pub struct Stores {
    /// Blobs.
    pub content: ContentStore,
    /// Tags.
    pub index: ImageIndex,
}

impl Stores {
    /// Opens (creating if needed) the stores under `root`.
    pub fn open(root: &Path) -> Result<Stores> {
        Ok(Stores {
            content: ContentStore::new(root)?,
            index: ImageIndex::new(root)?,
        })
    }
}

/// `kiln import FILE NAME[:TAG]`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// A root filesystem tar (plain or gzip); `-` reads standard input.
    pub file: PathBuf,
    /// The name to tag the new image with.
    pub reference: String,
}

/// `kiln load -i FILE`.
#[derive(Debug, Args)]
pub struct LoadArgs {
    /// The archive to read (docker-archive or OCI archive, plain or gzip).
    #[arg(short, long)]
    pub input: PathBuf,
    /// Print only the loaded image references.
    #[arg(short, long)]
    pub quiet: bool,
}

/// Archive formats of `kiln save`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum SaveFormat {
    /// What `docker save` writes.
    Docker,
    /// A tar of an OCI image layout.
    Oci,
}

/// `kiln save -o FILE IMAGE…`.
#[derive(Debug, Args)]
pub struct SaveArgs {
    /// Where to write the archive (written to a temp name, renamed when complete).
    #[arg(short, long)]
    pub output: PathBuf,
    /// The archive format.
    #[arg(long, value_enum, default_value = "docker")]
    pub format: SaveFormat,
    /// The images to save.
    #[arg(required = true)]
    pub images: Vec<String>,
}

/// `kiln tag SOURCE TARGET`.
#[derive(Debug, Args)]
pub struct TagArgs {
    /// An existing image (name or ID).
    pub source: String,
    /// The new name for it.
    pub target: String,
}

fn parse_reference(text: &str) -> Result<Reference> {
    Reference::parse(text).with_context(|| format!("invalid reference format: {text:?}"))
}

/// Runs `kiln import`.
pub fn import(root: &Path, args: ImportArgs) -> Result<()> {
    let stores = Stores::open(root)?;
    let reference = parse_reference(&args.reference)?;
    let options = ImportOptions::default();
    let previous = stores.index.get(&reference)?.map(|r| r.digest);
    let digest = if args.file == Path::new("-") {
        import_rootfs_with(
            &stores.content,
            &stores.index,
            std::io::stdin().lock(),
            &reference,
            &options,
        )?
    } else {
        let file = File::open(&args.file)
            .with_context(|| format!("cannot open {}", args.file.display()))?;
        import_rootfs_with(&stores.content, &stores.index, file, &reference, &options)
            .with_context(|| format!("cannot import {}", args.file.display()))?
    };
    if let Some(old) = previous.filter(|old| *old != digest) {
        keep_if_orphaned(&stores.index, &old)?;
    }
    println!("{}", config_digest(&stores.content, &digest)?);
    Ok(())
}

/// Runs `kiln load`.
pub fn load(root: &Path, args: LoadArgs) -> Result<()> {
    let stores = Stores::open(root)?;
    let loaded = load_file(&stores.content, &stores.index, &args.input)
        .with_context(|| format!("cannot load {}", args.input.display()))?;
    for image in loaded {
        if image.reference.is_none() {
            keep_if_orphaned(&stores.index, &image.digest)?;
        }
        match (&image.reference, args.quiet) {
            (Some(reference), _) => println!("Loaded image: {}", reference.familiar()),
            (None, false) => println!(
                "Loaded image ID: {}",
                config_digest(&stores.content, &image.digest)?
            ),
            (None, true) => {}
        }
    }
    Ok(())
}

/// Runs `kiln save`: writes `<output>.tmp-<pid>`, then renames it into place.
pub fn save_images(root: &Path, args: SaveArgs) -> Result<()> {
    let stores = Stores::open(root)?;
    let references = args
        .images
        .iter()
        .map(|i| parse_reference(i))
        .collect::<Result<Vec<_>>>()?;
    let format = match args.format {
        SaveFormat::Docker => ArchiveFormat::Docker,
        SaveFormat::Oci => ArchiveFormat::Oci,
    };
    let temp = args
        .output
        .with_extension(format!("tmp-{}", std::process::id()));
    let result = (|| -> Result<()> {
        let file =
            File::create(&temp).with_context(|| format!("cannot create {}", temp.display()))?;
        let mut out = save(
            &stores.content,
            &stores.index,
            &references,
            format,
            BufWriter::new(file),
        )?;
        out.flush()?;
        out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        std::fs::rename(&temp, &args.output)
            .with_context(|| format!("cannot write {}", args.output.display()))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result
}

/// Runs `kiln tag`.
pub fn tag(root: &Path, args: TagArgs) -> Result<()> {
    let stores = Stores::open(root)?;
    let image = find_one(&stores.content, &stores.index, &args.source)?;
    tag_image(
        &stores.index,
        &parse_reference(&args.target)?,
        &image.manifest,
    )
}

/// The config digest (Docker's image ID) of the manifest `digest`.
fn config_digest(content: &ContentStore, digest: &Digest) -> Result<String> {
    let doc: ImageManifest = content.read_json(digest)?;
    Ok(doc.config().digest().to_string())
}

/// Seconds since the epoch of an RFC 3339 timestamp (`2024-01-02T03:04:05Z`, any fraction/offset).
pub(crate) fn parse_rfc3339_seconds(text: &str) -> Option<u64> {
    let (date, time) = text.split_once('T')?;
    let mut d = date.split('-').map(|p| p.parse::<i64>().ok());
    let (y, m, day) = (d.next()??, d.next()??, d.next()??);
    let hms: Vec<i64> = time
        .get(..8)?
        .split(':')
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    let offset = match time[8..].trim_start_matches(|c: char| c == '.' || c.is_ascii_digit()) {
        "Z" | "" => 0,
        tz => {
            let sign = if tz.starts_with('-') { -1 } else { 1 };
            let (h, mi) = tz[1..].split_once(':')?;
            sign * (h.parse::<i64>().ok()? * 3600 + mi.parse::<i64>().ok()? * 60)
        }
    };
    let days = days_from_civil(y, m, day);
    u64::try_from(days * 86_400 + hms[0] * 3600 + hms[1] * 60 + hms[2] - offset).ok()
}

/// An RFC 3339 UTC timestamp (`2024-01-02T03:04:05Z`) of Unix seconds.
pub(crate) fn format_rfc3339(epoch: u64) -> String {
    let days = (epoch / 86_400) as i64;
    let secs = epoch % 86_400;
    // Inverse of days_from_civil (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Docker's "5 minutes ago" style.
pub(crate) fn human_age(epoch: u64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let secs = now.saturating_sub(epoch);
    let (n, unit) = match secs {
        0..=59 => return "Less than a minute ago".to_string(),
        60..=3_599 => (secs / 60, "minute"),
        3_600..=86_399 => (secs / 3_600, "hour"),
        86_400..=1_209_599 => (secs / 86_400, "day"),
        1_209_600..=5_183_999 => (secs / 604_800, "week"),
        5_184_000..=63_071_999 => (secs / 2_592_000, "month"),
        _ => (secs / 31_536_000, "year"),
    };
    format!("{n} {unit}{} ago", if n == 1 { "" } else { "s" })
}

/// Docker's decimal sizes: `4.26MB`.
pub(crate) fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes}B")
    } else {
        format!("{value:.3}")
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_string()
            + UNITS[unit]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_timestamps() {
        assert_eq!(parse_rfc3339_seconds("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_rfc3339_seconds("2024-03-01T12:00:00.123456789Z"),
            Some(1_709_294_400)
        );
        assert_eq!(
            parse_rfc3339_seconds("2024-03-01T13:00:00+01:00"),
            Some(1_709_294_400)
        );
        assert_eq!(parse_rfc3339_seconds("garbage"), None);
    }

    #[test]
    fn formats_timestamps() {
        assert_eq!(format_rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_rfc3339(1_709_294_400), "2024-03-01T12:00:00Z");
        assert_eq!(format_rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn formats_sizes_like_docker() {
        assert_eq!(human_size(999), "999B");
        assert_eq!(human_size(4_260_000), "4.26MB");
        assert_eq!(human_size(1_000), "1kB");
    }
}
