"""Simulate an LD reference panel (PLINK bed/bim/fam) and GWAS p-values for the clumping tests.

Latent-haplotype model: each chromosome is cut into LD blocks; a block has K founder
haplotypes (frequencies ~ Dirichlet(1)); a SNP's allele on each founder haplotype is drawn
from its frequency and then copied onto each sample haplotype with a per-SNP error rate
(0 to 0.35), so r^2 within a block spans 0 to 1 and between blocks is near 0.  About 1% of
genotypes are set missing; a few SNPs are monomorphic.  A quantitative trait driven by a few
causal SNPs gives p-values (OLS t-test on the panel samples) with LD tails.  Usage:

    python simulate_panel.py OUTPREFIX SEED [N_SAMPLES] [SNPS_PER_CHR] [N_CHR]

writes OUTPREFIX.bed/.bim/.fam and OUTPREFIX.assoc (columns SNP P; some SNPs absent from
the panel, some p-values NA, some tied).
"""

import sys

import numpy as np
import pandas as pd
from scipy import stats


def simulate(prefix, seed, n=480, per_chr=1700, n_chr=3):
    from bed_reader import to_bed

    rng = np.random.default_rng(seed)
    hap = []
    chrom, pos, names = [], [], []
    for c in range(1, n_chr + 1):
        p0 = int(rng.integers(1000, 50000))
        done = 0
        while done < per_chr:
            size = int(min(per_chr - done, rng.integers(5, 60)))
            k = int(rng.integers(2, 7))
            freq = rng.dirichlet(np.ones(k))
            founders = rng.choice(k, size=2 * n, p=freq)
            q = rng.beta(0.6, 0.6, size)
            founder_alleles = rng.random((k, size)) < q
            err = rng.uniform(0, 0.35, size) * (rng.random(size) < 0.7)
            h = founder_alleles[founders]
            flip = rng.random(h.shape) < err
            h = h ^ flip
            hap.append(h)
            gaps = rng.integers(1, 4000, size)
            gaps[rng.random(size) < 0.01] = 0            # a few shared positions
            pos.extend(p0 + np.cumsum(gaps))
            p0 = pos[-1] + int(rng.integers(1, 20000))
            chrom += [c] * size
            done += size
    H = np.concatenate(hap, axis=1).astype(np.float64)
    m = H.shape[1]
    G = H[:n] + H[n:]                                    # dosage of allele "a1"
    mono = rng.choice(m, 6, replace=False)
    G[:, mono] = 2.0
    G[rng.random(G.shape) < 0.01] = np.nan
    names = np.array([f"rs{100000 + 7 * j}" for j in range(m)])
    alle = np.array(list("ACGT"))
    a1 = alle[rng.integers(0, 4, m)]
    a2 = np.array([rng.choice([x for x in "ACGT" if x != a]) for a in a1])
    to_bed(f"{prefix}.bed", G.astype(np.float32),
           properties={"fid": [f"f{i}" for i in range(n)], "iid": [f"i{i}" for i in range(n)],
                       "sex": np.ones(n), "pheno": np.zeros(n), "chromosome": np.array(chrom).astype(str),
                       "sid": names, "bp_position": np.array(pos), "cm_position": np.zeros(m),
                       "allele_1": a1, "allele_2": a2}, count_A1=True)
    # trait
    Gi = np.where(np.isnan(G), np.nanmean(G, axis=0), G)
    causal = rng.choice(np.setdiff1d(np.arange(m), mono), 14, replace=False)
    y = Gi[:, causal] @ rng.normal(0, 0.9, 14) + rng.normal(0, 1, n)
    p = np.empty(m)
    for j in range(m):
        ok = ~np.isnan(G[:, j])
        g = G[ok, j]
        if g.std() == 0:
            p[j] = 1.0
            continue
        p[j] = stats.linregress(g, y[ok]).pvalue
    p = np.maximum(p, 1e-300)
    assoc = pd.DataFrame({"SNP": names, "P": p})
    # exact ties (tie-break by .bim order) and special rows
    tie = rng.choice(m, 20, replace=False)
    assoc.loc[tie[10:], "P"] = assoc.loc[tie[:10], "P"].to_numpy()
    assoc.loc[rng.choice(m, 5, replace=False), "P"] = np.nan
    extra = pd.DataFrame({"SNP": ["rsNOTINPANEL1", "rsNOTINPANEL2", "rsNOTINPANEL3"], "P": [1e-12, 0.3, 2e-9]})
    assoc = pd.concat([assoc.sample(frac=1, random_state=seed), extra], ignore_index=True)
    with open(f"{prefix}.assoc", "w") as fh:
        fh.write("SNP P\n")
        for s, v in zip(assoc["SNP"], assoc["P"]):
            fh.write(f"{s} {'NA' if np.isnan(v) else repr(float(v))}\n")
    return prefix


if __name__ == "__main__":
    a = sys.argv[1:]
    simulate(a[0], int(a[1]), *(int(x) for x in a[2:]))
