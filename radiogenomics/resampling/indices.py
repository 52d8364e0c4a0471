"""Resampling indices drawn on the CPU from ``rng``: permutations, bootstraps, sign flips.

Every resampling scheme is generated here, once, with NumPy's ``Generator``; kernels on any
backend (NumPy, Numba, CuPy) only *consume* the indices.  So the same ``rng`` gives the same
resamples, hence the same p-values, on every backend, with any batch size and any number of
threads.

Indices are drawn in fixed canonical chunks of :data:`GEN_CHUNK` resamples, so how a caller
slices them into compute batches never changes which resamples are drawn.

Schemes (Winkler et al. 2014, *NeuroImage* 92:381, "Permutation inference for the general
linear model"; Winkler et al. 2015, *NeuroImage* 123:253, "Multi-level block permutation"):

``free``
    Every sample may go anywhere (exchangeable errors).
``within`` (``blocks`` given)
    Samples are permuted only among members of their own block (e.g. acquisition centre):
    valid when errors are exchangeable within centres but centres differ in location or scale.
``whole`` (``blocks`` given, ``whole_blocks=True``)
    Blocks move as units: the block order is permuted and each block keeps its internal order.
    Requires blocks of equal size; valid when blocks (e.g. families, repeated scans of a
    patient) are exchangeable as wholes.

Bootstraps draw with replacement, optionally stratified (each stratum resampled to its own
size, so per-centre sample sizes are preserved).  Sign flips draw +/-1 per sample, or per block
(whole-block sign flipping), for symmetric errors.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np

from .._checks import check_rng as _check_rng

__all__ = [
    "GEN_CHUNK", "check_rng", "PermutationScheme", "BootstrapScheme", "SignFlipScheme",
    "permutation_indices", "bootstrap_indices", "sign_flips", "inverse_permutations",
    "iter_batches", "GivenPermutations",
]

#: resamples drawn per call of the generator; fixed so results never depend on ``batch``
GEN_CHUNK = 256

# the one SPEC 7 rng normaliser lives in the input layer
check_rng = _check_rng


def _block_codes(blocks, n: int, what: str = "exchangeability_blocks") -> tuple[np.ndarray, np.ndarray]:
    """Integer codes 0..k-1 and the labels of ``blocks`` (length ``n``), validated.

    Labels are compared as values (``1`` and ``"1"`` are different blocks); missing labels
    (None, NaN, ``pd.NA``, NaT) are refused.
    """
    import pandas as pd

    if np.ndim(blocks) != 1 or len(blocks) != n:
        raise ValueError(f"{what} must be one label per sample ({n}), got shape {np.shape(blocks)}")
    if isinstance(blocks, pd.Series):
        blocks = blocks.array
    ser = pd.Series(blocks if isinstance(blocks, (pd.Categorical, pd.Index, pd.api.extensions.ExtensionArray))
                    else np.asarray(blocks, dtype=object))
    missing = ser.isna().to_numpy()
    if missing.any():
        raise ValueError(f"{what} has missing labels at position(s) {np.flatnonzero(missing)[:5].tolist()}; "
                         "give every sample a block label")
    codes, labels = pd.factorize(ser, sort=True)
    return codes.astype(np.intp), np.asarray(labels)


@dataclass(frozen=True)
class _Members:
    """Sample positions of each block (sorted), as a list and, for equal sizes, a 2-D array."""

    codes: np.ndarray
    labels: np.ndarray
    members: tuple

    @classmethod
    def of(cls, blocks, n, what):
        codes, labels = _block_codes(blocks, n, what)
        members = tuple(np.flatnonzero(codes == b) for b in range(len(labels)))
        return cls(codes, labels, members)

    @property
    def sizes(self) -> np.ndarray:
        return np.array([len(m) for m in self.members])


class _Scheme:
    """Base: draw ``size`` resamples as a ``(size, n)`` array with the scheme's generator."""

    n: int

    def draw(self, rng: np.random.Generator, size: int) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    def generate(self, n_resamples: int, rng=None) -> np.ndarray:
        """All ``n_resamples`` resamples as one ``(n_resamples, n)`` array."""
        rng = check_rng(rng)
        return np.concatenate(
            [self.draw(rng, min(GEN_CHUNK, n_resamples - s)) for s in range(0, n_resamples, GEN_CHUNK)]
            or [self.draw(rng, 0)], axis=0)


