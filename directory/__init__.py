"""People, teams, services, on-call schedules and escalation policies (pure, no I/O)."""
