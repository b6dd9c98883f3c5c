"""Measure shipped models on held-out heads for their model cards (SPEC section 6).

Test sets (never used in training):

* ``ixi-test``: the last 20 IXI subjects, 40 central axial slices each
  (:func:`dnsp.data.prepare.load_eval_slices`, split ``test``);
* ``chris_t1`` and ``mr-gd``: the 40 central axial slices containing foreground of each volume.

Each volume is scaled by its 99.9th percentile to [0, 1] (SPEC sec. 2), slices are cropped to a
multiple of s, degraded with :func:`dnsp.ops.degrade` (blur sigma = s/2, s x s block mean) and
upscaled by every method; outputs are clipped to [0, 1] and compared with the HR slice: PSNR
(data range 1) and SSIM (Gaussian window sigma 1.5) per whole slice, averaged over slices,
plus the brain/head-masked PSNR (:func:`dnsp.metrics.image.brain_mask`).

Run: ``python tools/measure_models.py --scales 2 3 4 --out runs/pretrained/measure.json``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from dnsp.data.degradation import degrade_slices
from dnsp.data.intensity import percentile_scale
from dnsp.data.io import load_volume
from dnsp.data.orientation import to_axial_stack
from dnsp.data.prepare import load_eval_slices
from dnsp.data.slicing import central_slices
from dnsp.data.spec import SRDataSpec
from dnsp.errors import InputError
from dnsp.evaluate.card_acquisition import (
    degradation_lines,
    input_lines,
    robustness_lines,
    training_stages,
)
from dnsp.fsutil import atomic_path
from dnsp.methods import MODEL_PREFIX, SRMethod, build_method
from dnsp.methods.pretrained import (
    available_models,
    file_sha256,
    models_dir,
    read_manifest,
    resolve_model,
)
from dnsp.metrics.image import brain_mask, psnr, ssim
from dnsp.nets import build_network, count_parameters
from dnsp.paths import shared_data_root

__all__ = [
    "SINGLE_PASS",
    "evaluate_methods",
    "load_test_set",
    "measure_models",
    "volume_test_slices",
    "write_card",
]

_N_SLICES = 40
#: Suffix of the result rows of a model run without its self-ensemble.
SINGLE_PASS = " (single pass)"


def volume_test_slices(path: str | Path, scale: int, n: int = _N_SLICES
                       ) -> tuple[np.ndarray, np.ndarray]:
    """(HR, LR) central axial slices of one volume, HR in [0, 1] cropped to a multiple of s."""
    vol = load_volume(path)
    scaled, _ = percentile_scale(vol.data)
    stack = to_axial_stack(scaled, vol.affine)
    hr = np.ascontiguousarray(stack[central_slices(stack, n)])
    h, w = (hr.shape[1] // scale) * scale, (hr.shape[2] // scale) * scale
    hr = np.ascontiguousarray(hr[:, :h, :w], dtype=np.float32)
    return hr, degrade_slices(hr, scale)


def load_test_set(name: str, scale: int, root: Path | None = None
                  ) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(HR, LR, subject per slice) of the test set ``name`` (ixi-test, chris_t1, mr-gd)."""
    base = root if root is not None else shared_data_root()
    if name == "ixi-test":
        spec = SRDataSpec(source="ixi", root=str(base / "ixi-t1-2mm"), scale=scale,
                          n_slices=_N_SLICES, split="test")
        hr, lr, subjects, _ = load_eval_slices(spec, "test")
        return hr, lr, subjects
    files = {"chris_t1": base / "chris" / "chris_t1.nii.gz",
             "mr-gd": base / "mr-gd" / "MR_Gd.nii.gz"}
    if name not in files:
        raise InputError(f"unknown test set {name!r}; valid: ixi-test, {', '.join(files)}")
    hr, lr = volume_test_slices(files[name], scale)
    return hr, lr, [name] * hr.shape[0]


