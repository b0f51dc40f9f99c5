"""A loopback HTTP server that plays PyPI (a PEP 503 simple index of wheels) and a model hub.

Lets the catalogue's sources be tested end to end, through pip's real downloader and a real
HTTP client, without touching the network. Range requests are honoured so resumed downloads
can be exercised, and ``delay_s_per_chunk`` slows a transfer down enough to interrupt it.
"""

from __future__ import annotations

import hashlib
import threading
import time
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


def make_wheel(directory: Path, name: str, version: str, files: dict[str, bytes]) -> Path:
    """Write a minimal valid wheel holding ``files`` and return its path."""
    dist = name.replace("-", "_")
    wheel = directory / f"{dist}-{version}-py3-none-any.whl"
    info = f"{dist}-{version}.dist-info"
    with zipfile.ZipFile(wheel, "w") as archive:
        for member, data in files.items():
            archive.writestr(member, data)
        archive.writestr(f"{info}/METADATA",
                         f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
        archive.writestr(f"{info}/WHEEL", "Wheel-Version: 1.0\nGenerator: test\n"
                         "Root-Is-Purelib: true\nTag: py3-none-any\n")
        archive.writestr(f"{info}/RECORD", "")
    return wheel


class FakeIndex:
    """Serves ``root/simple/<project>/`` pages, wheels under ``/files/`` and blobs under
    ``/blobs/`` from memory, on 127.0.0.1 with an ephemeral port."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.blobs: dict[str, bytes] = {}
        self.delay_s_per_chunk = 0.0
        self.requests: list[tuple[str, str | None]] = []
        (root / "files").mkdir(parents=True, exist_ok=True)
        handler = self._handler()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def add_wheel(self, name: str, version: str, files: dict[str, bytes]) -> None:
        make_wheel(self.root / "files", name, version, files)

    def pip_env(self) -> dict[str, str]:
        """Environment that points pip at this index and nothing else."""
        return {"PIP_CONFIG_FILE": "/dev/null", "PIP_INDEX_URL": f"{self.url}/simple/",
                "PIP_TRUSTED_HOST": "127.0.0.1", "PIP_NO_CACHE_DIR": "1",
                "PIP_EXTRA_INDEX_URL": "", "PIP_FIND_LINKS": ""}

    def __enter__(self) -> FakeIndex:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _page(self, project: str) -> bytes | None:
        wheels = [w for w in sorted((self.root / "files").glob("*.whl"))
                  if w.name.split("-")[0].replace("_", "-").lower() == project]
        if not wheels:
            return None
        links = "".join(
            f'<a href="/files/{w.name}#sha256={hashlib.sha256(w.read_bytes()).hexdigest()}">'
            f"{w.name}</a><br>" for w in wheels)
        return f"<!DOCTYPE html><html><body>{links}</body></html>".encode()

    def _handler(self):
        index = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # keep test output clean
                pass

            def do_GET(self) -> None:
                index.requests.append((self.path, self.headers.get("Range")))
                path = self.path.split("#")[0].split("?")[0]
                body, content_type = None, "application/octet-stream"
                if path.startswith("/simple/"):
                    body, content_type = index._page(path.strip("/").split("/")[-1]), \
                        "text/html"
                elif path.startswith("/files/"):
                    file = index.root / "files" / path.rsplit("/", 1)[-1]
                    body = file.read_bytes() if file.is_file() else None
                elif path.startswith("/blobs/"):
                    body = index.blobs.get(path[len("/blobs/"):])
                if body is None:
                    self.send_error(404)
                    return
                self._send(body, content_type)

            def _send(self, body: bytes, content_type: str) -> None:
                start = 0
                range_header = self.headers.get("Range")
                if range_header and range_header.startswith("bytes="):
                    start = int(range_header[6:].split("-")[0])
                    if start >= len(body):
                        self.send_error(416)
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/"
                                     f"{len(body)}")
                else:
                    self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body) - start))
                self.end_headers()
                view = memoryview(body)[start:]
                for offset in range(0, len(view), 16384):
                    if index.delay_s_per_chunk:
                        time.sleep(index.delay_s_per_chunk)
                    try:
                        self.wfile.write(view[offset:offset + 16384])
                    except (BrokenPipeError, ConnectionResetError):
                        return

        return Handler
