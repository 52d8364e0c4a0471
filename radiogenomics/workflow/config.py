"""The YAML configuration of ``radiogenomics run``: schema, checks and the plan it describes.

A configuration names the study's files (``data``) and the analyses to run (``analyses``;
see ``examples/config.yaml``, which documents every key).  :func:`load_config` checks the
whole file before any computation: every key against the schema (the top level and ``data``
here, each analysis block against its step's ``Options`` model), every value's type, every
file (relative paths are relative to the configuration file), every view name against
``data.views`` and the column names it can read from the files' headers.  A problem is one
line naming the file, the YAML line, the key, the problem and the fix::

    config.yaml line 23: analyses.cca.componets: unknown key (did you mean 'components'?)

:func:`plan_from_config` turns the analyses into the workflow's plan (``association`` gives one
screen per pair), :func:`load_cohort` reads the files into a :class:`~radiogenomics.Cohort`
and :func:`run_config` does all three and runs :func:`radiogenomics.workflow.run_workflow`.
"""

from __future__ import annotations

import difflib
import re
import typing
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError

from .._checks import RadiogenomicsError
from ..cohort import CONSTANT_POLICIES, META_POLICIES, NAN_POLICIES

__all__ = ["ConfigError", "StudyConfig", "DataConfig", "load_config", "load_cohort",
           "plan_from_config", "run_config", "CONFIG_STEPS", "DEFAULT_PAIRS"]


class ConfigError(RadiogenomicsError):
    """Invalid ``radiogenomics run`` configuration: one line naming the file, the line, the
    key, the problem and the fix."""


#: analyses a configuration may ask for, in the order they run (and appear in the report);
#: ``images`` and ``truth`` need a simulation's ground truth and run only in the demo
CONFIG_STEPS = ("cohort", "centre_effects", "association", "transcriptomics", "cca", "mofa",
                "prediction", "survival", "mr", "spatial")
DEMO_ONLY = ("images", "truth")
#: the screens of an ``association`` block without ``pairs`` (absent views are skipped)
DEFAULT_PAIRS = (("radiomics", "expression"), ("traits", "modules"))
_VIEW_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]*$")
_RESERVED = ("covariates", "outcomes", "centre")
#: option -> extra names allowed besides views, for the options that name views
_VIEW_OPTIONS = {
    "centre_effects": {"views": ()},
    "association": {"x": (), "y": ()},
    "transcriptomics": {"counts": (), "x": ()},
    "cca": {"x": (), "y": ()},
    "mofa": {"views": (), "standardize": (), "correlate_with": ("covariates", "outcomes")},
    "prediction": {"x": (), "targets": ("outcomes",)},
    "survival": {"x": ()},
    "mr": {"genotypes": ()},
}
#: the survival step's predictor views when its block names none (those present; else the
#: first view of data.views)
SURVIVAL_VIEWS = ("radiomics", "modules")


# ================================================================================ schema

class DataConfig(BaseModel):
    """``data``: the study's files (paths relative to the configuration file).

    Attributes
    ----------
    views : dict of str to path
        View name -> table (samples x numeric features, sample ID in the first column).
    covariates, outcomes : path, optional
        Tables by sample ID: covariates adjusted for everywhere; clinical outcomes.
    centre : str, optional
        A column of the covariates file, or a file of its own (told by its suffix).
    nan_policy, constant_policy, missing_meta : str
        What :class:`~radiogenomics.Cohort` does with NaN, constant features and samples
        without covariates or centre.
    """

    model_config = ConfigDict(extra="forbid")

    views: dict[str, Path]
    covariates: Path | None = None
    centre: str | None = None
    outcomes: Path | None = None
    nan_policy: Literal[NAN_POLICIES] = "raise"
    constant_policy: Literal[CONSTANT_POLICIES] = "raise"
    missing_meta: Literal[META_POLICIES] = "raise"


