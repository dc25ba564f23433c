"""/api/v3/release/push (Radarr's, as autobrr and Prowlarr use it) and /release/score (a
dry run of the decision engine)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from api.bodies import require_json
from api.deferred_route import DeferredRoute
from api.params import ContainerDep
from api.release_resources import release_from_body, release_resource, scored_resource
from api.release_schemas import ReleaseBody, ScoreBody, ScoredRelease
from api.responses import json_response
from api.routers.queue import ERRORS, releases_of
from core.domain import Priority
from core.errors import BadRequest, ValidationFailed, ValidationFailure
from core.release import Release
from core.selection import GrabOptions

router = APIRouter(prefix="/api/v3/release", tags=["Release"], route_class=DeferredRoute)


def _body(name: str) -> dict[str, object]:
    return {"requestBody": {"required": True, "content": {"application/json": {
        "schema": {"$ref": f"#/components/schemas/{name}"}}}}}


@router.post("/push", response_model=None, summary="Push a release (autobrr, Prowlarr)",
             openapi_extra=_body("ReleaseBody"),
             responses={200: {"description": "Radarr's ReleaseResource array: the decision "
                              "(approved, rejected, rejections); `queueId` when grabbed"},
                        400: ERRORS[400]})
async def push(c: ContainerDep, request: Request) -> Response:
    """Decide on a release as Radarr does (quality profile, custom formats, blocklist,
    queue, upgrade over what completed) and grab it when approved. Every pushed release
    is kept as a candidate for its movie, for the next-best re-grab."""
    body = await require_json(request, ReleaseBody)
    release = release_from_body(body)
    if not release.link:  # Radarr's PostValidator: each NotEmpty when the other is empty
        raise ValidationFailed([
            ValidationFailure.not_empty(name, None, label)
            for name, label in (("DownloadUrl", "Download Url"), ("MagnetUrl", "Magnet Url"))])
    outcome = await releases_of(c).push(release, GrabOptions(
        priority=Priority.parse(body.priority.value), download_client=body.download_client,
        category=body.category))
    (decision,) = outcome.decisions
    return json_response([release_resource(
        decision, outcome.profile, c.clock.now(),
        outcome.item.id if outcome.item is not None else None)])


@router.post("/score", response_model=list[ScoredRelease],
             summary="Score releases without grabbing them", openapi_extra=_body("ScoreBody"),
             responses={400: ERRORS[400]})
async def score(c: ContainerDep, request: Request) -> Response:
    """For each title or release: the parsed fields, Radarr's quality, the custom formats
    that matched (and which of their specifications), the score, the decision with its
    rejections, and the rank among those sent (1 is the one that would be grabbed).
    Nothing is stored or grabbed."""
    body = await require_json(request, ScoreBody)
    releases = [release_from_body(r, body.movie_id) for r in body.releases]
    releases += [Release(title=t.strip(), movie_id=body.movie_id,
                         download_url=f"queuarr:score:{i}")
                 for i, t in enumerate(body.titles)]
    if not releases:
        raise BadRequest("Give titles or releases to score")
    outcome = await releases_of(c).score(releases, body.quality_profile_id)
    return json_response([scored_resource(d, rank, outcome.profile)
                          for rank, d in enumerate(outcome.decisions, start=1)])
