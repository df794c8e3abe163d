import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

pytest_plugins = ["dumont_iac.testing.sandbox", "dumont_iac.testing.fixtures"]


class HtmlPage(BaseHTTPRequestHandler):
    """Answers every request with a web page, as a URL that is not the API would."""

    def _page(self) -> None:
        body = b"<!doctype html><html><body>Welcome to nginx!</body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _page  # noqa: N815 - the http.server API

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def html_url() -> Iterator[str]:
    """A real web server on 127.0.0.1 that serves HTML on every path."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), HtmlPage)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
