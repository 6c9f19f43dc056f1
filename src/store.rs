//! The counter in Redis, behind a bb8 pool with bounded waits.
//!
//! Two rules keep the service fast when Redis is slow or gone, and healthy once it is back:
//! - every operation has one deadline covering the pool checkout and the command, so no request waits longer than
//!   `REDIS_TIMEOUT_MS`;
//! - a dead connection never serves a request. Each connection speaks RESP3 and registers a push sender, through which
//!   the driver reports the moment Redis closes the socket (restart, crash, `CLIENT KILL`); such a connection is
//!   skipped at checkout and dropped, without a round trip. One that had a transport error or missed a deadline is
//!   dropped too. This replaces bb8's PING-on-checkout, which costs a round trip per request, and means the first
//!   request after Redis comes back succeeds.
//!
//! The pooled connections are redis-rs multiplexed connections, and a request holds its pool slot only long enough to
//! clone the handle: concurrent commands pipeline over the pool's few sockets rather than queue for exclusive ones.
//!
//! bb8-redis's own `RedisConnectionManager` cannot do this (its `has_broken` is always false and it takes no
//! connection config), so `Manager` implements bb8's trait on the `bb8` and `redis` that bb8-redis re-exports.
//!
//! Each counted command runs in a client span with the database semantic conventions and is timed in
//! `db_client_operation_duration_seconds`, failures counted by kind: the wrapper in `instrument` does that, so the
//! code here only talks to Redis. This module does not know about HTTP; [`AppError`] maps its failures to responses.

mod connection;
mod dns;
mod instrument;

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use bb8_redis::{
    bb8,
    redis::{
        self, Client, ConnectionAddr, IntoConnectionInfo, ProtocolVersion, RedisConnectionInfo,
        aio::MultiplexedConnection,
    },
};
use secrecy::ExposeSecret;

use crate::{
    config::RedisConfig,
    error::{AppError, Unreachable},
    metrics::names::DB_CONNECTION_WAIT,
    startup::StartupError,
};
use connection::{ConnectFailures, Manager};
use instrument::{Highest, Peer};

/// Handle to the counter; cheap to clone.
#[derive(Debug, Clone)]
pub struct Store {
    pool: bb8::Pool<Manager>,
    key: String,
    timeout: Duration,
    /// `server.address`, `server.port` and `db.namespace` of the client spans.
    peer: Arc<Peer>,
    /// Why the pool last failed to connect, so a request that found no connection can say why.
    failures: ConnectFailures,
    /// The highest count this replica has seen: the `visits` gauge never goes backwards when replies race.
    highest: Highest,
}

impl Store {
    /// Build the pool without connecting: Redis being down at start is not an error, the pool connects as soon as
    /// Redis answers.
    pub fn new(config: &RedisConfig) -> Result<Self, StartupError> {
        let client = client(config)?;
        let failures = ConnectFailures::default();
        let dns = dns::Dns::from_system(config.timeout()).map_err(StartupError::RedisClient)?;
        let pool = bb8::Pool::builder()
            .max_size(config.redis_pool_size)
            .min_idle(Some(config.redis_pool_size.min(2)))
            .test_on_check_out(false)
            .connection_timeout(config.timeout())
            .error_sink(Box::new(failures.clone()))
            .build_unchecked(Manager::new(client, dns, config.timeout()));
        Ok(Self {
            pool,
            key: config.redis_key.clone(),
            timeout: config.timeout(),
            peer: Arc::new(Peer::of(config)),
            failures,
            highest: Highest::default(),
        })
    }

    /// `INCR` the counter once and return its new value.
    pub async fn incr(&self) -> Result<i64, AppError> {
        let mut cmd = redis::cmd("INCR");
        cmd.arg(&self.key);
        let count = instrument::command(&self.peer, "INCR", self.query(cmd, self.timeout)).await?;
        self.highest.saw(count);
        Ok(count)
    }

    /// `PING` within `timeout`: the readiness check. Not traced, like the probe that calls it.
    pub async fn ping(&self, timeout: Duration) -> Result<(), AppError> {
        let _: String = self.query(redis::cmd("PING"), timeout).await?;
        Ok(())
    }

    /// Publish the pool's connection counts (called at each scrape).
    pub fn record_pool_state(&self) {
        instrument::pool_state(&self.pool.state());
    }

    async fn query<T: redis::FromRedisValue>(&self, cmd: redis::Cmd, timeout: Duration) -> Result<T, AppError> {
        let deadline = tokio::time::Instant::now() + timeout;
        let waiting = Instant::now();
        let checkout = tokio::time::timeout_at(deadline, self.checkout(timeout)).await;
        metrics::histogram!(DB_CONNECTION_WAIT).record(waiting.elapsed());
        let (mut conn, closed) = match checkout {
            Ok(Ok(conn)) => conn,
            // No connection in time: if connecting is what fails, say so rather than "timeout".
            Ok(Err(AppError::RedisTimeout(_))) | Err(_) => {
                let cause = self.failures.recent(timeout);
                return Err(
                    cause.map_or(AppError::RedisTimeout(timeout), |c| AppError::RedisUnreachable(Unreachable(c)))
                );
            }
            Ok(Err(e)) => return Err(e),
        };
        match tokio::time::timeout_at(deadline, cmd.query_async(&mut conn)).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => {
                // A server error (WRONGTYPE, NOPERM…) leaves the connection usable; a transport error does not.
                if e.is_io_error() || e.is_unrecoverable_error() || e.is_connection_dropped() {
                    closed.store(true, Ordering::Relaxed);
                }
                Err(AppError::Redis(e))
            }
            Err(_) => {
                // No answer in time: whatever is wrong with this socket, later requests should not wait on it.
                closed.store(true, Ordering::Relaxed);
                Err(AppError::RedisTimeout(timeout))
            }
        }
    }

    /// A live connection's handle and its `closed` flag. The pool slot is released right away: the handle is a clone
    /// of a multiplexed connection, so concurrent requests pipeline over the same few sockets instead of queueing for
    /// exclusive ones. A connection Redis closed is skipped and, once released, dropped from the pool.
    async fn checkout(&self, timeout: Duration) -> Result<(MultiplexedConnection, Arc<AtomicBool>), AppError> {
        loop {
            let conn = self.pool.get().await.map_err(|e| match e {
                bb8::RunError::User(e) => AppError::Redis(e),
                bb8::RunError::TimedOut => AppError::RedisTimeout(timeout),
            })?;
            if !conn.closed.load(Ordering::Relaxed) {
                return Ok((conn.inner.clone(), Arc::clone(&conn.closed)));
            }
        }
    }
}

/// The client for `REDIS_HOST`: RESP3, the database, the ACL user and password.
fn client(config: &RedisConfig) -> Result<Client, StartupError> {
    let mut settings = RedisConnectionInfo::default().set_db(config.redis_db).set_protocol(ProtocolVersion::RESP3);
    if let Some(user) = &config.redis_username {
        settings = settings.set_username(user);
    }
    if let Some(password) = config.password()? {
        settings = settings.set_password(password.expose_secret());
    }
    let info = ConnectionAddr::Tcp(config.redis_host.clone(), config.redis_port)
        .into_connection_info()
        .map_err(|e| StartupError::RedisClient(e.to_string()))?
        .set_redis_settings(settings);
    Client::open(info).map_err(|e| StartupError::RedisClient(e.to_string()))
}
