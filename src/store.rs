//! The counter in Redis, behind a bb8 pool with bounded waits.
//!
//! Two rules keep the service fast when Redis is slow or gone, and healthy once it is back:
//! - every operation has one deadline covering the pool checkout and the command, so no request waits longer than
//!   `REDIS_TIMEOUT_MS`;
//! - a dead connection never serves a request. Each connection speaks RESP3 and registers a push sender, through which
//!   the driver reports the moment Redis closes the socket (restart, crash, `CLIENT KILL`); such a connection is
//!   skipped at checkout and dropped, without a round trip. One that failed or was abandoned mid-command (deadline,
//!   client gone) is dropped too. This replaces bb8's PING-on-checkout, which costs a round trip per request, and
//!   means the first request after Redis comes back succeeds.
//!
//! bb8-redis's own `RedisConnectionManager` cannot do this (its `has_broken` is always false and it takes no
//! connection config), so [`Manager`] implements bb8's trait on the `bb8` and `redis` that bb8-redis re-exports.
//!
//! This module does not know about HTTP; [`AppError`] maps its failures to responses.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use bb8_redis::{
    bb8,
    redis::{
        self, AsyncConnectionConfig, Client, ConnectionAddr, IntoConnectionInfo, ProtocolVersion, PushInfo, PushKind,
        RedisConnectionInfo, aio::MultiplexedConnection,
    },
};

use crate::{config::RedisConfig, error::AppError};

/// Handle to the counter; cheap to clone.
#[derive(Clone)]
pub struct Store {
    pool: bb8::Pool<Manager>,
    key: String,
    timeout: Duration,
}

impl Store {
    /// Build the pool without connecting: Redis being down at start is not an error, the pool connects as soon as
    /// Redis answers.
    pub fn new(config: &RedisConfig) -> Result<Self, crate::config::ConfigError> {
        let mut settings = RedisConnectionInfo::default().set_db(config.redis_db).set_protocol(ProtocolVersion::RESP3);
        if let Some(user) = &config.redis_username {
            settings = settings.set_username(user);
        }
        if let Some(password) = config.password()? {
            settings = settings.set_password(password.expose());
        }
        let info = ConnectionAddr::Tcp(config.redis_host.clone(), config.redis_port)
            .into_connection_info()
            .map_err(|e| crate::config::ConfigError::new("REDIS_HOST", e.to_string()))?
            .set_redis_settings(settings);
        let client = Client::open(info).map_err(|e| crate::config::ConfigError::new("REDIS_HOST", e.to_string()))?;
        let pool = bb8::Pool::builder()
            .max_size(config.redis_pool_size)
            .min_idle(Some(config.redis_pool_size.min(2)))
            .test_on_check_out(false)
            .connection_timeout(config.timeout())
            .build_unchecked(Manager { client, connect_timeout: config.timeout() });
        Ok(Self { pool, key: config.redis_key.clone(), timeout: config.timeout() })
    }

    /// `INCR` the counter once and return its new value.
    pub async fn incr(&self) -> Result<i64, AppError> {
        let mut cmd = redis::cmd("INCR");
        cmd.arg(&self.key);
        self.query(cmd, self.timeout).await
    }

    /// `PING` within `timeout`: the readiness check.
    pub async fn ping(&self, timeout: Duration) -> Result<(), AppError> {
        let _: String = self.query(redis::cmd("PING"), timeout).await?;
        Ok(())
    }

    async fn query<T: redis::FromRedisValue>(&self, cmd: redis::Cmd, timeout: Duration) -> Result<T, AppError> {
        let work = async {
            let mut conn = loop {
                let mut conn = self.pool.get().await.map_err(|e| match e {
                    bb8::RunError::User(e) => AppError::Redis(e),
                    bb8::RunError::TimedOut => AppError::RedisTimeout(timeout),
                })?;
                if !conn.closed.load(Ordering::Relaxed) {
                    break conn;
                }
                conn.broken = true;
            };
            // Poisoned until proven healthy: if this future is dropped mid-command, the connection is discarded.
            conn.broken = true;
            let value = cmd.query_async(&mut conn.inner).await.map_err(AppError::Redis)?;
            conn.broken = false;
            Ok(value)
        };
        tokio::time::timeout(timeout, work).await.unwrap_or(Err(AppError::RedisTimeout(timeout)))
    }
}

/// Opens RESP3 connections that know when Redis closed them.
struct Manager {
    client: Client,
    connect_timeout: Duration,
}

/// A pooled connection and whether it may be reused.
struct Connection {
    inner: MultiplexedConnection,
    /// Set by the connection's driver when Redis closed the socket: nothing sent on it can succeed.
    closed: Arc<AtomicBool>,
    /// Set while a command is outstanding and after a failure: the connection goes back to the pool only when false.
    broken: bool,
}

impl bb8::ManageConnection for Manager {
    type Connection = Connection;
    type Error = redis::RedisError;

    async fn connect(&self) -> Result<Self::Connection, Self::Error> {
        let closed = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&closed);
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(self.connect_timeout))
            // Each operation's deadline (REDIS_TIMEOUT_MS) bounds the response; no second, different bound here.
            .set_response_timeout(None)
            .set_push_sender(move |info: PushInfo| {
                if info.kind == PushKind::Disconnection {
                    flag.store(true, Ordering::Relaxed);
                }
                Ok::<(), std::convert::Infallible>(())
            });
        let inner = self.client.get_multiplexed_async_connection_with_config(&config).await?;
        Ok(Connection { inner, closed, broken: false })
    }

    async fn is_valid(&self, conn: &mut Self::Connection) -> Result<(), Self::Error> {
        redis::cmd("PING").query_async::<String>(&mut conn.inner).await.map(drop)
    }

    fn has_broken(&self, conn: &mut Self::Connection) -> bool {
        conn.broken || conn.closed.load(Ordering::Relaxed)
    }
}
