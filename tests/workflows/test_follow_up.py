"""Action items after close, under time skipping: a closed incident's open items keep
reminding their owners, and its items still take decisions (added, completed, reassigned,
reopened) through its follow-up, which ends once nothing is open and starts again when
needed; the store and `warroom show` see every change."""

from __future__ import annotations

from datetime import timedelta

import asyncpg
import pytest
from temporalio.client import WorkflowExecutionStatus, WorkflowUpdateFailedError
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from incident.ids import follow_up_workflow_id
from incident.models import (
    ActionItemStatus,
    AddActionItem,
    Alert,
    CompleteActionItem,
    IncidentState,
    Phase,
    ReassignActionItem,
    ReopenActionItem,
    Resolve,
)
from starter.api import IncidentHandle, decide
from starter.follow_up import FollowUpHandle, after_close, decide_after_close
from tests.support.checks import VOUCHED
from tests.support.harness import Harness
from tests.support.wait import eventually
from workflows.follow_up import LINGER, FollowUpWorkflow

MIN = timedelta(minutes=1)
DAY = timedelta(days=1)
DISK = Alert(fingerprint="d1", name="DiskNoise", labels={"severity": "info", "service": "disk"})


async def _closed(harness: Harness, group: str, *items: AddActionItem) -> IncidentHandle:
    """A P3 with ``items``, resolved and closed (a P3 closes on resolution)."""
    incident = await harness.fire(group, DISK)
    for item in items:
        await decide(incident, item)
    await decide(incident, Resolve(actor="bob", root_cause="log rotation stuck", verified=VOUCHED))
    await harness.advance(incident, 61 * MIN)
    final: IncidentState = await incident.result()
    assert final.phase is Phase.CLOSED
    return incident


def _reminders(harness: Harness) -> list[dict[str, object]]:
    return [n for n in harness.notices("action_item") if "due" in str(n["headline"])]


async def _stored(harness: Harness, human_id: str) -> dict[int, str]:
    conn = await asyncpg.connect(harness.database_url)
    try:
        rows = await conn.fetch("SELECT id, status FROM action_items WHERE human_id = $1", human_id)
    finally:
        await conn.close()
    return {r["id"]: r["status"] for r in rows}


async def test_an_item_open_at_close_reminds_its_owner_and_is_completed_after_close(
    harness: Harness,
) -> None:
    incident = await _closed(
        harness,
        "disk-follow-up",
        AddActionItem(actor="bob", description="alert on inode use", owner="erin", priority="P1"),
    )
    state = await incident.result()
    follow_up: FollowUpHandle = harness.client.get_workflow_handle_for(
        FollowUpWorkflow.run, follow_up_workflow_id(state.human_id)
    )
    assert await _running(follow_up)  # started by the closing incident before it ended

    # A P1 item is due a week after it was added: its owner hears 2 days before, then on the day.
    assert not _reminders(harness)
    await harness.advance(follow_up, 5 * DAY + MIN)
    await eventually(lambda: _reminders(harness))
    await harness.settle(follow_up)
    [soon] = _reminders(harness)
    assert soon["audience"] == "erin"
    assert f"Action item #1 of {state.human_id} due in" in str(soon["headline"])
    await harness.advance(follow_up, 2 * DAY)
    await eventually(lambda: len(_reminders(harness)) == 2)
    assert "overdue" in str(_reminders(harness)[-1]["headline"]) or "due now" in str(
        _reminders(harness)[-1]["headline"]
    )

    # `warroom show` sees the follow-up: the item open, its next reminder pending.
    now_state, timers = await after_close(harness.client, state)
    assert now_state.action_items[0].status is ActionItemStatus.OPEN
    assert [t.summary for t in timers] == ["remind erin: action item #1 is overdue"]

    receipt = await decide_after_close(
        harness.client, incident, CompleteActionItem(actor="erin", item_id=1, note="PR 4411")
    )
    assert receipt.event.text == "Action item #1 done: PR 4411"
    assert receipt.phase is Phase.CLOSED

    # Nothing open: the follow-up ends after its linger, the store has the item done.
    await harness.advance(follow_up, LINGER + MIN)
    final = await follow_up.result()
    assert final.action_items[0].status is ActionItemStatus.DONE
    assert await eventually(lambda: _stored_done(harness, state.human_id, 1))
    # Its history replays on this code (a worker restarted mid-follow-up rebuilds it).
    replayer = Replayer(workflows=[FollowUpWorkflow], data_converter=pydantic_data_converter)
    await replayer.replay_workflow(await follow_up.fetch_history())


