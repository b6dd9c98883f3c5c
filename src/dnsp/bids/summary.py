"""The per-run HTML summary of the BIDS App: one table row per output, with its QC thumbnail.

The page is one file with inline CSS, no script and no external resource; thumbnails are
linked relatively (``sub-<label>/figures/*_qc.png``, inside the derivative dataset), so the
page stays small for thousands of outputs and opens from any copy of the folder. Every
value is HTML-escaped.
"""

from __future__ import annotations

import html
import statistics
from collections.abc import Sequence
from pathlib import Path

from dnsp import __version__
from dnsp.bids.records import BidsPlan, OutputRecord
from dnsp.fsutil import atomic_path

__all__ = ["render_summary", "write_summary"]

_CSS = """
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #222; }
h1 { font-size: 1.4em; }
table { border-collapse: collapse; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 4px 8px; text-align: left; vertical-align: middle; }
th { background: #f0f0f0; position: sticky; top: 0; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.failed td { background: #fde8e8; }
tr.skipped td.status { color: #666; }
img.qc { width: 192px; display: block; background: #000; }
code { font-size: 0.95em; }
"""


def _fmt(value: float | None, digits: int) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _voxels(values: Sequence[float]) -> str:
    return " x ".join(f"{v:.3g}" for v in values) if values else "n/a"


def _row(n: int, rec: OutputRecord) -> str:
    e = html.escape
    if rec.qc is not None:
        link = e(rec.qc.as_posix(), quote=True)
        qc = (f'<a href="{link}"><img class="qc" src="{link}" '
              f'alt="QC of {e(rec.output.name, quote=True)}"></a>')
    else:
        qc = "n/a"
    if rec.status == "failed":
        cons = e(rec.error or "failed")
    elif rec.consistency is None and rec.seconds is not None:
        cons = "exact"
    else:
        cons = _fmt(rec.consistency, 2)
    voxel = f"{_voxels(rec.input_voxel)} &rarr; {_voxels(rec.output_voxel)}"
    cells = [
        f'<td class="num">{n}</td>',
        f"<td>sub-{e(rec.subject)}</td>",
        f"<td>{'ses-' + e(rec.session) if rec.session else ''}</td>",
        f"<td>{e(rec.suffix)}</td>",
        f'<td><code>{e(rec.output.as_posix())}</code><br><small>from '
        f"<code>{e(rec.source)}</code></small></td>",
        f'<td class="status">{e(rec.status)}</td>',
        f'<td class="num">{_fmt(rec.seconds, 2)}</td>',
        f'<td class="num">{cons}</td>',
        f"<td>{voxel}</td>",
        f"<td>{qc}</td>",
    ]
    return f'<tr class="{e(rec.status)}">' + "".join(cells) + "</tr>"


def render_summary(plan: BidsPlan, records: Sequence[OutputRecord], run: str) -> str:
    """The HTML page of :func:`write_summary` as a string."""
    e = html.escape
    counts = {s: sum(r.status == s for r in records) for s in ("written", "skipped", "failed")}
    times = [r.seconds for r in records if r.seconds is not None]
    cons = [r.consistency for r in records if r.consistency is not None]
    i, n = plan.shard
    facts = [
        f"Source: <code>{e(str(plan.bids_dir.resolve()))}</code>",
        f"Run: {e(run)} (dnsp {e(__version__)})",
        f"Shard {i}/{n}: {len(plan.shard_participants)} of {len(plan.participants)} "
        f"participant(s), {len(records)} of {plan.n_images} image(s)",
        f"{counts['written']} written, {counts['skipped']} skipped (finished earlier), "
        f"{counts['failed']} failed",
    ]
    if times:
        facts.append(f"Upscale time per image: median {statistics.median(times):.2f} s, "
                     f"total {sum(times):.1f} s")
    if cons:
        facts.append(f"Consistency PSNR: median {statistics.median(cons):.2f} dB, "
                     f"lowest {min(cons):.2f} dB")
    head = ("<tr><th>#</th><th>participant</th><th>session</th><th>suffix</th><th>output</th>"
            "<th>status</th><th>upscale (s)</th><th>consistency (dB)</th>"
            "<th>voxel size (mm)</th><th>QC</th></tr>")
    rows = "\n".join(_row(k + 1, r) for k, r in enumerate(records))
    items = "".join(f"<li>{f}</li>" for f in facts)
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>dnsp BIDS summary, shard {i} of {n}</title>\n<style>{_CSS}</style>\n"
        "</head>\n<body>\n"
        f"<h1>dnsp BIDS summary, shard {i} of {n}</h1>\n<ul>{items}</ul>\n"
        "<p>Consistency: PSNR of the output degraded again by the assumed acquisition "
        "against its source, over the source's range; low values flag outputs that do not "
        "agree with their input. QC: centre views of the input (nearest, cubic) and the "
        "output; click for full size.</p>\n"
        f"<table>\n<thead>{head}</thead>\n<tbody>\n{rows}\n</tbody>\n</table>\n"
        "</body>\n</html>\n"
    )


def write_summary(plan: BidsPlan, records: Sequence[OutputRecord], run: str) -> Path:
    """Write ``plan.summary_name`` in the output folder atomically; return its path."""
    path = plan.output_dir / plan.summary_name
    text = render_summary(plan, records, run)
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path
