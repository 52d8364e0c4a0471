"""Time-to-event outcomes: Cox models, the survival screen, concordance and metrics at a horizon.

==================== ==================================================================
``coxph``            Cox regression equal to ``survival::coxph`` (Efron/Breslow, strata,
                     weights, robust and cluster-robust SE, tests, residuals, survfit)
``cox_zph``          proportional-hazards check (``cox.zph``, survival 3.x)
``CoxPHModel``       ``coxph`` as a scikit-learn estimator (clinical baselines)
``survival_screen``  every feature against the outcome: Cox score tests with covariates and
                     centre strata, permutations within centres, max-T and BH
``harrell_c``        Harrell's C with its SE (``concordance``), ``c_within`` (pairs within
                     centres), ``uno_c`` (IPCW), ``time_dependent_auc``
``calibration_at``   calibration at a horizon; ``net_benefit_at``, ``brier_score``,
                     ``integrated_brier_score``, ``nri_idi_at``
``kaplan_meier``     product-limit estimator (also of the censoring distribution);
                     ``logrank_test`` (``survdiff``, strata, trend)
==================== ==================================================================

Penalised Cox models are :class:`radiogenomics.penalized.PenalizedModel` with
``family="cox"`` (glmnet's coxnet on the project's engine); cross-validation of survival
models is :func:`radiogenomics.validation.cross_validate` with a ``(time, event)`` target.
"""

from ._data import as_survival, surv_frame
from ._km import KaplanMeier, kaplan_meier
from .concordance import (ConcordanceResult, TimeAUCResult, c_within, harrell_c,
                          time_dependent_auc, uno_c)
from .coxph import BaselineHazard, CoxPHResult, TestResult, breslow_baseline, coxph
from .estimator import CoxPHModel
from .horizon import (BrierScore, IntegratedBrier, NRIIDIResult, SurvCalibration, brier_score,
                      calibration_at, integrated_brier_score, net_benefit_at, nri_idi_at)
from .logrank import LogRankResult, logrank_test
from .screen import CoxNullFit, SurvivalScreenResult, survival_screen
from .zph import ZPHResult, cox_zph

__all__ = ["as_survival", "surv_frame", "KaplanMeier", "kaplan_meier", "harrell_c", "c_within",
           "uno_c", "time_dependent_auc", "ConcordanceResult", "TimeAUCResult", "coxph", "CoxPHResult",
           "TestResult", "BaselineHazard", "CoxPHModel", "breslow_baseline", "cox_zph", "ZPHResult", "survival_screen", "SurvivalScreenResult", "CoxNullFit", "logrank_test", "LogRankResult",
           "calibration_at", "SurvCalibration", "net_benefit_at", "brier_score", "BrierScore",
           "integrated_brier_score", "IntegratedBrier", "nri_idi_at", "NRIIDIResult"]