class PermutationScheme(_Scheme):
    """Permutations of ``n`` samples: free, within blocks, or of whole blocks.

    Row ``b`` of a draw is a permutation ``pi`` of ``0..n-1``: resampled data are
    ``data[pi]`` (sample ``i`` receives the value of sample ``pi[i]``).
    """

    def __init__(self, n: int, blocks=None, whole_blocks: bool = False):
        if n < 2:
            raise ValueError(f"need at least 2 samples to permute, got {n}")
        self.n = int(n)
        self.whole_blocks = bool(whole_blocks)
        self.blocks = None if blocks is None else _Members.of(blocks, n, "exchangeability_blocks")
        if whole_blocks and self.blocks is None:
            raise ValueError("whole_blocks=True needs exchangeability_blocks")
        if self.blocks is not None:
            sizes = self.blocks.sizes
            if whole_blocks:
                if len(sizes) < 2:
                    raise ValueError("whole-block permutation needs at least 2 blocks; got 1")
                if (sizes != sizes[0]).any():
                    detail = ", ".join(f"{lab}: {s}" for lab, s in zip(self.blocks.labels, sizes))
                    raise ValueError(
                        "whole-block permutation needs blocks of equal size (they are swapped as "
                        f"units), got {detail}; permute within blocks instead (whole_blocks=False)")
                self._stack = np.vstack(self.blocks.members)  # (k, s)
            elif (sizes < 2).all():
                raise ValueError("every exchangeability block has a single sample, so no sample "
                                 "can move; use larger blocks or none")

    @property
    def kind(self) -> str:
        if self.blocks is None:
            return "free"
        return "whole-block" if self.whole_blocks else "within-block"

    @property
    def n_distinct(self) -> float:
        """Number of distinct permutations the scheme can produce (may be ``inf``-large)."""
        if self.blocks is None:
            return _factorial(self.n)
        if self.whole_blocks:
            return _factorial(len(self.blocks.members))
        out = 1.0
        for s in self.blocks.sizes:
            out *= _factorial(int(s))
        return out

    def draw(self, rng, size):
        n = self.n
        if self.blocks is None:
            return rng.permuted(np.broadcast_to(np.arange(n), (size, n)), axis=1)
        if self.whole_blocks:
            k = self._stack.shape[0]
            order = rng.permuted(np.broadcast_to(np.arange(k), (size, k)), axis=1)
            out = np.empty((size, n), dtype=np.intp)
            out[:, self._stack] = self._stack[order]
            return out
        out = np.empty((size, n), dtype=np.intp)
        for m in self.blocks.members:
            out[:, m] = m[rng.permuted(np.broadcast_to(np.arange(len(m)), (size, len(m))), axis=1)]
        return out

    #: enumerate exhaustively only below this many distinct permutations (memory: N x n ints)
    MAX_ENUMERATED = 200_000

    def exhaustive_for(self, n_resamples: int) -> bool:
        """True when every distinct permutation fits in ``n_resamples`` draws (``N - 1 <= B``,
        the identity being the observed statistic): they are then enumerated, as PALM does."""
        d = self.n_distinct
        return d <= self.MAX_ENUMERATED and d - 1 <= n_resamples

    def resamples_for(self, n_resamples: int) -> int:
        """The number of resamples actually used for a request of ``n_resamples``: all
        ``N - 1`` non-identity permutations when :meth:`exhaustive_for`, else the request."""
        return int(self.n_distinct) - 1 if self.exhaustive_for(n_resamples) else int(n_resamples)

    def enumerate(self) -> np.ndarray:
        """All distinct permutations of the scheme except the identity, ``(N - 1, n)``, in a
        fixed (lexicographic) order.  With them, ``(1 + #exceed) / (1 + (N - 1))`` is the exact
        permutation p-value ``#{pi: T(pi) >= T} / N`` (the identity counted once)."""
        import itertools

        n = self.n
        if self.blocks is None:
            rows = np.array(list(itertools.permutations(range(n))), dtype=np.intp)
        elif self.whole_blocks:
            k = self._stack.shape[0]
            orders = np.array(list(itertools.permutations(range(k))), dtype=np.intp)
            rows = np.empty((len(orders), n), dtype=np.intp)
            rows[:, self._stack] = self._stack[orders]
        else:
            per_block = [np.array(list(itertools.permutations(m)), dtype=np.intp)
                         for m in self.blocks.members]
            combos = itertools.product(*[range(len(pb)) for pb in per_block])
            rows = np.empty((int(self.n_distinct), n), dtype=np.intp)
            for i, c in enumerate(combos):
                for m, pb, j in zip(self.blocks.members, per_block, c):
                    rows[i, m] = pb[j]
        identity = (rows == np.arange(n)).all(axis=1)
        return rows[~identity]

    def generate(self, n_resamples: int, rng=None) -> np.ndarray:
        """``n_resamples`` random permutations, or all of them (:meth:`enumerate`, ``N - 1``
        rows) when :meth:`exhaustive_for` ``n_resamples``; ask :meth:`resamples_for` first."""
        if self.exhaustive_for(n_resamples):
            return self.enumerate()
        return super().generate(n_resamples, rng)

    def check_enough(self, n_resamples: int) -> None:
        """Warn when the scheme has few distinct permutations compared with the resamples.

        Random permutations are drawn with replacement; with fewer than ``10 B`` distinct ones
        many repeat, and the p-values cannot be finer than about one over the number of
        distinct permutations (PALM would enumerate them exhaustively).
        """
        d = self.n_distinct
        if d < 10 * n_resamples and not self.exhaustive_for(n_resamples):
            warnings.warn(
                f"the {self.kind} permutation scheme has only {int(d)} distinct permutations for "
                f"{n_resamples} random draws: draws repeat and p-values cannot be finer than "
                f"about 1/{int(d)}; use more or larger blocks, or free permutation",
                stacklevel=3)


