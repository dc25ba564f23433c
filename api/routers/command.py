"""/api/v3/command: Radarr's commands that a download queue runs (core.commands)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Request
from pydantic import ConfigDict, Field
from pydantic.alias_generators import to_camel
from starlette.responses import Response

from api.bodies import require_json
from api.deferred_route import DeferredRoute
from api.params import INT32, ContainerDep, valid_id
from api.resources import radarr_timespan
from api.responses import JSON, empty_ok, json_response
from api.routers.queue import ERRORS
from api.schemas import Body, Message, Out
from core.commands import CommandRun, CommandService, CommandStatus
from core.errors import NotFound
from infrastructure.bootstrap import Container

router = APIRouter(prefix="/api/v3/command", tags=["Command"], route_class=DeferredRoute)

CommandId = Annotated[int, Path(ge=-INT32 - 1, le=INT32, description="Command id.")]
DATE: dict[str, Any] = {"format": "date-time"}
_RESULT = {CommandStatus.COMPLETED: "successful", CommandStatus.FAILED: "unsuccessful"}


class CommandBody(Body):
    """What Radarr's POST /command reads: the command's name, in any case; the fields
    other commands take are ignored, as Radarr's command types ignore unknown ones."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True,
                              extra="ignore")

    name: Annotated[str | None, Field(max_length=200)] = None
    send_updates_to_client: bool = False


class CommandBodyOut(Out):
    """Radarr's Command: the command as it was queued."""

    send_updates_to_client: bool
    update_scheduled_task: bool
    completion_message: str
    requires_disk_access: bool
    is_exclusive: bool
    is_type_exclusive: bool
    is_long_running: bool
    name: str
    trigger: Literal["manual"]
    suppress_messages: bool
    client_user_agent: str | None = None


class CommandResource(Out):
    """Radarr's CommandResource; null fields are omitted."""

    id: int
    name: str
    command_name: str
    message: str | None = None
    body: CommandBodyOut
    priority: Literal["normal"]
    status: Literal["queued", "started", "completed", "failed", "cancelled"]
    result: Literal["unknown", "successful", "unsuccessful"]
    queued: str = Field(json_schema_extra=DATE)
    started: str | None = Field(None, json_schema_extra=DATE)
    ended: str | None = Field(None, json_schema_extra=DATE)
    duration: str | None = Field(None, description="[d.]hh:mm:ss[.fffffff]")
    exception: str | None = None
    trigger: Literal["manual"]
    client_user_agent: str | None = None
    state_change_time: str | None = Field(None, json_schema_extra=DATE)
    send_updates_to_client: bool
    update_scheduled_task: bool


def commands_of(c: Container) -> CommandService:
    if c.commands is None:
        raise NotFound("Commands are not available in this process")
    return c.commands


def _duration(delta: timedelta) -> str:
    """.NET's TimeSpan as Radarr writes a command's duration (ticks: 7 decimals)."""
    whole = radarr_timespan(delta.total_seconds())
    return f"{whole}.{delta.microseconds:06d}0" if delta.microseconds else whole


def _words(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name)


def command_resource(run: CommandRun) -> dict[str, Any]:
    kind = run.kind
    agent = {"clientUserAgent": run.user_agent} if run.user_agent else {}
    resource: dict[str, Any] = {
        "id": run.id, "name": run.name, "commandName": _words(run.name),
        "body": {"sendUpdatesToClient": True, "updateScheduledTask": True,
                 "completionMessage": "Completed",
                 "requiresDiskAccess": kind.requires_disk_access, "isExclusive": False,
                 "isTypeExclusive": False, "isLongRunning": kind.is_long_running,
                 "name": run.name, "trigger": "manual",
                 "suppressMessages": not run.send_updates, **agent},
        "priority": "normal", "status": run.status.value,
        "result": "unknown" if run.delegated else _RESULT.get(run.status, "unknown"),
        "queued": run.queued_at, "trigger": "manual", **agent,
        "sendUpdatesToClient": True, "updateScheduledTask": True,
    }
    optional = {"message": run.message, "started": run.started_at, "ended": run.ended_at,
                "exception": run.exception, "stateChangeTime": run.started_at or run.ended_at,
                "duration": _duration(run.ended_at - run.started_at)
                if run.ended_at is not None and run.started_at is not None else None}
    resource.update({k: v for k, v in optional.items() if v is not None})
    return resource


def _agent(request: Request) -> str | None:
    """The caller's product, as Radarr shows it (the User-Agent's first token)."""
    words = request.headers.get("user-agent", "").split()
    return words[0][:100] if words else None


@router.post("", status_code=201, response_model=None,
             summary="Run a command (RefreshMonitoredDownloads, ProcessMonitoredDownloads)",
             openapi_extra={"requestBody": {"required": True, "content": {JSON: {
                 "schema": CommandBody.model_json_schema(by_alias=True)}}}},
             responses={201: {"model": CommandResource}, 400: ERRORS[400],
                        404: ERRORS[404]})
async def start(c: ContainerDep, request: Request) -> Response:
    """Queue the command and answer at once (201, its resource; it runs in the
    background). Names in any case; any other command is a 400 that lists the ones
    Queuarr runs. The same command already queued or running is answered instead."""
    body = await require_json(request, CommandBody)
    run = commands_of(c).start(body.name, user_agent=_agent(request),
                               send_updates=body.send_updates_to_client)
    response = json_response(command_resource(run), status=201)
    # Under QUEUARR_URL_BASE (or a server root path) the Location carries the base.
    response.headers["Location"] = f"{request.scope.get('root_path', '')}/api/v3/command/{run.id}"
    return response


@router.get("", response_model=list[CommandResource], summary="Recent commands",
            responses={404: ERRORS[404]})
async def list_commands(c: ContainerDep) -> Response:
    """The last 100 commands this process was given, newest first (kept in memory: a
    restart, or another replica, does not know them)."""
    return json_response([command_resource(r) for r in commands_of(c).all()])


@router.get("/{id}", response_model=CommandResource, summary="One command",
            responses={404: ERRORS[404], 400: ERRORS[400]})
async def get_command(c: ContainerDep, id: CommandId) -> Response:
    return json_response(command_resource(commands_of(c).get(valid_id(id))))


@router.delete("/{id}", response_class=Response, summary="Cancel a queued command",
               responses={200: {"description": "Cancelled (empty body)"},
                          404: ERRORS[404], 400: ERRORS[400],
                          409: {"model": Message, "description": "It started or ended"}})
async def cancel(c: ContainerDep, id: CommandId) -> Response:
    """Radarr's cancel: only a command still queued (waiting for the one running);
    409 once it started or ended."""
    commands_of(c).cancel(valid_id(id))
    return empty_ok()
