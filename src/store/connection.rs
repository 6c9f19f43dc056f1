//! The pool's connections: how they are opened (RESP3, with a push sender that reports when Redis closes the socket),
//! when the pool must drop one, and what the pool's failed connection attempts were.

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use super::dns::Dns;
use bb8_redis::{
    bb8,
    redis::{self, AsyncConnectionConfig, Client, PushInfo, PushKind, aio::MultiplexedConnection},
};

/// Opens RESP3 connections that know when Redis closed them.
pub(super) struct Manager {
    client: Client,
    dns: Dns,
    connect_timeout: Duration,
}

impl Manager {
    pub(super) fn new(client: Client, dns: Dns, connect_timeout: Duration) -> Self {
        Self { client, dns, connect_timeout }
    }
}

/// A pooled multiplexed connection and whether it is dead.
pub(super) struct Connection {
    pub(super) inner: MultiplexedConnection,
    /// Set by the connection's driver when Redis closed the socket, or by [`Store::query`] after a transport error or
    /// a deadline: nothing more is sent on it, and the pool drops it.
    pub(super) closed: Arc<AtomicBool>,
}

impl bb8::ManageConnection for Manager {
    type Connection = Connection;
    type Error = redis::RedisError;

    async fn connect(&self) -> Result<Self::Connection, Self::Error> {
        let closed = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&closed);
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(self.connect_timeout))
            .set_dns_resolver(self.dns.clone())
            // Each operation's deadline (REDIS_TIMEOUT_MS) bounds the response; no second, different bound here.
            .set_response_timeout(None)
            .set_push_sender(move |info: PushInfo| {
                if info.kind == PushKind::Disconnection {
                    flag.store(true, Ordering::Relaxed);
                }
                Ok::<(), std::convert::Infallible>(())
            });
        let inner = self.client.get_multiplexed_async_connection_with_config(&config).await?;
        Ok(Connection { inner, closed })
    }

    async fn is_valid(&self, conn: &mut Self::Connection) -> Result<(), Self::Error> {
        redis::cmd("PING").query_async::<String>(&mut conn.inner).await.map(drop)
    }

    fn has_broken(&self, conn: &mut Self::Connection) -> bool {
        conn.closed.load(Ordering::Relaxed)
    }
}

/// The pool's latest failed connection attempt (bb8 hands them to its error sink, not to the waiting request).
#[derive(Clone, Debug, Default)]
pub(super) struct ConnectFailures(Arc<Mutex<Option<(Instant, String)>>>);

impl ConnectFailures {
    /// The cause of a failed attempt made within `window`, if any.
    pub(super) fn recent(&self, window: Duration) -> Option<String> {
        let last = self.0.lock().ok()?;
        last.as_ref().filter(|(at, _)| at.elapsed() <= window + Duration::from_secs(1)).map(|(_, cause)| cause.clone())
    }
}

impl bb8::ErrorSink<redis::RedisError> for ConnectFailures {
    fn sink(&self, error: redis::RedisError) {
        if let Ok(mut last) = self.0.lock() {
            *last = Some((Instant::now(), error.to_string()));
        }
    }

    fn boxed_clone(&self) -> Box<dyn bb8::ErrorSink<redis::RedisError>> {
        Box::new(self.clone())
    }
}
