"""moto's AWS server (DynamoDB, S3, SQS protocols) on loopback, answering one request at a time.

Run: `python -m tests.support.moto_serial HOST PORT`. It is `moto_server` (the same WSGI application
and request handler) with werkzeug's threaded mode off. moto's in-memory backends are not thread-safe:
under the threaded `moto_server`, two concurrent UpdateItem `ADD` calls on one item could both read the
old value and one increment was lost now and then (a flaky store-contract test). Real DynamoDB applies
each UpdateItem and each conditional write atomically; serving requests one at a time gives the tests
that same atomicity, so concurrency tests check our code, not moto's races.
"""

from __future__ import annotations

import sys

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import run_simple


def main(host: str, port: int) -> None:
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(host, port, app, threaded=False, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
