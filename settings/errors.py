"""One error for a setting that cannot be used, naming the variable and the reason."""

from __future__ import annotations

from pydantic import ValidationError
from pydantic_core import PydanticCustomError


class SettingsError(ValueError):
    """A setting that cannot be used; the message names the variable and what is wrong.

    ``WARROOM_HOOKS_ADDR: expected host:port such as 127.0.0.1:8080, got 'x'``.
    """


def invalid(reason: str) -> PydanticCustomError:
    """What a setting's parser raises: ``reason`` says what is wrong with the value.

    The settings layer puts the variable's name in front of it (see ``refusal``).
    A reason that already names its variables (a rule across two of them) is
    raised from a model validator, where there is no single variable to name.
    """
    # The reason is passed as context, not as the template: a value quoted in it
    # may hold braces.
    return PydanticCustomError("setting", "{reason}", {"reason": reason})


def refusal(err: ValidationError) -> SettingsError:
    """One SettingsError for every problem in ``err``: ``VARIABLE: reason``, joined by ``; ``."""
    problems = []
    for error in err.errors(include_url=False, include_input=False):
        where = ": ".join(str(part) for part in error["loc"])
        problems.append(f"{where}: {error['msg']}" if where else error["msg"])
    return SettingsError("; ".join(problems))