def _run(method: SRMethod, lr: np.ndarray, subjects: list[str], scale: int) -> np.ndarray:
    """Upscale subject by subject (consecutive slices of one head form one stack)."""
    out = np.empty((lr.shape[0], lr.shape[1] * scale, lr.shape[2] * scale), np.float32)
    start = 0
    while start < lr.shape[0]:
        stop = start
        while stop < lr.shape[0] and subjects[stop] == subjects[start]:
            stop += 1
        out[start:stop] = method.upscale_stack(lr[start:stop], scale)
        start = stop
    return np.clip(out, 0.0, 1.0)


def evaluate_methods(methods: Mapping[str, SRMethod], hr: np.ndarray, lr: np.ndarray,
                     subjects: list[str], scale: int) -> dict[str, dict[str, float]]:
    """Mean PSNR / SSIM / masked PSNR and seconds of each method on the slices."""
    masks = [brain_mask(hr[i]) for i in range(hr.shape[0])]
    results: dict[str, dict[str, float]] = {}
    for name, method in methods.items():
        t0 = time.perf_counter()
        sr = _run(method, lr, subjects, scale)
        seconds = time.perf_counter() - t0
        p = [psnr(sr[i], hr[i]) for i in range(hr.shape[0])]
        s = [ssim(sr[i], hr[i]) for i in range(hr.shape[0])]
        pm = [psnr(sr[i], hr[i], mask=masks[i]) for i in range(hr.shape[0]) if masks[i].any()]
        results[name] = {"psnr": float(np.mean(p)), "ssim": float(np.mean(s)),
                         "psnr_masked": float(np.mean(pm)), "n_slices": int(hr.shape[0]),
                         "seconds": round(seconds, 1)}
    return results


_SET_NAMES = {"ixi-test": "IXI test split (last 20 subjects x 40 slices, 2 mm, T1)",
              "chris_t1": "chris_t1 (40 slices, 0.88 mm, T1, other scanner)",
              "mr-gd": "mr-gd (40 slices, ~1 mm, contrast-enhanced T1, skull-stripped)"}


#: Required PSNR gain over bicubic (issue 7; the paper's Table II margins on BrainWeb).
_TARGETS = {2: 4.8, 4: 3.5}


def _threads(n: Any) -> str:
    return f"{n} thread" if n == 1 else f"{n} threads"


def _augmentation_text(training: Mapping[str, Any]) -> str:
    """The end of the card's data sentence: which augmentations the recipe used."""
    parts = []
    strip = float(training.get("strip_fraction") or 0.0)
    if strip > 0:
        parts.append(f"{strip:.0%} of the training images added again with a synthetic skull "
                     "stripping (the head mask eroded by a random depth, outside set to 0; "
                     "`data.strip_fraction`)")
    if training.get("augment"):
        parts.append("each pair flipped/rotated by a random one of the 8 flips and 90-degree "
                     "rotations per step (`data.augment`)")
    return ("; " + "; ".join(parts) + ".") if parts else "."


def _optimiser_line(training: Mapping[str, Any]) -> str:
    """The card's optimiser bullet, from the model's export record (one part per stage)."""
    stages = training_stages(training)
    texts = []
    for st in stages:
        start = (f"started from `{st['init_from']}` (`recipe.init_from`)"
                 if st.get("init_from") else
                 "output convolution zero-initialised (the network starts as the identity on "
                 "its bicubic input: `recipe.zero_tail`)")
        schedule = st.get("schedule", training.get("schedule", "constant"))
        text = (f"lr {st.get('lr', '?')} ({schedule} schedule), {st.get('epochs', '?')} epochs "
                f"({st.get('steps', '?')} steps), {start}")
        if len(stages) > 1 and st.get("recipe"):
            text += f", recipe `{st['recipe']}`"
        if st.get("val_psnr") is not None:
            text += f", validation PSNR {st['val_psnr']:.2f} dB after it"
        texts.append(text)
    head = f"* Optimiser: Adam, batch {training.get('batch_size', '?')}"
    head += f", {len(stages)} stages: " if len(stages) > 1 else ", "
    return (head + "; then ".join(texts)
            + ". This is far below the paper's 50 epochs of a 38M-parameter EDSR.")


