"""GPU model names are checked in the program: matched to the marketplace's spelling, refused
with the closest names when unknown, and learned from the marketplace's own list."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from dumont_iac import GpuInstanceArgs
from dumont_iac.clients import gpu_models
from dumont_iac.clients.marketplace import MarketplaceClient
from dumont_iac.clients.marketplace.offer_filter import OfferFilter
from dumont_iac.errors import InvalidArgumentsError
from dumont_iac.schema import validate_arguments


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv(gpu_models.CACHE_ENV, str(tmp_path))
    return tmp_path / "gpu-models.json"


@pytest.mark.parametrize("given", ["rtx 4090", "RTX_4090", " rtx   4090 ", "Rtx_4090"])
def test_any_case_and_underscores_name_the_marketplace_model(given):
    assert OfferFilter(gpu_names=[given]).gpu_names == ("RTX 4090",)
    assert GpuInstanceArgs(image="x", gpu_models=[given, "h100 sxm"]).gpu_models == [
        "RTX 4090",
        "H100 SXM",
    ]


def test_an_unknown_model_is_refused_in_the_program_with_the_closest_names():
    with pytest.raises(InvalidArgumentsError) as caught:
        validate_arguments(GpuInstanceArgs, {"image": "x", "gpu_models": ["RTX 9999"]})
    message = str(caught.value)
    assert "gpu_models: Value error, 'RTX 9999' is not a GPU model the marketplace knows" in message
    assert "the closest known: RTX 5090, RTX 4090, RTX 3090" in message
    # A search may name any model: one that nobody offers simply finds nothing.
    assert OfferFilter(gpu_names=["tesla_k999"]).gpu_names == ("tesla k999",)


def test_models_the_marketplace_lists_are_remembered_for_later_programs(sandbox, cache):
    names = MarketplaceClient(sandbox.url, sandbox.api_key, pacing_scale=0).gpu_names()
    assert "RTX 4090" in names and json.loads(cache.read_text()) == sorted(set(names))
    gpu_models.remember(["RTX 9090 Hyper"])  # a model newer than the shipped catalog
    assert GpuInstanceArgs(image="x", gpu_models=["rtx_9090_hyper"]).gpu_models == [
        "RTX 9090 Hyper"
    ]
    assert "RTX 4090" in json.loads(cache.read_text())  # merged, not replaced


def test_an_unknown_name_asks_the_marketplace_once_before_it_is_refused(cache, monkeypatch):
    asked: list[int] = []

    def fetch() -> None:
        asked.append(1)
        gpu_models.remember(["B300"])

    monkeypatch.setattr(gpu_models, "_asked", [])
    monkeypatch.setattr(gpu_models, "_ask", [fetch])
    assert GpuInstanceArgs(image="x", gpu_models=["b300"]).gpu_models == ["B300"]
    with pytest.raises(ValidationError):
        GpuInstanceArgs(image="x", gpu_models=["B999"])
    assert asked == [1]  # once per process, whatever is validated afterwards


def test_regions_are_continents_or_real_iso_country_codes():
    assert OfferFilter(regions=["eu", "jp", "XK"]).regions == ("EU", "JP", "XK")
    with pytest.raises(ValidationError, match="region 'ZZ' is neither a continent code"):
        OfferFilter(regions=["ZZ"])
