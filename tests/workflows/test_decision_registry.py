"""One registry per decision: its model names the update; the workflow, the rules, the Python
API and the CLI all take every decision there is."""

from __future__ import annotations

import inspect

from temporalio import workflow

from incident import models
from incident.models import Decision, DecisionReceipt
from incident.rules.decisions import AFTER_CLOSE, RULES
from starter.cli.decisions import COMMANDS
from workflows.decisions import FORMER_NAMES
from workflows.follow_up import FollowUpWorkflow
from workflows.incident import IncidentWorkflow

DECISIONS = {
    value
    for value in vars(models).values()
    if isinstance(value, type) and issubclass(value, Decision) and value is not Decision
}


def test_every_decision_names_an_update_the_workflow_takes_and_validates() -> None:
    definition = workflow._Definition.from_class(IncidentWorkflow)
    assert definition is not None
    names = {kind.update: kind for kind in DECISIONS} | FORMER_NAMES
    for name, kind in names.items():
        update = definition.updates.get(name)
        assert update is not None, f"{kind.__name__}: no update {name!r}"
        assert update.validator is not None, f"{name} has no validator"
        hints = inspect.get_annotations(update.fn, eval_str=True)
        assert hints["decision"] is kind and hints["return"] is DecisionReceipt
    assert {u for u in definition.updates if u} == set(names)


def test_every_decision_has_a_rule_and_a_command() -> None:
    assert set(RULES) == DECISIONS
    assert set(COMMANDS) == DECISIONS
    assert len(set(COMMANDS.values())) == len(COMMANDS)


def test_a_closed_incidents_follow_up_takes_its_action_items_and_nothing_else() -> None:
    definition = workflow._Definition.from_class(FollowUpWorkflow)
    assert definition is not None
    takes = {name for name in definition.updates if name} - {"ready"}
    assert takes == {kind.update for kind in AFTER_CLOSE}
    for name in takes:
        assert definition.updates[name].validator is not None, f"{name} has no validator"
