"""Request bodies and the response shapes shown at /docs. Responses on hot paths are
built by api/resources.py; these models document them (and schemathesis checks that the
two agree)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

from core.listing import RadarrStatus, SortDirection

INT32 = 2**31 - 1


class Protocol(StrEnum):
    UNKNOWN = "unknown"
    USENET = "usenet"
    TORRENT = "torrent"


class PriorityName(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    VERY_HIGH = "veryHigh"


def _fold(name: str) -> str:
    return name.replace("_", "").lower()


class Body(BaseModel):
    """A JSON body read like Radarr reads one: property names in any case; Queuarr also
    accepts snake_case. Unknown properties are refused, so typos are caught."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid",
                              defer_build=True)

    @model_validator(mode="before")
    @classmethod
    def _case_insensitive(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        names = {_fold(n): (f.alias or n) for n, f in cls.model_fields.items()}
        out: dict[str, Any] = {}
        for key, value in data.items():
            canonical = names.get(_fold(key), key) if isinstance(key, str) else key
            out[canonical] = value
        return out


class MovieSnapshot(Body):
    title: Annotated[str | None, Field(max_length=1000)] = None
    year: Annotated[int | None, Field(ge=0, le=9999)] = None
    tmdb_id: Annotated[int | None, Field(ge=0, le=INT32)] = None
    imdb_id: Annotated[str | None, Field(max_length=16, pattern=r"^tt\d{1,12}$")] = None
    sort_title: Annotated[str | None, Field(max_length=1000)] = None


WEEK = 7 * 86400.0


class RetryPolicyBody(Body):
    """This grab's own retry policy (instead of QUEUARR_RETRY_DELAYS): seconds to wait
    after each transient failure; with `maxAttempts` beyond the list, delays grow by
    `factor` up to `cap`; `jitter` spreads each by up to that fraction."""

    delays: Annotated[list[Annotated[float, Field(ge=0, le=WEEK, allow_inf_nan=False)]],
                      Field(max_length=50)] = [0, 120, 480]
    max_attempts: Annotated[int | None, Field(ge=1, le=100)] = None
    factor: Annotated[float, Field(ge=1, le=10, allow_inf_nan=False)] = 2.0
    cap: Annotated[float, Field(gt=0, le=WEEK, allow_inf_nan=False)] = 3600.0
    jitter: Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)] = 0.0


class GrabBody(Body):
    """A release to add to the queue."""

    title: Annotated[str | None, Field(max_length=1000, description=(
        "Release title; taken from the magnet's dn, the .torrent's name or the URL when "
        "omitted."))] = None
    download_url: Annotated[str | None, Field(max_length=65536, description=(
        "A magnet link, a .torrent URL or a direct http(s) file."))] = None
    torrent_file: Annotated[str | None, Field(max_length=14_000_000, description=(
        "A .torrent file, base64-encoded (at most 10 MB decoded)."))] = None
    protocol: Protocol | None = None
    movie_id: Annotated[int | None, Field(ge=1, le=INT32)] = None
    movie: MovieSnapshot | None = None
    release_id: Annotated[str | int | None, Field(description="The indexer's release id.")] = None
    indexer: Annotated[str | None, Field(max_length=200)] = None
    size: Annotated[int | None, Field(ge=0, le=2**63 - 1, description="Bytes.")] = None
    seeders: Annotated[int | None, Field(ge=0, le=INT32)] = None
    leechers: Annotated[int | None, Field(ge=0, le=INT32)] = None
    priority: PriorityName = PriorityName.NORMAL
    download_client: Annotated[str | None, Field(max_length=200)] = None
    category: Annotated[str | None, Field(max_length=200)] = None
    force: Annotated[bool, Field(description=(
        "Grab again even if the same release already completed."))] = False
    retry_policy: RetryPolicyBody | None = None
    tags: Annotated[list[Annotated[int, Field(ge=1, le=INT32)]], Field(
        max_length=100, description="Tag ids (GET /api/v3/tag): the item goes to the "
        "download clients that share one, else to clients without tags.")] = []


class IdsBody(Body):
    """Radarr's QueueBulkResource / BlocklistBulkResource."""

    ids: Annotated[list[Annotated[int, Field(ge=-INT32 - 1, le=INT32)]],
                   Field(max_length=100_000)]


