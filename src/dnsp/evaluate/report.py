"""Run reports: ``report.md`` (figures linked) and a self-contained ``report.html``.

A :class:`Report` collects blocks (headings, paragraphs, tables from pandas DataFrames, PNG
figures, configuration dumps, the software environment) and writes both files atomically.
The HTML needs nothing beside it: figures are inlined as base64 ``data:`` URIs, tables are HTML
tables and the style sheet is a short inline ``<style>``; it uses no script and no network.

Paragraph text accepts a small Markdown subset, rendered the same in both files: blank lines
separate paragraphs, lines starting with ``- `` form a bullet list, ``**bold**`` and
```code``` are recognised inline.
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import importlib.metadata
import math
import os
import platform
import re
import shutil
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

import dnsp
from dnsp.fsutil import atomic_path

__all__ = ["ENV_PACKAGES", "Report", "environment_info", "format_cell"]

#: Distributions whose versions the environment block lists.
ENV_PACKAGES: tuple[str, ...] = (
    "torch",
    "numpy",
    "scipy",
    "pandas",
    "statsmodels",
    "scikit-image",
    "matplotlib",
    "nibabel",
)

_MIME = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".svg": "image/svg+xml"}

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;max-width:1100px;
margin:2em auto;padding:0 1em;color:#222;line-height:1.45}
h1{border-bottom:2px solid #ccc;padding-bottom:.2em}
table{border-collapse:collapse;margin:.6em 0 1.2em;font-size:.9em}
th,td{border:1px solid #bbb;padding:.25em .6em;text-align:right}
th{background:#eee} td:first-child,th:first-child{text-align:left} td{white-space:nowrap}
.tbl{overflow-x:auto}
caption{caption-side:top;text-align:left;font-weight:600;padding:.3em 0}
figure{margin:1em 0} figure img{max-width:100%;height:auto;border:1px solid #ddd}
figcaption{font-size:.9em;color:#444} pre{background:#f6f6f6;padding:.6em;overflow-x:auto}
code{background:#f2f2f2;padding:0 .2em}
"""


