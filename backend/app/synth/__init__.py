"""Synthos synthesis engine: profile, fit, sample and score tables (pure; numpy only).

Public names are re-exported lazily so ``import app.synth`` stays cheap:
``Table``, ``CsvError``, ``read_csv``, ``write_csv``, ``profile_table``,
``fit``, ``SynthModel``, ``sample``, ``SampleTable``, ``quality_report``.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Table": "table",
    "CsvError": "table",
    "read_csv": "table",
    "write_csv": "table",
    "profile_table": "profile",
    "fit": "model",
    "SynthModel": "model",
    "sample": "model",
    "SampleTable": "model",
    "quality_report": "quality",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
