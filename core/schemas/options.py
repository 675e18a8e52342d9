"""Pydantic fields for the synthesis options, generated from the one table (`core.tts.options`).

Contract:
- `option_field(name)` is a `Field` with the table's inclusive bounds (`ge`/`le`), default and summary
  (range, default, engines) as description; `optional=True` makes the default None ("the engine's
  default"), so a request can tell an option it did not send from one it did.
- `@with_options(all_optional=...)` on a model adds one field per table option the model does not declare
  itself (declare an option only where code reads it as a typed attribute, with `option_field`). The
  decorated class is a pydantic subclass of the declared one, with the same name, config and validators;
  type checkers see the declared class. So a new row in the table reaches every schema built this way.
- An out-of-range value fails pydantic's own ge/le check, whose message names the bound
  ("Input should be less than or equal to 5"); the API answers it as its one 422 error shape.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel, Field, create_model

from core.tts.options import OPTIONS

_M = TypeVar("_M", bound=BaseModel)
_KINDS: dict[str, type] = {"float": float, "int": int}


def option_field(name: str, *, optional: bool = False) -> Any:
    """The pydantic field of option `name`: its bounds, default (None when optional) and summary."""
    option = OPTIONS[name]
    default = None if optional else option.default
    return Field(default=default, ge=option.low, le=option.high, description=option.summary())


def option_type(name: str, *, optional: bool = False) -> Any:
    """The annotation of option `name`: its kind, or None too when optional or without a default."""
    kind = _KINDS[OPTIONS[name].kind]
    return kind | None if optional or OPTIONS[name].default is None else kind


def with_options(*, all_optional: bool = False) -> Callable[[type[_M]], type[_M]]:
    """Add the table's options that `cls` does not declare. Engine options are optional (None: the
    engine's default; reported in options_ignored only when sent); options every engine honours take
    their default, unless `all_optional` (the worker's input: null means the default)."""

    def decorate(cls: type[_M]) -> type[_M]:
        fields: dict[str, Any] = {}
        for name, option in OPTIONS.items():
            if name not in cls.model_fields:
                optional = all_optional or option.engines is not None
                fields[name] = (option_type(name, optional=optional), option_field(name, optional=optional))
        return create_model(cls.__name__, __base__=cls, __module__=cls.__module__, __doc__=cls.__doc__, **fields)

    return decorate
