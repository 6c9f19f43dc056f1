//! Stand-in images of the compose stack (placeholder for `cargo xtask images`, written elsewhere).

pub mod gobuild;
