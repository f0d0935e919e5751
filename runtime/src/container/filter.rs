//! `docker ps` filters (`--filter KEY=VALUE`) and the selection of the
//! containers `ps` shows, for the CLI and a Compose engine's `ps`.
//!
//! Docker's keys: `status=` (created, running, paused, restarting, exited,
//! dead, removing), `name=` (substring, as Docker), `label=KEY` or
//! `label=KEY=VALUE`, `ancestor=` (image as given, its name without tag, or
//! an image ID prefix of at least 4 digits), `id=` (prefix), `health=`
//! (starting, healthy, unhealthy, none). Different keys must all match;
//! values of one key match if any does.

use super::{Container, ContainerStore, Result};
use crate::lifecycle;

/// A filter Docker would refuse, in Docker's words.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FilterError {
    /// No `=` in the filter.
    #[error("bad format of filter (expected name=value): {0}")]
    Format(String),
    /// A key Docker does not know.
    #[error("invalid filter '{0}'")]
    Key(String),
    /// `status=` with an unknown status.
    #[error("invalid filter 'status={0}'")]
    Status(String),
}

/// Parsed `--filter` values: each key with its values, in first-seen order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContainerFilters {
    keys: Vec<(String, Vec<String>)>,
}

const KEYS: [&str; 6] = ["status", "name", "label", "ancestor", "id", "health"];
const STATUSES: [&str; 7] = [
    "created",
    "running",
    "paused",
    "restarting",
    "exited",
    "dead",
    "removing",
];

impl ContainerFilters {
    /// Parses `KEY=VALUE` filters.
    pub fn parse(given: &[String]) -> std::result::Result<ContainerFilters, FilterError> {
        let mut keys: Vec<(String, Vec<String>)> = Vec::new();
        for filter in given {
            let Some((key, value)) = filter.split_once('=') else {
                return Err(FilterError::Format(filter.clone()));
            };
            if !KEYS.contains(&key) {
                return Err(FilterError::Key(key.into()));
            }
            if key == "status" && !STATUSES.contains(&value) {
                return Err(FilterError::Status(value.into()));
            }
            match keys.iter_mut().find(|(k, _)| k == key) {
                Some((_, values)) => values.push(value.to_string()),
                None => keys.push((key.to_string(), vec![value.to_string()])),
            }
        }
        Ok(ContainerFilters { keys })
    }

    /// Whether no filter was given.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Whether `container` passes every key (any value of a key).
    pub fn matches(&self, container: &Container) -> bool {
        self.keys
            .iter()
            .all(|(key, values)| values.iter().any(|v| matches(container, key, v)))
    }
}

/// The containers `ps` shows, newest first, their state reconciled: the
/// active ones, or all with `all` or any filter (as Docker), that pass
/// `filters`.
pub fn select(
    store: &ContainerStore,
    all: bool,
    filters: &ContainerFilters,
) -> Result<Vec<Container>> {
    let mut containers = store.list()?;
    for container in &mut containers {
        lifecycle::reconcile(store, container);
    }
    containers.reverse(); // newest first, as Docker
    containers.retain(|c| {
        (all || !filters.is_empty() || c.state.status.is_active()) && filters.matches(c)
    });
    Ok(containers)
}

fn matches(c: &Container, key: &str, value: &str) -> bool {
    match key {
        "status" => c.state.status.as_str() == value,
        "name" => c.record.name.contains(value.trim_start_matches('/')),
        "id" => c.record.id.starts_with(value),
        "health" => match &c.state.health {
            Some(health) => health.status == value,
            None => value == "none",
        },
        "label" => match value.split_once('=') {
            Some((k, v)) => c.record.config.labels.get(k).is_some_and(|x| x == v),
            None => c.record.config.labels.contains_key(value),
        },
        "ancestor" => {
            let image = &c.record.config.image;
            let id = c.record.image_id.trim_start_matches("sha256:");
            image == value
                || image.split(':').next() == Some(value)
                || (value.len() >= 4 && id.starts_with(value.trim_start_matches("sha256:")))
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::container::{new_id, ContainerRecord, Health, State, Status};

    fn container(name: &str, created: u64, status: Status) -> Container {
        let mut record = ContainerRecord {
            id: new_id().unwrap(),
            name: name.into(),
            created: kiln_image::time::format_rfc3339_nanos(created, 0),
            image_id: format!("sha256:{}", "ab12".repeat(16)),
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
        };
        record.config.image = "busybox:1.36".into();
        record.config.labels.insert("tier".into(), "web".into());
        let state = State {
            status,
            ..State::default()
        };
        Container { record, state }
    }

    fn filters(given: &[&str]) -> ContainerFilters {
        let given: Vec<String> = given.iter().map(|s| s.to_string()).collect();
        ContainerFilters::parse(&given).unwrap()
    }

    #[test]
    fn bad_filters_are_refused_in_dockers_words() {
        let parse = |f: &str| {
            ContainerFilters::parse(&[f.to_string()])
                .err()
                .unwrap()
                .to_string()
        };
        assert_eq!(
            parse("status"),
            "bad format of filter (expected name=value): status"
        );
        assert_eq!(parse("colour=red"), "invalid filter 'colour'");
        assert_eq!(parse("status=sleeping"), "invalid filter 'status=sleeping'");
    }

    #[test]
    fn keys_and_values_combine_as_docker() {
        let mut c = container("web-1", 1, Status::Exited);
        c.state.health = Some(Health {
            status: "healthy".into(),
            failing_streak: 0,
            log: vec![],
        });
        let yes = [
            &["status=exited"][..],
            &["status=running", "status=exited"],
            &["name=/web"],
            &["label=tier", "label=tier=web"],
            &["ancestor=busybox:1.36"],
            &["ancestor=busybox"],
            &["ancestor=ab12ab"],
            &["ancestor=sha256:ab12"],
            &["id=", "health=healthy"],
        ];
        for given in yes {
            assert!(filters(given).matches(&c), "{given:?}");
        }
        let no = [
            &["status=running"][..],
            &["name=db"],
            &["label=tier=db"],
            &["ancestor=ab1"],
            &["ancestor=alpine"],
            &["health=none"],
            &["status=exited", "name=db"],
        ];
        for given in no {
            assert!(!filters(given).matches(&c), "{given:?}");
        }
        c.state.health = None;
        assert!(filters(&["health=none"]).matches(&c));
    }

    #[test]
    fn select_shows_active_unless_all_or_filtered_newest_first() {
        let tmp = tempfile::tempdir().unwrap();
        let store = ContainerStore::open(tmp.path()).unwrap();
        for c in [
            container("old", 1, Status::Exited),
            container("new", 2, Status::Created),
        ] {
            store.create(&c.record).unwrap();
            store.save_state(&c.record.id, &c.state).unwrap();
        }
        let none = ContainerFilters::default();
        assert!(select(&store, false, &none).unwrap().is_empty());
        let names =
            |list: Vec<Container>| list.into_iter().map(|c| c.record.name).collect::<Vec<_>>();
        assert_eq!(names(select(&store, true, &none).unwrap()), ["new", "old"]);
        let exited = filters(&["status=exited"]);
        assert_eq!(names(select(&store, false, &exited).unwrap()), ["old"]);
    }
}
