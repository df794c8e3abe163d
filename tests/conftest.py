import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from dumont_iac import errors
from dumont_iac.clients import gpu_models

pytest_plugins = [
    "dumont_iac.testing.sandbox",
    "dumont_iac.testing.fixtures",
    # Searches each process's test artefacts for the fixtures' keys when it ends.
    "tests.security.basetemp_scan",
]

# Every test belongs to one layer, so a fast loop is one command (`pytest -m unit`):
# unit: code in this process (stores, rules, clients against scripted answers); contract: a
# real server or provider process driven over its wire protocol (HTTP, gRPC); lifecycle: a
# program deployed through the driver; cli: commands run as a user runs them; real_cli: the
# Pulumi CLI; real_marketplace: the real marketplace (opt-in, costs money).
LAYERS = ("unit", "contract", "lifecycle", "cli", "real_cli", "real_marketplace")
# A file's (or one test's) layer when it is not unit; a test marked with a layer keeps its own.
FILE_LAYERS = {
    # A generated-request sweep of the whole API: the sandbox's contract, not the fast loop.
    "sandbox/test_openapi.py::test_no_generated_request_gets_a_server_error": "contract",
    "control_plane/test_validation.py::test_no_generated_request_gets_a_server_error": "contract",
    # Replicas of the control plane as real processes on one PostgreSQL.
    "control_plane/test_replicas.py": "contract",
    "gpu_instance/test_contract.py": "contract",
    "gpu_instance/test_frozen_blob.py": "contract",
    "gpu_instance/test_faults.py": "lifecycle",
    # Renting driven directly against the sandbox: no program, no driver.
    "gpu_instance/test_faults.py::"
    "test_a_listing_gone_stale_under_many_takes_is_searched_afresh_before_giving_up": "contract",
    "faults/test_marketplace.py": "lifecycle",
    "failover/test_engine.py": "lifecycle",
    "failover/test_lifecycle.py": "lifecycle",
    "faults/test_gpu_losses.py": "lifecycle",
    "faults/test_aws.py": "lifecycle",
    "faults/test_control_plane_restart.py": "lifecycle",
    "gpu_instance/test_outages.py": "lifecycle",
    "gpu_instance/test_identity.py": "lifecycle",
    "gpu_instance/test_lifecycle.py": "lifecycle",
    "gpu_instance/test_secrets.py": "lifecycle",
    "gpu_instance/test_automation.py": "real_cli",
    "budgets/test_plan.py": "lifecycle",
    "budgets/test_lifecycle.py": "lifecycle",
    "budgets/test_enforcement.py": "contract",
    "budgets/test_cost_cli.py": "cli",
    "budgets/test_automation.py": "real_cli",
    "real_cli/test_examples_automation.py": "real_cli",
    "budgets/test_policy_pack.py": "lifecycle",
    "budgets/test_frozen_blob.py": "contract",
    "gpu_fleet/test_faults.py": "lifecycle",
    "gpu_fleet/test_frozen_blob.py": "contract",
    "gpu_fleet/test_lifecycle.py": "lifecycle",
    "warm_pool/test_lifecycle.py": "lifecycle",
    "warm_pool/test_frozen_blob.py": "contract",
    "warm_pool/test_faults.py": "lifecycle",
    "warm_pool/test_cost.py::test_a_deployed_pool_bills_its_primary_and_storage_for_standbys": (
        "lifecycle"
    ),
    # Placement driven directly against the world's sandbox: no program, no driver.
    "warm_pool/test_faults.py::test_gpus_taken_mid_placement_move_the_pool_to_the_next_machine": (
        "contract"
    ),
    "cpu_standby/test_ec2.py": "contract",
    "cpu_standby/test_model.py::test_a_program_with_a_standby_is_priced_before_deploy": "lifecycle",
    "cpu_standby/test_frozen_blob.py": "contract",
    "cpu_standby/test_lifecycle.py": "lifecycle",
    "cpu_standby/test_faults.py": "lifecycle",
    "provider_core/test_provider_contract.py": "contract",
    "snapshots/test_s3.py": "contract",
    "snapshots/test_snapshots.py": "lifecycle",
    "snapshots/test_hibernation.py": "lifecycle",
    "snapshots/test_frozen_snapshot_blob.py": "contract",
    "snapshots/test_frozen_hibernation_blob.py": "contract",
    "provider_core/test_provider_blobs.py": "contract",
    "provider_core/test_deployed_state.py": "contract",
    "provider_core/test_driver_lifecycle.py": "lifecycle",
    "provider_core/test_driver_programs.py": "lifecycle",
    "sandbox/test_instance_faults.py": "contract",
    "sandbox/test_load.py": "contract",
    "failover_policy/test_lifecycle.py": "lifecycle",
    "failover_policy/test_frozen_blob.py": "contract",
    "security/test_key_rotation.py": "lifecycle",
    "security/test_secret_scan.py": "lifecycle",
    "failover_policy/test_status_cli.py": "cli",
    "sandbox/test_cli.py": "cli",
    "sandbox/test_vastai_client.py": "cli",
    "test_demo.py": "cli",
    "test_examples.py": "lifecycle",
    "components/test_components.py": "unit",
    "components/test_deployed.py": "lifecycle",
    "test_lookups_cli.py": "cli",
    "test_workflows.py": "cli",
    # The cost-capped scenarios: lifecycle on the local world; their real-marketplace runs carry
    # the real_marketplace mark themselves.
    "real_marketplace/test_scenarios.py": "lifecycle",
    "real_marketplace/test_sweep_after_failure.py": "lifecycle",
    "test_sweep_cli.py": "cli",
    "test_benches.py": "cli",
}
TESTS = Path(__file__).parent
# A test that starts one of these real servers for itself is a contract test of that server.
SERVED = frozenset(
    {"sandbox", "sandbox_factory", "gpu_sandbox", "world", "control_plane",
     "serve_control_plane", "serve", "postgres", "moto_server"}
)  # fmt: skip


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("real marketplace", "cost-capped scenarios (tests/real_marketplace)")
    group.addoption(
        "--real-marketplace", action="store_true",
        help="Also run the scenarios on the real marketplace (needs VAST_API_KEY; costs money).",
    )  # fmt: skip
    group.addoption("--max-cost", type=float, default=0.02,
                    help="Refuse any offer above this, $ per hour (default 0.02).")  # fmt: skip
    group.addoption("--max-size", type=float, default=1.0,
                    help="Fail a snapshot above this many GB (default 1).")  # fmt: skip
    # pytest-timeout owns --timeout (each test's own limit).
    group.addoption("--failover-timeout", type=float, default=300.0,
                    help="Fail a failover slower than this, seconds (default 300).")  # fmt: skip


