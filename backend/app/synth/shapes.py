"""New strings with the shape of observed ones, never copies of them.

Near-unique values (identifiers, free text, names) are reduced at fit time to
*patterns*: the shared literal prefix plus, per character, its class
(upper-case letter, lower-case letter, digit) or the literal punctuation and
whitespace. Sampling fills each class with random characters, vectorised per
pattern. The model keeps only patterns, never the values.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import numpy as np

UPPER, LOWER, DIGIT = "\x01", "\x02", "\x03"
MAX_PATTERNS = 256
MAX_PATTERN_LEN = 1000
MAX_PREFIX_LEN = 32


def _pattern(s: str) -> str:
    out = []
    for ch in s[:MAX_PATTERN_LEN]:
        if ch.isdigit():
            out.append(DIGIT)
        elif ch.isalpha():
            out.append(UPPER if ch.isupper() else LOWER)
        else:
            out.append(ch)
    return "".join(out)


def _log10_space(pattern: str) -> float:
    """log10 of how many distinct strings a pattern can produce."""
    letters = sum(1 for c in pattern if c in (UPPER, LOWER))
    digits = sum(1 for c in pattern if c == DIGIT)
    return letters * math.log10(26) + digits


def csv_escape(s: str) -> str:
    """Quote a cell the way ``csv.writer`` (QUOTE_MINIMAL) does."""
    if any(c in s for c in ',"\n\r'):
        return '"' + s.replace('"', '""') + '"'
    return s


@dataclass
class ShapeGen:
    """Generator of fresh strings following stored patterns (weights = observed frequency)."""

    prefix: str
    patterns: list[str]
    weights: list[float]

    @classmethod
    def fit(cls, values: list[str], rng: np.random.Generator) -> ShapeGen:
        distinct = sorted(set(values))
        if not distinct:
            return cls("", [LOWER * 8], [1.0])
        prefix = os.path.commonprefix(distinct)[:MAX_PREFIX_LEN] if len(distinct) > 1 else ""  # noqa: RUF071
        # keep at least one random character per value so nothing is copied whole
        shortest = min(len(s) for s in distinct)
        if len(prefix) >= shortest:
            prefix = prefix[: max(0, shortest - 1)]
        if len(distinct) > MAX_PATTERNS * 4:
            pick = rng.choice(len(distinct), size=MAX_PATTERNS * 4, replace=False)
            distinct = [distinct[i] for i in np.sort(pick)]
        counts: dict[str, int] = {}
        for s in distinct:
            p = _pattern(s[len(prefix) :])
            if not any(c in (UPPER, LOWER, DIGIT) for c in p):
                p = p + LOWER  # all-literal remainder: add a random char rather than copy
            counts[p] = counts.get(p, 0) + 1
        # Lengthen low-entropy patterns so a fresh value equals one of the n real
        # values with probability <= 1e-6: "never copied" beats exact length.
        need = 6.0 + math.log10(max(1, len(values)))
        widened: dict[str, int] = {}
        for p, c in counts.items():
            while _log10_space(p) < need:
                last = next((ch for ch in reversed(p) if ch in (UPPER, LOWER, DIGIT)), LOWER)
                p += last
            widened[p] = widened.get(p, 0) + c
        counts = widened
        items = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_PATTERNS]
        total = float(sum(c for _, c in items))
        return cls(prefix, [p for p, _ in items], [c / total for _, c in items])

    def to_dict(self) -> dict[str, object]:
        return {"prefix": self.prefix, "patterns": self.patterns, "weights": self.weights}

    @classmethod
    def from_dict(cls, d: dict) -> ShapeGen:
        return cls(
            str(d["prefix"]), [str(p) for p in d["patterns"]], [float(w) for w in d["weights"]]
        )

    @property
    def needs_escape(self) -> bool:
        """Whether generated values can contain characters that CSV must quote."""
        return any(c in p for p in [*self.patterns, self.prefix] for c in ',"\n\r')

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` fresh raw strings (object array)."""
        out = np.empty(n, dtype=object)
        if n == 0:
            return out
        w = np.asarray(self.weights, dtype=np.float64)
        which = rng.choice(len(self.patterns), size=n, p=w / w.sum())
        for k, pat in enumerate(self.patterns):
            rows = np.flatnonzero(which == k)
            if rows.size == 0:
                continue
            codes = np.frombuffer(pat.encode("utf-32-le"), dtype=np.uint32)
            length = codes.size
            # 260 is a multiple of both 26 and 10: unbiased letters and digits from one draw
            rnd = rng.integers(0, 260, size=(rows.size, length), dtype=np.uint32)
            mat = np.broadcast_to(codes, (rows.size, length)).copy()
            is_up, is_lo, is_dg = codes == 1, codes == 2, codes == 3
            mat[:, is_up] = 65 + rnd[:, is_up] % 26
            mat[:, is_lo] = 97 + rnd[:, is_lo] % 26
            mat[:, is_dg] = 48 + rnd[:, is_dg] % 10
            strs = mat.view(f"<U{length}").ravel().tolist() if length else [""] * rows.size
            if self.prefix:
                strs = [self.prefix + s for s in strs]
            out[rows] = strs
        return out
