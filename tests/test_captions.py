"""The report's captions as table headings (atspectrum.reporting.captions): every caption renders with the values the
workflow's scripts give, a missing value names its placeholder, rst literals become Markdown code spans."""

import re
from pathlib import Path

import pytest

from atspectrum import config as atconfig
from atspectrum.reporting import captions, tables

ROOT = Path(__file__).resolve().parents[1]
REPORT = ROOT / "workflow" / "report"
CAPTIONS = sorted(REPORT.glob("*.rst"))


def workflow_values(config: dict) -> dict:
    """What the scripts give captions.render: the wildcards (model) and the config keys the captions name."""
    return {
        "model": sorted(config["models"])[0],
        "run": config["run"],
        "stats": config["stats"],
        "overdesign": {"attack": {"steps": config["overdesign"]["attack"]["steps"]}},
    }


@pytest.fixture(scope="module")
def demo():
    return atconfig.load(ROOT / "config" / "demo.yaml", check_data=False)


def test_there_are_captions():
    assert {"checklist.rst", "claims.rst", "overdesign.rst", "quantization.rst"} <= {p.name for p in CAPTIONS}


@pytest.mark.parametrize("path", CAPTIONS, ids=lambda p: p.name)
def test_every_caption_renders_with_the_workflows_values(path, demo):
    text = captions.render(path, **workflow_values(demo))
    assert text and "\n" not in text and "  " not in text  # one paragraph
    assert "{{" not in text and "}}" not in text and "{%" not in text
    assert "``" not in text  # rst literals are Markdown code spans
    assert not re.search(r"`[^`]*`__?(?!\w)", text)  # hyperlink references are their text
    if 'snakemake.config["run"]' in path.read_text():
        assert "`demo`" in text or "run demo" in text


def test_placeholders_are_filled():
    quantization = captions.render(
        REPORT / "quantization.rst", model="rn", run="tiny", stats={"alpha": 0.01, "correction": "none"}
    )
    assert quantization.startswith("Section 4 (quantization) for rn:")
    assert "alpha = 0.01" in quantization and "correction over the table's quantized cells: none" in quantization
    assert "decided on run `tiny`" in captions.render(REPORT / "claims.rst", run="tiny")
    # the attack's steps as configured (the demo's PGD-10, the paper's PGD-20), never a number written in the caption
    overdesign = captions.render(REPORT / "overdesign.rst", model="rn", overdesign={"attack": {"steps": 7}})
    assert "clean and PGD_ε-7 accuracy" in overdesign and "PGD_δ-7 accuracy for every" in overdesign
    assert "`0 all claims`_" not in captions.render(REPORT / "workflow.rst", run="tiny")
    assert "Start with 0 all claims:" in captions.render(REPORT / "workflow.rst", run="tiny")


@pytest.mark.parametrize(
    ("name", "values", "placeholder"),
    [
        ("quantization", {"run": "tiny", "stats": {"alpha": 0.05, "correction": "holm"}}, "snakemake.wildcards.model"),
        ("claims", {"model": "rn"}, 'snakemake.config["run"]'),
        ("quantization", {"model": "rn", "run": "tiny", "stats": {"alpha": 0.05}}, 'snakemake.config["stats"]'),
    ],
)
def test_a_missing_value_raises_naming_the_file_and_the_placeholder(name, values, placeholder):
    with pytest.raises(ValueError) as err:
        captions.render(REPORT / f"{name}.rst", **values)
    assert f"{name}.rst" in str(err.value) and placeholder in str(err.value)


def test_an_unsupported_placeholder_raises(tmp_path):
    path = tmp_path / "odd.rst"
    path.write_text("Run {{ snakemake.params.steps }} steps.\n")
    with pytest.raises(ValueError, match=r"odd\.rst.*snakemake\.params\.steps"):
        captions.render(path, steps=20)


def test_rst_inline_markup_becomes_markdown(tmp_path):
    path = tmp_path / "c.rst"
    path.write_text(
        "For {{ snakemake.wildcards.model }}: the ``_ci.csv`` tables and ``preact_<model>``;\n"
        "**bold** stays, see `the claims`_ and `docs <https://example.org>`_.\n\nA second paragraph.\n"
    )
    text = captions.render(path, model="rn")
    assert text == (
        "For rn: the `_ci.csv` tables and `preact_<model>`; **bold** stays, see the claims and docs. "
        "A second paragraph."
    )


def test_heading_puts_the_tables_own_title_first():
    values = {"model": "rn", "run": "tiny", "overdesign": {"attack": {"steps": 20}}}
    text = captions.heading("Table 3/4 (rn): clean accuracy.", REPORT / "overdesign.rst", **values)
    assert text.startswith("Table 3/4 (rn): clean accuracy. Section 3 (overdesign) for rn:")
    assert captions.heading("", REPORT / "config.rst", run="tiny") == captions.render(REPORT / "config.rst", run="tiny")


def test_the_heading_heads_the_markdown_and_latex_tables(tmp_path):
    import pandas as pd

    caption = captions.heading("Checks.", REPORT / "checklist.rst", run="tiny")
    _, md, tex = tables.write(pd.DataFrame({"a": [1]}), str(tmp_path / "t"), caption)
    assert Path(md).read_text().startswith(caption + "\n\n")
    assert r"\caption{Checks. Sanity checklist of run `tiny`" in Path(tex).read_text()


def test_every_caption_the_rules_name_exists():
    """``reported(paths, "<name>", ...)`` and ``caption_file("<name>")`` in the rules: workflow/report/<name>.rst."""
    rules = "\n".join(p.read_text() for p in (ROOT / "workflow" / "rules").glob("*.smk"))
    names = set(re.findall(r'caption_file\("(\w+)"\)', rules))
    names |= set(re.findall(r'reported\(\s*(?:[^(),]|\([^()]*\))+,\s*"(\w+)",', rules))
    assert {"overdesign", "quantization", "claims", "checklist", "compute"} <= names
    assert not re.search(r"\.\./report/", rules)  # every caption goes through caption_file
    for name in names:
        assert (REPORT / f"{name}.rst").is_file(), name


def test_a_heading_names_the_run_after_its_run_directory():
    by_root = captions.heading("Checks.", REPORT / "checklist.rst", root="results/tiny")
    assert by_root == captions.heading("Checks.", REPORT / "checklist.rst", run="tiny") and "tiny" in by_root
