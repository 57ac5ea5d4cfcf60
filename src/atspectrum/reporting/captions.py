"""One caption per output: the report's captions (``workflow/report/<name>.rst``) also head the Markdown/LaTeX tables.

The rules attach ``<name>.rst`` to an output for ``snakemake --report`` and give the same file to the script as its
input ``caption`` (``caption_file`` in ``workflow/rules/common.smk``); the script heads each table with a short title
of its own (which of its tables this is) followed by :func:`render` of that file, so the text is written once.

The report renders a caption with Jinja, then as reStructuredText; :func:`render` does the same for the table: it
fills the placeholders the captions use from keyword values (``{{ snakemake.wildcards.<name> }}`` from ``<name>=``,
``{{ snakemake.config["<key>"]... }}`` from ``<key>=``, indexed further as written) and keeps the rst markup that
Markdown reads the same (``**bold**``, ``*italic*``), turning inline literals ``x`` into Markdown code spans and
hyperlink references into their text. Torch-free."""

from __future__ import annotations

import os
import re

# a Jinja expression, statement or comment: only the expressions below are supported
_JINJA = re.compile(r"\{\{(.*?)\}\}|\{%.*?%\}|\{#.*?#\}", re.S)
_WILDCARD = re.compile(r"snakemake\.wildcards\.(\w+)")
_CONFIG = re.compile(r"snakemake\.config((?:\[\s*(?:\"\w+\"|'\w+')\s*\])+)")
_KEY = re.compile(r"\[\s*[\"'](\w+)[\"']\s*\]")
_LINK = re.compile(r"(?<!`)`([^`<]+?)(?:\s*<[^`>]*>)?`__?(?!\w)")  # `text`_, `text <url>`_, `text`__
_LITERAL = re.compile(r"``(.+?)``", re.S)


def _keys(expression: str) -> list[str] | None:
    """The value path of a supported placeholder (``["model"]``, ``["stats", "alpha"]``), or None."""
    if m := _WILDCARD.fullmatch(expression):
        return [m.group(1)]
    if m := _CONFIG.fullmatch(expression):
        return _KEY.findall(m.group(1))
    return None


def _fill(text: str, path: str, values: dict) -> str:
    def value(m: re.Match) -> str:
        placeholder = m.group(0)
        keys = None if m.group(1) is None else _keys(m.group(1).strip())
        if keys is None:
            raise ValueError(
                f"{path}: unsupported placeholder {placeholder} (captions.render fills only "
                f"snakemake.wildcards.<name> and snakemake.config[...])"
            )
        node = values
        for depth, key in enumerate(keys):
            try:
                node = node[key]
            except (KeyError, TypeError, IndexError):
                given = f"{keys[0]}=..." if depth == 0 else f"{keys[0]} with {''.join(f'[{k!r}]' for k in keys[1:])}"
                raise ValueError(f"{path}: no value for the placeholder {placeholder} (give {given})") from None
        return str(node)  # as Jinja prints it

    return _JINJA.sub(value, text)


def to_markdown(rst: str) -> str:
    """Inline reStructuredText as one Markdown paragraph: ``x`` becomes the code span `x`, a hyperlink reference
    `text`_ its text; bold and italic read the same; lines and blank lines collapse to single spaces."""
    text = _LINK.sub(r"\1", rst)
    text = _LITERAL.sub(lambda m: f"`{m.group(1)}`", text)
    return " ".join(text.split())


def render(path: str, **values) -> str:
    """The caption ``path`` (a report .rst) as one Markdown paragraph with its placeholders filled from ``values``.
    Raises ValueError naming the file and the placeholder when a value is missing or the placeholder unsupported."""
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    return to_markdown(_fill(text, str(path), values))


def heading(title: str, path: str, root: str | None = None, **values) -> str:
    """A table's heading: its own short ``title`` (which table this is), then the rendered caption ``path``; with
    ``root`` (the run directory ``results/<run>``) the captions' ``run`` is its name."""
    if root is not None:
        values.setdefault("run", os.path.basename(os.path.normpath(root)))
    caption = render(path, **values)
    return f"{title.strip()} {caption}" if title.strip() else caption
