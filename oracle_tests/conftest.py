"""Shared fixtures: the device parameter (cuda skipped where CuPy sees no GPU) and hypothesis
profiles ('ci' quick and the default for nox -s verify, 'thorough' for long runs)."""
import os
import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

import refgrad

settings.register_profile("ci", max_examples=15, deadline=None, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile("thorough", max_examples=300, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile("dev", max_examples=40, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

_CUDA = refgrad.cuda.is_available()


@pytest.fixture(params=["cpu", pytest.param("cuda", marks=pytest.mark.cuda)])
def device(request):
    if request.param == "cuda" and not _CUDA:
        pytest.skip("no GPU visible to CuPy")
    return request.param


@pytest.fixture
def rng(request):
    # a per-test seed derived from its id: reproducible, different across tests
    seed = zlib.crc32(request.node.nodeid.encode())
    return np.random.default_rng(seed)
