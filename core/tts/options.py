"""The one table of synthesis options: name, kind, range, default, the engines that honour it, what it does.

Contract:
- `SynthesisOptions` IS the table: one field per option, whose metadata is that option's row (written
  with `_option`). `OPTIONS` (name -> `Option`) reads the rows back. Nothing else in the code base
  writes an option's bounds, default or engines: the API's request schema (`core.schemas.speech`, via
  `core.schemas.options`), the RunPod worker's input (`core.schemas.worker`), the RunPod proxy
  (`core.tts.runpod`, `wire`), the engines' checks (`check`), their `capabilities.options`
  (`honoured_by`) and the synthesis service (`ENGINE_OPTIONS`) all derive from it.
- Adding an option (e.g. Chatterbox Turbo's top_p) is one field here; the engine that honours it then
  reads it from `SynthesisOptions`. Every surface validates it from then on; tests/unit/test_options.py
  checks that each surface's bounds equal the table's.
- `engines=None` means every engine honours the option (speed and pitch: applied after synthesis by
  `core.tts.effects` where a model has no control of its own); otherwise the option is an "engine
  option", listed in `capabilities.options` of the engines named, and reported in `options_ignored`
  when the active engine does not honour it.
- Ranges are inclusive. `check(options)` raises `ValidationFailed` (code "invalid_option", details
  {option, value, low, high}) naming the bound; NaN fails every range.
- seed: 0..2**32-1 (ElevenLabs' range too): every client can send it exactly (JavaScript's JSON numbers
  are exact only up to 2**53), and it fits every RNG we seed (torch.manual_seed takes 64 bits).
- temperature: 0.05..5.0, the range of Chatterbox's own demo. Defaults are chatterbox-tts 0.1.7's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import Field, dataclass, field, fields, replace
from types import MappingProxyType
from typing import Any, Literal

from core.errors import ValidationFailed

CHATTERBOX_ENGINES = ("chatterbox", "runpod")  # the RunPod proxy runs Chatterbox on its worker
Kind = Literal["float", "int"]


@dataclass(frozen=True)
class Option:
    name: str
    kind: Kind
    low: float
    high: float
    default: float | None  # None: the engine decides (seed: fresh randomness per request)
    engines: tuple[str, ...] | None  # None: every engine
    description: str

    def bounds(self) -> str:
        """'0.05..5.0' as written in messages and docs."""
        return f"{self.low}..{self.high}"

    def summary(self) -> str:
        """The description with range, default and engines, as the OpenAPI schema shows it."""
        default = "engine's choice" if self.default is None else str(self.default)
        honoured = ", ".join(self.engines) if self.engines else "every engine"
        return f"{self.description} ({self.bounds()}, default {default}; honoured by {honoured})"


def _option(
    kind: Kind, low: float, high: float, default: float | None, engines: tuple[str, ...] | None, description: str
) -> Any:
    """One row of the table: a dataclass field whose metadata holds the rest of the row."""
    row = {"kind": kind, "low": low, "high": high, "engines": engines, "description": description}
    return field(default=default, metadata={"option": row})


@dataclass(frozen=True)
class SynthesisOptions:
    """How to speak: one field per option; each field's `_option(...)` is that option's row of the table."""

    speed: float = _option("float", 0.5, 2.0, 1.0, None, "speaking rate; 2.0 is twice as fast, pitch unchanged")
    pitch: float = _option("float", 0.5, 2.0, 1.0, None, "voice pitch factor; 2.0 is an octave up, duration unchanged")
    exaggeration: float = _option("float", 0.0, 2.0, 0.5, CHATTERBOX_ENGINES, "emotion intensity")
    cfg_weight: float = _option("float", 0.0, 1.0, 0.5, CHATTERBOX_ENGINES, "guidance weight; lower is slower pacing")
    temperature: float = _option("float", 0.05, 5.0, 0.8, CHATTERBOX_ENGINES, "sampling temperature")
    seed: int | None = _option("int", 0, 2**32 - 1, None, CHATTERBOX_ENGINES, "reproducible sampling")


def _row(spec: Field[Any]) -> Option:
    default = spec.default
    if not (default is None or isinstance(default, int | float)):
        raise TypeError(f"option {spec.name}: write it with _option(...)")
    return Option(name=spec.name, default=default, **spec.metadata["option"])


OPTIONS: Mapping[str, Option] = MappingProxyType({spec.name: _row(spec) for spec in fields(SynthesisOptions)})
ENGINE_OPTIONS: tuple[str, ...] = tuple(name for name, option in OPTIONS.items() if option.engines is not None)


def honoured_by(engine: str) -> tuple[str, ...]:
    """The engine options (`ENGINE_OPTIONS`) that the engine named `engine` honours, in table order."""
    return tuple(name for name in ENGINE_OPTIONS if engine in (OPTIONS[name].engines or ()))


def out_of_range(name: str, value: object) -> bool:
    """Whether `value` is not a valid `name` (wrong kind, NaN, or outside its range); None is valid."""
    if value is None:
        return False
    option = OPTIONS[name]
    if isinstance(value, bool) or not isinstance(value, int if option.kind == "int" else int | float):
        return True
    return not option.low <= value <= option.high


def check(options: SynthesisOptions, *, engine: str | None = None) -> None:
    """Refuse an out-of-range value with `ValidationFailed`: of every option the engine named `engine`
    uses (the options every engine honours and its own), or of every option when `engine` is None."""
    names = [name for name, o in OPTIONS.items() if engine is None or o.engines is None or engine in o.engines]
    for name in names:
        value = getattr(options, name)
        if out_of_range(name, value):
            option = OPTIONS[name]
            details = {"option": name, "value": value, "low": option.low, "high": option.high}
            raise ValidationFailed(
                f"{name} must be between {option.low} and {option.high}", code="invalid_option", details=details
            )


def wire(options: SynthesisOptions) -> dict[str, float]:
    """The options as the RunPod worker's `options` object: every option that has a value."""
    values = {name: getattr(options, name) for name in OPTIONS}
    return {name: value for name, value in values.items() if value is not None}


def with_values(base: SynthesisOptions, values: Mapping[str, float | int | None]) -> SynthesisOptions:
    """`base` with the options named in `values` set (each name a row of the table; None keeps the default).

    Kinds and ranges are the request schemas' and `check`'s to enforce; an unknown name is a bug (KeyError)."""
    unknown = sorted(set(values) - set(OPTIONS))
    if unknown:
        raise KeyError(f"not synthesis options: {unknown}")
    changes: dict[str, Any] = {name: value for name, value in values.items() if value is not None}
    return replace(base, **changes)
