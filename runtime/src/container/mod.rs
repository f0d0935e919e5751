//! Containers as kiln keeps them: a record of what each one is
//! ([`ContainerRecord`]), its lifecycle [`State`], and the [`ContainerStore`]
//! that holds both under `<root>/containers`.
//!
//! The store knows nothing of processes; the monitor ([`crate::monitor`]) and
//! the lifecycle operations ([`crate::lifecycle`]) change state through it.
//! [`filter`]: `docker ps` filters and the selection `ps` shows.

mod error;
pub mod filter;
mod names;
pub mod process;
mod record;
mod state;
mod store;

pub use error::{ContainerError, Result};
pub use names::{new_id, random_name, short_id, valid_name};
pub use record::{
    ContainerConfig, ContainerRecord, EndpointConfig, HealthConfig, HostConfig, MountPoint,
    PortBinding, RestartPolicy,
};
pub use state::{Event, Health, HealthLog, Refusal, State, Status};
pub use store::{Container, ContainerStore};