class BootstrapScheme(_Scheme):
    """Bootstrap resamples (with replacement) of ``n`` samples, optionally within strata."""

    def __init__(self, n: int, strata=None):
        if n < 2:
            raise ValueError(f"need at least 2 samples to bootstrap, got {n}")
        self.n = int(n)
        self.strata = None if strata is None else _Members.of(strata, n, "strata")

    @property
    def kind(self) -> str:
        return "plain" if self.strata is None else "stratified"

    def draw(self, rng, size):
        if self.strata is None:
            return rng.integers(0, self.n, size=(size, self.n), dtype=np.intp)
        out = np.empty((size, self.n), dtype=np.intp)
        for m in self.strata.members:
            out[:, m] = m[rng.integers(0, len(m), size=(size, len(m)), dtype=np.intp)]
        return out


class SignFlipScheme(_Scheme):
    """Random signs (+1/-1, float64) per sample, or shared within each block."""

    def __init__(self, n: int, blocks=None):
        self.n = int(n)
        self.blocks = None if blocks is None else _Members.of(blocks, n, "exchangeability_blocks")

    @property
    def kind(self) -> str:
        return "free" if self.blocks is None else "whole-block"

    def draw(self, rng, size):
        if self.blocks is None:
            return rng.integers(0, 2, size=(size, self.n)).astype(np.float64) * 2.0 - 1.0
        k = len(self.blocks.members)
        signs = rng.integers(0, 2, size=(size, k)).astype(np.float64) * 2.0 - 1.0
        return signs[:, self.blocks.codes]


def _factorial(k: int) -> float:
    return math.factorial(k) if k <= 170 else math.inf


def permutation_indices(n: int, n_resamples: int, *, blocks=None, whole_blocks: bool = False,
                        rng=None) -> np.ndarray:
    """``(n_resamples, n)`` permutations of ``0..n-1`` (free, within ``blocks``, or whole blocks).

    Examples
    --------
    >>> idx = permutation_indices(6, 4, blocks=["a", "a", "a", "b", "b", "b"], rng=0)
    >>> bool((idx[:, :3] < 3).all() and (idx[:, 3:] >= 3).all())
    True
    """
    return PermutationScheme(n, blocks, whole_blocks).generate(n_resamples, rng)


