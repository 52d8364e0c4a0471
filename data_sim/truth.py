r"""Ground-truth containers and the population canonical-correlation formula.

The latent model of :func:`data_sim.make_cohort` has low-rank + diagonal
population covariances

.. math::

    \Sigma_{xx} = A A^T + \Omega_x,\quad
    \Sigma_{yy} = B B^T + \Omega_y,\quad
    \Sigma_{xy} = A\,\mathrm{diag}(\tilde\rho)\,B^T,\quad
    \Omega_\bullet = L_\bullet L_\bullet^T + \mathrm{diag}(d_\bullet),

and its population canonical correlations are the square roots of the
eigenvalues of the :math:`k \times k` matrix :math:`R M_y R M_x` with
:math:`R = \mathrm{diag}(\tilde\rho)`, :math:`M_x = A^T\Sigma_{xx}^{-1}A`,
:math:`M_y = B^T\Sigma_{yy}^{-1}B` (see :func:`population_canonical_correlations`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ._utils import lowrank_diag_solve

__all__ = ["GroundTruth", "RadiomicTransform", "population_canonical_correlations"]


def population_canonical_correlations(A, B, rho_tilde, Lx, dx, Ly, dy) -> np.ndarray:
    r"""Population canonical correlations of the latent model, by the k x k formula.

    Computes :math:`M_x = A^T \Sigma_{xx}^{-1} A` with
    :math:`\Sigma_{xx} = W_x W_x^T + \mathrm{diag}(d_x)`, :math:`W_x = [A, L_x]`
    by the Woodbury identity (no :math:`p \times p` matrix, :math:`O(p (k + r)^2)`),
    likewise :math:`M_y`, and returns

    .. math::

        \rho = \sqrt{\operatorname{eig}(R M_y R M_x)},\qquad R = \mathrm{diag}(\tilde\rho),

    evaluated as the eigenvalues of the symmetric matrix
    :math:`M_x^{1/2} R M_y R M_x^{1/2}`. This is an independent check on the
    closed form :math:`\rho_k = \tilde\rho_k \sqrt{r_{xk} r_{yk}}` used to
    construct the model: it does not assume the loadings are
    :math:`\Omega`-orthogonal.

    Parameters
    ----------
    A : array_like, shape (p, k)
        Shared loadings of the radiomic block.
    B : array_like, shape (q, k)
        Shared loadings of the expression block.
    rho_tilde : array_like, shape (k,)
        Correlations :math:`\operatorname{corr}(u_k, v_k)` of the latent pairs.
    Lx, Ly : array_like, shape (p, r_x), (q, r_y)
        Low-rank parts of :math:`\Omega_x`, :math:`\Omega_y` (unit-variance factors).
    dx, dy : array_like, shape (p,), (q,)
        Diagonal (idiosyncratic noise) variances.

    Returns
    -------
    numpy.ndarray, shape (k,)
        Canonical correlations sorted in decreasing order.
    """
    A = np.asarray(A, float)
    B = np.asarray(B, float)
    R = np.diag(np.asarray(rho_tilde, float))
    Mx = A.T @ lowrank_diag_solve(np.hstack([A, np.asarray(Lx, float)]), dx, A)
    My = B.T @ lowrank_diag_solve(np.hstack([B, np.asarray(Ly, float)]), dy, B)
    Mx = 0.5 * (Mx + Mx.T)
    My = 0.5 * (My + My.T)
    w, Q = np.linalg.eigh(Mx)
    S = (Q * np.sqrt(np.clip(w, 0, None))) @ Q.T
    K = S @ R @ My @ R @ S
    ev = np.linalg.eigvalsh(0.5 * (K + K.T))
    return np.sort(np.sqrt(np.clip(ev, 0.0, None)))[::-1]


@dataclass(repr=False)
class RadiomicTransform:
    r"""Per-feature monotone map from the Gaussian radiomic layer to the reported scale.

    For feature :math:`j` with reference scale :math:`\sigma_j` (population
    standard deviation of the latent block) and standardised value
    :math:`z = x / \sigma_j`:

    * ``identity``: :math:`h_j(x) = x`;
    * ``affine``: :math:`h_j(x) = a_j + b_j z` with :math:`b_j > 0`;
    * ``lognormal``: :math:`h_j(x) = \exp(a_j + b_j z)` (positive, right skewed).

    Attributes
    ----------
    table : pandas.DataFrame
        Index: feature names; columns ``kind``, ``sigma``, ``a``, ``b``.
    """

    table: pd.DataFrame

    def _parts(self, columns):
        t = self.table.loc[list(columns)]
        return (t["kind"].to_numpy(), t["sigma"].to_numpy(float),
                t["a"].to_numpy(float), t["b"].to_numpy(float))

    def forward(self, x: pd.DataFrame) -> pd.DataFrame:
        """Map Gaussian-layer values (DataFrame, columns = features) to the reported scale."""
        kind, sigma, a, b = self._parts(x.columns)
        v = x.to_numpy(float)
        z = v / sigma
        out = v.copy()
        m = kind == "affine"
        out[:, m] = a[m] + b[m] * z[:, m]
        m = kind == "lognormal"
        out[:, m] = np.exp(a[m] + b[m] * z[:, m])
        return pd.DataFrame(out, index=x.index, columns=x.columns)

    def inverse(self, y: pd.DataFrame) -> pd.DataFrame:
        """Map reported values back to the Gaussian layer (exact inverse of :meth:`forward`)."""
        kind, sigma, a, b = self._parts(y.columns)
        v = y.to_numpy(float)
        out = v.copy()
        m = kind == "affine"
        out[:, m] = (v[:, m] - a[m]) / b[m] * sigma[m]
        m = kind == "lognormal"
        out[:, m] = (np.log(v[:, m]) - a[m]) / b[m] * sigma[m]
        return pd.DataFrame(out, index=y.index, columns=y.columns)

    def __repr__(self) -> str:
        counts = self.table["kind"].value_counts().to_dict()
        return f"RadiomicTransform({counts})"


@dataclass(repr=False)
class GroundTruth:
    r"""Everything :func:`data_sim.make_cohort` used to generate a cohort.

    Notation (``n`` samples, ``p`` radiomic features, ``q`` genes, ``k``
    shared factors, ``c(i)`` the centre of sample ``i``):

    * radiomic Gaussian layer
      :math:`x_{ij} = x^{lat}_{ij} + \beta^{age}_j(\mathrm{age}_i - 60) + \beta^{sex}_j \mathrm{male}_i
      + \gamma_{c(i)j} + (\delta_{c(i)j} - 1)\varepsilon_{ij}`, reported as
      :math:`h_j(x_{ij})` (``radiomic_transform``);
    * latent radiomic block :math:`x^{lat} = U A^T + F_x L_x^T + \varepsilon`;
    * expression Gaussian layer (natural-log CPM scale)
      :math:`\eta_{ig} = \log \mu_g + \eta^{lat}_{ig} + \text{covariates} + \gamma_{c(i)g} + (\delta_{c(i)g}-1)\varepsilon_{ig}`,
      latent block :math:`\eta^{lat} = V B^T + F_y L_y^T + \varepsilon`;
    * counts :math:`Y_{ig} \sim \mathrm{NB}(\text{mean } s_i e^{\eta_{ig}}, \text{dispersion } \phi_g)`.

    Attributes
    ----------
    params : dict
        Arguments used (``rng`` stored as given when it was an int, else ``None``).
    sample_ids : pandas.Index
        All samples (index name ``sample_id``).
    centre : pandas.Series
        Centre label of every sample.
    covariates : pandas.DataFrame
        ``age`` and ``sex`` of every sample (copy of the cohort's covariates).
    shared_factors : pandas.DataFrame
        ``n x k`` shared factors :math:`z` (columns ``F1..Fk``); :math:`U = z`.
    latent_factors : dict
        ``{"radiomics": U, "expression": V}`` with
        :math:`v_k = \tilde\rho_k u_k + \sqrt{1-\tilde\rho_k^2} w_k`.
    latent_correlations : pandas.Series
        :math:`\tilde\rho_k = \operatorname{corr}(u_k, v_k)`.
    canonical_correlations : numpy.ndarray
        Declared population canonical correlations (decreasing) between the
        latent blocks ``latent_blocks["radiomics"]`` and
        ``latent_blocks["expression"]``; zeros when ``null=True``.
    canonical_correlations_computed : numpy.ndarray
        The same quantity recomputed independently from the stored loadings
        with :func:`population_canonical_correlations`.
    factor_canonical_correlations : pandas.Series
        Declared canonical correlation attached to each factor.
    signal_strength, reliability : pandas.DataFrame
        :math:`g_k` and :math:`r_k = g_k/(1+g_k)` per factor (rows) and view (columns).
    loadings : dict
        ``{"radiomics": A (p x k), "expression": B (q x k)}``.
    specific_loadings : dict
        ``{"radiomics": L_x, "expression": L_y}`` scaled so their factors have
        unit population variance (view-specific, texture block/family and
        module factors).
    noise_variance : dict
        ``{"radiomics": d_x, "expression": d_y}`` (pandas Series).
    latent_blocks : dict
        Zero-mean latent-driven blocks ``{"radiomics": x^lat, "expression": eta^lat}``
        (all samples, no intercepts, covariates or centre effects).
    noise : dict
        The idiosyncratic draws :math:`\varepsilon` of each view (all samples).
    intercepts : dict
        ``{"expression": log mu_g}`` (natural log of the base CPM) and
        ``{"radiomics": 0}`` (location is carried by the transform).
    covariate_effects : dict
        Per view (``radiomics`` and ``expression`` on their Gaussian layers,
        ``traits`` in trait units) a DataFrame with rows ``age`` (per year) and
        ``sex_M`` (male vs female), columns features.
    centre_effects : dict
        Per view ``{"additive": gamma (centres x features), "multiplicative": delta}``.
    clean : dict
        Clean companions of the affected views (``radiomics``, ``expression``,
        ``expression_counts``, ``modules``): same samples and noise draws, no
        centre effects. Clean counts use the common-Poisson-process coupling
        described in :func:`data_sim.make_cohort`.
    radiomic_transform : RadiomicTransform
        Map from the radiomic Gaussian layer to reported values.
    library_size, size_factor, dispersion, base_mean : pandas.Series
        Sequencing depth :math:`L_i`, :math:`s_i = L_i / 10^6`, NB dispersion
        :math:`\phi_g` and base CPM :math:`\mu_g`.
    modules : dict
        Module name -> list of gene IDs.
    module_activity : pandas.DataFrame
        Module factors (all samples); the instrumented one includes the
        genetic component.
    instrumented_module : str
        Module whose activity is instrumented by the SNPs.
    instruments : pandas.DataFrame
        SNP table (alleles, frequency, instrument effect ``gamma`` on module
        activity, pleiotropic effect ``alpha`` on the standardised causal trait).
    causal_trait : str
        Imaging trait causally affected by the instrumented module.
    causal_effect : float
        Effect of one unit of module activity on the standardised causal trait.
    causal_effect_trait_units : float
        The same effect in the trait's reported units.
    trait_scale : pandas.DataFrame
        ``mean`` and ``sd`` used to map standardised traits to units.
    outcome_coefficients : pandas.DataFrame
        Rows ``intercept, F1..Fk``; columns ``outcome_binary`` (log-odds)
        and ``outcome_continuous``.
    outcome_noise_sd : float
        Residual SD of the continuous outcome.
    missing : pandas.DataFrame
        Boolean, samples x assays (``radiomics``, ``expression``,
        ``genotypes``, ``traits``); ``True`` means absent from that view.
    mr : data_sim.genetics.MRSummary
        Two-sample MR summary statistics for the same instruments.
    """

    params: dict[str, Any]
    sample_ids: pd.Index
    centre: pd.Series
    covariates: pd.DataFrame
    shared_factors: pd.DataFrame
    latent_factors: dict[str, pd.DataFrame]
    latent_correlations: pd.Series
    canonical_correlations: np.ndarray
    canonical_correlations_computed: np.ndarray
    factor_canonical_correlations: pd.Series
    signal_strength: pd.DataFrame
    reliability: pd.DataFrame
    loadings: dict[str, pd.DataFrame]
    specific_loadings: dict[str, pd.DataFrame]
    noise_variance: dict[str, pd.Series]
    latent_blocks: dict[str, pd.DataFrame]
    noise: dict[str, pd.DataFrame]
    intercepts: dict[str, Any]
    covariate_effects: dict[str, pd.DataFrame]
    centre_effects: dict[str, dict[str, pd.DataFrame]]
    clean: dict[str, pd.DataFrame]
    radiomic_transform: RadiomicTransform
    library_size: pd.Series
    size_factor: pd.Series
    dispersion: pd.Series
    base_mean: pd.Series
    modules: dict[str, list[str]]
    module_activity: pd.DataFrame
    instrumented_module: str
    instruments: pd.DataFrame
    causal_trait: str
    causal_effect: float
    causal_effect_trait_units: float
    trait_scale: pd.DataFrame
    outcome_coefficients: pd.DataFrame
    outcome_noise_sd: float
    missing: pd.DataFrame
    mr: Any = None
    extras: dict[str, Any] = field(default_factory=dict)

    # ------------------------------------------------------------------ layers
    def _covariate_term(self, view: str) -> np.ndarray:
        eff = self.covariate_effects[view]
        age = self.covariates["age"].to_numpy(float) - 60.0
        male = (self.covariates["sex"] == "M").to_numpy(float)
        return np.outer(age, eff.loc["age"].to_numpy()) + np.outer(male, eff.loc["sex_M"].to_numpy())

    def _centre_term(self, view: str) -> np.ndarray:
        ce = self.centre_effects[view]
        idx = ce["additive"].index.get_indexer(self.centre.to_numpy())
        eps = self.noise[view].to_numpy()
        return ce["additive"].to_numpy()[idx] + (ce["multiplicative"].to_numpy()[idx] - 1.0) * eps

    def radiomics_gaussian(self, clean: bool = False) -> pd.DataFrame:
        r"""Radiomic Gaussian layer for all samples, before the monotone transform.

        ``x = x^lat + covariates`` (+ :math:`\gamma_c + (\delta_c - 1)\varepsilon` unless ``clean``).
        ``radiomic_transform.forward`` of this equals the reported view (rows present).
        """
        lat = self.latent_blocks["radiomics"]
        v = lat.to_numpy() + self._covariate_term("radiomics")
        if not clean:
            v = v + self._centre_term("radiomics")
        return pd.DataFrame(v, index=lat.index, columns=lat.columns)

    def expression_eta(self, clean: bool = False) -> pd.DataFrame:
        r"""Log-expression Gaussian layer :math:`\eta` (natural log CPM) for all samples.

        ``eta = log mu_g + eta^lat + covariates`` (+ centre terms unless ``clean``).
        """
        lat = self.latent_blocks["expression"]
        v = (lat.to_numpy() + self.intercepts["expression"].to_numpy()[None, :]
             + self._covariate_term("expression"))
        if not clean:
            v = v + self._centre_term("expression")
        return pd.DataFrame(v, index=lat.index, columns=lat.columns)

    def expected_counts(self, clean: bool = False) -> pd.DataFrame:
        r"""Negative-binomial means :math:`s_i \exp(\eta_{ig})` for all samples."""
        eta = self.expression_eta(clean=clean)
        return np.exp(eta).mul(self.size_factor, axis=0)

    def signal_features(self, view: str) -> pd.Series:
        r"""Boolean Series: which features of ``view`` carry shared imaging-expression signal.

        A feature is a signal feature when it loads on at least one factor
        with non-zero latent correlation :math:`\tilde\rho_k`. In the latent
        blocks :math:`\operatorname{Cov}(x_j, \eta_g) = (A R B^T)_{jg}`, which is
        exactly zero unless both :math:`j` and :math:`g` are signal features, so
        only such pairs carry imaging-expression association. Under
        ``null=True`` every feature is ``False`` (loadings are kept but
        :math:`R = 0`). In the observed views covariates and centre effects add
        associations unless adjusted for.

        Parameters
        ----------
        view : {"radiomics", "expression", "expression_counts"}
            View name (counts share the gene set of ``expression``).

        Returns
        -------
        pandas.Series of bool
            Indexed by feature name.
        """
        key = "expression" if view == "expression_counts" else view
        if key not in self.loadings:
            raise ValueError(f"signal_features is defined for 'radiomics' and 'expression', got {view!r}")
        load = self.loadings[key]
        active = self.latent_correlations.to_numpy() != 0
        sig = (load.to_numpy()[:, active] != 0).any(axis=1)
        return pd.Series(sig, index=load.index, name="signal")

    def population_canonical_correlations(self) -> np.ndarray:
        """Recompute the population canonical correlations from the stored loadings."""
        return population_canonical_correlations(
            self.loadings["radiomics"], self.loadings["expression"], self.latent_correlations,
            self.specific_loadings["radiomics"], self.noise_variance["radiomics"],
            self.specific_loadings["expression"], self.noise_variance["expression"])

    # ------------------------------------------------------------------ display
    def summary(self) -> str:
        """Return a readable multi-line description of the simulated truth."""
        p = self.params
        lines = [
            "data_sim ground truth",
            f"  samples: {len(self.sample_ids)}  centres: "
            + ", ".join(f"{c}={m}" for c, m in self.centre.value_counts().sort_index().items()),
            f"  radiomic features: {self.loadings['radiomics'].shape[0]}  genes: "
            f"{self.loadings['expression'].shape[0]}  modules: {len(self.modules)}  "
            f"SNPs: {len(self.instruments)}",
            f"  null scenario: {p.get('null')}",
            "  shared factors (declared canonical correlation / latent corr / reliability x, y):",
        ]
        for f in self.latent_correlations.index:
            lines.append(
                f"    {f}: rho={self.factor_canonical_correlations[f]:.3f}  "
                f"rho_tilde={self.latent_correlations[f]:.3f}  "
                f"r_x={self.reliability.loc[f, 'radiomics']:.3f}  "
                f"r_y={self.reliability.loc[f, 'expression']:.3f}")
        lines.append("  canonical correlations declared:  "
                     + np.array2string(self.canonical_correlations, precision=4))
        lines.append("  canonical correlations computed:  "
                     + np.array2string(self.canonical_correlations_computed, precision=4))
        lines.append(f"  centre effects: {p.get('centre_effects')} "
                     f"(shift={p.get('centre_shift')}, log-scale sd={p.get('centre_scale')})")
        miss = self.missing.mean()
        lines.append("  missing fraction per assay: "
                     + ", ".join(f"{k}={v:.2f}" for k, v in miss.items()))
        lines.append(f"  instrumented module: {self.instrumented_module} -> {self.causal_trait} "
                     f"(causal effect {self.causal_effect:.3f} per unit activity, "
                     f"{self.causal_effect_trait_units:.3f} trait units)")
        oc = self.outcome_coefficients
        lines.append("  outcome coefficients: "
                     + "; ".join(f"{c}: " + ", ".join(f"{i}={v:.2f}" for i, v in oc[c].items())
                                 for c in oc.columns))
        return "\n".join(lines)

    def __repr__(self) -> str:
        cc = ", ".join(f"{v:.2f}" for v in self.canonical_correlations)
        return (f"GroundTruth(n={len(self.sample_ids)}, centres={self.centre.nunique()}, "
                f"p={self.loadings['radiomics'].shape[0]}, q={self.loadings['expression'].shape[0]}, "
                f"k={len(self.latent_correlations)}, canonical_correlations=[{cc}], "
                f"null={self.params.get('null')})")
