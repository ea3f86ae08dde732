"""Privacy accounting for DP-SGD: Rényi DP of the sampled Gaussian mechanism, converted to (epsilon, delta).

Each hospital trains with DP-SGD (per-example clipping to norm C, Gaussian noise of standard deviation
sigma * C on every summed batch gradient, Poisson sampling of each example with probability q). One step
is the sampled Gaussian mechanism (Mironov, Talwar & Zhang 2019). The RDP values and the conversion to
(epsilon, delta) (Balle et al. 2020) are Opacus's (`opacus.accountants.analysis.rdp`, the analysis behind
its `RDPAccountant`), so a reported epsilon is the number the library users trust would give.

RDP composes by addition over steps, rounds and jobs, so a hospital's ledger stores its RDP vector at
`ORDERS` per task. The guarantee is record-level (example-level) DP of everything the hospital sends.

Why Opacus and how it is loaded: Google's dp-accounting 0.6 pins attrs < 24 (this stack has attrs 26), and
Opacus 1.6 installs cleanly next to torch 2.13. `import opacus` however loads torch and its whole privacy
engine (about 2 s of CPU under load), paid by every Flower message process that converts an epsilon. Its RDP
analysis module is plain numpy / scipy with no imports from the rest of the package, so it is loaded from
the installed package's own file without running the package's `__init__` (`_opacus_rdp`). The tests
cross-check it against `opacus.accountants.RDPAccountant` imported normally, its PRV accountant and an
independent implementation of the formula.
"""

from __future__ import annotations

import importlib.util
import math
import sys
from functools import cache
from pathlib import Path
from types import ModuleType

import numpy as np

ORDERS = np.array([2, 3, 4, 5, 6, 7, 8, 10, 12, 14, 16, 20, 24, 32, 48, 64, 96, 128, 256], dtype=np.float64)
_MODULE = "opacus.accountants.analysis.rdp"


@cache
def _opacus_rdp() -> ModuleType:
    """Opacus's RDP analysis module, without importing the `opacus` package (torch) when it is not loaded."""
    if _MODULE in sys.modules:
        return sys.modules[_MODULE]
    package = importlib.util.find_spec("opacus")  # locates the package; runs nothing
    if package is None or not package.submodule_search_locations:
        raise ImportError("opacus is not installed (pip install opacus==1.6.0)")
    path = Path(next(iter(package.submodule_search_locations))) / "accountants" / "analysis" / "rdp.py"
    spec = importlib.util.spec_from_file_location("_medhive_opacus_rdp", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def rdp_sampled_gaussian(q: float, sigma: float, steps: int, orders: np.ndarray = ORDERS) -> np.ndarray:
    """RDP at `orders` of `steps` compositions of the sampled Gaussian mechanism (rate q, noise sigma)."""
    if not 0 < q <= 1:
        raise ValueError("sampling rate q must be in (0, 1]")
    if sigma <= 0:
        return np.full(len(orders), np.inf)
    if steps <= 0:
        return np.zeros(len(orders))
    rdp = _opacus_rdp().compute_rdp(q=q, noise_multiplier=sigma, steps=steps, orders=[float(a) for a in orders])
    return np.asarray(rdp, dtype=np.float64)


def epsilon_from_rdp(rdp: np.ndarray, delta: float, orders: np.ndarray = ORDERS) -> float:
    """The smallest epsilon over the orders for the given delta (Balle et al. 2020, via Opacus)."""
    if not 0 < delta < 1:
        raise ValueError("delta must be in (0, 1)")
    rdp = np.asarray(rdp, dtype=np.float64)
    if np.all(rdp == 0):
        return 0.0  # nothing spent: no need to load the analysis
    import warnings

    with warnings.catch_warnings():
        # Opacus warns when the best order is the first or last of the grid; the ledger's grid is fixed
        warnings.simplefilter("ignore", UserWarning)
        eps, _ = _opacus_rdp().get_privacy_spent(orders=orders, rdp=rdp, delta=delta)
    return float(max(0.0, eps))


def steps_for(n: int, *, batch_size: int, epochs: int) -> tuple[int, float]:
    """(steps, sampling rate) of `epochs` passes over `n` examples with expected batch `batch_size`."""
    q = min(1.0, batch_size / max(n, 1))
    return max(1, int(epochs * math.ceil(1 / q))), q


def dp_sgd_epsilon(*, q: float, sigma: float, steps: int, delta: float) -> float:
    return epsilon_from_rdp(rdp_sampled_gaussian(q, sigma, steps), delta)


def calibrate_sigma(*, target_epsilon: float, q: float, steps: int, delta: float,
                    spent_rdp: np.ndarray | None = None, low: float = 0.3, high: float = 50.0) -> float:
    """The smallest noise multiplier whose `steps` (plus what is already spent) stay within the target."""
    base = np.zeros(len(ORDERS)) if spent_rdp is None else np.asarray(spent_rdp)

    def eps(sigma: float) -> float:
        return epsilon_from_rdp(base + rdp_sampled_gaussian(q, sigma, steps), delta)

    if eps(high) > target_epsilon:
        raise ValueError(f"epsilon {target_epsilon:g} is out of reach with {steps} steps (noise multiplier > {high:g})")
    if eps(low) <= target_epsilon:
        return low
    for _ in range(40):
        mid = (low + high) / 2
        low, high = (low, mid) if eps(mid) <= target_epsilon else (mid, high)
    return high