def bootstrap_indices(n: int, n_resamples: int, *, strata=None, rng=None) -> np.ndarray:
    """``(n_resamples, n)`` bootstrap indices, each stratum resampled to its own size."""
    return BootstrapScheme(n, strata).generate(n_resamples, rng)


def sign_flips(n: int, n_resamples: int, *, blocks=None, rng=None) -> np.ndarray:
    """``(n_resamples, n)`` random signs, per sample or shared within each block."""
    return SignFlipScheme(n, blocks).generate(n_resamples, rng)


def inverse_permutations(perms: np.ndarray) -> np.ndarray:
    """Row-wise inverses: ``inv[b, perms[b, i]] = i``."""
    perms = np.asarray(perms)
    inv = np.empty_like(perms)
    rows = np.arange(perms.shape[0])[:, None]
    inv[rows, perms] = np.arange(perms.shape[1])
    return inv


def iter_batches(scheme: _Scheme, n_resamples: int, batch: int, rng=None):
    """Yield consecutive ``(<= batch, n)`` slices of the scheme's resamples.

    The rows are exactly those of ``scheme.generate(n_resamples, rng)``, whatever ``batch``
    (all ``N - 1`` non-identity permutations when the scheme has no more than ``n_resamples + 1``:
    callers size their arrays with ``scheme.resamples_for(n_resamples)``).
    """
    if batch < 1:
        raise ValueError(f"batch must be >= 1, got {batch}")
    rng = check_rng(rng)
    if isinstance(scheme, PermutationScheme) and scheme.exhaustive_for(n_resamples):
        every = scheme.enumerate()
        for s in range(0, len(every), batch):
            yield every[s:s + batch]
        return
    buffer = np.empty((0, scheme.n), dtype=np.float64 if isinstance(scheme, SignFlipScheme) else np.intp)
    drawn = 0
    emitted = 0
    while emitted < n_resamples:
        while buffer.shape[0] < min(batch, n_resamples - emitted):
            size = min(GEN_CHUNK, n_resamples - drawn)
            buffer = np.concatenate([buffer, scheme.draw(rng, size)], axis=0)
            drawn += size
        take = min(batch, n_resamples - emitted)
        yield buffer[:take]
        buffer = buffer[take:]
        emitted += take


class GivenPermutations(PermutationScheme):
    """Permutations drawn elsewhere (by the driver of a distributed run), replayed in order.

    :func:`iter_batches` over this scheme yields exactly the rows of ``perms``, in order, in
    the same batches as the scheme that drew them, so a worker that runs the engine on them
    computes what one process would have computed for those rows.  ``rng`` is ignored.

    Parameters
    ----------
    perms : (B, n) int array
        The permutations (rows), e.g. consecutive batches of :func:`iter_batches`.
    kind : str
        The drawing scheme's :attr:`PermutationScheme.kind` (reported, not used).
    """

    def __init__(self, perms: np.ndarray, kind: str = "free"):
        perms = np.asarray(perms, dtype=np.intp)
        if perms.ndim != 2:
            raise ValueError(f"perms must be a (B, n) array, got shape {perms.shape}")
        self.n = int(perms.shape[1])
        self.perms = perms
        self.blocks = None
        self.whole_blocks = False
        self._kind = kind
        self._pos = 0

    @property
    def kind(self) -> str:
        return self._kind

    @property
    def n_distinct(self) -> float:
        return float("inf")

    def draw(self, rng, size):
        out = self.perms[self._pos:self._pos + size]
        if len(out) < size:
            raise ValueError(f"only {len(self.perms)} given permutations; {self._pos + size} "
                             "were asked for")
        self._pos += size
        return out

    def exhaustive_for(self, n_resamples: int) -> bool:
        return False

    def resamples_for(self, n_resamples: int) -> int:
        return int(n_resamples)

    def check_enough(self, n_resamples: int) -> None:
        """The drawing scheme was checked where the permutations were drawn."""

    def enumerate(self) -> np.ndarray:
        return self.perms.copy()
