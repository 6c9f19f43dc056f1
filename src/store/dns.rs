//! How the pool finds `REDIS_HOST`: an asynchronous DNS stub resolver (hickory) instead of the system's
//! `getaddrinfo`, which redis-rs would otherwise run on a blocking thread per connection attempt.
//!
//! Why: when the Redis container is stopped, Docker's embedded DNS is slow to answer for its name. Every connection
//! attempt during an outage then parked a thread in `getaddrinfo` for that long, a replica reached its pids limit,
//! and lookups queued behind the hung ones delayed recovery after Redis was back (the figures: docs/troubleshooting.md,
//! "Replicas slow to recover after a Redis outage"). Here a lookup is a future: it ends with the attempt's deadline,
//! holds no thread, and the first attempt after Redis returns resolves at once.
//!
//! Nothing is cached (a restarted container may come back on another address); names in /etc/hosts and IP literals
//! (the native twin's `127.0.0.1`) resolve without a query, as with the system resolver.

use std::{net::SocketAddr, time::Duration};

use bb8_redis::redis::{self, RedisError, io::AsyncDNSResolver};
use hickory_resolver::{TokioResolver, config::ResolveHosts};

#[derive(Clone)]
pub(super) struct Dns {
    resolver: TokioResolver,
}

impl Dns {
    /// The system's resolver configuration (/etc/resolv.conf), with one attempt per query bounded by `timeout`.
    pub(super) fn from_system(timeout: Duration) -> Result<Self, String> {
        let mut builder = TokioResolver::builder_tokio().map_err(|e| format!("cannot read /etc/resolv.conf: {e}"))?;
        let options = builder.options_mut();
        options.cache_size = 0;
        options.timeout = timeout;
        options.attempts = 1;
        options.use_hosts_file = ResolveHosts::Always;
        let resolver = builder.build().map_err(|e| format!("DNS resolver: {e}"))?;
        Ok(Self { resolver })
    }
}

impl AsyncDNSResolver for Dns {
    fn resolve<'a, 'b: 'a>(
        &'a self,
        host: &'b str,
        port: u16,
    ) -> redis::RedisFuture<'a, Box<dyn Iterator<Item = SocketAddr> + Send + 'a>> {
        Box::pin(async move {
            let found = self.resolver.lookup_ip(host).await.map_err(|e| RedisError::from(std::io::Error::other(e)))?;
            let addresses: Vec<SocketAddr> = found.iter().map(|ip| SocketAddr::new(ip, port)).collect();
            Ok(Box::new(addresses.into_iter()) as Box<dyn Iterator<Item = SocketAddr> + Send>)
        })
    }
}
