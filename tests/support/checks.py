"""What a resolution vouches for in tests: the checks the shipped policy wants before a P0 or
P1 resolves (``checklists.required_to_resolve``)."""

VOUCHED = ["fix", "verified"]