def _no_marketplace_beyond_this_machine() -> None:
    raise errors.Unreachable("tests reach 127.0.0.1 only", url="", reason="offline")


@pytest.fixture(autouse=True, scope="session")
def _gpu_catalog_offline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """An unknown GPU name would ask the default marketplace (a public host) for its models;
    tests ask only their own sandboxes, and keep the catalog cache out of the home directory
    (the variable reaches provider processes too)."""
    previous = os.environ.get(gpu_models.CACHE_ENV)
    os.environ[gpu_models.CACHE_ENV] = str(tmp_path_factory.mktemp("cache"))
    gpu_models.ask_with(_no_marketplace_beyond_this_machine)
    yield
    if previous is None:
        os.environ.pop(gpu_models.CACHE_ENV, None)
    else:
        os.environ[gpu_models.CACHE_ENV] = previous


@pytest.fixture(autouse=True)
def _each_test_starts_with_no_url_answered() -> Iterator[None]:
    """A port a stopped server answered on may be handed out again to a later test."""
    from dumont_iac.clients.http import forget_answers

    forget_answers()
    yield
    forget_answers()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if any(item.get_closest_marker(layer) for layer in LAYERS):
            continue
        relative = Path(item.path).relative_to(TESTS).as_posix()
        test = f"{relative}::{item.originalname}"
        served = "contract" if SERVED & set(getattr(item, "fixturenames", ())) else "unit"
        layer = FILE_LAYERS.get(test) or FILE_LAYERS.get(relative, served)
        item.add_marker(getattr(pytest.mark, layer))


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
    threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