def _recipe_line(training: Mapping[str, Any]) -> str:
    """The card's recipe bullet; a staged model names its first recipe and the later ones."""
    stages = training_stages(training)
    later = sorted({str(s.get("recipe")) for s in stages[1:]} - {str(stages[0].get("recipe"))})
    more = (f", then {len(stages) - 1} further stages with "
            + ", ".join(f"`{r}`" for r in later) if later else "")
    return (f"* Recipe: `{stages[0].get('recipe')}`{more} (each no-prior model: its AP "
            "twin's first recipe with `loss.variant=NP`); run with `python "
            "tools/train_recipe.py RECIPE` from the repository root.")


def _ap_np_pairs(entries: Mapping[str, Mapping[str, Any]]) -> list[tuple[str, str]]:
    """(AP model, NP model) pairs of one recipe: ``x-np-y`` against ``x-ap-y`` or ``x-y``."""
    pairs = []
    for name, e in entries.items():
        if e.get("variant") != "NP" or "-np-" not in name:
            continue
        for twin in (name.replace("-np-", "-ap-"), name.replace("-np-", "-")):
            if entries.get(twin, {}).get("variant") == "AP":
                pairs.append((twin, name))
                break
    return pairs


def _priors_line(res: Mapping[str, Any], entries: Mapping[str, Any]) -> str:
    """The card's statement on AP against NP (each AP model against its NP twin)."""
    parts = []
    for ap, np_ in _ap_np_pairs(entries):
        diffs = ", ".join(f"{t} {m[ap]['psnr'] - m[np_]['psnr']:+.2f} dB"
                          for t, m in res.items() if ap in m and np_ in m)
        if not diffs:
            continue
        steps = [entries[n].get("training", {}).get("steps") for n in (ap, np_)]
        caveat = ("" if steps[0] == steps[1] else
                  f" (not like for like: `{ap}` trained {steps[0]} steps, `{np_}` {steps[1]})")
        parts.append(f"`{ap}` minus `{np_}`: {diffs}{caveat}")
    if not parts:
        return ("* No model without priors is shipped at this scale, so the priors' effect "
                "was not measured here.")
    return "* The priors' effect, AP minus NP (PSNR): " + "; ".join(parts) + "."


def _ensemble_line(entries: Mapping[str, Any]) -> str:
    """The card's statement on the self-ensemble the rows named after a model use."""
    sizes = {int(e.get("ensemble", 1)) for e in entries.values()}
    if sizes == {1}:
        return ("Rows named after a model are single network passes (`dnsp upscale` "
                "default; `--ensemble K` averages over K flips/rotations).")
    k = max(sizes)
    if len(sizes) > 1:  # some models average over flips, others do not
        averaged = ", ".join(f"`{n}` over {int(e.get('ensemble', 1))}"
                             for n, e in sorted(entries.items())
                             if int(e.get("ensemble", 1)) > 1)
        return (f"Rows named after a model are what `dnsp upscale` does by default: one "
                f"network pass, except the models averaged over flips/rotations of each slice "
                f"(self-ensemble: {averaged}); rows marked{SINGLE_PASS} are their one pass "
                "(`--ensemble 1`).")
    return (f"Rows named after a model are what `dnsp upscale` does by default: the network "
            f"averaged over {k} flips/rotations of each slice (self-ensemble, `--ensemble "
            f"{k}`, {k} network passes); rows marked{SINGLE_PASS} are one pass "
            "(`--ensemble 1`).")


