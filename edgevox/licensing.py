"""Licence checks shared by `edgevox models licenses --commercial` and the runtime's gate.

A model is cleared for commercial use only when the catalogue says ``commercial_use = "yes"``;
``unknown`` is treated exactly like ``no``, because shipping a product on a guess is the failure
this check exists to prevent.
"""

from __future__ import annotations

from collections.abc import Iterable

from edgevox.catalog import Catalog, ModelEntry


def cleared_alternative(entry: ModelEntry, catalog: Catalog) -> ModelEntry | None:
    """A cleared model for the same task and a shared language, if the catalogue has one."""
    for other in catalog.by_task(entry.task):
        if other.id != entry.id and other.cleared_for_commercial_use \
                and set(other.languages) & set(entry.languages):
            return other
    return None


def commercial_problems(entries: Iterable[ModelEntry], catalog: Catalog) -> list[str]:
    """One sentence per model that is not cleared, naming its licence and an alternative."""
    problems = []
    for entry in entries:
        if entry.cleared_for_commercial_use:
            continue
        why = ("its licence is not known" if entry.commercial_use == "unknown"
               else "its licence does not allow commercial use")
        alternative = cleared_alternative(entry, catalog)
        hint = (f"cleared alternative: {alternative.id}" if alternative
                else "the catalogue has no cleared alternative for this task and language")
        problems.append(f"{entry.id} ({entry.task}, licence {entry.license}, commercial_use "
                        f"{entry.commercial_use}): {why}; {hint}")
    return problems