def environment_info(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Versions of Python, the platform, dnsp and :data:`ENV_PACKAGES`, plus ``extra`` entries.

    Versions come from the installed distributions' metadata (nothing heavy is imported).
    """
    info = {
        "generated (UTC)": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S"),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "dnsp": dnsp.__version__,
    }
    for pkg in ENV_PACKAGES:
        try:
            info[pkg] = importlib.metadata.version(pkg)
        except importlib.metadata.PackageNotFoundError:
            info[pkg] = "not installed"
    if extra:
        info.update({str(k): str(v) for k, v in extra.items()})
    return info


def format_cell(value: Any, digits: int = 4) -> str:
    """Text of one table cell: floats to ``digits`` significant digits, NaN as ``n/a``."""
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (float, np.floating)):
        v = float(value)
        if math.isnan(v):
            return "n/a"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return f"{v:.{digits}g}"
    return str(value)


@dataclass
class _Block:
    kind: str
    text: str = ""
    level: int = 2
    table: pd.DataFrame | None = None
    path: Path | None = None
    data: dict[str, str] = field(default_factory=dict)


def _inline_html(text: str) -> str:
    out = html.escape(text, quote=False)
    out = re.sub(r"`([^`]+)`", r"<code>\1</code>", out)
    return re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", out)


def _paragraphs_html(text: str) -> str:
    parts = []
    for chunk in re.split(r"\n\s*\n", text.strip()):
        lines = [ln.rstrip() for ln in chunk.splitlines() if ln.strip()]
        if lines and all(ln.lstrip().startswith("- ") for ln in lines):
            items = "".join(f"<li>{_inline_html(ln.lstrip()[2:])}</li>" for ln in lines)
            parts.append(f"<ul>{items}</ul>")
        elif lines:
            parts.append(f"<p>{_inline_html(' '.join(ln.strip() for ln in lines))}</p>")
    return "\n".join(parts)


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


class Report:
    """Builder of a run report written as Markdown and as self-contained HTML.

    Usage (every ``add_*`` returns the report, so calls can be chained)::

        rep = Report("Table II reproduction")
        rep.add_paragraph("Per-slice PSNR on the IXI test split.")
        rep.add_table(summarise(df), caption="Mean PSNR/SSIM")
        rep.add_figure(anova_interval_plot(res, run_dir / "fig10.png"), caption="ANOVA")
        rep.add_config("experiment", cfg_dict)
        md_path, html_path = rep.write(run_dir)
    """

    def __init__(self, title: str, digits: int = 4) -> None:
        if not title.strip():
            raise ValueError("a report needs a non-empty title")
        self.title = title
        self.digits = digits
        self._blocks: list[_Block] = []
        self._has_env = False

    def add_heading(self, text: str, level: int = 2) -> Report:
        """Section heading (level 2-6; level 1 is the title)."""
        if not 2 <= level <= 6:
            raise ValueError(f"heading level must be 2..6, got {level}")
        self._blocks.append(_Block("heading", text=text, level=level))
        return self

    def add_paragraph(self, text: str) -> Report:
        """Text in the Markdown subset described in the module docstring."""
        self._blocks.append(_Block("paragraph", text=text))
        return self

    def add_table(
        self, df: pd.DataFrame, caption: str | None = None, *, index: bool = False
    ) -> Report:
        """A table; floats get ``digits`` significant digits (see :func:`format_cell`)."""
        if not isinstance(df, pd.DataFrame):
            raise ValueError(f"add_table needs a pandas DataFrame, got {type(df).__name__}")
        t = df.reset_index() if index else df
        self._blocks.append(_Block("table", text=caption or "", table=t.copy()))
        return self

    def add_figure(self, path: str | os.PathLike[str], caption: str | None = None) -> Report:
        """An image file (PNG, JPEG or SVG), linked from the Markdown and inlined in the HTML."""
        p = Path(path)
        if p.suffix.lower() not in _MIME:
            raise ValueError(f"unsupported figure type {p.suffix!r}; use one of {sorted(_MIME)}")
        if not p.is_file():
            raise ValueError(f"figure file not found: {p}")
        self._blocks.append(_Block("figure", text=caption or "", path=p.resolve()))
        return self

    def add_config(self, name: str, config: Mapping[str, Any] | str | os.PathLike[str]) -> Report:
        """A configuration shown as YAML: a mapping (dumped), YAML text, or a path to a file."""
        if isinstance(config, Mapping):
            text = yaml.safe_dump(_plain(config), sort_keys=False, default_flow_style=False)
        elif isinstance(config, os.PathLike) or (
            isinstance(config, str) and "\n" not in config and Path(config).is_file()
        ):
            text = Path(config).read_text(encoding="utf-8")
        else:
            text = str(config)
        self._blocks.append(_Block("config", text=text.rstrip("\n"), data={"name": name}))
        return self

    def add_environment(self, extra: Mapping[str, str] | None = None) -> Report:
        """The software environment (:func:`environment_info`); added by :meth:`write` if absent."""
        self._blocks.append(_Block("environment", data=environment_info(extra)))
        self._has_env = True
        return self

    # --- rendering ------------------------------------------------------------------------------

    def _table_text(self, df: pd.DataFrame) -> tuple[list[str], list[list[str]]]:
        head = [str(c) for c in df.columns]
        rows = [[format_cell(v, self.digits) for v in r] for r in df.itertuples(index=False)]
        return head, rows

    def to_markdown(self, figure_links: Mapping[Path, str] | None = None) -> str:
        """The Markdown text; ``figure_links`` maps figure paths to the links to write."""
        links = figure_links or {}
        out = [f"# {self.title}", ""]
        for b in self._blocks:
            if b.kind == "heading":
                out += ["#" * b.level + " " + b.text, ""]
            elif b.kind == "paragraph":
                out += [b.text.strip(), ""]
            elif b.kind == "table" and b.table is not None:
                if b.text:
                    out += [f"**{b.text}**", ""]
                head, rows = self._table_text(b.table)
                out.append("| " + " | ".join(_md_cell(h) for h in head) + " |")
                out.append("|" + "|".join("---" for _ in head) + "|")
                out += ["| " + " | ".join(_md_cell(c) for c in r) + " |" for r in rows]
                out.append("")
            elif b.kind == "figure" and b.path is not None:
                link = links.get(b.path, b.path.as_posix())
                out += [f"![{b.text or b.path.name}]({link})", ""]
                if b.text:
                    out += [f"*{b.text}*", ""]
            elif b.kind == "config":
                out += ["<details>", f"<summary>Configuration: {b.data['name']}</summary>", "",
                        "```yaml", b.text, "```", "", "</details>", ""]
            elif b.kind == "environment":
                out += ["## Environment", "", "| item | value |", "|---|---|"]
                out += [f"| {_md_cell(k)} | {_md_cell(v)} |" for k, v in b.data.items()]
                out.append("")
        return "\n".join(out).rstrip("\n") + "\n"

    def to_html(self) -> str:
        """The self-contained HTML document (figures inlined as base64)."""
        body = [f"<h1>{html.escape(self.title)}</h1>"]
        for b in self._blocks:
            if b.kind == "heading":
                body.append(f"<h{b.level}>{html.escape(b.text)}</h{b.level}>")
            elif b.kind == "paragraph":
                body.append(_paragraphs_html(b.text))
            elif b.kind == "table" and b.table is not None:
                head, rows = self._table_text(b.table)
                cap = f"<caption>{html.escape(b.text)}</caption>" if b.text else ""
                th = "".join(f"<th>{html.escape(h)}</th>" for h in head)
                trs = "".join(
                    "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>"
                    for r in rows
                )
                body.append(
                    f'<div class="tbl"><table>{cap}<thead><tr>{th}</tr></thead>'
                    f"<tbody>{trs}</tbody></table></div>"
                )
            elif b.kind == "figure" and b.path is not None:
                mime = _MIME[b.path.suffix.lower()]
                data = base64.b64encode(b.path.read_bytes()).decode("ascii")
                alt = html.escape(b.text or b.path.name)
                cap = f"<figcaption>{html.escape(b.text)}</figcaption>" if b.text else ""
                img = f'<img src="data:{mime};base64,{data}" alt="{alt}">'
                body.append(f"<figure>{img}{cap}</figure>")
            elif b.kind == "config":
                body.append(f"<details><summary>Configuration: "
                            f"{html.escape(b.data['name'])}</summary>"
                            f"<pre><code>{html.escape(b.text)}</code></pre></details>")
            elif b.kind == "environment":
                body.append("<h2>Environment</h2>")
                trs = "".join(
                    f"<tr><td>{html.escape(k)}</td><td>{html.escape(v)}</td></tr>"
                    for k, v in b.data.items()
                )
                body.append(
                    f"<table><thead><tr><th>item</th><th>value</th></tr></thead>"
                    f"<tbody>{trs}</tbody></table>"
                )
        return (
            '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f"<title>{html.escape(self.title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
            + "\n".join(body)
            + "\n</body>\n</html>\n"
        )

    def write(self, out_dir: str | os.PathLike[str], stem: str = "report") -> tuple[Path, Path]:
        """Write ``<stem>.md`` and ``<stem>.html`` into ``out_dir`` (created if needed).

        Figures already inside ``out_dir`` are linked relatively from the Markdown; others are
        first copied to ``out_dir/figures/`` so that the folder is complete on its own. The
        environment block is appended if :meth:`add_environment` was not called.

        Returns:
            The paths of the Markdown and HTML files.
        """
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        if not self._has_env:
            self.add_environment()
        root = out.resolve()
        links: dict[Path, str] = {}
        used: set[str] = set()
        for b in self._blocks:
            if b.kind != "figure" or b.path is None or b.path in links:
                continue
            if b.path.is_relative_to(root):
                links[b.path] = b.path.relative_to(root).as_posix()
                continue
            (out / "figures").mkdir(exist_ok=True)
            name, k = b.path.name, 1
            while name in used:
                name, k = f"{b.path.stem}_{k}{b.path.suffix}", k + 1
            used.add(name)
            dest = out / "figures" / name
            with atomic_path(dest) as tmp:
                shutil.copyfile(b.path, tmp)
            links[b.path] = f"figures/{name}"
        md_path, html_path = out / f"{stem}.md", out / f"{stem}.html"
        with atomic_path(md_path) as tmp:
            tmp.write_text(self.to_markdown(links), encoding="utf-8")
        with atomic_path(html_path) as tmp:
            tmp.write_text(self.to_html(), encoding="utf-8")
        return md_path, html_path


def _plain(obj: Any) -> Any:
    """Configuration values as plain YAML types (paths and NumPy scalars become str/float)."""
    if isinstance(obj, Mapping):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, (str, int, float, bool)) or obj is None:
        return obj
    return str(obj)
