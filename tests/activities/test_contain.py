"""Containment calls against the reference control plane over real HTTP."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.contain import ContainmentActivities, request_for
from incident.containment import ActionKind, ContainmentCall, ContainmentResult
from tests.support.controlplane import ControlPlane, reference_control_plane

TOKEN = "cp-token-current"


@pytest.fixture
async def plane(database_url: str) -> AsyncIterator[ControlPlane]:
    async with reference_control_plane(database_url, token=TOKEN) as found:
        yield found


def call(kind: ActionKind, target: str, *, undo: bool = False, **params: str) -> ContainmentCall:
    return ContainmentCall(
        incident=f"INC-{uuid.uuid4().hex[:6].upper()}",
        action_id=1,
        kind=kind,
        target=target,
        params=params,
        undo=undo,
    )


async def execute(
    url: str, contained: ContainmentCall, *, token: str | None = TOKEN
) -> ContainmentResult:
    async with httpx.AsyncClient() as http:
        activities = ContainmentActivities(http=http, base_url=url, token=token)
        return await ActivityEnvironment().run(activities.execute, contained)


async def refusal(url: str, contained: ContainmentCall, *, token: str | None = TOKEN) -> Any:
    with pytest.raises(ApplicationError) as refused:
        await execute(url, contained, token=token)
    return refused.value


# --- 4xx: final for an action, retried for an undo ---------------------------------


async def test_a_refused_action_is_final(plane: ControlPlane) -> None:
    err = await refusal(plane.url, call(ActionKind.ROLLBACK_DEPLOYMENT, "no-such-deployment"))
    assert err.type == "ControlPlaneRejected"
    assert err.non_retryable
    assert "404" in err.message and "no-such-deployment" in err.message


async def test_a_refused_undo_is_retried_until_the_control_plane_takes_it(
    plane: ControlPlane,
) -> None:
    disable = call(ActionKind.DISABLE_TRIGGER, plane.trigger)
    await execute(plane.url, disable)
    assert not (await plane.row("triggers", plane.trigger))["is_enabled"]

    # The worker's token was rotated away: the control plane refuses the re-enable.
    undo = disable.model_copy(update={"undo": True})
    err = await refusal(plane.url, undo, token="cp-token-rotated-away")
    assert err.type == "ControlPlaneRejected"  # the workflow can show it as refused...
    assert not err.non_retryable  # ...but Temporal keeps retrying it: never recorded as done
    assert "401" in err.message
    assert not (await plane.row("triggers", plane.trigger))["is_enabled"]  # still disabled

    # Once the token is fixed, the retry goes through and the trigger runs again.
    result = await execute(plane.url, undo)
    assert result.status_code == 200
    assert (await plane.row("triggers", plane.trigger))["is_enabled"]


async def test_an_undo_of_something_that_went_away_keeps_failing_visibly(
    plane: ControlPlane,
) -> None:
    undo = call(ActionKind.ACTIVATE_DENYLIST, "org-that-was-deleted", undo=True)
    err = await refusal(plane.url, undo)
    assert (err.type, err.non_retryable) == ("ControlPlaneRejected", False)
    assert "404" in err.message and "org-that-was-deleted" in err.message


# --- a target names one thing; it cannot steer the URL ------------------------------


def steering(org: str) -> str:
    """A deployment 'id' from an alert label that walks up to the org's autonomy."""
    return f"../../orgs/{org}/autonomy?"


async def test_a_path_like_target_is_refused_and_the_org_is_untouched(plane: ControlPlane) -> None:
    lowered = call(ActionKind.LOWER_AUTONOMY, steering(plane.org))
    err = await refusal(plane.url, lowered)
    assert (err.type, err.non_retryable) == ("InvalidTarget", True)
    assert err.message == (
        f"target '{steering(plane.org)}' is not a valid deployment id: "
        "letters, digits and . _ : @ - only"
    )
    org = await plane.row("orgs", plane.org)
    assert org["autonomy_tier"] == "L3"
    assert [e for e in (await plane.state())["effects"] if e["target"] == plane.org] == []


@pytest.mark.parametrize(
    ("kind", "target"),
    [
        (ActionKind.DISABLE_TRIGGER, "../orgs/x/emergency-denylist"),
        (ActionKind.ACTIVATE_DENYLIST, "acme/../globex"),
        (ActionKind.ROLLBACK_DEPLOYMENT, "agents-api/rollback?x="),
        (ActionKind.FREEZE_PROMOTION, " agents-api"),
        (ActionKind.PAUSE_SCHEDULED_TRIGGERS, ".."),
    ],
)
async def test_every_kind_refuses_a_malformed_target(
    plane: ControlPlane, kind: ActionKind, target: str
) -> None:
    err = await refusal(plane.url, call(kind, target))
    assert (err.type, err.non_retryable) == ("InvalidTarget", True)
    assert f"not a valid {kind.target_scope} id" in err.message
    # The undo of such a call is refused the same way: it can never succeed.
    err = await refusal(plane.url, call(kind, target, undo=True))
    assert (err.type, err.non_retryable) == ("InvalidTarget", True)


@pytest.mark.parametrize(
    "target",
    [
        "../../orgs/{org}/autonomy?",
        "..%2F..%2Forgs%2F{org}%2Fautonomy",
        "..",
        "x/../../../orgs/{org}/autonomy#",
    ],
)
async def test_even_unchecked_a_target_stays_one_path_segment(
    plane: ControlPlane, target: str
) -> None:
    # Were the check ever bypassed, the request still names exactly one deployment.
    lowered = call(ActionKind.LOWER_AUTONOMY, target.format(org=plane.org))
    method, path, body = request_for(lowered)
    async with httpx.AsyncClient() as http:
        response = await http.request(
            method,
            f"{plane.url}{path}",
            json=body,
            headers={
                "Idempotency-Key": lowered.idempotency_key,
                "Authorization": f"Bearer {TOKEN}",
            },
        )
    assert response.status_code == 404
    assert (await plane.row("orgs", plane.org))["autonomy_tier"] == "L3"


async def test_well_formed_targets_still_act(plane: ControlPlane) -> None:
    result = await execute(plane.url, call(ActionKind.LOWER_AUTONOMY, plane.deployment))
    assert result.previous == "L3"
    result = await execute(plane.url, call(ActionKind.LOWER_AUTONOMY, plane.org, scope="org"))
    assert result.previous == "L3"
    assert (await plane.row("orgs", plane.org))["autonomy_tier"] == "L1"


async def test_an_undo_on_a_worker_without_a_control_plane_waits_for_one() -> None:
    # A worker restarted without WARROOM_CONTROL_PLANE_URL between an action and its undo.
    disable = call(ActionKind.DISABLE_TRIGGER, "nightly-digest")
    err = await refusal_without_plane(disable)
    assert (err.type, err.non_retryable) == ("ControlPlaneMissing", True)
    err = await refusal_without_plane(disable.model_copy(update={"undo": True}))
    assert (err.type, err.non_retryable) == ("ControlPlaneMissing", False)


async def refusal_without_plane(contained: ContainmentCall) -> Any:
    async with httpx.AsyncClient() as http:
        activities = ContainmentActivities(http=http, base_url=None, token=None)
        with pytest.raises(ApplicationError) as refused:
            await ActivityEnvironment().run(activities.execute, contained)
    return refused.value
