//! `kiln-compose`: Compose projects.
//!
//! Owns the observe -> reconcile (pure, returns a printable Plan) -> execute loop
//! over a loaded `Project`: networks, volumes and containers in `depends_on` order,
//! waits for healthy/completed, config-hash convergence, and logs.
//!
//! Status: not built yet.
//! Depends on every other kiln crate.
