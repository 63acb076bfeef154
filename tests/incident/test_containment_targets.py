"""What a containment target may be, what it names, and whose autonomy setting applies to it."""

from __future__ import annotations

import pytest

from incident.containment import (
    ActionKind,
    Autonomy,
    TargetScope,
    scope_of,
    target_problem,
)
from incident.policy import ContainmentRule, load_policy

A = ActionKind


def test_what_each_action_targets() -> None:
    assert {kind: kind.target_scope for kind in ActionKind} == {
        A.ROLLBACK_DEPLOYMENT: TargetScope.DEPLOYMENT,
        A.LOWER_AUTONOMY: TargetScope.DEPLOYMENT,
        A.FREEZE_PROMOTION: TargetScope.DEPLOYMENT,
        A.DISABLE_TRIGGER: TargetScope.TRIGGER,
        A.ACTIVATE_DENYLIST: TargetScope.ORG,
        A.PAUSE_SCHEDULED_TRIGGERS: TargetScope.ORG,
    }
    # Degraded mode lowers a whole org's autonomy.
    assert scope_of(A.LOWER_AUTONOMY, {"scope": "org"}) is TargetScope.ORG
    assert scope_of(A.LOWER_AUTONOMY, {}) is TargetScope.DEPLOYMENT


@pytest.mark.parametrize(
    "target",
    ["agents-api", "acme", "nightly-digest", "a", "9", "ns:agents.api_v2", "bot@acme", "x" * 200],
)
def test_ids_are_accepted(target: str) -> None:
    assert all(target_problem(kind, target) is None for kind in ActionKind)


@pytest.mark.parametrize(
    "target",
    [
        "../../orgs/acme/autonomy?",
        "..",
        ".hidden",
        "-flag",
        "agents api",
        "agents-api\n",
        "agents/api",
        "agents-api?x=1",
        "agents-api#frag",
        "agents%2Fapi",
        "déploiement",
        "agents\x00api",
    ],
)
def test_anything_a_url_gives_meaning_to_is_refused_with_a_reason(target: str) -> None:
    assert target_problem(A.LOWER_AUTONOMY, target) == (
        f"target {target!r} is not a valid deployment id: letters, digits and . _ : @ - only"
    )


def test_the_reason_names_what_the_target_should_have_been() -> None:
    assert target_problem(A.DISABLE_TRIGGER, "a/b") == (
        "target 'a/b' is not a valid trigger id: letters, digits and . _ : @ - only"
    )
    assert target_problem(A.ACTIVATE_DENYLIST, "../orgs") == (
        "target '../orgs' is not a valid org id: letters, digits and . _ : @ - only"
    )
    assert target_problem(A.LOWER_AUTONOMY, "acme/x", {"scope": "org"}) == (
        "target 'acme/x' is not a valid org id: letters, digits and . _ : @ - only"
    )
    assert target_problem(A.ROLLBACK_DEPLOYMENT, "") == "no deployment id given"
    assert target_problem(A.ROLLBACK_DEPLOYMENT, "x" * 5000) == (
        "target is 5000 characters; a deployment id has at most 200"
    )


# --- autonomy: the most specific setting, keyed by what the action acts on ----------


def rule() -> ContainmentRule:
    return load_policy().containment.model_copy(
        update={
            "autonomy": dict.fromkeys(ActionKind, Autonomy.APPROVE),
            "org_autonomy": {
                "acme": {
                    A.ACTIVATE_DENYLIST: Autonomy.AUTO,
                    A.LOWER_AUTONOMY: Autonomy.RECOMMEND,
                    A.DISABLE_TRIGGER: Autonomy.AUTO,
                },
            },
            "deployment_autonomy": {
                "agents-api": {
                    A.LOWER_AUTONOMY: Autonomy.AUTO,
                    A.FREEZE_PROMOTION: Autonomy.RECOMMEND,
                    A.ROLLBACK_DEPLOYMENT: Autonomy.AUTO,
                },
            },
        }
    )


@pytest.mark.parametrize(
    ("kind", "target", "org", "expected"),
    [
        # A per-deployment setting applies to every deployment action, not just rollback.
        (A.ROLLBACK_DEPLOYMENT, "agents-api", "acme", Autonomy.AUTO),
        (A.LOWER_AUTONOMY, "agents-api", "acme", Autonomy.AUTO),
        (A.FREEZE_PROMOTION, "agents-api", "acme", Autonomy.RECOMMEND),
        # Another deployment of the incident's org: the org's setting, then the action's.
        (A.LOWER_AUTONOMY, "agents-runner", "acme", Autonomy.RECOMMEND),
        (A.FREEZE_PROMOTION, "agents-runner", "acme", Autonomy.APPROVE),
        (A.LOWER_AUTONOMY, "agents-runner", None, Autonomy.APPROVE),
        # A trigger: the incident's org's setting.
        (A.DISABLE_TRIGGER, "nightly-digest", "acme", Autonomy.AUTO),
        (A.DISABLE_TRIGGER, "nightly-digest", "globex", Autonomy.APPROVE),
        # An org-scoped action: the target IS the org, whatever org the incident is about.
        (A.ACTIVATE_DENYLIST, "acme", "globex", Autonomy.AUTO),
        (A.ACTIVATE_DENYLIST, "acme", None, Autonomy.AUTO),
        (A.ACTIVATE_DENYLIST, "globex", "acme", Autonomy.APPROVE),
        (A.PAUSE_SCHEDULED_TRIGGERS, "acme", "acme", Autonomy.APPROVE),
    ],
)
def test_overrides_apply_to_every_action_they_name(
    kind: ActionKind, target: str, org: str | None, expected: Autonomy
) -> None:
    assert rule().autonomy_for(kind, target=target, org=org) is expected


def test_an_org_wide_autonomy_change_follows_the_org_it_names() -> None:
    # lower_autonomy with scope=org lowers a whole org: that org's setting applies.
    assert (
        rule().autonomy_for(A.LOWER_AUTONOMY, target="acme", org="globex", scope=TargetScope.ORG)
        is Autonomy.RECOMMEND
    )


def test_without_overrides_the_action_setting_applies() -> None:
    shipped = load_policy().containment
    assert (
        shipped.autonomy_for(A.LOWER_AUTONOMY, target="agents-api", org="acme")
        is (shipped.autonomy[A.LOWER_AUTONOMY])
    )
