"""The report's table reads like a person wrote it: whole units, never a fraction of a second."""

from __future__ import annotations

from datetime import timedelta

from starter.records import ReportRow


def test_report_durations_read_like_a_person_wrote_them() -> None:
    row = ReportRow(
        group="P1",
        incidents=3,
        mtta=timedelta(minutes=4, seconds=31.7),
        mttr=timedelta(hours=1, minutes=5, seconds=2),
        time_triaged=timedelta(seconds=20.518898),
        time_responding=None,
        time_post_incident=timedelta(seconds=0.112982),
        response_breaches=0,
        resolution_breaches=1,
        postmortems_overdue=0,
        action_items_overdue=2,
    )
    assert row.cells()[2:7] == ["4m 32s", "1h 5m", "21s", "-", "under 1s"]
