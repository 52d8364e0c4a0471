#!/usr/bin/env bash
# Set up the project's virtual environment and run the main job or the tests.
#
#   bash scripts/dev.sh install      create/update .venv (idempotent)
#   bash scripts/dev.sh demo [DIR]   install, then run the demo analysis (report in DIR, default demo_report)
#   bash scripts/dev.sh test [ARGS]  install with the [dev] extra, then run the test suite (pytest ARGS)
#   bash scripts/dev.sh test-min     a second venv (.venv-min) at the lowest supported versions
#                                    (requirements-min.txt), then the tests in MIN_TESTS there
#
# Environment: PYTHON (interpreter to build the venv from, default python3.11 or python3),
# VENV (default .venv), EXTRAS (extra pip extras, e.g. "r" or "gpu").
#
# Why a script and not just `pip install .`: pyradiomics 3.0.1 (the version the toolkit's
# parity tests use) cannot be built under pip's build isolation on Python 3.11, so it is built
# with --no-build-isolation after numpy, versioneer, setuptools and wheel are in place.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${VENV:-.venv}
if [ -z "${PYTHON:-}" ]; then
  if command -v python3.11 >/dev/null 2>&1; then PYTHON=python3.11; else PYTHON=python3; fi
fi

have_root_apt() { [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; }
apt_install() {
  if have_root_apt; then
    echo "[setup] installing Debian packages: $*"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
  else
    echo "[setup] error: missing system packages; run: sudo apt-get install $*" >&2
    exit 1
  fi
}

check_python() {
  if ! command -v "$PYTHON" >/dev/null 2>&1; then
    echo "[setup] error: $PYTHON not found; install Python >= 3.11 (Debian: apt-get install python3 python3-venv python3-dev)" >&2
    exit 1
  fi
  "$PYTHON" - <<'PY' || { echo "[setup] error: radiogenomics needs Python >= 3.11 ($PYTHON is older); set PYTHON=python3.11" >&2; exit 1; }
import sys
sys.exit(0 if sys.version_info >= (3, 11) else 1)
PY
  # venv/ensurepip and the C headers pyradiomics compiles against
  if ! "$PYTHON" -c "import ensurepip, venv" >/dev/null 2>&1; then
    apt_install python3-venv
  fi
  inc=$("$PYTHON" -c "import sysconfig; print(sysconfig.get_paths()['include'])")
  if [ ! -f "$inc/Python.h" ] || ! command -v gcc >/dev/null 2>&1; then
    apt_install python3-dev gcc
  fi
}

install() {
  local extras="$1" stamp="$VENV/.radiogenomics-installed-$1"
  if [ -f "$stamp" ] && [ "$stamp" -nt setup.cfg ] && [ "$stamp" -nt pyproject.toml ] && [ "$stamp" -nt scripts/dev.sh ]; then
    return 0
  fi
  check_python
  if [ ! -x "$VENV/bin/python" ]; then
    echo "[setup] creating $VENV with $PYTHON"
    "$PYTHON" -m venv "$VENV"
  fi
  local pip=("$VENV/bin/python" -m pip --disable-pip-version-check)
  "${pip[@]}" install -q --upgrade pip
  "${pip[@]}" install -q "numpy>=1.24" versioneer setuptools wheel
  if ! "$VENV/bin/python" -c "from radiomics import cMatrices, featureextractor" >/dev/null 2>&1; then
    echo "[setup] building pyradiomics 3.0.1 without build isolation"
    "${pip[@]}" install -q --no-build-isolation "pyradiomics==3.0.1"
  fi
  local target="."
  [ -n "$extras" ] && target=".[${extras}]"
  echo "[setup] installing radiogenomics${extras:+[$extras]} (editable)"
  "${pip[@]}" install -q -e "$target"
  touch "$stamp"
}

# tests run at the lowest pinned versions (the modules whose behaviour depends on versions:
# scikit-learn's penalties, scipy/pandas/numpy numerics, the input layer); see requirements-min.txt
MIN_TESTS=${MIN_TESTS:-"tests/test_mr_instruments.py tests/test_mr_clump.py tests/test_mr_io.py tests/test_penalized.py tests/test_elasticnet.py tests/test_cox.py tests/test_survival_coxph.py tests/test_survival_concordance.py tests/test_survival_horizon.py tests/test_survival_km.py tests/test_survival_penalized.py tests/test_validation.py tests/test_metrics.py tests/test_cohort.py tests/test_harmonize.py tests/test_input_hypothesis.py tests/test_resampling.py tests/test_cca_classical.py tests/test_mr_harmonise.py tests/test_mr_estimators.py tests/test_expression_normalize.py tests/test_expression_limma.py tests/test_expression_genesets.py tests/test_expression_combat_seq.py tests/test_expression_moderated.py tests/test_spatial_autocorr.py tests/test_spatial_nulls.py tests/test_spatial_association.py tests/test_spatial_modified_ttest.py tests/test_spatial_data.py tests/test_spatial_variogram_sampled.py"}

install_min() {
  local venv=${VENV_MIN:-.venv-min} stamp
  stamp="$venv/.radiogenomics-installed-min"
  if [ -f "$stamp" ] && [ "$stamp" -nt requirements-min.txt ] && [ "$stamp" -nt setup.cfg ] && [ "$stamp" -nt scripts/dev.sh ]; then
    return 0
  fi
  check_python
  [ -x "$venv/bin/python" ] || "$PYTHON" -m venv "$venv"
  local pip=("$venv/bin/python" -m pip --disable-pip-version-check)
  "${pip[@]}" install -q --upgrade pip
  echo "[setup] installing the lowest supported versions (requirements-min.txt) into $venv"
  "${pip[@]}" install -q -r requirements-min.txt
  if ! "$venv/bin/python" -c "from radiomics import cMatrices, featureextractor" >/dev/null 2>&1; then
    "${pip[@]}" install -q --no-build-isolation "pyradiomics==3.0.1"
  fi
  "${pip[@]}" install -q --no-deps -e .
  touch "$stamp"
}

# the report's browser test (tests/test_report_browser.py) needs headless Chromium: in CI
# (CI set) as root, Debian's chromium is installed quietly; elsewhere the test skips with its
# reason when chromium is absent
install_browser() {
  if [ -n "${CI:-}" ] && ! command -v chromium >/dev/null 2>&1 && have_root_apt; then
    echo "[setup] installing chromium for the report's browser test"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null \
      || echo "[setup] warning: could not install chromium; the browser test will skip" >&2
  fi
}

cmd=${1:-}
shift || true
case "$cmd" in
  install)
    install "${EXTRAS:-}"
    ;;
  demo)
    install "${EXTRAS:-}"
    out=${1:-demo_report}
    "$VENV/bin/radiogenomics" demo --out "$out"
    ;;
  test)
    install "dev${EXTRAS:+,$EXTRAS}"
    install_browser
    export MPLBACKEND=Agg
    "$VENV/bin/python" -m pytest -n "${PYTEST_WORKERS:-2}" --durations=15 "$@"
    ;;
  test-min)
    install_min
    export MPLBACKEND=Agg
    # shellcheck disable=SC2086
    "${VENV_MIN:-.venv-min}/bin/python" -m pytest -n "${PYTEST_WORKERS:-2}" $MIN_TESTS "$@"
    ;;
  *)
    sed -n '2,11p' "$0"
    exit 2
    ;;
esac
