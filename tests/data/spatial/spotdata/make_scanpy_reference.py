"""scanpy reference for SpotData's log1p_cpm normalisation (tests/test_spatial_data.py).

Run in this folder with a Python that has scanpy (here scanpy 1.12.4, anndata 0.13.4):

    python make_scanpy_reference.py

Writes counts.csv (simulated Poisson counts, 15 spots x 6 genes, seed 21; spot 's3' has no
counts) and scanpy_log1p.csv = ``sc.pp.normalize_total(adata, target_sum=1e4)`` then
``sc.pp.log1p(adata)`` on those counts (17 significant digits).
"""
import anndata
import numpy as np
import pandas as pd
import scanpy as sc

rng = np.random.default_rng(21)
counts = rng.poisson(rng.uniform(0.5, 20, 6), (15, 6)).astype(np.float64)
counts[3] = 0.0
counts = pd.DataFrame(counts, index=[f"s{i}" for i in range(15)],
                      columns=[f"gene{j}" for j in range(6)])
counts.to_csv("counts.csv", float_format="%.17g")
ad = anndata.AnnData(counts.to_numpy().copy(), obs=pd.DataFrame(index=counts.index),
                     var=pd.DataFrame(index=counts.columns))
sc.pp.normalize_total(ad, target_sum=1e4)
sc.pp.log1p(ad)
pd.DataFrame(np.asarray(ad.X), index=counts.index, columns=counts.columns).to_csv(
    "scanpy_log1p.csv", float_format="%.17g")
print("scanpy", sc.__version__, "anndata", anndata.__version__)