class RetryBody(Body):
    ids: Annotated[list[Annotated[int, Field(ge=-INT32 - 1, le=INT32)]] | None,
                   Field(max_length=100_000, description="Omit to retry every failed item.")
                   ] = None


class PriorityBody(Body):
    priority: PriorityName


# -- responses (documentation) ------------------------------------------------------------


class Out(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, defer_build=True)


class LanguageOut(Out):
    id: int
    name: str | None = None


class QualityOut(Out):
    id: int
    name: str | None = None
    source: str
    resolution: int
    modifier: str


class RevisionOut(Out):
    version: int
    real: int
    is_repack: bool


class QualityModelOut(Out):
    quality: QualityOut
    revision: RevisionOut


class CustomFormatOut(Out):
    id: int
    name: str | None = None


class StatusMessageOut(Out):
    title: str | None = None
    messages: list[str] | None = None


class MovieOut(Out):
    id: int
    title: str | None = None
    sort_title: str | None = None
    year: int | None = None
    tmdb_id: int | None = None
    imdb_id: str | None = None


class TrackedDownloadStatus(StrEnum):
    OK = "ok"
    WARNING = "warning"
    ERROR = "error"


class TrackedDownloadState(StrEnum):
    DOWNLOADING = "downloading"
    IMPORT_BLOCKED = "importBlocked"
    IMPORT_PENDING = "importPending"
    IMPORTING = "importing"
    IMPORTED = "imported"
    FAILED_PENDING = "failedPending"
    FAILED = "failed"
    IGNORED = "ignored"


class QueueResource(Out):
    """Radarr's QueueResource; null fields are omitted. Fields after `sizeleft` are
    Queuarr's own and ignored by Radarr clients."""

    id: int
    movie_id: int | None = None
    movie: MovieOut | None = None
    languages: list[LanguageOut]
    quality: QualityModelOut
    custom_formats: list[CustomFormatOut] | None = None
    custom_format_score: int
    size: float
    title: str
    estimated_completion_time: str | None = Field(None, json_schema_extra={"format": "date-time"})
    added: str = Field(json_schema_extra={"format": "date-time"})
    status: RadarrStatus
    tracked_download_status: TrackedDownloadStatus | None = None
    tracked_download_state: TrackedDownloadState | None = None
    status_messages: list[StatusMessageOut] | None = None
    error_message: str | None = None
    download_id: str | None = None
    protocol: Protocol
    download_client: str | None = None
    download_client_has_post_import_category: bool
    indexer: str | None = None
    output_path: str | None = None
    sizeleft: float = Field(alias="sizeleft")
    timeleft: str | None = Field(None, alias="timeleft", description="[d.]hh:mm:ss")
    queue_state: str = Field(description="Queuarr's internal state.")
    priority: PriorityName
    progress: float = Field(description="Percent done, 0-100.")
    download_speed: int = Field(description="Bytes per second.")
    upload_speed: int = Field(description="Bytes per second.")
    attempts: int
    next_attempt_at: str | None = Field(None, json_schema_extra={"format": "date-time"})
    info_hash: str | None = None
    category: str | None = None
    seeders: int | None = None
    leechers: int | None = None
    release_id: str | None = None
    source: str = Field(description="magnet, torrentFile, torrentUrl, http or video (a "
                        "page yt-dlp extracts).")
    group_id: int | None = Field(None, description="The playlist group it came from "
                                 "(/api/v3/queue/group/{id}).")
    routed_to: str | None = Field(None, description="In a grab's answer: the download "
                                  "client it goes to as things stand.")
    started_at: str | None = Field(None, json_schema_extra={"format": "date-time"})
    completed_at: str | None = Field(None, json_schema_extra={"format": "date-time"})


class QueuePage(Out):
    """Radarr's QueueResourcePagingResource."""

    page: int
    page_size: int
    sort_key: str
    sort_direction: SortDirection
    total_records: int
    records: list[QueueResource]


class QueueStatus(Out):
    """Radarr's QueueStatusResource."""

    total_count: int
    count: int
    unknown_count: int
    errors: bool
    warnings: bool
    unknown_errors: bool
    unknown_warnings: bool


