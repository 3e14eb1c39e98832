"""The names update-kubeconfig --all gives contexts and users: `--alias` and `--user-alias`
templates over {name}, {region}, {account} and {profile}, made unique where they collide.
"""

from __future__ import annotations

import string
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Callable

from eksauth.errors import UsageError

FIELDS = ("name", "region", "account", "profile")
DEFAULT_ALIAS = "{name}"
# Appended, in this order, to names that collide: `demo`, then `demo.eu-west-1`, then
# `demo.eu-west-1.111122223333`; the cluster ARN (aws-cli's context name) is the last resort.
_DISAMBIGUATE = ("region", "account")
_EXAMPLE = {"name": "demo", "region": "eu-west-1", "account": "111122223333", "profile": "dev"}


def check_template(template: str, option: str) -> None:
    """UsageError unless `template` uses only FIELDS, plainly, and renders to a name."""
    hint = "use {name}, {region}, {account} and {profile}, e.g. '{name}-{region}'"
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise UsageError(
            f"{option} {template!r} is not a valid template: {exc}", hint=hint
        ) from exc
    for _, field, spec, conversion in parsed:
        if field is None:
            continue
        if field not in FIELDS:
            raise UsageError(f"{option} {template!r} has an unknown field {{{field}}}", hint=hint)
        if spec or conversion:
            raise UsageError(f"{option} {template!r}: {{{field}}} takes no format", hint=hint)
    if not render(template, _EXAMPLE).strip():
        raise UsageError(f"{option} {template!r} gives an empty name", hint=hint)


def render(template: str, fields: Mapping[str, str]) -> str:
    return template.format_map({key: fields[key] for key in FIELDS})


def unique_names(
    template: str,
    fields: Sequence[Mapping[str, str]],
    taken: Callable[[int, str], bool],
) -> list[str]:
    """One name per `fields` row from `template`; rows whose names collide (with each other,
    or `taken(row, name)`: a context in the file that is not this row's) get `.{region}`, then
    `.{account}` appended, unless the template already has that field."""
    names = [render(template, row) for row in fields]
    for extra in _DISAMBIGUATE:
        clashing = _clashing(names, taken)
        if not clashing:
            return names
        if "{" + extra + "}" in template:
            continue
        for index in clashing:
            names[index] = f"{names[index]}.{fields[index][extra]}"
    for index in _clashing(names, taken):
        names[index] = fields[index]["arn"]
    for index in _clashing(names, taken):  # only a person's context named by that ARN is left
        names[index] = f"{fields[index]['arn']}.eksauth"
    return names


def _clashing(names: list[str], taken: Callable[[int, str], bool]) -> list[int]:
    counts = Counter(names)
    return [i for i, name in enumerate(names) if counts[name] > 1 or taken(i, name)]
