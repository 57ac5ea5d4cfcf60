"""The rules' conda environment: envs/atspectrum.yaml pins what envs/requirements.txt pins, and every rule uses it
(`snakemake --lint`, which also asks for an environment on every rule, runs in tests/test_workflow.py)."""

import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
RULES = ROOT / "workflow" / "rules"
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
RUNS = {"script", "shell", "run", "notebook", "wrapper", "cwl"}  # a rule without one of these runs nothing


def requirements() -> list[str]:
    lines = (ROOT / "envs" / "requirements.txt").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.strip().startswith("#")]


def environment() -> dict:
    return yaml.safe_load((ROOT / "envs" / "atspectrum.yaml").read_text())


def test_the_conda_environment_pins_every_requirement():
    deps = environment()["dependencies"]
    pip = [d["pip"] for d in deps if isinstance(d, dict)]
    assert len(pip) == 1
    assert [d for d in deps if not isinstance(d, dict)] == ["python=3.11", "pip"]
    assert pip[0] == requirements()
    # Snakemake builds the environment from its own copy of the file: no path to another file, no editable install
    assert not [p for p in pip[0] if p.startswith("-")]


def blocks(path: Path):
    """(kind, name, parent, {directive: first value line}) for every rule, checkpoint and `use rule` in ``path``."""
    text = path.read_text()
    starts = list(re.finditer(r"^(rule|checkpoint|use rule) (\w+)(?: as (\w+))?.*:[ \t]*$", text, re.M))
    for i, m in enumerate(starts):
        body = text[m.end() : starts[i + 1].start() if i + 1 < len(starts) else len(text)]
        body = re.split(r"^\S", body, maxsplit=1, flags=re.M)[0]  # up to the next top-level line
        directives = {
            d.group(1): (d.group(2) or d.group(3) or "").strip()
            for d in re.finditer(r"^    (\w+):(?:[ \t]*(\S.*))?\n(?:        (.*))?", body, re.M)
        }
        kind = m.group(1)
        yield kind, m.group(3) if kind == "use rule" else m.group(2), m.group(2), directives


def test_every_rule_declares_the_conda_environment():
    env = re.search(r'^ENV = "([^"]+)"$', (RULES / "common.smk").read_text(), re.M)
    assert env, "common.smk defines ENV, the rules' conda environment"
    # relative conda paths are resolved against the file that defines the rule: every rule file is in workflow/rules
    assert (RULES / env.group(1)).resolve() == ROOT / "envs" / "atspectrum.yaml"
    rules, inherited = {}, {}
    for path in [ROOT / "Snakefile", *sorted(RULES.glob("*.smk"))]:
        for kind, name, parent, directives in blocks(path):
            if kind == "use rule":
                inherited[name] = (parent, directives.get("conda"))
            else:
                rules[name] = directives
                assert path.parent == RULES or "conda" not in directives, f"{name}: a conda path outside rules/"
    runnable = {name for name, d in rules.items() if RUNS & d.keys()}
    assert {"prepare_data", "train", "evaluate_quantized", "claims", "compute_accounting"} <= runnable
    assert rules.keys() - runnable == {"all"}  # the default target runs nothing
    missing = sorted(name for name in runnable if rules[name].get("conda") != "ENV")
    assert not missing, f"rules without `conda: ENV`: {missing}"
    for name, (parent, conda) in inherited.items():  # `use rule ... with:` keeps its parent's environment
        assert parent in runnable and conda in (None, "ENV"), name
