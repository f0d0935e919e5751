//! Container logs in Docker's `json-file` format: one JSON object per line,
//! `{"log":"text\n","stream":"stdout","time":"2024-01-02T03:04:05.123456789Z"}`.
//!
//! [`LogWriter`] cuts each stream into lines (a line keeps its `\n`; a partial
//! line is held until its end arrives, or written once 16 KiB accumulate, as
//! Docker does), [`read_log`] parses a log file back for `kiln logs`.

use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};

/// Longest partial line held back before it is written anyway.
const MAX_PARTIAL: usize = 16 * 1024;

/// Which output stream a log line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stream {
    /// fd 1 (and everything from a terminal).
    Stdout,
    /// fd 2.
    Stderr,
}

/// One log line as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogEntry {
    /// The text, with its `\n` when it had one.
    pub log: String,
    /// Where it came from.
    pub stream: Stream,
    /// RFC 3339 with nanoseconds.
    pub time: String,
}

/// Appends a container's output to its JSON log.
pub struct LogWriter {
    file: File,
    partial: [Vec<u8>; 2],
}

impl LogWriter {
    /// Opens `path` for appending (creating it).
    pub fn open(path: &Path) -> io::Result<LogWriter> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        Ok(LogWriter {
            file,
            partial: [Vec::new(), Vec::new()],
        })
    }

    /// Adds bytes read from `stream`; complete lines are written at once.
    pub fn write(&mut self, stream: Stream, bytes: &[u8]) -> io::Result<()> {
        let slot = stream as usize;
        let mut buffer = std::mem::take(&mut self.partial[slot]);
        buffer.extend_from_slice(bytes);
        let mut start = 0;
        while let Some(end) = buffer[start..].iter().position(|&b| b == b'\n') {
            self.entry(stream, &buffer[start..start + end + 1])?;
            start += end + 1;
        }
        if buffer.len() - start >= MAX_PARTIAL {
            self.entry(stream, &buffer[start..])?;
            start = buffer.len();
        }
        buffer.drain(..start);
        self.partial[slot] = buffer;
        Ok(())
    }

    /// Writes what is held of unfinished lines (at the container's exit).
    pub fn flush(&mut self) -> io::Result<()> {
        for stream in [Stream::Stdout, Stream::Stderr] {
            let held = std::mem::take(&mut self.partial[stream as usize]);
            if !held.is_empty() {
                self.entry(stream, &held)?;
            }
        }
        Ok(())
    }

    fn entry(&mut self, stream: Stream, line: &[u8]) -> io::Result<()> {
        let (secs, nanos) = kiln_image::time::now();
        let entry = LogEntry {
            log: String::from_utf8_lossy(line).into_owned(),
            stream,
            time: kiln_image::time::format_rfc3339_nanos(secs, nanos),
        };
        let mut text = serde_json::to_vec(&entry).map_err(io::Error::other)?;
        text.push(b'\n');
        self.file.write_all(&text)
    }
}

/// Reads every complete entry of a log file from byte `offset`; returns them
/// and the offset after the last complete line (for following). A missing
/// file is an empty log.
pub fn read_log(path: &Path, offset: u64) -> io::Result<(Vec<LogEntry>, u64)> {
    use std::io::Seek;
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok((Vec::new(), offset)),
        Err(e) => return Err(e),
    };
    file.seek(io::SeekFrom::Start(offset))?;
    let mut reader = BufReader::new(file);
    let mut entries = Vec::new();
    let mut position = offset;
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = reader.read_until(b'\n', &mut line)?;
        if n == 0 || line.last() != Some(&b'\n') {
            break;
        }
        position += n as u64;
        if let Ok(entry) = serde_json::from_slice::<LogEntry>(&line) {
            entries.push(entry);
        }
    }
    Ok((entries, position))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_cut_and_partials_held() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("c-json.log");
        let mut writer = LogWriter::open(&path).unwrap();
        writer.write(Stream::Stdout, b"one\ntw").unwrap();
        writer.write(Stream::Stderr, b"err\n").unwrap();
        writer.write(Stream::Stdout, b"o\nthree").unwrap();
        let (entries, _) = read_log(&path, 0).unwrap();
        let logs: Vec<_> = entries.iter().map(|e| (e.stream, e.log.as_str())).collect();
        assert_eq!(
            logs,
            [
                (Stream::Stdout, "one\n"),
                (Stream::Stderr, "err\n"),
                (Stream::Stdout, "two\n")
            ]
        );
        writer.flush().unwrap();
        let (entries, end) = read_log(&path, 0).unwrap();
        assert_eq!(entries.last().unwrap().log, "three");
        assert!(entries[0].time.ends_with('Z'));
        assert_eq!(end, std::fs::metadata(&path).unwrap().len());
        assert!(read_log(&path, end).unwrap().0.is_empty());
        assert!(read_log(&tmp.path().join("none"), 0).unwrap().0.is_empty());
    }

    #[test]
    fn long_partial_lines_are_written() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("log");
        let mut writer = LogWriter::open(&path).unwrap();
        writer
            .write(Stream::Stdout, &vec![b'x'; MAX_PARTIAL + 5])
            .unwrap();
        let (entries, _) = read_log(&path, 0).unwrap();
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].log.len(), MAX_PARTIAL + 5);
    }
}
