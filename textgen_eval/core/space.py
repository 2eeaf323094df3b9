"""Hyperparameter search spaces: declared next to a generator's config, overridable from a file.

A space maps dotted config keys (``train.lr``, ``model.hidden_size``) to distributions, plus
*switches*: names without a dot that exist only to gate conditional parameters (for example
``recurrent_dropout = choice(False, True)`` and ``model.recurrent_dropout`` drawn only when it
is true). ``fixed`` pins keys to one value for every trial.

Drawing is pure and seeded: :meth:`SearchSpace.draw` returns the same list of configurations for
the same ``(space, n, seed)`` in any process, which is what makes the tuning protocol's
budget exact and resumable (Semeniuta 2019, §5.6.2: random search, same budget for every model).
No optimisation library is imported here; ``textgen_eval.tuning`` maps these to Optuna.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from textgen_eval.core.errors import ConfigError

Value = bool | int | float | str | None
Kind = Literal["float", "int", "choice"]


@dataclass(frozen=True)
class Param:
    """One dimension of a search space.

    Attributes:
        kind: ``float`` (continuous), ``int`` or ``choice`` (categorical).
        low / high: inclusive bounds for ``float`` and ``int``.
        log: draw uniformly in log space (learning rates, sizes).
        step: grid step for ``int`` (default 1) and optionally ``float``.
        choices: the values of a ``choice``.
        when: conditions ``name → allowed values`` on parameters declared earlier; the parameter
            is drawn (and set) only when all hold.
    """

    kind: Kind
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = None
    choices: tuple[Value, ...] = ()
    when: Mapping[str, tuple[Value, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind == "choice":
            if not self.choices:
                raise ValueError("a choice needs at least one value")
            return
        if self.low is None or self.high is None or not self.low <= self.high:
            raise ValueError(f"need low ≤ high, got [{self.low}, {self.high}]")
        if not (math.isfinite(self.low) and math.isfinite(self.high)):
            raise ValueError(f"bounds must be finite numbers, got [{self.low}, {self.high}]")
        if self.log and self.low <= 0:
            raise ValueError(f"a log-scale range needs low > 0, got {self.low}")
        if self.step is not None and self.step <= 0:
            raise ValueError(f"step must be > 0, got {self.step}")

    def draw(self, rng: np.random.Generator) -> Value:
        """One value from this distribution."""
        if self.kind == "choice":
            return self.choices[int(rng.integers(len(self.choices)))]
        assert self.low is not None and self.high is not None
        if self.kind == "int":
            step = int(self.step or 1)
            if self.log:
                value = math.exp(rng.uniform(math.log(self.low), math.log(self.high + 1)))
                return int(min(max(math.floor(value), self.low), self.high))
            n = (int(self.high) - int(self.low)) // step
            return int(self.low) + step * int(rng.integers(n + 1))
        if self.log:
            value = math.exp(rng.uniform(math.log(self.low), math.log(self.high)))
        else:
            value = float(rng.uniform(self.low, self.high))
        if self.step is not None:
            value = self.low + round((value - self.low) / self.step) * self.step
        return float(min(max(value, self.low), self.high))

    def active(self, drawn: Mapping[str, Value]) -> bool:
        return all(name in drawn and drawn[name] in allowed for name, allowed in self.when.items())

    def to_dict(self) -> dict[str, Any]:
        if self.kind == "choice":
            out: dict[str, Any] = {"choice": list(self.choices)}
        else:
            key = {"float": "loguniform" if self.log else "uniform", "int": "int"}[self.kind]
            out = {key: [self.low, self.high]}
            if self.kind == "int" and self.log:
                out["log"] = True
            if self.step is not None:
                out["step"] = self.step
        if self.when:
            out["when"] = {k: list(v) if len(v) > 1 else v[0] for k, v in self.when.items()}
        return out


def _when(when: Mapping[str, Value | Sequence[Value]] | None) -> dict[str, tuple[Value, ...]]:
    out: dict[str, tuple[Value, ...]] = {}
    for name, allowed in (when or {}).items():
        if isinstance(allowed, (list, tuple)):
            out[name] = tuple(allowed)
        else:
            out[name] = (allowed,)  # type: ignore[assignment]
    return out


def uniform(low: float, high: float, *, step: float | None = None, when: Any = None) -> Param:
    return Param("float", float(low), float(high), step=step, when=_when(when))


def loguniform(low: float, high: float, *, when: Any = None) -> Param:
    return Param("float", float(low), float(high), log=True, when=_when(when))


def integer(low: int, high: int, *, log: bool = False, step: int = 1, when: Any = None) -> Param:
    return Param("int", low, high, log=log, step=step, when=_when(when))


def choice(*values: Value, when: Any = None) -> Param:
    return Param("choice", choices=tuple(values), when=_when(when))


@dataclass(frozen=True)
class SearchSpace:
    """Named parameters (declaration order matters for conditions) and fixed settings."""

    params: Mapping[str, Param]
    fixed: Mapping[str, Value] = field(default_factory=dict)

    def __post_init__(self) -> None:
        seen: set[str] = set()
        for name, param in self.params.items():
            for dep in param.when:
                if dep not in seen:
                    raise ConfigError(
                        f"search space: {name!r} is conditional on {dep!r}, which must be declared before it"
                    )
            seen.add(name)
        overlap = sorted(set(self.params) & set(self.fixed))
        if overlap:
            raise ConfigError(f"search space: {', '.join(overlap)} both searched and fixed")

    def sample(self, rng: np.random.Generator) -> dict[str, Value]:
        """One configuration: every active parameter, in declaration order."""
        drawn: dict[str, Value] = {}
        for name, param in self.params.items():
            if param.active(drawn):
                drawn[name] = param.draw(rng)
        return drawn

    def draw(self, n: int, seed: int) -> list[dict[str, Value]]:
        """``n`` distinct configurations, the same for the same ``(space, n, seed)`` everywhere."""
        rng = np.random.default_rng(seed)
        out: list[dict[str, Value]] = []
        seen: set[str] = set()
        attempts = 0
        while len(out) < n:
            attempts += 1
            if attempts > 100 * n + 100:
                raise ConfigError(
                    f"search space: found only {len(out)} distinct configurations after {attempts - 1} "
                    f"draws; it is too small for a budget of {n}"
                )
            config = self.sample(rng)
            key = json.dumps(config, sort_keys=True)
            if key not in seen:
                seen.add(key)
                out.append(config)
        return out

    @staticmethod
    def config_overrides(config: Mapping[str, Value]) -> dict[str, Value]:
        """The dotted ``section.key`` entries of a drawn configuration (switches dropped)."""
        return {k: v for k, v in config.items() if "." in k}

    def overrides_for(self, config: Mapping[str, Value]) -> dict[str, Value]:
        """Fixed settings plus a drawn configuration, as ``section.key → value``."""
        return {**self.config_overrides(self.fixed), **self.config_overrides(config)}

    def to_dict(self) -> dict[str, Any]:
        return {
            "space": {name: p.to_dict() for name, p in self.params.items()},
            "fixed": dict(self.fixed),
        }

    def digest(self) -> str:
        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()[:12]

    def merged(self, data: Mapping[str, Any], *, where: str) -> SearchSpace:
        """This space updated by a file's ``[space]`` and ``[fixed]`` tables (see :func:`parse_space`).

        ``replace = true`` at the top level discards this space's parameters first. A key under
        ``[fixed]`` stops being searched.
        """
        unknown = sorted(set(data) - {"space", "fixed", "replace"})
        if unknown:
            raise ConfigError(
                f"{where}: unknown table {', '.join(map(repr, unknown))}; expected [space], [fixed]"
            )
        params = {} if data.get("replace", False) else dict(self.params)
        fixed = {} if data.get("replace", False) else dict(self.fixed)
        for name, spec in _table(data.get("space", {}), where=f"{where} [space]").items():
            params[name] = parse_param(spec, where=f"{where} [space] {name!r}")
            fixed.pop(name, None)
        for name, value in _table(data.get("fixed", {}), where=f"{where} [fixed]").items():
            if value is not None and not isinstance(value, (bool, int, float, str)):
                raise ConfigError(f"{where} [fixed] {name!r}: expected a number, string or boolean")
            fixed[name] = value
            params.pop(name, None)
        try:
            return SearchSpace(params, fixed)
        except ValueError as exc:
            raise ConfigError(f"{where}: {exc}") from None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, where: str = "space") -> SearchSpace:
        return cls({}, {}).merged({**data, "replace": True}, where=where)


def _table(value: object, *, where: str) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise ConfigError(f"{where}: expected a table")
    return dict(value)


_KINDS = ("uniform", "loguniform", "int", "choice")


def parse_param(spec: object, *, where: str) -> Param:
    """``{uniform = [lo, hi]}``, ``{loguniform = [lo, hi]}``, ``{int = [lo, hi], log = true, step = 2}``,
    ``{choice = [...]}``, each with optional ``when = {name = value | [values]}``."""
    if not isinstance(spec, Mapping):
        raise ConfigError(f"{where}: expected a table such as {{loguniform = [1e-4, 1e-2]}}, got {spec!r}")
    kinds = [k for k in _KINDS if k in spec]
    extra = sorted(set(spec) - set(_KINDS) - {"log", "step", "when"})
    if len(kinds) != 1 or extra:
        raise ConfigError(
            f"{where}: expected exactly one of {', '.join(_KINDS)} (plus optional log, step, when), "
            f"got keys {', '.join(sorted(spec))}"
        )
    kind = kinds[0]
    when = spec.get("when")
    if when is not None and not isinstance(when, Mapping):
        raise ConfigError(f"{where}: 'when' must be a table of name = value")
    bounds = spec[kind]
    try:
        if kind == "choice":
            if not isinstance(bounds, list) or not bounds:
                raise ValueError("choice needs a non-empty list of values")
            return choice(*bounds, when=when)
        if not (isinstance(bounds, list) and len(bounds) == 2):
            raise ValueError(f"{kind} needs [low, high], got {bounds!r}")
        low, high = bounds
        if kind == "int":
            if not all(isinstance(b, int) and not isinstance(b, bool) for b in bounds):
                raise ValueError(f"int bounds must be integers, got {bounds!r}")
            return integer(
                low, high, log=bool(spec.get("log", False)), step=int(spec.get("step", 1)), when=when
            )
        if not all(isinstance(b, (int, float)) and not isinstance(b, bool) for b in bounds):
            raise ValueError(f"bounds must be numbers, got {bounds!r}")
        if kind == "loguniform":
            return loguniform(low, high, when=when)
        return uniform(low, high, step=spec.get("step"), when=when)
    except ValueError as exc:
        raise ConfigError(f"{where}: {exc}") from None
