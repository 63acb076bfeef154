"""The incident's rules, one module per concern, pure and deterministic (no I/O, no clock).

``incident.lifecycle.Incident`` is the façade the workflow calls; each module
here takes that incident and does one thing to it:

- ``paging``: the response ladder, the acknowledgement deadline, the resolution target, flags
- ``communication``: the status-update cadence
- ``response``: acknowledge, roles, severity, notes, mitigation, resolution, reopening
- ``recovery``: alerts, monitoring, SLO probes, resolution, reopening on a new firing
- ``postmortem``: postmortem deadlines and reminders, action items, close
- ``saga``: containment: autonomy, approvals, degraded mode, undo
- ``timers``: which timers are pending, and the handler of each kind
- ``timeline``: events and their byte budget, what the store has taken
- ``decisions``: which rule checks and applies each decision
- ``views``: the brief, the Web UI's search attributes and details
- ``wording``: times, reasons, headlines and notices
"""
