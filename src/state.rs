//! What every handler shares: the Redis store and this replica's identity.

use std::{sync::Arc, time::Duration};

use crate::store::Store;

#[derive(Debug, Clone)]
pub struct AppState {
    pub store: Store,
    /// `served_by` in pages and JSON: which replica answered.
    pub replica: Arc<str>,
    /// How long `/readyz` waits for Redis to answer PING.
    pub ready_timeout: Duration,
}
