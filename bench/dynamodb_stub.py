"""A stand-in DynamoDB endpoint for benchmarks: answers every call after a fixed latency, stores nothing.

It lets a benchmark measure what the client side of an import costs (boto3's serialising, signing and
HTTP, our own code) with a realistic round trip, without AWS and without moto's own CPU. BatchGetItem
finds nothing (every contact is new), writes succeed, queries count nothing. It counts the calls it
answered by operation. Run as a script: ``python dynamodb_stub.py PORT LATENCY_MS``; it prints
``ready`` once it listens, and the counts as JSON on SIGTERM.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

COUNTS: dict[str, int] = {}
LOCK = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    latency = 0.02

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])) or b"{}")
        operation = self.headers.get("X-Amz-Target", ".").split(".", 1)[1]
        with LOCK:
            COUNTS[operation] = COUNTS.get(operation, 0) + 1
        time.sleep(self.latency)
        answer: dict[str, object] = {}
        if operation == "BatchGetItem":
            answer = {"Responses": {table: [] for table in body["RequestItems"]}, "UnprocessedKeys": {}}
        elif operation == "BatchWriteItem":
            answer = {"UnprocessedItems": {}}
        elif operation == "Query":
            answer = {"Items": [], "Count": 0, "ScannedCount": 0}
        payload = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-amz-json-1.0")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: object) -> None:
        pass


def main() -> None:
    port, latency_ms = int(sys.argv[1]), float(sys.argv[2])
    Handler.latency = latency_ms / 1000
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True

    def stop(*_: object) -> None:
        print(json.dumps(COUNTS), flush=True)
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    print("ready", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
