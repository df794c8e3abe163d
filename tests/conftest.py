import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

pytest_plugins = ["dumont_iac.testing.sandbox", "dumont_iac.testing.fixtures"]

# Every test belongs to one layer, so a fast loop is one command (`pytest -m unit`):
# unit: code and in-process servers; contract: a real provider process over gRPC; lifecycle: a
# program deployed through the driver; cli: commands run as a user runs them; real_cli: the
# Pulumi CLI; real_marketplace: the real marketplace (opt-in, costs money).
LAYERS = ("unit", "contract", "lifecycle", "cli", "real_cli", "real_marketplace")
# A file's layer when it is not unit; a test marked with a layer itself keeps its own.
FILE_LAYERS = {
    "gpu_instance/test_contract.py": "contract",
    "gpu_instance/test_frozen_blob.py": "contract",
    "gpu_instance/test_faults.py": "lifecycle",
    "gpu_instance/test_identity.py": "lifecycle",
    "gpu_instance/test_lifecycle.py": "lifecycle",
    "gpu_instance/test_secrets.py": "lifecycle",
    "gpu_instance/test_automation.py": "real_cli",
    "gpu_fleet/test_faults.py": "lifecycle",
    "gpu_fleet/test_frozen_blob.py": "contract",
    "gpu_fleet/test_lifecycle.py": "lifecycle",
    "provider_core/test_provider_contract.py": "contract",
    "provider_core/test_provider_blobs.py": "contract",
    "provider_core/test_driver_lifecycle.py": "lifecycle",
    "provider_core/test_driver_programs.py": "lifecycle",
    "sandbox/test_cli.py": "cli",
    "sandbox/test_vastai_client.py": "cli",
    "test_demo.py": "cli",
    "test_lookups_cli.py": "cli",
}
TESTS = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if any(item.get_closest_marker(layer) for layer in LAYERS):
            continue
        relative = Path(item.path).relative_to(TESTS).as_posix()
        item.add_marker(getattr(pytest.mark, FILE_LAYERS.get(relative, "unit")))


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
