"""The IDs an incident goes by: its workflow ID and the INC ID people say aloud."""

from __future__ import annotations

from incident.ids import (
    declared_workflow_id,
    human_id,
    human_id_in_workflow_id,
    incident_workflow_id,
    looks_like_human_id,
    new_human_id,
)


def test_a_declared_incident_s_workflow_id_carries_its_inc_id() -> None:
    name = new_human_id()
    assert looks_like_human_id(name) and len(name) == len("INC-7K3QX-D2MPA")
    assert declared_workflow_id(name) == f"incident-{name}"
    assert human_id_in_workflow_id(declared_workflow_id(name)) == name
    assert declared_workflow_id(name.lower()) == f"incident-{name}"  # as a person typed it


def test_new_inc_ids_are_random_in_the_human_id_alphabet() -> None:
    names = {new_human_id() for _ in range(200)}
    assert len(names) == 200
    assert all(looks_like_human_id(n) and n.count("-") == 2 for n in names)
    assert {len(n) for n in names} == {len(human_id("incident-manual-abc", "run"))}


def test_other_workflow_ids_carry_no_inc_id() -> None:
    assert human_id_in_workflow_id(incident_workflow_id("alertmanager", "{}:{a=b}")) is None
    assert human_id_in_workflow_id("incident-manual-0123456789abcdef0123") is None
    assert human_id_in_workflow_id("incident-INC-7K3QXD") is None  # the short form is derived
    assert human_id_in_workflow_id("incident-INC-7K3QX-D2MPA-extra") is None
    assert human_id_in_workflow_id("incident-INC-0O1IX-D2MPA") is None  # not the alphabet
