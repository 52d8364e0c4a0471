# make demo                  -> create .venv, install, run the demo analysis (report in demo_report/)
# make run CONFIG=FILE.yaml  -> the same workflow on your own files (default examples/config.yaml)
# make init DATA=DIR         -> write a commented starter config from your files (OUT=config.yaml)
# make tour                  -> run examples/tour.py (the README's API tour) in tour_output/
# make test                  -> create .venv with the [dev] extra, run the test suite; then the
#                               version-sensitive tests at the lowest supported versions (.venv-min)
# make bench                 -> run the benchmarks (see benchmarks/README.md)
# Without make: bash scripts/dev.sh install | demo | test, then `. .venv/bin/activate`.
CONFIG ?= examples/config.yaml
DATA ?= examples/example_data
OUT ?= config.yaml
.PHONY: install demo run init tour test test-min bench clean
install:
	bash scripts/dev.sh install
demo:
	bash scripts/dev.sh demo demo_report
run: install
	.venv/bin/radiogenomics run "$(CONFIG)"
init: install
	.venv/bin/radiogenomics init "$(DATA)" --out "$(OUT)"
tour: install
	mkdir -p tour_output && cd tour_output && MPLBACKEND=Agg ../.venv/bin/python ../examples/tour.py
test:
	bash scripts/dev.sh test
	bash scripts/dev.sh test-min
test-min:
	bash scripts/dev.sh test-min
bench:
	EXTRAS=bench bash scripts/dev.sh install
	test -x .venv-adelie/bin/python || (python3 -m venv .venv-adelie && .venv-adelie/bin/pip install -q adelie==1.1.52)
	test -x .venv-spatial/bin/python || (PY=$$(for c in python3.12 $${PYENV_ROOT:-$$HOME/.pyenv}/versions/3.12*/bin/python3.12; do "$$c" -c 'import sys; assert sys.version_info[:2] == (3, 12)' 2>/dev/null && echo "$$c" && break; done); \
	  test -n "$$PY" || { echo "make bench: squidpy 1.8 / esda 2.10 need Python 3.12; put python3.12 on PATH or run 'pyenv install 3.12'"; exit 1; }; \
	  "$$PY" -m venv .venv-spatial && .venv-spatial/bin/pip install -q squidpy==1.8.3 esda==2.10.0 libpysal==4.15.1)
	.venv/bin/python benchmarks/run_all.py
clean:
	rm -rf .venv .venv-min .venv-adelie .venv-spatial demo_report tour_output examples/example_report .pytest_cache
