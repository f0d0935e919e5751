//! Cooperative cancellation shared by the solver and running vertices.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Set once by the solver when the build must stop; executors poll it (or
/// hand it to whatever waits on a process) and return
/// [`ExecError::Cancelled`](super::ExecError::Cancelled) early.
#[derive(Debug, Clone, Default)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    /// A token that is not cancelled.
    pub fn new() -> CancelToken {
        CancelToken::default()
    }

    /// Asks everything holding a clone to stop.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// True once [`Self::cancel`] was called on any clone.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}