async def test_items_are_added_reassigned_and_reopened_after_close(harness: Harness) -> None:
    incident = await _closed(harness, "disk-after-close")
    state = await incident.result()
    follow_up: FollowUpHandle = harness.client.get_workflow_handle_for(
        FollowUpWorkflow.run, follow_up_workflow_id(state.human_id)
    )
    assert not await _running(follow_up)  # nothing was open at close: no follow-up

    added = await decide_after_close(
        harness.client,
        incident,
        AddActionItem(
            actor="bob", description="postmortem: rotate logs hourly", owner="erin", priority="P2"
        ),
    )
    assert added.event.text.startswith("Action item #1 (P2, erin, due ")
    await eventually(lambda: any(n["audience"] == "erin" for n in harness.notices("action_item")))

    await decide_after_close(
        harness.client, incident, ReassignActionItem(actor="bob", item_id=1, owner="frank")
    )
    assigned = [n["audience"] for n in harness.notices("action_item")]
    await eventually(lambda: "frank" in [n["audience"] for n in harness.notices("action_item")])
    assert assigned.count("erin") == 1

    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await decide_after_close(
            harness.client, incident, ReopenActionItem(actor="bob", item_id=1, reason="flaky")
        )
    assert "action item #1 is still open" in str(refused.value.cause)

    await decide_after_close(harness.client, incident, CompleteActionItem(actor="frank", item_id=1))
    await harness.advance(follow_up, LINGER + MIN)
    ended = await follow_up.result()
    assert ended.action_items[0].status is ActionItemStatus.DONE

    # Reopened later: the follow-up starts again from where the last one left it.
    reopened = await decide_after_close(
        harness.client,
        incident,
        ReopenActionItem(actor="frank", item_id=1, reason="logs still rotate daily"),
    )
    assert reopened.event.text == "Action item #1 reopened"
    now_state, timers = await after_close(harness.client, state)
    assert [(i.owner, i.status) for i in now_state.action_items] == [
        ("frank", ActionItemStatus.OPEN)
    ]
    assert [e.kind for e in now_state.timeline[-3:]] == [
        "action_item_reassigned",
        "action_item_done",
        "action_item_reopened",
    ]
    assert timers  # reminded again until it is done
    assert await eventually(lambda: _stored_open(harness, state.human_id, 1))


async def test_the_cli_takes_action_items_after_close_and_refuses_the_rest(
    harness: Harness,
) -> None:
    incident = await _closed(harness, "disk-cli-after-close")
    state = await incident.result()
    out = await harness.ok(
        "--as", "bob", "action-item", state.human_id, "page on inode use", "--owner", "erin"
    )
    assert "closed/resolved: Action item #1 (P2, erin, due" in out
    shown = await harness.ok("show", state.human_id)
    assert "page on inode use" in shown
    refused = await harness.warroom("--as", "bob", "note", state.human_id, "still here")
    assert refused.code == 1
    assert f"{state.human_id} is closed" in refused.err


async def _running(handle: object) -> bool:
    try:
        described = await handle.describe()  # type: ignore[attr-defined]
    except Exception:
        return False
    return described.status is WorkflowExecutionStatus.RUNNING


async def _stored_done(harness: Harness, human_id: str, item: int) -> bool:
    return (await _stored(harness, human_id)).get(item) == "done"


async def _stored_open(harness: Harness, human_id: str, item: int) -> bool:
    return (await _stored(harness, human_id)).get(item) == "open"


async def test_an_item_for_a_groups_closed_incident_never_lands_on_its_next_one(
    harness: Harness,
) -> None:
    first = await _closed(harness, "disk-again")
    old = await first.result()
    second = await harness.fire("disk-again", DISK)  # the group's next incident, same ID
    assert second.id == first.id
    new = await harness.state(second)
    assert new.human_id != old.human_id

    out = await harness.ok(
        "--as", "bob", "action-item", old.human_id, "rotate logs hourly", "--owner", "erin"
    )
    assert out.startswith(f"{old.human_id} closed/resolved: Action item #1")
    assert not (await harness.state(second)).action_items
    shown = await harness.ok("show", old.human_id)
    assert old.human_id in shown and "rotate logs hourly" in shown
