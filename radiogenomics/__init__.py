"""radiogenomics: classical statistical radiogenomics for small multi-centre cohorts."""

__version__ = "0.1.0"

from ._checks import InputError, RadiogenomicsError  # noqa: E402
from .cohort import Cohort, CohortValidationError, PairedData  # noqa: E402

__all__ = ["Cohort", "CohortValidationError", "InputError", "PairedData", "RadiogenomicsError",
           "__version__"]
