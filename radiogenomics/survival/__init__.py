"""Time-to-event outcomes: Cox models, penalised Cox, concordance, time-dependent metrics.

(Exports are added as the modules land.)
"""

from ._data import as_survival, surv_frame
from ._km import KaplanMeier, kaplan_meier
from .concordance import (ConcordanceResult, TimeAUCResult, c_within, harrell_c,
                          time_dependent_auc, uno_c)
from .coxph import BaselineHazard, CoxPHResult, TestResult, breslow_baseline, coxph
from .estimator import CoxPHModel
from .horizon import (BrierScore, IntegratedBrier, NRIIDIResult, SurvCalibration, brier_score,
                      calibration_at, integrated_brier_score, net_benefit_at, nri_idi_at)
from .zph import ZPHResult, cox_zph

__all__ = ["as_survival", "surv_frame", "KaplanMeier", "kaplan_meier", "harrell_c", "c_within",
           "uno_c", "time_dependent_auc", "ConcordanceResult", "TimeAUCResult", "coxph", "CoxPHResult",
           "TestResult", "BaselineHazard", "CoxPHModel", "breslow_baseline", "cox_zph", "ZPHResult",
           "calibration_at", "SurvCalibration", "net_benefit_at", "brier_score", "BrierScore",
           "integrated_brier_score", "IntegratedBrier", "nri_idi_at", "NRIIDIResult"]
