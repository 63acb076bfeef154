"""The incident's room: its own Slack channel, opened through the Web API as the Warroom bot.

The channel is named ``inc-<id>-<slug of the title>`` (``inc-7k3qx-d2mpa-checkout-5xx``):
lowercase letters, digits and hyphens, at most 80 characters, as Slack requires.
``conversations.create`` opens it; when the name is taken (a retry after Slack
created it, or an earlier channel of that name) ``conversations.list`` finds
that channel and the incident uses it, and when no channel the bot can see has
the name (archived, private), the name gets a suffix (``-2``, ``-3``).
Then ``conversations.invite`` brings in the responders: everyone on call for
the incident's service and its escalation policy's first level, by the Slack
member IDs their directory entries give. Invalid IDs are passed over
(``force``); an invitation Slack refuses leaves the room open and says why.
Every notice links the room, and its notices are posted there.

The link is ``https://app.slack.com/client/<team>/<channel>`` when Slack names
the channel's team, else ``https://slack.com/app_redirect?channel=<channel>``,
which opens the channel in the reader's workspace. Without a bot token there
is no room, and that is not an error.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.contact.slack import SlackSender
from activities.reach import DirectorySource, no_directory
from directory.models import ContactKind
from directory.oncall import NoSuchService, all_on_call, page_targets
from incident.models import Room, RoomRequest

NAME_LIMIT = 80
"""Slack's longest channel name."""
SUFFIXES = ("", "-2", "-3")
LIST_PAGES = 10
"""How many pages of ``conversations.list`` (200 channels each) a taken name is looked for in."""
MEMBER_ID = re.compile(r"[UW][A-Z0-9]{2,}")
"""A Slack member ID (a Slack contact address may also name a channel, which is not invited)."""
INVITED_ANYWAY = {"already_in_channel", "cant_invite_self"}


def room_name(human_id: str, title: str, suffix: str = "") -> str:
    """The channel name for an incident: ``inc-<id>-<slug>``, within Slack's rules."""
    ident = _slug(human_id.lower().removeprefix("inc-"))
    stem = f"inc-{ident}" if ident else "inc"
    slug = _slug(title)
    name = f"{stem}-{slug}" if slug else stem
    return _slug(name[: NAME_LIMIT - len(suffix)]) + suffix


def room_url(channel: dict[str, Any]) -> str:
    """A link that opens ``channel`` (as Slack describes it) in Slack."""
    team = channel.get("context_team_id") or channel.get("team")
    if isinstance(team, str) and team:
        return f"https://app.slack.com/client/{team}/{channel['id']}"
    return f"https://slack.com/app_redirect?channel={channel['id']}"


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _room(channel: dict[str, Any]) -> Room:
    return Room(channel_id=str(channel["id"]), name=str(channel["name"]), url=room_url(channel))


class RoomActivities:
    """Opens incidents' rooms with the Slack bot of the settings (None: no bot, no rooms)."""

    def __init__(
        self, slack: SlackSender | None, directory: DirectorySource = no_directory
    ) -> None:
        self._slack = slack
        self._directory = directory

    @activity.defn(name="room.open")
    async def open_room(self, request: RoomRequest) -> Room | None:
        """The incident's channel, opened or found; None when no Slack bot is configured.

        Slack refusing (a missing scope, a bad token) fails for good; Slack not
        answering, or answering that it cannot now, is retried.
        """
        slack = self._slack
        if slack is None or not slack.configured:
            return None
        for suffix in SUFFIXES:
            name = room_name(request.human_id, request.title, suffix)
            answer = await slack.call("conversations.create", {"name": name, "is_private": "false"})
            if answer.get("ok") is True:
                return await self._invite(slack, _room(answer["channel"]), request.service)
            error = str(answer.get("error") or "no ok in its answer")
            if error != "name_taken":
                raise ApplicationError(
                    f"Slack conversations.create: {error}", type="SlackRefused", non_retryable=True
                )
            found = await self._find(slack, name)
            if found is not None:
                return await self._invite(slack, found, request.service)
        raise ApplicationError(
            f"Slack conversations.create: every name for {request.human_id} is taken",
            type="SlackRefused",
            non_retryable=True,
        )

    async def _invite(self, slack: SlackSender, room: Room, service: str | None) -> Room:
        """``room`` with the responders invited (or the reason none could be)."""
        members = await self._responders(service)
        if not members:
            return room
        answer = await slack.call(
            "conversations.invite",
            {"channel": room.channel_id, "users": ",".join(members.values()), "force": "true"},
        )
        error = answer.get("error")
        if answer.get("ok") is True or error in INVITED_ANYWAY:
            return room.model_copy(update={"invited": list(members)})
        why = f"Slack conversations.invite: {error or 'no ok in its answer'}"
        return room.model_copy(update={"not_invited": why})

    async def _responders(self, service: str | None) -> dict[str, str]:
        """The Slack member ID of each responder to invite, by handle."""
        directory = await self._directory()
        if directory is None:
            return {}
        now = datetime.now(UTC)
        try:
            handles = [h for h, _ in all_on_call(directory, service, now)]
            handles += page_targets(directory, service, 0, now)
        except NoSuchService:
            return {}
        members: dict[str, str] = {}
        for handle in dict.fromkeys(handles):
            person = directory.person(handle)
            if person is None:
                continue
            for method in person.contact:
                if method.kind is ContactKind.SLACK and MEMBER_ID.fullmatch(method.address):
                    members[handle] = method.address
                    break
        return members

    async def _find(self, slack: SlackSender, name: str) -> Room | None:
        """The unarchived public channel called ``name``, if the bot can see one."""
        cursor = ""
        for _ in range(LIST_PAGES):
            arguments = {"types": "public_channel", "exclude_archived": "true", "limit": "200"}
            if cursor:
                arguments["cursor"] = cursor
            answer = await slack.call("conversations.list", arguments)
            if answer.get("ok") is not True:
                return None
            for channel in answer.get("channels") or []:
                if isinstance(channel, dict) and channel.get("name") == name:
                    return _room(channel)
            cursor = str((answer.get("response_metadata") or {}).get("next_cursor") or "")
            if not cursor:
                return None
        return None
