# make demo   -> create .venv, install, run the demo analysis (report in demo_report/)
# make test   -> create .venv with the [dev] extra, run the test suite; then the version-sensitive
#                tests again at the lowest supported versions (.venv-min, requirements-min.txt)
# make bench  -> run the benchmarks (see benchmarks/README.md)
# Without make: bash scripts/dev.sh demo | test
.PHONY: install demo test test-min bench clean
install:
	bash scripts/dev.sh install
demo:
	bash scripts/dev.sh demo demo_report
test:
	bash scripts/dev.sh test
	bash scripts/dev.sh test-min
test-min:
	bash scripts/dev.sh test-min
bench:
	bash scripts/dev.sh install && .venv/bin/python benchmarks/run_all.py
clean:
	rm -rf .venv .venv-min demo_report .pytest_cache