class StudyConfig(BaseModel):
    """A checked configuration (from :func:`load_config`).

    ``path`` is the configuration file, ``plan`` the analyses as ``(step, Options)`` in
    report order (see :func:`plan_from_config`), ``requested`` the analyses the file names.
    """

    model_config = ConfigDict(extra="forbid")

    title: str | None = None
    output: Path | None = None
    seed: int = Field(0, ge=0, strict=True)
    alpha: float = Field(0.05, gt=0, lt=1)
    permutations: int = Field(1000, ge=0, strict=True)
    data: DataConfig
    analyses: dict[str, Any] | None = None
    _path: Path | None = PrivateAttr(None)
    _plan: list = PrivateAttr(default_factory=list)
    _requested: list = PrivateAttr(default_factory=list)

    @property
    def path(self) -> Path | None:
        return self._path

    @property
    def plan(self) -> list:
        return list(self._plan)

    @property
    def requested(self) -> list[str]:
        return list(self._requested)


# ================================================================================ locations

def _fmt_key(path) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


class _Source:
    """The configuration file's name, folder and the YAML line of every key path."""

    def __init__(self, path: Path, lines: dict):
        self.path, self.lines = path, lines
        self.base = path.resolve().parent

    def line(self, key) -> int | None:
        key = tuple(key)
        while key and key not in self.lines:
            key = key[:-1]
        return self.lines.get(key, 1)

    def error(self, key, problem: str, fix: str | None = None) -> ConfigError:
        where = f"{self.path} line {self.line(key)}"
        name = _fmt_key(key)
        msg = f"{where}: {name + ': ' if name else ''}{problem}"
        return ConfigError(msg + (f"; {fix}" if fix else ""))


def _compose(path: Path):
    """(data, {key path: line}) of a YAML file; duplicate keys are errors."""
    import yaml

    text = path.read_text(encoding="utf-8")
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{path}{line}: not valid YAML ({problem}); check the indentation "
                          "and that every 'key: value' and list is closed") from None
    lines: dict = {}

    def walk(n, key):
        if isinstance(n, yaml.MappingNode):
            for k, v in n.value:
                sub = key + (k.value,)
                if sub in lines:
                    raise ConfigError(f"{path} line {k.start_mark.line + 1}: {_fmt_key(sub)}: "
                                      f"duplicate key (first on line {lines[sub]}); keep one")
                lines[sub] = k.start_mark.line + 1
                walk(v, sub)
        elif isinstance(n, yaml.SequenceNode):
            for i, v in enumerate(n.value):
                lines[key + (i,)] = v.start_mark.line + 1
                walk(v, key + (i,))

    if node is not None:
        walk(node, ())
    return data, lines


