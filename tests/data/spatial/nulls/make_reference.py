"""Produce the BrainSpace / brainsmash reference CSVs for tests/test_spatial_nulls.py.

Run in a throwaway venv holding the reference packages (not needed by the tests):

    python3 -m venv /tmp/bsenv
    /tmp/bsenv/bin/pip install brainsmash==0.11.0 numpy scipy scikit-learn pandas
    /tmp/bsenv/bin/pip install --no-deps brainspace==0.3.0
    /tmp/bsenv/bin/python tests/data/spatial/nulls/make_reference.py

brainspace needs vtk only for its mesh code; ``brainspace.null_models.moran`` is loaded here
with the mesh modules stubbed (``compute_mem`` touches them only for surface input).
"""

import os
import sys
import types

import numpy as np
import pandas as pd
from scipy.spatial.distance import cdist

import brainspace
import brainsmash  # noqa: F401
from brainsmash.mapgen.base import Base

OUT = os.path.dirname(os.path.abspath(__file__))
_base = os.path.dirname(brainspace.__file__)
for _name in ["brainspace.mesh", "brainspace.mesh.mesh_elements"]:
    sys.modules[_name] = types.ModuleType(_name)
sys.modules["brainspace.mesh"].mesh_elements = sys.modules["brainspace.mesh.mesh_elements"]
_pkg = types.ModuleType("brainspace.null_models")
_pkg.__path__ = [os.path.join(_base, "null_models")]
sys.modules["brainspace.null_models"] = _pkg
from brainspace.null_models.moran import compute_mem, moran_randomization  # noqa: E402


def write(df, name):
    df.to_csv(os.path.join(OUT, name), index=False, float_format="%.17g")


class RecordingRandomState(np.random.RandomState):
    """A RandomState that records every draw BrainSpace makes (same stream as the parent)."""

    def __init__(self, seed):
        super().__init__(seed)
        self.log = []

    def choice(self, *a, **k):
        out = super().choice(*a, **k)
        self.log.append(("choice", np.array(out, dtype=float)))
        return out

    def permutation(self, *a, **k):
        out = super().permutation(*a, **k)
        self.log.append(("permutation", np.array(out)))
        return out

    def uniform(self, *a, **k):
        out = super().uniform(*a, **k)
        self.log.append(("uniform", np.array(out)))
        return out


def long(arr, names):
    idx = np.indices(arr.shape).reshape(arr.ndim, -1)
    df = pd.DataFrame({nm: i for nm, i in zip(names, idx)})
    df["value"] = arr.ravel()
    return df


# ------------------------------------------------------------------ MSR (BrainSpace 0.3.0)
rs = np.random.RandomState(20240520)
n = 60
P = rs.uniform(0, 10, size=(n, 2))
D = cdist(P, P)
W = np.zeros((n, n))
nbr = np.argsort(D, axis=1)[:, 1:6]  # 5 nearest neighbours, binary, not symmetric
W[np.arange(n)[:, None], nbr] = 1.0
X = np.column_stack([np.sin(P[:, 0] / 2) + 0.3 * rs.standard_normal(n),
                     P[:, 1] / 5 + 0.5 * rs.standard_normal(n)])
write(pd.DataFrame({"x": P[:, 0], "y": P[:, 1], "x0": X[:, 0], "x1": X[:, 1]}), "msr_data.csv")
i, j = np.nonzero(W)
write(pd.DataFrame({"i": i, "j": j, "w": W[i, j]}), "msr_weights.csv")

# BrainSpace's MEM: float32 eigh; tol=1e-4 drops the float32 "zero" eigenvalue (~1e-7)
mem, ev = compute_mem(W, spectrum="nonzero", tol=1e-4)
mem = np.asarray(mem, dtype=np.float64)
write(pd.DataFrame(mem, columns=[f"mem{k}" for k in range(mem.shape[1])]), "msr_mem.csv")
write(pd.DataFrame({"eigenvalue": np.asarray(ev, dtype=np.float64)}), "msr_eigenvalues.csv")

B = 6
for procedure in ["singleton", "pair"]:
    for joint in [True, False]:
        tag = f"{procedure}_{'joint' if joint else 'separate'}"
        st = RecordingRandomState(7 + len(tag))
        sim = moran_randomization(X, mem, n_rep=B, procedure=procedure, joint=joint,
                                  random_state=st)
        write(long(np.asarray(sim), ["rep", "spot", "col"]), f"msr_{tag}_surrogates.csv")
        k = mem.shape[1]
        ncol = 1 if joint else X.shape[1]
        if procedure == "singleton":
            (kind, signs), = st.log
            write(long(signs.reshape(B, k, ncol), ["rep", "comp", "col"]), f"msr_{tag}_draws.csv")
        else:
            perms, odd, phis = [], [], []
            it = iter(st.log)
            for _ in range(B):
                perms.append(next(it)[1])
                if k % 2:
                    odd.append(next(it)[1])
                phis.append(next(it)[1])
            write(pd.DataFrame(np.array(perms), columns=[f"p{c}" for c in range(k)]),
                  f"msr_{tag}_perms.csv")
            write(long(np.array(odd, dtype=float).reshape(B, ncol), ["rep", "col"]),
                  f"msr_{tag}_oddsigns.csv")
            write(long(np.array(phis), ["rep", "pair", "col"]), f"msr_{tag}_phis.csv")

# ---------------------------------------------------------- variogram (brainsmash 0.11.0)
rs = np.random.RandomState(20240521)
n = 150
P = rs.uniform(0, 1, size=(n, 2))
D = cdist(P, P)
x = np.sin(3 * P[:, 0]) + np.cos(4 * P[:, 1]) + 0.3 * rs.standard_normal(n)
write(pd.DataFrame({"x": P[:, 0], "y": P[:, 1], "value": x}), "vario_data.csv")
cases = {
    "default": dict(seed=11),
    "gauss_resample": dict(seed=12, kernel="gaussian", resample=True,
                           deltas=np.array([0.1, 0.3, 0.5]), pv=40, nh=20),
}
B = 8
for tag, kw in cases.items():
    seed = kw.pop("seed")
    gen = Base(x, D, seed=seed, **kw)
    out = gen(n=B)
    target, h = gen.compute_smooth_variogram(x, return_h=True)  # (gamma, h) order
    # brainsmash's draws: one RandomState per surrogate (batch_size=1)
    seeds = np.random.RandomState(seed).randint(np.iinfo(np.int32).max, size=B)
    perms, noise = [], []
    for s in seeds:
        r = np.random.RandomState(s)
        perms.append(r.random_sample((n, 1)).argsort(axis=0)[:, 0])
        noise.append(r.randn(n, 1)[:, 0])
    write(pd.DataFrame(np.array(perms), columns=[f"s{c}" for c in range(n)]),
          f"vario_{tag}_perms.csv")
    write(pd.DataFrame(np.array(noise), columns=[f"s{c}" for c in range(n)]),
          f"vario_{tag}_noise.csv")
    write(pd.DataFrame(out, columns=[f"s{c}" for c in range(n)]), f"vario_{tag}_surrogates.csv")
    write(pd.DataFrame({"h": h, "gamma": target}), f"vario_{tag}_target.csv")

print("brainspace", brainspace.__version__, "numpy", np.__version__)
