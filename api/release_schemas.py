"""Request bodies (and documented responses) of the release-selection endpoints, in
Radarr's resource shapes: CustomFormatResource, QualityProfileResource, ReleaseResource.
Fields Radarr sends back and forth but Queuarr does not read are accepted and ignored, so
a resource fetched from Radarr (or a TRaSH JSON file) can be posted as it is."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.alias_generators import to_camel

from api.schemas import INT32, FieldValue, PriorityName, Protocol


class Loose(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore",
                              defer_build=True)


Int32 = Annotated[int, Field(ge=-INT32 - 1, le=INT32)]


class SpecificationBody(Loose):
    name: Annotated[str, Field(max_length=200)] = ""
    implementation: Annotated[str, Field(max_length=100, description=(
        "ReleaseTitleSpecification, ReleaseGroupSpecification, EditionSpecification, "
        "ResolutionSpecification, SourceSpecification, QualityModifierSpecification, "
        "SizeSpecification, IndexerFlagSpecification, LanguageSpecification, "
        "YearSpecification, IndexerSpecification or DownloadProtocolSpecification"))]
    negate: bool = False
    required: bool = False
    fields: Annotated[list[FieldValue] | dict[str, Any], Field(description=(
        "Radarr's list of {name, value}, or TRaSH's {name: value} object"))] = []

    def field_map(self) -> dict[str, Any]:
        if isinstance(self.fields, dict):
            return dict(self.fields)
        return {f.name: f.value for f in self.fields}


class CustomFormatBody(Loose):
    """Radarr's CustomFormatResource, or a Radarr/TRaSH custom-format JSON file."""

    id: int | None = None
    name: Annotated[str, Field(min_length=1, max_length=200)]
    include_custom_format_when_renaming: bool | None = False
    specifications: Annotated[list[SpecificationBody], Field(max_length=200)] = []


class QualityRef(Loose):
    id: Int32
    name: str | None = None


class ProfileItemBody(Loose):
    id: Int32 | None = None
    name: Annotated[str | None, Field(max_length=200)] = None
    quality: QualityRef | None = None
    items: Annotated[list[ProfileItemBody], Field(max_length=100)] = []
    allowed: bool = False


class FormatItemBody(Loose):
    format: Int32
    name: str | None = None
    score: Int32 = 0


class LanguageRef(Loose):
    id: Int32
    name: str | None = None


class QualityProfileBody(Loose):
    """Radarr's QualityProfileResource."""

    id: int | None = None
    name: Annotated[str, Field(min_length=1, max_length=200)]
    upgrade_allowed: bool = True
    cutoff: Int32
    items: Annotated[list[ProfileItemBody], Field(min_length=1, max_length=100)]
    min_format_score: Int32 = 0
    cutoff_format_score: Int32 = 0
    min_upgrade_format_score: Annotated[int, Field(ge=1, le=INT32)] = 1
    format_items: Annotated[list[FormatItemBody], Field(max_length=10_000)] = []
    language: LanguageRef | None = None


class ReleaseBody(Loose):
    """Radarr's ReleaseResource as autobrr, Prowlarr and scripts push it (the fields a
    decision reads; the rest is ignored)."""

    title: Annotated[str, Field(min_length=1, max_length=1000)]
    download_url: Annotated[str | None, Field(max_length=65536)] = None
    magnet_url: Annotated[str | None, Field(max_length=65536)] = None
    info_hash: Annotated[str | None, Field(max_length=100)] = None
    guid: Annotated[str | None, Field(max_length=2000)] = None
    protocol: Protocol | int = Protocol.TORRENT
    publish_date: datetime | None = None
    size: Annotated[int, Field(ge=0, le=2**63 - 1)] = 0
    indexer: Annotated[str | None, Field(max_length=200)] = None
    indexer_id: Int32 = 0
    indexer_priority: Annotated[int | None, Field(ge=1, le=50, description=(
        "Radarr's indexer priority, 1 (preferred) to 50; default 25"))] = None
    seeders: Annotated[int | None, Field(ge=0, le=INT32)] = None
    leechers: Annotated[int | None, Field(ge=0, le=INT32)] = None
    indexer_flags: Annotated[int | list[str] | None, Field(description=(
        "Radarr's IndexerFlags bits, or their names (G_Freeleech, PTP_Golden...)"))] = None
    movie_id: Annotated[int | None, Field(ge=1, le=INT32)] = None
    quality_profile_id: Annotated[int | None, Field(ge=1, le=INT32, description=(
        "The quality profile to decide with (default: the lowest id)"))] = None
    download_client: Annotated[str | None, Field(max_length=200)] = None
    category: Annotated[str | None, Field(max_length=200)] = None
    priority: PriorityName = PriorityName.NORMAL

    @field_validator("protocol", mode="before")
    @classmethod
    def _protocol(cls, value: object) -> object:
        if isinstance(value, str):
            folded = value.strip().lower()
            if folded.isdigit():
                return int(folded)
            return folded
        return value


class ScoreBody(Loose):
    """Titles (or whole releases) to score; nothing is stored or grabbed."""

    titles: Annotated[list[Annotated[str, Field(min_length=1, max_length=1000)]],
                      Field(max_length=1000)] = []
    releases: Annotated[list[ReleaseBody], Field(max_length=1000)] = []
    quality_profile_id: Annotated[int | None, Field(ge=1, le=INT32)] = None
    movie_id: Annotated[int | None, Field(ge=1, le=INT32)] = None


class CandidatesBody(Loose):
    """POST /api/v3/queue/grab with several releases for one movie: the best approved one
    is grabbed, the others kept for the next-best re-grab."""

    releases: Annotated[list[ReleaseBody], Field(min_length=1, max_length=1000)]
    movie_id: Annotated[int | None, Field(ge=1, le=INT32)] = None
    quality_profile_id: Annotated[int | None, Field(ge=1, le=INT32)] = None
    priority: PriorityName = PriorityName.NORMAL
    download_client: Annotated[str | None, Field(max_length=200)] = None
    category: Annotated[str | None, Field(max_length=200)] = None


class MatchedFormat(BaseModel):
    id: int
    name: str
    score: int
    matched_specifications: list[str] = Field(alias="matchedSpecifications")


class ScoredRelease(BaseModel):
    """One entry of POST /api/v3/release/score."""

    title: str
    rank: int = Field(description="1 is the best; approved releases first")
    parsed: dict[str, Any]
    quality: dict[str, Any]
    languages: list[dict[str, Any]]
    custom_formats: list[MatchedFormat] = Field(alias="customFormats")
    custom_format_score: int = Field(alias="customFormatScore")
    quality_profile_id: int = Field(alias="qualityProfileId")
    approved: bool
    temporarily_rejected: bool = Field(alias="temporarilyRejected")
    rejected: bool
    rejections: list[str]
