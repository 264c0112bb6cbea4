"""Every benchmark runs the same workload in refgrad and in torch within one session; the summary
prints refgrad's median time as a ratio of torch's. Tests never assert on wall time.

``--bench-device cuda`` runs every workload on the GPU (refgrad through CuPy, torch through CUDA), each timed
call ending in a device synchronize so that queued kernels are counted."""
import numpy as np
import pytest

import refgrad

_medians = {}


def pytest_addoption(parser):
    parser.addoption("--bench-device", default="cpu", choices=["cpu", "cuda"],
                     help="device of the benchmark workloads (default cpu)")


@pytest.fixture
def bench_device(request):
    dev = request.config.getoption("--bench-device")
    if dev == "cuda" and not refgrad.cuda.is_available():
        pytest.skip("--bench-device cuda: no GPU visible to CuPy")
    return dev


@pytest.fixture
def make(bench_device):
    """make(lib, array, requires_grad=False): a tensor of engine ``lib`` on the benchmark device."""
    def build(lib, arr, requires_grad=False):
        return lib.tensor(np.asarray(arr), device=bench_device, requires_grad=requires_grad)
    return build


@pytest.fixture
def twin(benchmark, request, bench_device):
    """Benchmark ``fn`` and record its median under (group, engine) for the ratio table."""
    def run(group, engine, fn, rounds=None):
        if bench_device != "cpu":
            lib = refgrad if engine == "refgrad" else __import__("torch")
            body = fn

            def fn():
                body()
                lib.cuda.synchronize()
            group = f"{group}_{bench_device}"
        benchmark.group = group
        benchmark.extra_info["engine"] = engine
        if rounds:
            benchmark.pedantic(fn, rounds=rounds, iterations=1, warmup_rounds=2)
        else:
            benchmark(fn)
        if benchmark.stats is not None:
            _medians[(group, engine)] = benchmark.stats.stats.median
    return run


def pytest_terminal_summary(terminalreporter):
    groups = sorted({g for g, _ in _medians})
    if not groups:
        return
    tr = terminalreporter
    tr.section("refgrad / torch (median time ratio, same run)")
    for g in groups:
        r, t = _medians.get((g, "refgrad")), _medians.get((g, "torch"))
        if r is None or t is None:
            continue
        tr.write_line(f"{g:40s} refgrad {r * 1e3:9.3f} ms   torch {t * 1e3:9.3f} ms   ratio {r / t:6.2f}x")
