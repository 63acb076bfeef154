"""``BareLifecycle``: a P1 incident lifecycle hand-written on bare Temporal, the lifecycle baseline.

What a developer would write without Warroom (bench/lifecycle.py compares the
two): the same decisions as updates, the same notifications as activities that
POST to a sink (``bare.page``, bench/bare.py), and the same timers, each a
plain ``wait_condition`` with a timeout (one durable timer, cancelled when what
it waits for becomes moot):

- ack deadline and the paging steps after 0, cancelled by the acknowledgement;
- the management steps and the resolution target, cancelled by mitigation;
- the status cadence (a reminder ``reminder_before`` the due time, then an
  automatic update), restarted by every status update, stopped at resolution;
- the monitoring window from mitigation, then one SLO probe activity;
- the postmortem deadlines (schedule, complete), cancelled by a final postmortem.

No search attributes, no Postgres record, no policy activity: the product's
extras are what the comparison shows.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from temporalio import activity, workflow

with workflow.unsafe.imports_passed_through():
    from incident.policy import LadderKind, Policy
    from incident.severity import Severity

CALL = timedelta(seconds=60)


@dataclass
class Step:
    """One escalation step after 0: when, to whom, and whether acknowledgement makes it moot."""

    after_s: float
    target: str
    paging: bool


@dataclass
class BarePlan:
    """The P1 policy numbers, in seconds, and where notices go."""

    sink: str
    ack_deadline_s: float
    first_page: str
    steps: list[Step] = field(default_factory=list)
    resolution_target_s: float = 0.0
    update_every_s: float = 0.0
    reminder_before_s: float = 0.0
    quiet_window_s: float = 0.0
    postmortem_s: list[float] = field(default_factory=list)

    @classmethod
    def p1(cls, policy: Policy, sink: str) -> BarePlan:
        """The P1 numbers of ``policy``: the same timers Warroom runs."""
        rule = policy.rule(Severity.P1)
        assert isinstance(rule.response_time, timedelta)
        first, *rest = rule.escalation
        paging = LadderKind.PAGING
        return cls(
            sink=sink,
            ack_deadline_s=rule.response_time.total_seconds(),
            first_page=first.target,
            steps=[Step(s.after.total_seconds(), s.target, s.ladder is paging) for s in rest],
            resolution_target_s=rule.resolution_target.total_seconds(),
            update_every_s=(rule.status_update_every or timedelta(0)).total_seconds(),
            reminder_before_s=policy.communication.reminder_before.total_seconds(),
            quiet_window_s=policy.recovery.quiet_window.total_seconds(),
            postmortem_s=[
                d.total_seconds()
                for d in (rule.postmortem.schedule_within, rule.postmortem.complete_within)
                if d is not None
            ],
        )


@workflow.defn(name="BareLifecycle")
class BareLifecycle:
    """One P1 incident from declaration to close, every decision an update."""

    def __init__(self) -> None:
        self.acked = False
        self.commander: str | None = None
        self.last_update: datetime | None = None
        self.mitigated_at: datetime | None = None
        self.root_cause: str | None = None
        self.resolved = False
        self.final = False
        self.sink = ""
        self.tasks: list[asyncio.Task[None]] = []

    @workflow.run
    async def run(self, plan: BarePlan) -> str:
        """Walk the lifecycle; returns the root cause."""
        self.sink = plan.sink
        opened = self.last_update = workflow.now()
        await asyncio.gather(self.notify("declared"), self.notify(f"page {plan.first_page}"))
        self.spawn(self.deadline(opened, plan.ack_deadline_s, lambda: self.acked, "re-page"))
        for step in plan.steps:
            moot = (lambda: self.acked) if step.paging else (lambda: self.mitigated_at is not None)
            self.spawn(self.deadline(opened, step.after_s, moot, f"page {step.target}"))
        self.spawn(
            self.deadline(
                opened,
                plan.resolution_target_s,
                lambda: self.mitigated_at is not None,
                "resolution target breached",
            )
        )
        self.spawn(self.cadence(plan))
        await workflow.wait_condition(lambda: self.mitigated_at is not None)
        await workflow.sleep(timedelta(seconds=plan.quiet_window_s), summary="monitoring window")
        await workflow.execute_activity("bare.probe", start_to_close_timeout=CALL)
        await workflow.wait_condition(lambda: self.root_cause is not None)
        self.resolved = True
        await self.notify("resolved")
        resolved = workflow.now()
        for after in plan.postmortem_s:
            self.spawn(self.deadline(resolved, after, lambda: self.final, "postmortem reminder"))
        await workflow.wait_condition(lambda: self.final)
        await asyncio.gather(*self.tasks)
        return self.root_cause or ""

    def spawn(self, work: Any) -> None:
        """Run ``work`` beside the main line."""
        self.tasks.append(asyncio.get_running_loop().create_task(work))

    async def notify(self, what: str) -> None:
        """One notification: an activity posting to the sink."""
        await workflow.execute_activity(
            "bare.page",
            args=[self.sink, {"notice": what}],
            start_to_close_timeout=CALL,
            summary=what,
        )

    async def deadline(
        self, start: datetime, after_s: float, moot: Callable[[], bool], what: str
    ) -> None:
        """Notify ``what`` at ``start + after_s`` unless ``moot()`` became true first."""
        delay = start + timedelta(seconds=after_s) - workflow.now()
        try:
            await workflow.wait_condition(moot, timeout=delay, timeout_summary=what)
        except TimeoutError:
            await self.notify(what)

    async def cadence(self, plan: BarePlan) -> None:
        """Remind, then post an automatic update, whenever nobody posted one in time."""
        every = timedelta(seconds=plan.update_every_s)
        before = timedelta(seconds=plan.reminder_before_s)
        while not self.resolved:
            last = self.last_update
            assert last is not None

            def changed(last: datetime = last) -> bool:
                return self.resolved or self.last_update != last

            for at, what in (
                (last + every - before, "status reminder"),
                (last + every, "automatic status update"),
            ):
                try:
                    timeout = max(at - workflow.now(), timedelta(0))
                    await workflow.wait_condition(changed, timeout=timeout, timeout_summary=what)
                    break
                except TimeoutError:
                    await self.notify(what)
            else:
                self.last_update = workflow.now()

    # Each update takes the decision as Warroom's API sends it, as a plain dict.

    @workflow.update
    async def acknowledge(self, decision: dict[str, Any]) -> None:
        """Stop paging."""
        self.acked = True

    @workflow.update
    async def assign_role(self, decision: dict[str, Any]) -> None:
        """The incident commander."""
        self.commander = decision["person"]

    @workflow.update
    async def post_status_update(self, decision: dict[str, Any]) -> None:
        """Tell the stakeholders; restarts the cadence."""
        self.last_update = workflow.now()
        await self.notify(f"status update: {decision['message']}")

    @workflow.update
    async def post_customer_update(self, decision: dict[str, Any]) -> None:
        """Tell the customers (the status page)."""
        await self.notify(f"customer update: {decision.get('message') or 'from the template'}")

    @workflow.update
    async def declare_mitigated(self, decision: dict[str, Any]) -> None:
        """Impact contained: the monitoring window starts."""
        self.mitigated_at = workflow.now()
        self.acked = True

    @workflow.update
    async def resolve(self, decision: dict[str, Any]) -> None:
        """The cause is fixed; resolves once the monitoring window passed."""
        self.root_cause = decision["root_cause"]

    @workflow.update
    async def submit_postmortem(self, decision: dict[str, Any]) -> None:
        """A final postmortem closes the incident."""
        self.final = decision["status"] == "final"


@activity.defn(name="bare.probe")
async def probe() -> bool:
    """The SLO probe, with no Prometheus: healthy (as Warroom judges it without one)."""
    return True
