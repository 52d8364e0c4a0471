"""Progress bars that never warn about what the user cannot act on.

``tqdm.auto`` picks the notebook widget inside Jupyter, and warns ``IProgress not found.
Please update jupyter and ipywidgets`` when ipywidgets is absent (it is not a dependency of
this package).  :func:`progress` uses ``tqdm.auto`` only when ipywidgets is importable and
the plain text bar (``tqdm.std``) otherwise, which Jupyter shows as text without a warning.
"""

from __future__ import annotations

import importlib.util

__all__ = ["progress", "tqdm_class"]


def tqdm_class():
    """The tqdm class to use: ``tqdm.auto.tqdm`` when ipywidgets is installed (a widget in
    notebooks, text elsewhere), else ``tqdm.std.tqdm`` (text everywhere, no warning)."""
    if importlib.util.find_spec("ipywidgets") is not None:
        from tqdm.auto import tqdm
    else:
        from tqdm.std import tqdm
    return tqdm


def progress(iterable=None, **kwargs):
    """A progress bar over ``iterable`` (or a manual one with ``total=``); ``kwargs`` go to
    tqdm (``desc``, ``total``, ``disable``, ``file``, ...)."""
    return tqdm_class()(iterable, **kwargs)
