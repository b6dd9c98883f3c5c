"""dnsp.devices.resolve_device: the one device resolver (training and SR methods)."""

from __future__ import annotations

import pytest
import torch

from dnsp.devices import resolve_device
from dnsp.errors import InputError


@pytest.mark.parametrize("text", ["cpu", "CPU", " cpu ", torch.device("cpu")])
def test_cpu_spellings(text: object) -> None:
    assert resolve_device(text) == torch.device("cpu")  # type: ignore[arg-type]


def test_auto_prefers_cuda_then_mps_then_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr("dnsp.devices._mps_available", lambda: False)
    assert resolve_device("auto") == torch.device("cpu")
    assert resolve_device(None) == torch.device("cpu")
    monkeypatch.setattr("dnsp.devices._mps_available", lambda: True)
    assert resolve_device("auto") == torch.device("mps")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_device("AUTO") == torch.device("cuda")


@pytest.mark.parametrize(("text", "match"), [
    ("gpu0", "unknown --device 'gpu0'"),
    ("meta", "unsupported --device 'meta'"),
])
def test_bad_names_are_one_line_input_errors(text: str, match: str) -> None:
    with pytest.raises(InputError, match=match) as info:
        resolve_device(text, option="--device")
    assert "\n" not in str(info.value)


def test_unavailable_devices(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr("dnsp.devices._mps_available", lambda: False)
    with pytest.raises(InputError, match=r"run\.device is 'cuda:1' but no CUDA device"):
        resolve_device("cuda:1", option="run.device")
    with pytest.raises(InputError, match="Apple MPS is not available"):
        resolve_device("mps")