def _near(name, allowed) -> str:
    close = difflib.get_close_matches(str(name), [str(a) for a in allowed], n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _pydantic_error(src: _Source, exc: ValidationError, prefix=(), model=None,
                    loc_map=None) -> ConfigError:
    """The first error of a pydantic validation as one line."""
    err = exc.errors()[0]
    loc = tuple(err["loc"])
    key = tuple(prefix) + loc if loc_map is None else loc_map(loc)
    typ, val = err["type"], err.get("input")
    if typ == "extra_forbidden":
        allowed = list(model.model_fields) if model is not None else []
        fix = f"allowed keys: {', '.join(allowed)}" if allowed else "remove it"
        return src.error(key, f"unknown key{_near(loc[-1], allowed)}", fix)
    if typ == "missing":
        return src.error(key, "required key is missing", "add it")
    msg = err["msg"]
    msg = msg[0].lower() + msg[1:]
    if typ.endswith("_parsing") or typ.endswith("_type"):
        msg = msg.split(", ")[0]
    shown = repr(val) if not isinstance(val, (dict, list)) or len(repr(val)) < 60 else \
        type(val).__name__
    return src.error(key, f"got {shown}", f"{msg.replace('input should', 'it should')}")


# ================================================================================ data

def _resolve(src: _Source, value, key) -> Path:
    if not isinstance(value, (str, Path)) or not str(value).strip():
        raise src.error(key, f"must be a file path, got {value!r}",
                        "give the file's path, relative to the configuration file")
    p = Path(str(value)).expanduser()
    p = p if p.is_absolute() else src.base / p
    if not p.is_file() and Path(f"{p}.bed").is_file():
        return p                      # a PLINK fileset prefix (path/to/panel for panel.bed/.bim/.fam)
    if not p.is_file():
        raise src.error(key, f"file {str(value)!r} not found (looked for {str(p)!r})",
                        "relative paths are relative to the configuration file's folder")
    return p


def _columns(path: Path) -> list[str]:
    """Column names of a table (not its first, sample-ID, column), from its header only."""
    import pandas as pd

    from ..cohort import table_format

    kind = table_format(path)
    if kind in (".parquet", ".pq"):
        import pyarrow.parquet as pq

        schema = pq.read_schema(path)
        index = [c for c in (schema.pandas_metadata or {}).get("index_columns", [])
                 if isinstance(c, str)]  # a RangeIndex is a dict: the first column is the ID
        names = [n for n in schema.names if n not in index]
        return names if index else names[1:]
    sep = "," if kind == ".csv" else "\t"
    return [str(c) for c in pd.read_csv(path, sep=sep, nrows=0).columns[1:]]


def _check_data(src: _Source, raw: dict, data: DataConfig) -> DataConfig:
    """Resolve and check the files, view names and the centre of ``data``."""
    views = {}
    for name, file in raw["views"].items():
        key = ("data", "views", name)
        if not isinstance(name, str) or not _VIEW_NAME.match(name):
            raise src.error(key, f"bad view name {name!r}", "use letters, digits, '_', '.' "
                            "or '-', starting with a letter (it names output files)")
        if name in _RESERVED:
            raise src.error(key, f"view name {name!r} is reserved for the {name} file",
                            "give the view another name")
        views[name] = _resolve(src, file, key)
    if not views:
        raise src.error(("data", "views"), "no views", "map view names to files, e.g. "
                        "'radiomics: radiomics.csv'")
    upd: dict = {"views": views}
    for k in ("covariates", "outcomes"):
        if raw.get(k) is not None:
            upd[k] = _resolve(src, raw[k], ("data", k))
    centre = raw.get("centre")
    if centre is not None:
        if Path(centre).suffix:
            upd["centre"] = str(_resolve(src, centre, ("data", "centre")))
        elif "covariates" not in upd:
            raise src.error(("data", "centre"), f"{centre!r} names a covariates column but "
                            "data.covariates is not given", "give the covariates file, or a "
                            "centre file (with its suffix)")
        elif centre not in (cols := _columns(upd["covariates"])):
            raise src.error(("data", "centre"), f"{centre!r} names no column of covariates "
                            f"({', '.join(cols)}){_near(centre, cols)}",
                            "give the centre column's name, or a centre file")
    return data.model_copy(update=upd)


# ================================================================================ analyses

def _is_path_field(annotation) -> bool:
    return annotation is Path or any(_is_path_field(a) for a in typing.get_args(annotation))


def _check_views(src: _Source, step: str, block: dict, key, views: list[str]) -> None:
    """Every view an analysis block names explicitly must be under data.views."""
    for opt, extra in _VIEW_OPTIONS.get(step, {}).items():
        if opt not in block:
            continue
        val = block[opt]
        names = list(val) if isinstance(val, (list, dict)) else [val]
        for i, name in enumerate(names):
            if name is None or name in views or name in extra:
                continue
            k = key + ((opt, i) if isinstance(val, list) else (opt, name)
                       if isinstance(val, dict) else (opt,))
            raise src.error(k, f"{name!r} is not a view of data.views "
                            f"({', '.join(views)}){_near(name, list(views) + list(extra))}",
                            "use one of those names, or add the view under data.views")


def _options(src: _Source, step: str, block: dict, key, loc_map=None):
    """``step``'s Options from ``block`` (paths resolved; errors as one line)."""
    from . import _module

    cls = _module(step).Options
    block = dict(block)
    for name, field in cls.model_fields.items():
        if block.get(name) is not None and _is_path_field(field.annotation):
            if isinstance(block[name], dict):      # e.g. spatial: images: {section: file}
                block[name] = {k: _resolve(src, v, key + (name, k))
                               for k, v in block[name].items()}
            else:
                block[name] = _resolve(src, block[name], key + (name,))
    try:
        return cls.model_validate(block)
    except ValidationError as exc:
        raise _pydantic_error(src, exc, key, cls, loc_map) from None


def _association(src: _Source, block: dict, views: list[str]) -> list:
    """One association screen per pair; the first is detailed unless ``detail`` is given."""
    from . import _module

    key = ("analyses", "association")
    cls = _module("association").Options
    allowed = ["pairs"] + [f for f in cls.model_fields if f not in ("x", "y")]
    for k in block:
        if k not in allowed:
            raise src.error(key + (k,), f"unknown key{_near(k, allowed + ['x', 'y'])}",
                            f"allowed keys: {', '.join(allowed)} (pairs: [[x, y], ...])")
    pairs = block.get("pairs", [list(p) for p in DEFAULT_PAIRS])
    if not isinstance(pairs, list) or not pairs:
        raise src.error(key + ("pairs",), "must be a list of [x, y] view pairs",
                        "e.g. pairs: [[radiomics, expression]]")
    common = {k: v for k, v in block.items() if k != "pairs"}
    plan = []
    for i, p in enumerate(pairs):
        pk = key + ("pairs", i)
        over = dict(p) if isinstance(p, dict) else {}
        if isinstance(p, (list, tuple)) and len(p) == 2:
            over = {"x": p[0], "y": p[1]}
        elif not isinstance(p, dict):
            raise src.error(pk, f"must be [x, y] (two view names), got {p!r}",
                            "e.g. [radiomics, expression]")
        opts = {"detail": i == 0, **common, **over}
        if "pairs" in block:
            _check_views(src, "association", over, pk, views)

        def loc_map(loc, over=over, pk=pk):
            return (pk + tuple(loc)) if loc and loc[0] in over else key + tuple(loc)

        plan.append(("association", _options(src, "association", opts, key, loc_map)))
    return plan


def _block(src: _Source, step: str, val):
    """An analysis block as a dict (None: not asked for)."""
    key = ("analyses", step)
    if val is False:
        return None
    if val is True or val is None:
        return {}
    if not isinstance(val, dict):
        raise src.error(key, f"must be true, false or a mapping of options, got {val!r}",
                        f"e.g. '{step}: true' for its defaults")
    return dict(val)


def _headers(data: DataConfig) -> dict[str, list[str]]:
    """Column names of every view and of the outcomes (headers only)."""
    out = {name: _columns(p) for name, p in data.views.items()}
    if data.outcomes is not None:
        out["outcomes"] = _columns(data.outcomes)
    return out


def _check_columns(src: _Source, step: str, block: dict, data: DataConfig) -> None:
    """Columns an analysis names (prediction targets, MR exposure and outcome) must exist."""
    key = ("analyses", step)
    if step == "prediction" and isinstance(block.get("targets"), dict):
        heads = _headers(data)
        for where, cols in block["targets"].items():
            if where == "outcomes" and data.outcomes is None:
                raise src.error(key + ("targets", where), "names the outcomes but "
                                "data.outcomes is not given", "add data.outcomes or remove it")
            if not isinstance(cols, list) or where not in heads:
                continue
            for i, c in enumerate(cols):
                if str(c) not in heads[where]:
                    raise src.error(key + ("targets", where, i), f"{c!r} is not a column of "
                                    f"{where}{_near(c, heads[where])}",
                                    f"use a column of {where}'s file, or leave the list out "
                                    "for all of them")
    if step == "survival":
        _check_survival(src, block, data)
    if step == "mr":
        if block.get("exposure") is None or block.get("outcome") is None:
            raise src.error(key, "needs exposure and outcome", "name them (feature names, "
                            "e.g. a module score and an imaging trait), or remove analyses.mr")
        if (block.get("exposure_gwas") is None) != (block.get("outcome_gwas") is None):
            raise src.error(key, "only one of exposure_gwas and outcome_gwas is given",
                            "give both GWAS files (two-sample MR) or neither")
        known = [c for cols in _headers(data).values() for c in cols]
        for k in ("exposure", "outcome"):
            if str(block[k]) not in known:
                raise src.error(key + (k,), f"{block[k]!r} is a column of no view and not an "
                                f"outcome{_near(block[k], known)}", "name a feature of a view "
                                "(e.g. a module score) or an outcome column")


def _survival_columns(data: DataConfig, blocks: dict) -> list[str]:
    """The survival analysis's time and event columns that the outcomes file has (the
    block's names, else the step's defaults)."""
    from . import _module

    if data.outcomes is None:
        return []
    block = blocks.get("survival") if isinstance(blocks.get("survival"), dict) else {}
    fields = _module("survival").Options.model_fields
    names = [block.get(k, fields[k].default) for k in ("time", "event")]
    return [c for c in names if c in _headers(data)["outcomes"]]


def _check_survival(src: _Source, block: dict, data: DataConfig) -> None:
    """The survival block's time and event columns must be columns of the outcomes."""
    from . import _module

    key = ("analyses", "survival")
    if data.outcomes is None:
        raise src.error(key, "needs data.outcomes (a table with the follow-up time and event "
                        "columns)", "add data.outcomes or remove analyses.survival")
    cols = _headers(data)["outcomes"]
    fields = _module("survival").Options.model_fields
    for k in ("time", "event"):
        name = block.get(k, fields[k].default)
        if str(name) not in cols:
            raise src.error(key + ((k,) if k in block else ()),
                            f"{k} column {name!r} is not a column of the outcomes"
                            f"{_near(name, cols)} ({', '.join(cols)})",
                            f"name the {k} column with '{k}: <column>'")


def _defaults(step: str, block: dict, data: DataConfig, blocks: dict) -> dict:
    """Defaults that depend on the data: the centre-effects views are every view but the
    genotypes; the prediction targets are the outcomes (less the survival analysis's time and
    event columns when it runs); the survival predictors are the radiomics and module views
    present (else the first view)."""
    from . import _module

    if step == "centre_effects" and "views" not in block:
        mr = blocks.get("mr") if isinstance(blocks.get("mr"), dict) else {}
        geno = mr.get("genotypes", "genotypes")
        block["views"] = [v for v in data.views if v != geno]
    if step == "prediction" and "targets" not in block and data.outcomes:
        fields = _module("prediction").Options.model_fields
        surv = _survival_columns(data, blocks) if blocks.get("survival", False) is not False \
            else []
        if surv:
            block["targets"] = {"outcomes": [c for c in _headers(data)["outcomes"]
                                             if c not in surv]}
        elif "targets" in fields and fields["targets"].is_required():
            block["targets"] = {"outcomes": None}
    if step == "survival" and "x" not in block:
        block["x"] = [v for v in SURVIVAL_VIEWS if v in data.views] or list(data.views)[:1]
    return block


def _build_plan(src: _Source, raw, data: DataConfig) -> tuple[list, list]:
    """(plan, requested) from the ``analyses`` mapping (None: every analysis that applies)."""
    key = ("analyses",)
    if raw is None:
        blocks, requested = {s: True for s in CONFIG_STEPS}, []
        surv = _survival_columns(data, blocks)
        blocks["survival"] = len(surv) == 2          # the default time and event columns
        if data.outcomes is None or set(_headers(data)["outcomes"]) <= set(surv):
            blocks["prediction"] = False
        blocks["mr"] = False  # needs an exposure and an outcome named
        blocks["spatial"] = False  # needs spot data, imaging maps and landmarks
        blocks["transcriptomics"] = False  # needs a counts view named
    elif isinstance(raw, dict):
        for k in raw:
            if k in DEMO_ONLY:
                raise src.error(key + (k,), "runs only in `radiogenomics demo` (it needs the "
                                "simulation's ground truth)", "remove it")
            if k not in CONFIG_STEPS:
                raise src.error(key + (k,), f"unknown analysis{_near(k, CONFIG_STEPS)}",
                                f"analyses: {', '.join(CONFIG_STEPS)}")
        blocks, requested = raw, [k for k, v in raw.items() if v is not False]
    else:
        raise src.error(key, "must be a mapping of analysis name to options (or true)",
                        "e.g. 'cca: true'")
    views, plan = list(data.views), []
    for step in CONFIG_STEPS:
        block = _block(src, step, blocks.get(step, False))
        if block is None:
            continue
        if step == "association":
            plan += _association(src, block, views)
            continue
        _check_views(src, step, block, ("analyses", step), views)
        _check_columns(src, step, block, data)
        block = _defaults(step, block, data, blocks)
        opts = _options(src, step, block, ("analyses", step))
        plan.append((step, opts))
        if step == "transcriptomics" and opts.gene_sets is not None:
            views.append(opts.view)  # the gene-set scores are a view for the steps after it
    return plan, requested


# ================================================================================ API

def load_config(path: str | Path) -> StudyConfig:
    """Read and check a ``radiogenomics run`` YAML configuration, before any computation.

    Parameters
    ----------
    path : path
        The YAML file (``examples/config.yaml`` documents every key).

    Returns
    -------
    StudyConfig
        Paths resolved against the file's folder (``output`` defaults to
        ``<config stem>_report`` there), ``plan`` the checked analyses.

    Raises
    ------
    ConfigError
        One line naming the file, the line, the key, the problem and the fix: an unknown
        key, a value of the wrong type, a missing file, a view not under ``data.views``, a
        column the files do not have.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"configuration file {str(path)!r} does not exist; write one with "
                          "`radiogenomics init DIR` or copy examples/config.yaml")
    raw, lines = _compose(path)
    src = _Source(path, lines)
    if not isinstance(raw, dict):
        raise src.error((), f"must hold a mapping (key: value lines), got "
                        f"{type(raw).__name__}", "start from examples/config.yaml")
    if isinstance(raw.get("data"), dict) and not isinstance(raw["data"].get("views"), dict):
        raise src.error(("data", "views"), "must map view names to files",
                        "e.g. 'radiomics: radiomics.csv' on the next line, indented")
    try:
        cfg = StudyConfig.model_validate(raw)
    except ValidationError as exc:
        loc = exc.errors()[0]["loc"]
        model = DataConfig if len(loc) == 2 and loc[0] == "data" else \
            StudyConfig if len(loc) == 1 else None
        raise _pydantic_error(src, exc, model=model) from None
    data = _check_data(src, raw["data"], cfg.data)
    stem = path.stem
    out = Path(str(cfg.output or f"{stem}_report")).expanduser()
    cfg = cfg.model_copy(update={"data": data, "title": cfg.title or
                                 f"radiogenomics report: {stem}",
                                 "output": out if out.is_absolute() else src.base / out})
    cfg._path = path.resolve()
    cfg._plan, cfg._requested = _build_plan(src, raw.get("analyses"), data)
    return cfg


def plan_from_config(cfg: StudyConfig | str | Path) -> list:
    """The workflow plan of a configuration: ``[(step, Options), ...]`` in report order.

    ``association`` gives one entry per pair (the first with the detailed figures unless the
    block sets ``detail``); ``centre_effects`` without ``views`` covers every view but the
    genotypes; without ``analyses`` every analysis that applies (MR needs its exposure and
    outcome named, so it runs only when asked for).
    """
    if not isinstance(cfg, StudyConfig):
        cfg = load_config(cfg)
    return cfg.plan


def load_cohort(cfg: StudyConfig | str | Path):
    """The :class:`~radiogenomics.Cohort` of a configuration's ``data``."""
    from ..cohort import Cohort

    if not isinstance(cfg, StudyConfig):
        cfg = load_config(cfg)
    d = cfg.data
    return Cohort.from_files(dict(d.views), covariates=d.covariates, centre=d.centre,
                             outcomes=d.outcomes, nan_policy=d.nan_policy,
                             constant_policy=d.constant_policy, missing_meta=d.missing_meta)


def run_config(config: StudyConfig | str | Path, out_dir: str | Path | None = None,
               progress: bool | None = None):
    """Load the files a configuration names and run its analyses; write the report.

    Parameters
    ----------
    config : StudyConfig or path
        A YAML file (checked by :func:`load_config`) or its checked form.
    out_dir : path, optional
        Overrides the configuration's ``output``.
    progress : bool, optional
        Progress lines and bars (None: when the terminal is interactive).

    Returns
    -------
    WorkflowResult
        The steps' results; ``report.html``, the CSV tables, figures and ``results.json``
        are in the output folder.
    """
    import matplotlib

    from . import run_workflow

    matplotlib.use("Agg", force=False)
    cfg = config if isinstance(config, StudyConfig) else load_config(config)
    cohort = load_cohort(cfg)
    plan = plan_from_config(cfg)
    not_asked = [s for s in CONFIG_STEPS if s not in cfg.requested] if cfg.requested else []
    meta = {"config": str(cfg.path), "views": {k: v.name for k, v in cfg.data.views.items()},
            "not_requested": not_asked}
    return run_workflow(cohort, plan, Path(out_dir) if out_dir is not None else cfg.output,
                        title=cfg.title, rng=cfg.seed, alpha=cfg.alpha,
                        n_permutations=cfg.permutations, progress=progress, meta=meta)