class QueueStatistics(Out):
    """The seed's get_statistics: failed counts items waiting to retry and failed ones;
    permanentFailures only those that will not be retried."""

    pending: int
    downloading: int
    paused: int
    retrying: int
    completed: int
    failed: int
    permanent_failures: int
    total: int


class BlocklistResource(Out):
    id: int
    movie_id: int | None = None
    source_title: str
    languages: list[LanguageOut]
    quality: QualityModelOut
    custom_formats: list[CustomFormatOut]
    date: str = Field(json_schema_extra={"format": "date-time"})
    protocol: Protocol
    indexer: str | None = None
    message: str | None = None


class BlocklistPage(Out):
    page: int
    page_size: int
    sort_key: str
    sort_direction: SortDirection
    total_records: int
    records: list[BlocklistResource]


class HistoryData(Out):
    """What Radarr's HistoryResource has no field for (all values strings, as Radarr's
    `data` dictionary)."""

    item_id: str
    event: str
    from_state: str | None = None
    to_state: str | None = None
    message: str | None = None


class HistoryResource(Out):
    """Radarr's HistoryResource. `eventType` is Radarr's MovieHistoryEventType where it
    has one (`grabbed`, `downloadFailed`); Queuarr's own events keep their names:
    queued, sent, claimed, rescued, released, retryScheduled, clientUnavailable,
    noClient, clientWarning, stalled, paused, resumed, readded, downloadCompleted,
    removed, cleanedUp, retried, priorityChanged, waitingForSlot."""

    id: int
    movie_id: int
    source_title: str | None = None
    languages: list[LanguageOut]
    quality: QualityModelOut
    custom_formats: list[CustomFormatOut]
    custom_format_score: int
    quality_cutoff_not_met: bool
    date: str = Field(json_schema_extra={"format": "date-time"})
    download_id: str | None = None
    event_type: str
    data: HistoryData


class HistoryPage(Out):
    page: int
    page_size: int
    sort_key: str
    sort_direction: SortDirection
    total_records: int
    records: list[HistoryResource]


class HealthResource(Out):
    """Radarr's HealthResource: one problem (or `ok`) per source."""

    id: int
    source: str
    type: str = Field(json_schema_extra={"enum": ["ok", "notice", "warning", "error"]})
    message: str
    wiki_url: str | None = None


class DiskSpaceResource(Out):
    """Radarr's DiskSpaceResource: one per download root."""

    id: int
    path: str
    label: str
    free_space: int
    total_space: int


class IdsOut(Out):
    ids: list[int]


class DispatchOut(Out):
    """Whether the processor sends new downloads (PUT /queue/pause, /queue/resume)."""

    paused: bool


class RemovedOut(Out):
    removed: int


class Message(BaseModel):
    """An error body; for a parameter that cannot be bound, ASP.NET's problem details
    (type, title, status, errors, traceId) as Radarr answers, with the message."""

    message: str
    existing_id: int | None = Field(None, alias="existingId")
    content: str | None = None
    type: str | None = None
    title: str | None = None
    status: int | None = None
    errors: dict[str, list[str]] | None = None
    trace_id: str | None = Field(None, alias="traceId")


class ValidationFailureOut(BaseModel):
    """One entry of Radarr's 400 for a body that fails validation (FluentValidation's
    ValidationFailure, as RadarrErrorPipeline writes it)."""

    property_name: str = Field(alias="propertyName")
    error_message: str = Field(alias="errorMessage")
    attempted_value: Any = Field(None, alias="attemptedValue")
    severity: str = "error"
    error_code: str | None = Field(None, alias="errorCode")
    formatted_message_arguments: list[Any] | None = Field(
        None, alias="formattedMessageArguments")
    formatted_message_placeholder_values: dict[str, Any] | None = Field(
        None, alias="formattedMessagePlaceholderValues")


# A 400: {"message"}, problem details, or Radarr's array of validation failures.
BadRequestBody = Message | list[ValidationFailureOut]


class Empty(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)


class ForceGrabOut(Out):
    """Radarr's `{}` for a force-grab; while dispatching waits (PUT /queue/pause, or free
    space below QUEUARR_MIN_FREE_SPACE), also why nothing is sent yet."""

    dispatch_paused: bool | None = None
    message: str | None = None


