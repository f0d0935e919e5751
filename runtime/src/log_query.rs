//! `docker logs` as a library: a container's JSON log filtered by time
//! (`--since`/`--until`) and cut to its last lines (`--tail`), then — to
//! follow it — the entries written after, until the container stops. A
//! Compose engine's `logs -f` follows several containers with it.

use std::path::PathBuf;
use std::time::Duration;

use kiln_image::time::parse_rfc3339;

use crate::container::{ContainerError, ContainerStore};
use crate::lifecycle;
use crate::monitor::{log_path, read_log, LogEntry};

/// Why the log could not be read.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// No such container (or the store failed).
    #[error(transparent)]
    Container(#[from] ContainerError),
    /// The log file could not be read.
    #[error("read {}: {source}", .path.display())]
    Read {
        /// The log file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The caller's sink failed (a closed pipe).
    #[error(transparent)]
    Sink(std::io::Error),
}

/// Which entries to show.
#[derive(Debug, Clone, Copy, Default)]
pub struct LogQuery {
    /// Only entries at or after this Unix time.
    pub since: Option<u64>,
    /// Only entries before this Unix time.
    pub until: Option<u64>,
    /// Only the last this many (of those in the time range).
    pub tail: Option<usize>,
}

impl LogQuery {
    fn keeps(&self, entry: &LogEntry) -> bool {
        let t = parse_rfc3339(&entry.time).unwrap_or(0);
        self.since.is_none_or(|s| t >= s) && self.until.is_none_or(|u| t < u)
    }
}

/// A container's log being read: the container and how far it was read.
pub struct LogReader<'s> {
    store: &'s ContainerStore,
    id: String,
    path: PathBuf,
    offset: u64,
    query: LogQuery,
}

impl<'s> LogReader<'s> {
    /// Opens the log of container `name` (name, ID or ID prefix).
    pub fn open(store: &'s ContainerStore, name: &str, query: LogQuery) -> Result<Self, LogError> {
        let container = store.find(name)?;
        let id = container.record.id;
        Ok(LogReader {
            store,
            path: log_path(store, &id),
            id,
            offset: 0,
            query,
        })
    }

    fn read(&mut self) -> Result<Vec<LogEntry>, LogError> {
        let (entries, next) =
            read_log(&self.path, self.offset).map_err(|source| LogError::Read {
                path: self.path.clone(),
                source,
            })?;
        self.offset = next;
        Ok(entries
            .into_iter()
            .filter(|e| self.query.keeps(e))
            .collect())
    }

    /// The entries written so far that the query keeps (the last `tail`).
    pub fn existing(&mut self) -> Result<Vec<LogEntry>, LogError> {
        let mut entries = self.read()?;
        if let Some(n) = self.query.tail {
            let skip = entries.len().saturating_sub(n);
            entries.drain(..skip);
        }
        Ok(entries)
    }

    /// Hands `sink` the entries written after [`LogReader::existing`] as
    /// they come (polled every 100 ms), until the container is no longer
    /// active (or removed) and its log is drained.
    pub fn follow(
        &mut self,
        mut sink: impl FnMut(&[LogEntry]) -> std::io::Result<()>,
    ) -> Result<(), LogError> {
        loop {
            let more = self.read()?;
            sink(&more).map_err(LogError::Sink)?;
            if !more.is_empty() {
                continue;
            }
            let Ok(mut current) = self.store.get(&self.id) else {
                return Ok(());
            };
            lifecycle::reconcile(self.store, &mut current);
            if !current.state.status.is_active() {
                let (rest, _) =
                    read_log(&self.path, self.offset).map_err(|source| LogError::Read {
                        path: self.path.clone(),
                        source,
                    })?;
                return sink(&rest).map_err(LogError::Sink);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::container::{new_id, ContainerRecord, State, Status};
    use crate::monitor::Stream;

    /// A stopped container whose log has entries at Unix times 10, 20, 30.
    fn setup() -> (tempfile::TempDir, ContainerStore) {
        let tmp = tempfile::tempdir().unwrap();
        let store = ContainerStore::open(tmp.path()).unwrap();
        let id = new_id().unwrap();
        store
            .create(&ContainerRecord {
                id: id.clone(),
                name: "web".into(),
                created: kiln_image::time::format_rfc3339_nanos(1, 0),
                image_id: String::new(),
                manifest: String::new(),
                path: "true".into(),
                args: vec![],
                config: Default::default(),
                host_config: Default::default(),
                mounts: vec![],
                runtime: "kiln".into(),
                snapshotter: "overlay".into(),
                snapshot_key: String::new(),
                endpoints_config: Default::default(),
            })
            .unwrap();
        let state = State {
            status: Status::Exited,
            ..State::default()
        };
        store.save_state(&id, &state).unwrap();
        let mut log = String::new();
        for (t, text, stream) in [
            (10, "a", Stream::Stdout),
            (20, "b", Stream::Stderr),
            (30, "c", Stream::Stdout),
        ] {
            let entry = LogEntry {
                log: format!("{text}\n"),
                stream,
                time: kiln_image::time::format_rfc3339_nanos(t, 0),
            };
            log.push_str(&serde_json::to_string(&entry).unwrap());
            log.push('\n');
        }
        std::fs::write(log_path(&store, &id), log).unwrap();
        (tmp, store)
    }

    fn texts(entries: &[LogEntry]) -> String {
        entries.iter().map(|e| e.log.as_str()).collect()
    }

    #[test]
    fn time_range_then_tail() {
        let (_tmp, store) = setup();
        let all = LogReader::open(&store, "web", LogQuery::default())
            .unwrap()
            .existing()
            .unwrap();
        assert_eq!(texts(&all), "a\nb\nc\n");
        let query = LogQuery {
            since: Some(20),
            until: None,
            tail: None,
        };
        assert_eq!(
            texts(
                &LogReader::open(&store, "web", query)
                    .unwrap()
                    .existing()
                    .unwrap()
            ),
            "b\nc\n"
        );
        let query = LogQuery {
            since: Some(10),
            until: Some(30),
            tail: Some(1),
        };
        assert_eq!(
            texts(
                &LogReader::open(&store, "web", query)
                    .unwrap()
                    .existing()
                    .unwrap()
            ),
            "b\n"
        );
    }

    #[test]
    fn following_a_stopped_container_ends_after_the_rest() {
        let (_tmp, store) = setup();
        let query = LogQuery {
            tail: Some(1),
            ..LogQuery::default()
        };
        let mut reader = LogReader::open(&store, "web", query).unwrap();
        assert_eq!(texts(&reader.existing().unwrap()), "c\n");
        let mut seen = Vec::new();
        reader
            .follow(|entries| {
                seen.extend_from_slice(entries);
                Ok(())
            })
            .unwrap();
        assert!(seen.is_empty(), "nothing was written after: {seen:?}");
        let err = LogReader::open(&store, "db", LogQuery::default())
            .err()
            .unwrap();
        assert_eq!(err.to_string(), "No such container: db");
    }
}
