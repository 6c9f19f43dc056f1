# Images of the stack built from this repository (targets): `web` (the visit-counter replicas), `init` (one-shot:
# Redis ACL credentials and NGINX's certificate at first start), `load` (`cargo xtask load` for the compose service of
# profile `load`), `otel-collector`, `jaeger`, `loki` and
# `nginx-exporter` (the upstream images plus a static busybox wget, because they ship no shell or HTTP client for a
# HEALTHCHECK). Every base image is a build argument; docker-compose.yml passes the pins of .env, and
# `cargo xtask images` (target/images.env) swaps in images built without a registry. No `# syntax=` line: it would make
# BuildKit pull a frontend image, and the built-in frontend already has `RUN --mount=type=cache`.
ARG RUST_IMAGE=rust:1.95-slim-trixie
ARG DEBIAN_IMAGE=debian:trixie-slim
ARG RUNTIME_IMAGE=gcr.io/distroless/cc-debian13:nonroot
ARG BUSYBOX_IMAGE=busybox:1.38.0-musl
ARG OTELCOL_IMAGE=otel/opentelemetry-collector-contrib:0.149.0
ARG JAEGER_IMAGE=jaegertracing/jaeger:2.13.0
ARG LOKI_IMAGE=grafana/loki:3.7.6
ARG NGINX_EXPORTER_IMAGE=nginx/nginx-prometheus-exporter:1.5.1

# ---- build: BuildKit cache mounts keep the registry and target/ between builds, so a change to src/ recompiles
# only the visit-counter crate, not its dependencies. The cached target/ outlives the context it was built from, and
# cargo judges the workspace's own crates by mtime: a context older than the last build (another checkout, a clone
# made earlier) would look up to date and ship that build's binary. So the workspace's sources are touched first.
FROM ${RUST_IMAGE} AS build
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,target=/src/target,sharing=locked \
    find src harness xtask -name '*.rs' -exec touch {} + \
    && cargo build --release --locked --package visit-counter \
    && cp target/release/visit-counter /usr/local/bin/visit-counter

# ---- web: glibc + libgcc only (distroless cc), no shell, runs as uid 65532.
FROM ${RUNTIME_IMAGE} AS web
LABEL org.opencontainers.image.title="visit-counter" \
      org.opencontainers.image.description="A visit counter on axum and Redis, instrumented end to end" \
      org.opencontainers.image.licenses="MIT"
COPY --from=build /usr/local/bin/visit-counter /usr/local/bin/visit-counter
USER 65532:65532
ENV PORT=8080 METRICS_PORT=9000
EXPOSE 8080 9000
# No shell or curl here: the binary probes its own /healthz (exit 0 serving, 1 not). Liveness, not readiness: a Redis
# outage must not make replicas unhealthy, which Swarm and auto-heal tools would answer with restarts.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD ["/usr/local/bin/visit-counter", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/visit-counter"]

# ---- build-load: the xtask binary, whose `load` command is the load tool (one implementation, native and here).
# Its own stage, so that building `web` stays as it was; the cache mounts (and the reason to touch the sources) are
# shared with `build`.
FROM ${RUST_IMAGE} AS build-load
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,target=/src/target,sharing=locked \
    find src harness xtask -name '*.rs' -exec touch {} + \
    && cargo build --release --locked --package xtask --bin xtask \
    && cp target/release/xtask /usr/local/bin/xtask

# ---- load: `xtask load` on the same runtime as web (glibc + libgcc, no shell, uid 65532). Configured by LOAD_*
# (docker-compose.yml, docs/configuration.md). The running load writes the time of its latest answer to the heartbeat
# file on the /tmp tmpfs; `load healthcheck` reads it.
FROM ${RUNTIME_IMAGE} AS load
LABEL org.opencontainers.image.title="visit-counter-load" \
      org.opencontainers.image.description="Gentle, bounded traffic for the visit counter: cargo xtask load" \
      org.opencontainers.image.licenses="MIT"
COPY --from=build-load /usr/local/bin/xtask /usr/local/bin/xtask
USER 65532:65532
ENV LOAD_HEARTBEAT_FILE=/tmp/load-heartbeat
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD ["/usr/local/bin/xtask", "load", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/xtask", "load"]

# ---- init: the very scripts the native twin runs (deploy/init/), with openssl. Output directories belong to uid
# 10001 so that fresh named volumes mounted there inherit that owner; services that read them join group 10001.
FROM ${DEBIAN_IMAGE} AS init
LABEL org.opencontainers.image.title="visit-counter-init" \
      org.opencontainers.image.description="One-shot: generates Redis ACL credentials and a TLS certificate" \
      org.opencontainers.image.licenses="MIT"
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
RUN apt-get update \
    && apt-get install -y --no-install-recommends openssl=3.5.* \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --gid 10001 init && useradd --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin init \
    && mkdir -p /init/redis /init/web /init/redis-exporter /init/grafana /init/tls /init/nginx-access-log \
    && chown 10001:10001 /init/redis /init/web /init/redis-exporter /init/grafana /init/tls /init/nginx-access-log \
    && chmod 0750 /init/redis /init/web /init/redis-exporter /init/grafana /init/tls \
    && chmod 2770 /init/nginx-access-log
COPY deploy/init/credentials.sh deploy/init/grafana.sh deploy/init/tls.sh /usr/local/bin/
USER 10001:10001
HEALTHCHECK NONE
CMD ["bash", "-c", "credentials.sh /init/redis /init/web /init/redis-exporter && grafana.sh /init/grafana && tls.sh /init/tls"]

# ---- busybox: a static wget for the health checks of images that have no HTTP client.
FROM ${BUSYBOX_IMAGE} AS busybox

FROM ${NGINX_EXPORTER_IMAGE} AS nginx-exporter
COPY --from=busybox /bin/wget /usr/local/bin/wget
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
    CMD ["/usr/local/bin/wget", "-q", "-O", "/dev/null", "http://127.0.0.1:9113/metrics"]

FROM ${OTELCOL_IMAGE} AS otel-collector
COPY --from=busybox /bin/wget /usr/local/bin/wget
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD ["/usr/local/bin/wget", "-q", "-O", "/dev/null", "http://127.0.0.1:13133/"]

FROM ${JAEGER_IMAGE} AS jaeger
COPY --from=busybox /bin/wget /usr/local/bin/wget
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD ["/usr/local/bin/wget", "-q", "-O", "/dev/null", "http://127.0.0.1:16686/"]

FROM ${LOKI_IMAGE} AS loki
COPY --from=busybox /bin/wget /usr/local/bin/wget
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["/usr/local/bin/wget", "-q", "-O", "/dev/null", "http://127.0.0.1:3100/ready"]
