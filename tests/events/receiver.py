"""A webhook receiver for the tests, run as its own process so a test can SIGKILL it.

`python receiver.py PORT SECRET OUT [--hang-first MARKER]`: every POST is checked with
`modelport.events.signing.verify`; a valid one is appended to OUT (one JSON line, fsynced)
and answered 200, an invalid one 401. With --hang-first the first request touches MARKER
and never gets an answer (the test kills the receiver mid-delivery).
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from modelport.events.signing import HEADER, verify

PORT, SECRET, OUT = int(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
HANG = Path(sys.argv[5]) if len(sys.argv) > 5 and sys.argv[4] == "--hang-first" else None
_lock = threading.Lock()
_first = [True]


class Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if HANG is not None:
            with _lock:
                hang, _first[0] = _first[0], False
            if hang:
                HANG.write_text(body.decode())
                time.sleep(3600)
        valid = verify(SECRET, self.headers.get(HEADER), body)
        if valid:
            event = json.loads(body)
            line = json.dumps(
                {
                    "id": event["id"],
                    "type": event["type"],
                    "payload": event["payload"],
                    "delivery": self.headers.get("Modelport-Delivery"),
                }
            )
            with _lock, open(OUT, "a") as out:
                out.write(line + "\n")
                out.flush()
                os.fsync(out.fileno())
        self.send_response(200 if valid else 401)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


ThreadingHTTPServer.allow_reuse_address = True
ThreadingHTTPServer.daemon_threads = True
ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