def write_card(scale: int, report: dict[str, Any], folder: Path | None = None,
               robustness: Sequence[Mapping[str, Any]] = ()) -> Path:
    """Write ``MODEL_CARD_x<scale>.md`` for the shipped models of ``scale`` from ``report``.

    The card lists provenance from the manifest (file, checksum, network, training budget),
    what the input must be, every measured number of ``report[f"x{scale}"]`` (see
    :func:`main`) and the rows of ``robustness`` (``benchmarks/acquisition_robustness.py``).
    """
    root = folder if folder is not None else models_dir()
    manifest = read_manifest(root)
    entries = {n: e for n, e in sorted(manifest["models"].items()) if e["scale"] == scale}
    default = manifest.get("defaults", {}).get(str(scale))
    first = entries[default] if default in entries else next(iter(entries.values()))
    lines = [f"# Model card: DNSP EDSR x{scale} (`{default}`)", ""]
    lines += ["Shipped with dnsp for `dnsp upscale IN OUT --scale "
              f"{scale}` (default model for x{scale}). Generated by "
              "`python tools/measure_models.py --cards` from measured numbers.", ""]
    lines += ["## Models", "", "| name | variant | file | sha256 | network | parameters | "
              "training steps | training time |", "|---|---|---|---|---|---|---|---|"]
    for name, e in entries.items():
        net = build_network(e["network"], **e["network_kwargs"])
        tr = e.get("training", {})
        if file_sha256(root / e["file"]) != e["sha256"]:
            raise InputError(f"checksum mismatch for {e['file']}; re-export the model")
        lines.append(
            f"| `{name}`{' (default)' if name == default else ''} | {e.get('variant', '?')} | "
            f"`{e['file']}` | `{e['sha256'][:16]}...` | {e['network']} "
            f"{e['network_kwargs']} | {count_parameters(net)} | {tr.get('steps', '?')} x "
            f"batch {tr.get('batch_size', '?')} | {tr.get('seconds', '?')} s on "
            f"{tr.get('device', '?')} ({_threads(tr.get('torch_threads'))}) |")
    served = [f"`{by_scale[str(scale)]}` serves `--acquisition {acq}`"
              + (" and the default's k-space route (estimates `kspace` and `unknown`)"
                 if acq == "kspace" else "")
              for acq, by_scale in sorted(manifest.get("acquisition_defaults", {}).items())
              if str(scale) in by_scale]
    if served:
        lines += ["", "Models for a named acquisition (manifest `acquisition_defaults`): "
                  + "; ".join(served) + ". The training section describes the default; "
                  "the others' recipes are named in their manifest entries."]
    lines += ["", "## Training", "",
              _recipe_line(first.get("training", {})),
              "* Data: IXI training pool (first 20 subjects sorted by name; the last 2 of them "
              "are the validation subjects), 40 central axial slices each, 2 mm; plus the "
              "BrainWeb T1 phantom's lower (training) slab (1 mm). 40 x 40 patches, stride 20, "
              f"{first.get('training', {}).get('patches')} patches"
              + _augmentation_text(first.get("training", {})),
              *degradation_lines(first, scale),
              "* Loss: DNSP AP (Eq. 10): 1/2 ||Y_g - Y||_F^2 per image (reduction `sum`) + "
              "alpha R_delta - beta V_mod + gamma S with the paper's alpha = 1e-5, beta = 5e-3, "
              "gamma = 1e-7, delta = 0.01, 8 learnable 3x3 filters re-projected to zero mean "
              "and the Laplacian's norm sqrt(20) (`filter_norm: unit`). NP: reconstruction "
              "term only.",
              _optimiser_line(first.get("training", {})),
              "", *input_lines(first, scale),
              "## Measured quality on heads never seen in training (the paper's degradation)",
              "",
              "PSNR (dB, whole slice, data range 1) / SSIM / brain-or-head-masked PSNR, mean "
              "over slices; outputs clipped to [0, 1]. Command: `python tools/measure_models.py "
              f"--scales {scale} --out runs/pretrained/measure.json --cards`.",
              "", _ensemble_line(entries), ""]
    res = report[f"x{scale}"]
    for test_set, methods in res.items():
        lines += [f"### {_SET_NAMES.get(test_set, test_set)}", "",
                  "| method | PSNR | SSIM | masked PSNR | gain over bicubic (PSNR) |",
                  "|---|---|---|---|---|"]
        base = methods["bicubic"]["psnr"]
        for name, m in methods.items():
            gain = "" if name == "bicubic" else f"{m['psnr'] - base:+.2f} dB"
            lines.append(f"| {name} | {m['psnr']:.2f} | {m['ssim']:.4f} | "
                         f"{m['psnr_masked']:.2f} | {gain} |")
        lines.append("")
    target = _TARGETS.get(scale)
    if target is not None and default in next(iter(res.values())):
        gains = {t: m[default]["psnr"] - m["bicubic"]["psnr"] for t, m in res.items()}
        met = [t for t, g in gains.items() if g >= target]
        verdict = ("met on every test set" if len(met) == len(gains) else
                   "not met on any test set" if not met else
                   f"met on {', '.join(met)}; not met on "
                   + ", ".join(t for t in gains if t not in met))
        lines += ["## Target of issue 7", "",
                  f"At least {target:+.1f} dB over centre-aligned bicubic on unseen heads (the "
                  f"paper's DNSP-EDSR-AP margin on BrainWeb at x{scale}): **{verdict}** by "
                  f"`{default}`; measured gains "
                  + ", ".join(f"{t} {g:+.2f} dB" for t, g in gains.items()) + ".", ""]
    lines += robustness_lines(robustness, scale)
    lines += ["## Limitations", "",
              "* Trained on T1-weighted images with a simulated (Gaussian + block mean) "
              "degradation; real low-resolution acquisitions have other point-spread "
              "functions, noise and contrasts, where the gain can be smaller.",
              "* In-plane (axial) 2-D upscaling only; the slice axis is untouched (thick "
              "slices: `dnsp upscale --through-plane`, docs/through_plane.md).",
              "* A short CPU training run of a small network chosen for the CPU speed "
              "target of `dnsp upscale` (measured time in docs/upscale.md), not the paper's "
              "32 x 256 EDSR trained for 50 epochs.",
              _priors_line(res, entries), ""]
    out = root / f"MODEL_CARD_x{scale}.md"
    with atomic_path(out) as tmp:
        tmp.write_text("\n".join(lines), encoding="utf-8")
    return out


