"""Privacy accounting for DP-SGD: Rényi DP of the sampled Gaussian mechanism, converted to (epsilon, delta).

Each hospital trains with DP-SGD (per-example clipping to norm C, Gaussian noise of standard deviation
sigma * C on every summed batch gradient, Poisson sampling of each example with probability q). One step
is the sampled Gaussian mechanism; its RDP at integer order alpha is (Mironov, Talwar & Zhang 2019)

    RDP(alpha) = log( sum_k C(alpha, k) (1 - q)^(alpha - k) q^k exp((k^2 - k) / (2 sigma^2)) ) / (alpha - 1)

RDP composes by addition over steps, rounds and jobs, so a hospital's ledger stores its RDP vector per
task; (epsilon, delta) comes from the conversion of Balle et al. (2020), as in Opacus and TF Privacy.
The guarantee is record-level (example-level) DP of everything the hospital sends.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import gammaln, logsumexp

ORDERS = np.array([2, 3, 4, 5, 6, 7, 8, 10, 12, 14, 16, 20, 24, 32, 48, 64, 96, 128, 256], dtype=np.float64)


def _log_a_int(q: float, sigma: float, alpha: int) -> float:
    k = np.arange(alpha + 1, dtype=np.float64)
    log_binom = gammaln(alpha + 1) - gammaln(k + 1) - gammaln(alpha - k + 1)
    with np.errstate(divide="ignore"):
        terms = log_binom + k * math.log(q) + (alpha - k) * math.log1p(-q) + (k * k - k) / (2 * sigma**2)
    return float(logsumexp(terms))


def rdp_sampled_gaussian(q: float, sigma: float, steps: int, orders: np.ndarray = ORDERS) -> np.ndarray:
    """RDP at `orders` of `steps` compositions of the sampled Gaussian mechanism (rate q, noise sigma)."""
    if not 0 < q <= 1:
        raise ValueError("sampling rate q must be in (0, 1]")
    if sigma <= 0:
        return np.full(len(orders), np.inf)
    if steps <= 0:
        return np.zeros(len(orders))
    if q == 1.0:
        return steps * orders / (2 * sigma**2)
    return steps * np.array([_log_a_int(q, sigma, int(a)) / (a - 1) for a in orders])


def epsilon_from_rdp(rdp: np.ndarray, delta: float, orders: np.ndarray = ORDERS) -> float:
    """The smallest epsilon over the orders for the given delta (Balle et al. 2020, Prop. 12)."""
    if not 0 < delta < 1:
        raise ValueError("delta must be in (0, 1)")
    rdp = np.asarray(rdp, dtype=np.float64)
    if np.all(rdp == 0):
        return 0.0
    eps = rdp + np.log1p(-1 / orders) - (math.log(delta) + np.log(orders)) / (orders - 1)
    return float(max(0.0, np.nanmin(eps)))


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
