"""Stationary Gaussian random fields on a pixel grid by circulant embedding (spectral synthesis).

Split from :mod:`data_sim.spatial` (which re-exports the public names).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import fft as sfft
from scipy.optimize import brentq

from radiogenomics._checks import InputError

from ._utils import RngLike, as_generator

GRF_KERNELS = ("gaussian", "matern32", "exponential")
_TOL = 1e-4  # covariance level beyond which periodic images / padding are neglected
_SQ3 = np.sqrt(3.0)

# --------------------------------------------------------------------------- random fields
def grf_covariance(d, length_scale: float, kernel: str = "gaussian") -> np.ndarray:
    r"""Correlation function :math:`C(d)` of :func:`gaussian_random_field`.

    With :math:`r = d / \ell` (Rasmussen & Williams 2006, *Gaussian Processes for Machine
    Learning*, eqs. 4.9 and 4.17):

    * ``"gaussian"`` (squared exponential): :math:`C(d) = \exp(-r^2 / 2)`;
    * ``"matern32"`` (Matern, :math:`\nu = 3/2`): :math:`C(d) = (1 + \sqrt3 r)\exp(-\sqrt3 r)`;
    * ``"exponential"`` (Matern, :math:`\nu = 1/2`): :math:`C(d) = \exp(-r)`.
    """
    _check_kernel(kernel)
    r = np.abs(np.asarray(d, dtype=float)) / _number("length_scale", length_scale, positive=True)
    if kernel == "gaussian":
        return np.exp(-0.5 * r * r)
    if kernel == "matern32":
        return (1.0 + _SQ3 * r) * np.exp(-_SQ3 * r)
    return np.exp(-r)


def _check_kernel(kernel):
    if kernel not in GRF_KERNELS:
        raise InputError(f"kernel must be one of {GRF_KERNELS}, got {kernel!r}")


def _cutoff(kernel: str) -> float:
    """``r`` beyond which ``C < _TOL`` (in length scales)."""
    return brentq(lambda r: float(grf_covariance(r, 1.0, kernel)) - _TOL, 1e-6, 100.0)


def _periodised_covariance(shape, spacing, length_scale, kernel) -> np.ndarray:
    r"""``sum_m C(|Delta + m * L|)`` over the periodic images, at the torus lags of ``shape``."""
    cut = _cutoff(kernel) * length_scale
    lags, ranges = [], []
    for n in shape:
        L = n * spacing
        lags.append(np.arange(n) * spacing)
        m_lo = int(np.ceil((-cut - (n - 1) * spacing) / L))
        m_hi = int(np.floor(cut / L))
        if m_hi - m_lo > 64:
            raise InputError(
                f"length_scale={length_scale:g} is far larger than the periodic grid "
                f"({n} x {spacing:g}); the field would be nearly constant: enlarge the grid "
                "or shorten the length scale")
        ranges.append(range(m_lo, m_hi + 1))
    dy, dx = lags
    Ly, Lx = shape[0] * spacing, shape[1] * spacing
    c = np.zeros(shape)
    for a in ranges[0]:
        yy = (dy + a * Ly)[:, None] ** 2
        for b in ranges[1]:
            c += grf_covariance(np.sqrt(yy + ((dx + b * Lx)[None, :]) ** 2), length_scale, kernel)
    return c


@dataclass(frozen=True)
class _Spectrum:
    """Square root of the circulant eigenvalues on the (padded) grid, and the output window."""

    root: np.ndarray  # rfft2 layout, already divided by sqrt(C_per(0))
    grid: tuple[int, int]
    shape: tuple[int, int]


def _spectrum(shape, length_scale, spacing, kernel, periodic) -> _Spectrum:
    shape = (int(shape[0]), int(shape[1]))
    if periodic:
        grid = shape
    else:
        pad = int(np.ceil(_cutoff(kernel) * length_scale / spacing))
        grid = tuple(sfft.next_fast_len(n + pad, real=True) for n in shape)
    c = _periodised_covariance(grid, spacing, length_scale, kernel)
    lam = sfft.rfft2(c).real
    lam = np.clip(lam, 0.0, None) / c[0, 0]
    return _Spectrum(np.sqrt(lam), grid, shape)


def _synthesise(spec: _Spectrum, white: np.ndarray) -> np.ndarray:
    """Apply the symmetric square root of the covariance to white noise on ``spec.grid``."""
    f = sfft.irfft2(spec.root * sfft.rfft2(white, axes=(-2, -1)), s=spec.grid, axes=(-2, -1))
    return f[..., :spec.shape[0], :spec.shape[1]]


def gaussian_random_field(shape, length_scale: float, rng: RngLike = None, *,
                          spacing: float = 1.0, kernel: str = "gaussian",
                          periodic: bool = False, size: int | None = None) -> np.ndarray:
    r"""Stationary zero-mean, unit-variance Gaussian random field on a 2-D pixel grid.

    Pixel centres lie ``spacing`` apart; the field's correlation between pixels ``d`` apart
    (same units as ``spacing`` and ``length_scale``) is :math:`C(d)` of
    :func:`grf_covariance` (Gaussian :math:`\exp(-d^2 / 2\ell^2)`, Matern-3/2, exponential).

    Method: spectral synthesis by circulant embedding (Wood & Chan 1994, *J. Comput. Graph.
    Stat.* 3:409; Dietrich & Newsam 1997, *SIAM J. Sci. Comput.* 18:1088).  On a torus of
    ``P = (P_y, P_x)`` pixels the periodised correlation
    :math:`c(\Delta) = \sum_{m \in Z^2} C(|\Delta + m \circ P\,h|)` (images summed until
    :math:`C < 10^{-4}`) is a positive-definite function of the torus, so the eigenvalues
    :math:`\lambda = \mathrm{DFT}(c)` are non-negative (Poisson summation) and
    :math:`f = \mathrm{DFT}^{-1}(\sqrt{\lambda / c(0)}\,\mathrm{DFT}(w))`, with ``w`` white
    noise, has covariance exactly :math:`c(\Delta) / c(0)`: unit variance.

    * ``periodic=True``: ``P = shape``; the field is periodic (row ``-1`` neighbours row
      ``0``) with the periodised correlation above (equal to :math:`C` up to wrap-around
      terms, which vanish when the grid spans many length scales): the field needed by
      torus-shift nulls, whose shifts preserve its distribution exactly.
    * ``periodic=False``: the grid is padded to ``shape + ceil(r_cut * length_scale /
      spacing)`` pixels per axis (``r_cut`` = 4.29, 6.83, 9.21 length scales for the Gaussian,
      Matern-3/2 and exponential kernels: where :math:`C` falls to :math:`10^{-4}`) and the
      field cropped to ``shape``: within the window the correlation equals :math:`C(d)` to
      within ~3e-4.

    Parameters
    ----------
    shape : (int, int)
        Rows and columns (each >= 2).
    length_scale : float
        :math:`\ell` (> 0), in the units of ``spacing``.
    rng : int, Generator, ...
        Random source (SPEC 7).
    spacing : float
        Pixel spacing :math:`h` (> 0).
    kernel : {"gaussian", "matern32", "exponential"}
    periodic : bool
        Periodic field on the ``shape`` torus (see above).
    size : int, optional
        Number of independent fields; the result is then ``(size, *shape)``.

    Returns
    -------
    ndarray, shape ``shape`` or ``(size, *shape)``
    """
    _check_kernel(kernel)
    try:
        shape = tuple(int(s) for s in shape)
    except (TypeError, ValueError):
        raise InputError(f"shape must be two integers (rows, columns), got {shape!r}") from None
    if len(shape) != 2 or min(shape) < 2:
        raise InputError(f"shape must be two integers >= 2 (rows, columns), got {shape!r}")
    length_scale = _number("length_scale", length_scale, positive=True)
    spacing = _number("spacing", spacing, positive=True)
    if size is not None and (isinstance(size, (bool, np.bool_))
                             or not isinstance(size, (int, np.integer)) or size < 1):
        raise InputError(f"size must be a positive integer (number of fields) or None, got "
                         f"{size!r}")
    gen = as_generator(rng)
    spec = _spectrum(shape, length_scale, spacing, kernel, bool(periodic))
    n = 1 if size is None else int(size)
    out = np.stack([_synthesise(spec, gen.standard_normal(spec.grid)) for _ in range(n)])
    return out[0] if size is None else out

def _number(name, v, *, positive=False, low=None, high=None) -> float:
    """``v`` as a finite float within the stated bounds, else an InputError naming it."""
    try:
        x = float(v)
    except (TypeError, ValueError):
        x = np.nan
    bad = (not np.isfinite(x) or isinstance(v, (bool, np.bool_)) or (positive and x <= 0)
           or (low is not None and x < low) or (high is not None and x > high))
    if bad:
        want = ("a positive number" if positive else f"a number in [{low}, {high}]"
                if high is not None else f"a number >= {low}" if low is not None
                else "a finite number")
        raise InputError(f"{name} must be {want}, got {v!r}")
    return x
