"""A sample incident, played by a scripted response team, to watch every phase in the Web UI.

It runs on a worker whose policy is compressed 60 times (a minute of policy
is a second of wall time), so the whole lifecycle — paging, acknowledgement,
escalation, a status update, an update to customers, a rollback awaiting
approval (approve it with the CLI, or the sample's commander does after a
while), a disabled trigger,
mitigation, resolution, the monitoring window that re-enables the trigger,
the postmortem and close — passes in about three minutes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path

from temporalio.client import (
    Client,
    RPCTimeoutOrCancelledError,
    WorkflowQueryFailedError,
    WorkflowQueryRejectedError,
)
from temporalio.service import RPCError, RPCStatusCode
from tenacity import (
    AsyncRetrying,
    RetryError,
    retry_if_exception,
    retry_if_result,
    stop_after_delay,
    wait_fixed,
)

from incident.containment import ActionKind, ActionState
from incident.impact import ComponentImpact
from incident.models import (
    Acknowledge,
    AddActionItem,
    ApproveContainment,
    AssignRole,
    Decision,
    Declaration,
    DeclareMitigated,
    IncidentState,
    PostCustomerUpdate,
    PostmortemStatus,
    PostStatusUpdate,
    ProposeContainment,
    Resolve,
    Role,
    Status,
    SubmitPostmortem,
)
from incident.severity import Severity
from starter.api import IncidentHandle, decide, declare_incident
from workflows.incident import IncidentWorkflow

SAMPLE_TASK_QUEUE = "warroom-sample"
SAMPLE_DEPLOYMENT = "agents-api"
SAMPLE_TRIGGER = "nightly-digest"
"""What the sample contains: the reference control plane's seeded deployment and trigger."""
QUERY_TIMEOUT = timedelta(seconds=5)
COMPRESSION = 60
COMMANDER = "sam.oncall"
APPROVAL_GRACE = 45.0
"""Seconds the sample leaves for a person to approve the rollback with the CLI."""
BOARD_APPROVAL_GRACE = 180.0
"""… and on the board, which takes signing in first."""
_UNDER_WAY = (ActionState.RECOMMENDED, ActionState.AWAITING_APPROVAL, ActionState.RUNNING)
SAMPLE_DIRECTORY = "sample_directory.yaml"


def sample_directory_file() -> Path:
    """The sample directory shipped beside this module: who the sample's pages reach."""
    return Path(str(resources.files("starter").joinpath(SAMPLE_DIRECTORY)))


LinkAcknowledger = Callable[[str], Awaitable[str | None]]
"""Acknowledges an incident from the link in a page its on-call person got; who did."""
ACK_GRACE = 30.0
"""Seconds the sample leaves for a person to acknowledge from the link in a page."""


class SampleStalled(TimeoutError):
    """The sample incident did not get where the script expected in time; the message says
    what it waited for."""


