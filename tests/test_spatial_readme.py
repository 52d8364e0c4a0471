"""The README's spatial example runs as written and its printed claims hold on its data."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def _section() -> str:
    return README.read_text().split("## Spatial transcriptomics beside an imaging map", 1)[1] \
        .split("\n## ", 1)[0]


def test_readme_spatial_example_runs(capsys):
    blocks = re.findall(r"```python\n(.*?)```", _section(), flags=re.S)
    assert len(blocks) == 1
    ns: dict = {}
    exec(compile(blocks[0], "README-spatial", "exec"), ns)
    out = capsys.readouterr().out
    truth = ns["truth"]
    msr_hits = ns["msr"].significant()["gene"]
    naive_hits = ns["naive"].significant()["gene"]
    # "the MSR screen finds the 10 planted genes and nothing else"
    assert int(truth.sum()) == 10 and set(msr_hits) == set(truth.index[truth])
    # "free permutation of spots declares dozens of unrelated smooth genes"
    assert (~truth[naive_hits]).sum() >= 24
    assert "landmark RMSE" in out and "truly co-localised" in out


def test_readme_spatial_yaml_keys_are_step_options():
    from radiogenomics.workflow.spatial import Options

    keys = re.search(r"configuration: `adata`, (.*?)\) reads", _section(), flags=re.S).group(1)
    named = re.findall(r"`(\w+)", "`adata`, " + keys)
    assert named and set(named) <= set(Options.model_fields), named
