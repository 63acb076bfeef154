"""The local stack: `warroom up` runs it, `warroom demo` plays the sample incident on it."""

from __future__ import annotations

import os
import sys

import click
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest

from starter.cli.base import EXIT_NO_ANSWER, Context, fail, pass_context, run_async


@click.command()
@click.option(
    "--data-dir",
    default=lambda: os.environ.get("WARROOM_HOME", ".warroom"),
    show_default=".warroom",
    help="Where the SQLite file and logs live.",
)
@click.option("--port", default=7233, show_default=True, help="Temporal gRPC port.")
@click.option("--ui-port", default=8233, show_default=True, help="Temporal Web UI port.")
@click.option(
    "--sample/--no-sample", default=False, show_default=True, help="Also play the sample incident."
)
@click.option(
    "--compressed",
    is_flag=True,
    help="Run incidents under the policy compressed 60 times (a minute is a second): "
    "the 60 min quiet window before resolution passes in 60 s.",
)
def up(data_dir: str, port: int, ui_port: int, sample: bool, compressed: bool) -> None:
    """Run everything locally: Temporal dev server, worker, hooks, console channel.

    Incidents survive a restart (they live in DATA_DIR); Ctrl-C stops it all.
    """
    from starter import local

    args = ["--data-dir", data_dir, "--port", str(port), "--ui-port", str(ui_port)]
    if not sample:
        args.append("--no-sample")
    if compressed:
        args.append("--compressed")
    sys.exit(local.main(args))


@click.command()
@pass_context
@run_async
async def demo(ctx: Context) -> None:
    """Play a realistic incident through every phase against `warroom up` (about 3 minutes)."""
    from starter.sample import SAMPLE_TASK_QUEUE, SampleStalled, run_sample

    client = await ctx.client()
    described = await client.workflow_service.describe_task_queue(
        DescribeTaskQueueRequest(
            namespace=client.namespace, task_queue=TaskQueue(name=SAMPLE_TASK_QUEUE)
        )
    )
    if not described.pollers:
        fail(
            EXIT_NO_ANSWER,
            f"no worker polls task queue {SAMPLE_TASK_QUEUE} at {ctx.settings.temporal.address}: "
            "the sample runs on the worker `warroom up` starts for it (its policy compressed "
            "60 times); start `warroom up` first, or point --address at it",
        )
    try:
        await run_sample(client, lambda line: click.echo(line))
    except SampleStalled as err:
        fail(EXIT_NO_ANSWER, f"the sample incident stalled: {err}")