async def run_sample(
    client: Client,
    say: Callable[[str], None],
    acknowledge: LinkAcknowledger | None = None,
    board: str | None = None,
) -> IncidentHandle:
    """Declare the sample incident and play the response team against it.

    With ``acknowledge`` (the local stack's console), the on-call person acknowledges
    from the link in their page unless someone did within ACK_GRACE seconds. With
    ``board`` (its address), the rollback waits longer for its approval there."""
    handle = await declare_incident(
        client,
        Declaration(
            title="Agent run success rate below 90% (sample)",
            severity=Severity.P1,
            service="agents",
            org="acme",
            summary="DroviAgentRunSuccessRateLow firing for every org since the v42 deploy.",
            impact="About 40% of agent runs fail; customers see retries and timeouts.",
            actor="sample",
        ),
        task_queue=SAMPLE_TASK_QUEUE,
    )
    human = (await _state_when(handle, lambda s: True, "the declaration")).human_id
    say(f"sample incident {human} declared (workflow {handle.id}); nobody acknowledges yet…")

    async def step(decision: Decision) -> None:
        receipt = await decide(handle, decision)
        say(f"{human} {receipt.phase.value}/{receipt.status.value}: {receipt.event.text}")

    if acknowledge is None:
        await asyncio.sleep(20)  # past the P1 acknowledgement deadline: paged again
        await step(Acknowledge(actor=COMMANDER, reason="paged; looking"))
    else:
        say(
            f"open the acknowledge link of a page above (or POST it: curl -X POST LINK); "
            f"the on-call person acknowledges from theirs in {ACK_GRACE:.0f} s otherwise"
        )
        try:
            await _state_when(
                handle,
                lambda s: s.acknowledged_at is not None,
                "an acknowledgement",
                within=ACK_GRACE,
            )
        except SampleStalled:
            person = await acknowledge(human)
            if person is None:
                raise SampleStalled(f"{human}: no page with an acknowledge link arrived") from None
            say(f"{person} acknowledged {human} from the link in their page")
    commander = (await _state_when(handle, lambda s: True, "the state")).acknowledged_by
    commander = commander or COMMANDER
    await step(AssignRole(actor=commander, role=Role.INCIDENT_COMMANDER, person=commander))
    await step(AssignRole(actor=commander, role=Role.COMMUNICATIONS_LEAD, person="cleo.comms"))
    await step(
        PostStatusUpdate(
            actor="cleo.comms",
            status=Status.IDENTIFIED,
            message="Success rate at 62% since the deploy of agents v42.",
        )
    )
    # Customers hear within the P1's 30 minutes, in the policy's words (the initial template).
    await step(PostCustomerUpdate(actor="cleo.comms", impact=ComponentImpact.PARTIAL_OUTAGE))
    await step(
        ProposeContainment(
            actor="devon.devops",
            kind=ActionKind.ROLLBACK_DEPLOYMENT,
            target=SAMPLE_DEPLOYMENT,
            reason="v42 is the suspect",
        )
    )
    await step(
        ProposeContainment(
            actor="devon.devops",
            kind=ActionKind.DISABLE_TRIGGER,
            target=SAMPLE_TRIGGER,
            reason="noisy trigger adds pressure",
        )
    )
    grace = APPROVAL_GRACE if board is None else BOARD_APPROVAL_GRACE
    if board is not None:
        say(
            f"the rollback awaits approval: on the board, {board}/incidents/{human}, signed "
            f"in as {commander} (`warroom token create {commander}` prints a token), or "
            f"`warroom --as {commander} approve {human} 1`; the sample's commander approves "
            f"it in {grace:.0f} s otherwise"
        )
    else:
        say(
            f"the rollback awaits approval: `warroom --as {commander} approve {human} 1` "
            f"(the sample's commander approves it in {grace:.0f} s otherwise)"
        )
    try:
        await _state_when(
            handle,
            lambda s: s.containment[0].state is not ActionState.AWAITING_APPROVAL,
            "an approval of the rollback",
            within=grace,
        )
    except SampleStalled:
        await step(ApproveContainment(actor=commander, action_id=1, reason="sample approves"))
    await step(ApproveContainment(actor=commander, action_id=2))
    state = await _state_when(
        handle,
        lambda s: not any(a.state in _UNDER_WAY for a in s.containment),
        "the containment actions",
    )
    for action in state.containment:
        if action.state is not ActionState.IN_FORCE:
            raise SampleStalled(
                f"{human} {action.title}: {action.state.value} ({action.detail}); the sample "
                f"contains deployment {SAMPLE_DEPLOYMENT} and trigger {SAMPLE_TRIGGER}, which the "
                "reference control plane of `warroom up` knows (WARROOM_CONTROL_PLANE_URL unset)"
            )
        say(f"{human} {action.title}: {action.detail}")
    await step(DeclareMitigated(actor=commander, reason="rolled agents-api back to v41"))
    await step(
        Resolve(
            actor=commander,
            root_cause="v42 shipped a broken retry policy",
            verified=["fix"],  # the rollback is the fix; recovery verifies it
        )
    )
    say(f"{human} is monitoring recovery for 60 s (60 min of policy) …")
    state = await _state_when(
        handle, lambda s: s.resolved_at is not None, "the resolution", within=300
    )
    trigger = state.containment[1]
    say(f"{human} resolved; {trigger.title}: {trigger.state.value} ({trigger.detail})")
    await step(PostCustomerUpdate(actor="cleo.comms"))  # the resolution template
    await step(
        SubmitPostmortem(
            actor=commander,
            status=PostmortemStatus.SCHEDULED,
            scheduled_for=datetime.now(UTC) + timedelta(days=1),
        )
    )
    await step(
        AddActionItem(
            actor=commander,
            description="Canary deploys gate on success rate",
            owner="devops",
            priority="P1",
        )
    )
    await step(
        SubmitPostmortem(
            actor=commander,
            status=PostmortemStatus.FINAL,
            summary="A retry-policy regression in v42 failed 38% of agent runs for 40 minutes.",
            contributing_factors=[
                "No canary gate on run success rate",
                "Retry storm amplified load",
            ],
            lessons=["Rollback worked within minutes once approved"],
        )
    )
    result = await handle.result()
    say(
        f"{result.human_id} closed after {result.timeline_seq} timeline events; "
        f"try `warroom show {human}`, `warroom postmortem show {human}`, `warroom report`"
    )
    return handle


async def _state_when(
    handle: IncidentHandle,
    check: Callable[[IncidentState], bool],
    waiting_for: str,
    within: float = 120.0,
) -> IncidentState:
    """Poll the incident until ``check`` holds; SampleStalled after ``within`` seconds."""
    poll = AsyncRetrying(
        retry=retry_if_exception(_not_answering) | retry_if_result(lambda s: not check(s)),
        wait=wait_fixed(0.5),
        stop=stop_after_delay(within),
    )
    try:
        state: IncidentState = await poll(
            handle.query, IncidentWorkflow.state, rpc_timeout=QUERY_TIMEOUT
        )
    except RetryError as err:
        last = err.last_attempt
        why = f" (last answer: {last.exception()})" if last.failed else ""
        raise SampleStalled(
            f"{handle.id}: {waiting_for} did not happen within {within:.0f} s{why}"
        ) from None
    return state


def _not_answering(err: BaseException) -> bool:
    """The incident cannot answer yet: not declared, or its worker is busy starting."""
    if isinstance(err, RPCError):
        return err.status in (RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.UNAVAILABLE)
    return isinstance(
        err, WorkflowQueryFailedError | WorkflowQueryRejectedError | RPCTimeoutOrCancelledError
    )
