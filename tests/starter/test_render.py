"""What the CLI prints stays readable whatever an alert put in a field."""

from __future__ import annotations

import click

from starter.cli.render import MAX_CELL, table


def test_a_huge_label_does_not_push_the_table_off_the_screen() -> None:
    service = "checkout-api-" + "x" * 3000  # an Alertmanager label, cut only at 1 KiB
    text = table(
        ["ID", "SERVICE", "AGE"],
        [["INC-8S7Z8-E255B", service, "2m"], ["INC-GHVRF-B7A78", click.style("x", fg="red"), "1m"]],
    )
    lines = text.splitlines()
    assert all(len(click.unstyle(line)) <= 15 + 2 + MAX_CELL + 2 + 3 for line in lines)
    assert "checkout-api-xxx" in lines[1] and "…" in lines[1]
    assert lines[1].endswith("2m")
