"""Time-to-event outcomes: Cox models, penalised Cox, concordance, time-dependent metrics.

(Exports are added as the modules land.)
"""

from ._data import as_survival, surv_frame
from ._km import KaplanMeier, kaplan_meier
from .coxph import BaselineHazard, CoxPHResult, TestResult, breslow_baseline, coxph
from .zph import ZPHResult, cox_zph

__all__ = ["as_survival", "surv_frame", "KaplanMeier", "kaplan_meier", "coxph", "CoxPHResult",
           "TestResult", "BaselineHazard", "breslow_baseline", "cox_zph", "ZPHResult"]
