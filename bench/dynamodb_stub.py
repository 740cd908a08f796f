"""A stand-in DynamoDB endpoint for benchmarks: answers every call after a fixed latency, stores nothing.

It lets a benchmark measure what the client side of an import costs (boto3's serialising, signing and
HTTP, our own code) with a realistic round trip, without AWS and without moto's own CPU. BatchGetItem
finds nothing (every contact is new) and writes succeed. It plays an account of ACCOUNT_SIZE contacts: a
query of the account's contacts reads them all, in pages of 1 MB (2,500 contacts), as DynamoDB would; any
other query finds nothing. It counts the calls it answered by operation, and the items they read. Run as
a script: ``python dynamodb_stub.py PORT LATENCY_MS [ACCOUNT_SIZE]``; it prints ``ready`` once it
listens, and the counts as JSON on SIGTERM.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

COUNTS: dict[str, int] = {}
LOCK = threading.Lock()
PAGE = 2_500


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    latency = 0.02
    account_size = 0

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])) or b"{}")
        operation = self.headers.get("X-Amz-Target", ".").split(".", 1)[1]
        with LOCK:
            COUNTS[operation] = COUNTS.get(operation, 0) + 1
        time.sleep(self.latency)
        answer: dict[str, object] = {}
        read = 0
        if operation == "BatchGetItem":
            answer = {"Responses": {table: [] for table in body["RequestItems"]}, "UnprocessedKeys": {}}
            read = sum(len(request["Keys"]) for request in body["RequestItems"].values())
        elif operation == "GetItem":
            read = 1
        elif operation == "BatchWriteItem":
            answer = {"UnprocessedItems": {}}
        elif operation == "Query":
            answer, read = self._query(body)
        with LOCK:
            COUNTS["items_read"] = COUNTS.get("items_read", 0) + read
        payload = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-amz-json-1.0")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _query(self, body: dict[str, Any]) -> tuple[dict[str, object], int]:
        values = json.dumps(body.get("ExpressionAttributeValues", {}))
        if "CONTACT#" not in values:
            return {"Items": [], "Count": 0, "ScannedCount": 0}, 0
        start = int(body.get("ExclusiveStartKey", {}).get("sk", {}).get("S", "0") or 0)
        page = min(PAGE, self.account_size - start)
        answer: dict[str, object] = {"Items": [], "Count": page, "ScannedCount": page}
        if start + page < self.account_size:
            answer["LastEvaluatedKey"] = {"pk": {"S": "ACCOUNT#bench"}, "sk": {"S": str(start + page)}}
        return answer, page

    def log_message(self, *args: object) -> None:
        pass


def main() -> None:
    port, latency_ms = int(sys.argv[1]), float(sys.argv[2])
    Handler.latency = latency_ms / 1000
    Handler.account_size = int(sys.argv[3]) if len(sys.argv) > 3 else 0
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
