# gunicorn settings of the peer of `cargo xtask bench --only compose` (see compose.yaml). Each replica has the limits
# of ours: half a core and 64 MiB. A sync worker of this Flask app on Debian's Python takes ~40 MiB resident, the
# master ~27 MiB: gunicorn's usual (2 x cores) + 1 sync workers do not fit (the kernel kills them at start), so one
# worker with threads, which overlap the Redis round trips (the GIL is released while waiting on the socket).
bind = "0.0.0.0:5000"
workers = 1
worker_class = "gthread"
threads = 4
# One access line per request on stdout, as our replicas log one JSON line per request.
accesslog = "-"
# The runtime control socket (gunicorn >= 25) wants a home directory; the app user has none and needs none.
control_socket_disable = True