def measure_models(
    scales: Sequence[int],
    sets: Sequence[str] = ("ixi-test", "chris_t1", "mr-gd"),
    models: Sequence[str] | None = None,
    log: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Measure the shipped (or given) models of each scale against bicubic.

    Args:
        scales: The scales to measure.
        sets: Test sets (:func:`load_test_set`).
        models: Model names or checkpoint paths (``None``: every shipped model of the scale).
        log: Called with one line per scale and test set.

    Returns:
        ``{"x<s>": {test_set: {method: {"psnr": ..., "ssim": ..., ...}}}}`` (the JSON that
        :func:`write_card` reads).
    """
    report: dict[str, Any] = {}
    for scale in scales:
        names = list(models) if models is not None else [
            m.name for m in available_models() if m.scale == scale]
        methods: dict[str, SRMethod] = {"bicubic": build_method("bicubic")}
        for name in names:
            info = resolve_model(name)
            if info.scale == scale:  # with the model's own self-ensemble, as dnsp upscale
                methods[info.name] = build_method(MODEL_PREFIX + name, scale)
                if info.ensemble > 1:
                    single = f"{info.name}{SINGLE_PASS}"
                    methods[single] = build_method(MODEL_PREFIX + name, scale, ensemble=1,
                                                   name=single)
        for test_set in sets:
            hr, lr, subjects = load_test_set(test_set, scale)
            res = evaluate_methods(methods, hr, lr, subjects, scale)
            report.setdefault(f"x{scale}", {})[test_set] = res
            if log is not None:
                line = ", ".join(f"{k} {v['psnr']:.2f}/{v['ssim']:.4f}" for k, v in res.items())
                log(f"x{scale} {test_set} ({hr.shape[0]} slices {hr.shape[1]}x{hr.shape[2]}): "
                    f"{line}")
    return report
