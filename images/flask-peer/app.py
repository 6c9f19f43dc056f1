# The peer of `cargo xtask bench --only compose`: the app of Docker's "compose getting started" (a Flask counter
# that INCRs a Redis key on every GET), as that tutorial ships it; `/count` is the same view, so both stacks are
# loaded on the same path.
import time

import redis
from flask import Flask

app = Flask(__name__)
cache = redis.Redis(host="redis", port=6379)


def get_hit_count():
    retries = 5
    while True:
        try:
            return cache.incr("hits")
        except redis.exceptions.ConnectionError as exc:
            if retries == 0:
                raise exc
            retries -= 1
            time.sleep(0.5)


@app.route("/")
@app.route("/count")
def hello():
    count = get_hit_count()
    return f"Hello World! I have been seen {count} times.\n"