class ApiInfo(Out):
    current: str
    deprecated: list[str]


class Ping(BaseModel):
    status: str


class SystemStatus(Out):
    """Radarr's SystemResource, filled with Queuarr's facts."""

    app_name: str
    instance_name: str
    version: str
    build_time: str
    is_debug: bool
    is_production: bool
    is_admin: bool
    is_user_interactive: bool
    startup_path: str
    app_data: str
    os_name: str
    os_version: str
    is_net_core: bool
    is_linux: bool
    is_osx: bool
    is_windows: bool
    is_docker: bool
    mode: str
    branch: str
    database_type: str
    database_version: str
    authentication: str
    migration_version: int
    url_base: str
    runtime_version: str
    runtime_name: str
    start_time: str
    package_version: str
    package_author: str
    package_update_mechanism: str


class FieldValue(BaseModel):
    """One entry of a provider's `fields[]`: only name and value are read; the rest of
    Radarr's Field (label, type, helpText...) is accepted and ignored, so a resource
    fetched from GET can be sent back as it is."""

    model_config = ConfigDict(extra="ignore")

    name: str
    value: Any = None


class DownloadClientBody(BaseModel):
    """Radarr's DownloadClientResource as a request body (read-only parts ignored)."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")

    id: int | None = None
    name: str | None = None
    implementation: str = Field(description="QBittorrent or Aria2")
    config_contract: str | None = None
    enable: bool = True
    priority: int = 1
    protocol: Protocol | None = None
    remove_completed_downloads: bool = True
    remove_failed_downloads: bool = True
    tags: list[Annotated[int, Field(ge=0, le=INT32)]] = Field(default=[], max_length=1000)
    fields: list[FieldValue] = Field(default=[], max_length=100)


class ProviderMessage(BaseModel):
    message: str | None = None
    type: str = "info"


class FieldResource(BaseModel):
    """Radarr's Field."""

    order: int
    name: str
    label: str
    value: Any = None
    type: str
    advanced: bool = False
    privacy: str = "normal"
    help_text: str | None = Field(default=None, alias="helpText")
    select_options: list[dict[str, Any]] | None = Field(default=None, alias="selectOptions")
    is_float: bool = Field(default=False, alias="isFloat")


class DownloadClientResource(BaseModel):
    """Radarr's DownloadClientResource; secrets come back as ********."""

    model_config = ConfigDict(populate_by_name=True)

    id: int
    name: str
    fields: list[FieldResource]
    implementation_name: str = Field(alias="implementationName")
    implementation: str
    config_contract: str = Field(alias="configContract")
    info_link: str = Field(alias="infoLink")
    message: ProviderMessage | None = None
    tags: list[int]
    presets: list[Any] | None = None
    enable: bool
    protocol: Protocol
    priority: int
    remove_completed_downloads: bool = Field(alias="removeCompletedDownloads")
    remove_failed_downloads: bool = Field(alias="removeFailedDownloads")


class DownloadClientTestResult(BaseModel):
    """One entry of POST /api/v3/downloadclient/testall."""

    id: int
    is_valid: bool = Field(alias="isValid")
    validation_failures: list[dict[str, Any]] = Field(alias="validationFailures")


class BulkResult(StrEnum):
    QUEUED = "queued"
    DUPLICATE = "duplicate"
    REFUSED = "refused"


class BulkGrabLine(Out):
    """What became of one line of a bulk grab: queued as item `id`, a duplicate of item
    `existingId`, or refused (`message` says why). `line` counts from 1, blank lines and
    comments included (for a JSON array, the element's position)."""

    line: int
    link: str
    result: BulkResult
    id: int | None = None
    download_client: str | None = None
    existing_id: int | None = None
    message: str | None = None
    group_id: int | None = Field(None, description="A playlist line: its group")
    ids: list[int] | None = Field(None, description="A playlist line: every item queued")
    skipped: int | None = Field(None, description="A playlist line: entries not queued "
                                "(already queued or blocklisted)")


class BulkGrabOut(Out):
    """The answer to a list of links: how many were queued, duplicates or refused, and
    each line's result in order."""

    queued: int
    duplicates: int
    refused: int
    results: list[BulkGrabLine]
