#!/bin/sh
# Regenerate the PLINK 1.9 --clump references of tests/test_mr_clump.py.
# Run from the repository root:  sh tests/data/mr/clump/make_refs.sh
# (needs the project venv and Debian's plink1.9, PLINK v1.90b6.26 64-bit (2 Apr 2022)).
set -e
D=tests/data/mr/clump
.venv/bin/python $D/simulate_panel.py $D/panel 20240917 480 1700 3
run() {  # name, plink clump options
  name=$1; shift
  plink1.9 --bfile $D/panel --clump $D/panel.assoc "$@" --out $D/tmp_$name >/dev/null
  mv $D/tmp_$name.clumped $D/plink_$name.clumped
  rm -f $D/tmp_$name.log $D/tmp_$name.nosex
}
# TwoSampleMR clump_data defaults as ieugwasr::ld_clump_local calls plink (no --clump-p2: plink's 0.01)
run tsmr_default --clump-p1 1 --clump-r2 0.001 --clump-kb 10000
run gw_r2_0.1_kb250 --clump-p1 5e-8 --clump-p2 1e-5 --clump-r2 0.1 --clump-kb 250
run gw_p2_0.05_r2_0.5 --clump-p1 5e-8 --clump-p2 0.05 --clump-r2 0.5 --clump-kb 250
run p1e-4_r2_0.2_kb50 --clump-p1 1e-4 --clump-p2 1e-2 --clump-r2 0.2 --clump-kb 50
run p0.01_r2_0.8_kb1000 --clump-p1 0.01 --clump-p2 0.5 --clump-r2 0.8 --clump-kb 1000
run p1_r2_0.01_kb2000 --clump-p1 1 --clump-p2 1 --clump-r2 0.01 --clump-kb 2000
