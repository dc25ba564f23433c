"""Custom formats, with Radarr's matching rules.

A format is a list of specifications. Specifications are grouped by type; a group
matches when none of its `required` specs failed and at least one spec matched; the
format applies when every group matches (so a format without specifications applies to
everything, as in Radarr). `negate` flips one spec before grouping."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from core.errors import BadRequest
from core.quality import LANGUAGES, MODIFIER_ID, SOURCE_ID
from core.release import ParsedRelease, Release

GIB = 1024**3
ANY_LANGUAGE, ORIGINAL_LANGUAGE, ENGLISH = -1, -2, 1


class PatternCompiler(Protocol):
    """Compiles a custom-format regular expression the way Radarr does (case-insensitive,
    .NET-like syntax, variable-width look-behinds allowed). The predicate answers False
    when a match runs past the time limit. Raises ValueError for a bad pattern."""

    def compile(self, pattern: str) -> Callable[[str], bool]: ...


@dataclass(frozen=True, slots=True)
class Specification:
    name: str
    implementation: str
    negate: bool = False
    required: bool = False
    fields: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CustomFormat:
    id: int
    name: str
    specifications: tuple[Specification, ...] = ()
    include_when_renaming: bool = False


@dataclass(frozen=True, slots=True)
class Candidate:
    """What specifications look at: the release, its parsed title, and the language a
    title that names none is taken to be in (Radarr takes the movie's original
    language; Queuarr does not know the movie: QUEUARR_ORIGINAL_LANGUAGE)."""

    release: Release
    parsed: ParsedRelease
    original_language: int = ENGLISH

    @property
    def language_ids(self) -> tuple[int, ...]:
        named = tuple(lang.id for lang in self.parsed.languages if lang.id > 0)
        return named or (self.original_language,)


Predicate = Callable[[Candidate], bool]


def _field(spec: Specification, name: str) -> Any:
    if name not in spec.fields or spec.fields[name] is None:
        raise BadRequest(f"Specification {spec.name!r} ({spec.implementation}) needs the "
                         f"field {name!r}")
    return spec.fields[name]


def _int(spec: Specification, name: str) -> int:
    return int(_number(spec, name, int))


def _number(spec: Specification, name: str, kind: type[float] | type[int] = float) -> float:
    value = _field(spec, name)
    try:
        return kind(value)
    except (TypeError, ValueError):
        raise BadRequest(f"Specification {spec.name!r}: {name} must be a number, "
                         f"got {value!r}") from None


def _pattern(spec: Specification, compiler: PatternCompiler) -> Callable[[str], bool]:
    value = _field(spec, "value")
    if not isinstance(value, str) or not value:
        raise BadRequest(f"Specification {spec.name!r}: value must be a regular expression")
    try:
        return compiler.compile(value)
    except ValueError as exc:
        raise BadRequest(f"Specification {spec.name!r}: invalid regular expression "
                         f"{value!r}: {exc}") from None


def _release_title(spec: Specification, c: PatternCompiler) -> Predicate:
    match = _pattern(spec, c)
    return lambda x: match(x.parsed.release_title)


def _release_group(spec: Specification, c: PatternCompiler) -> Predicate:
    match = _pattern(spec, c)
    return lambda x: x.parsed.group is not None and match(x.parsed.group)


def _edition(spec: Specification, c: PatternCompiler) -> Predicate:
    match = _pattern(spec, c)
    return lambda x: x.parsed.edition is not None and match(x.parsed.edition)


def _resolution(spec: Specification, c: PatternCompiler) -> Predicate:
    """The quality's resolution, as Radarr reads it (a DVD is 480, a BR-DISK 1080)."""
    value = _int(spec, "value")
    return lambda x: x.parsed.quality.quality.resolution == value


def _source(spec: Specification, c: PatternCompiler) -> Predicate:
    value = _int(spec, "value")
    if value not in SOURCE_ID.values():
        raise BadRequest(f"Specification {spec.name!r}: unknown source {value}")
    return lambda x: SOURCE_ID[x.parsed.quality.quality.source] == value


def _modifier(spec: Specification, c: PatternCompiler) -> Predicate:
    value = _int(spec, "value")
    if value not in MODIFIER_ID.values():
        raise BadRequest(f"Specification {spec.name!r}: unknown quality modifier {value}")
    return lambda x: MODIFIER_ID[x.parsed.quality.quality.modifier] == value


def _size(spec: Specification, c: PatternCompiler) -> Predicate:
    low, high = _number(spec, "min") * GIB, _number(spec, "max") * GIB
    return lambda x: low < x.release.size <= high


def _indexer_flag(spec: Specification, c: PatternCompiler) -> Predicate:
    value = _int(spec, "value")
    return lambda x: value != 0 and x.release.indexer_flags & value == value


def _language(spec: Specification, c: PatternCompiler) -> Predicate:
    """Radarr's LanguageSpecification: the release is in the language (Original: the
    movie's original language), or, with exceptLanguage, in any other."""
    value = _int(spec, "value")
    if value not in LANGUAGES:
        raise BadRequest(f"Specification {spec.name!r}: unknown language id {value}")
    except_language = bool(spec.fields.get("exceptLanguage") or False)
    if value == ANY_LANGUAGE:
        return lambda x: not except_language

    def matches(x: Candidate) -> bool:
        wanted = x.original_language if value == ORIGINAL_LANGUAGE else value
        if except_language:
            return any(lid != wanted for lid in x.language_ids)
        return wanted in x.language_ids

    return matches


def _year(spec: Specification, c: PatternCompiler) -> Predicate:
    low, high = _int(spec, "min"), _int(spec, "max")
    return lambda x: x.parsed.year is not None and low <= x.parsed.year <= high


def _indexer(spec: Specification, c: PatternCompiler) -> Predicate:
    value = _field(spec, "value")
    if isinstance(value, int) and not isinstance(value, bool):
        return lambda x: x.release.indexer_id == value
    wanted = str(value).strip().lower()
    return lambda x: (x.release.indexer or "").strip().lower() == wanted


def _protocol(spec: Specification, c: PatternCompiler) -> Predicate:
    value = _int(spec, "value")
    return lambda x: int(x.release.protocol) == value


BUILDERS: dict[str, Callable[[Specification, PatternCompiler], Predicate]] = {
    "ReleaseTitleSpecification": _release_title,
    "ReleaseGroupSpecification": _release_group,
    "EditionSpecification": _edition,
    "ResolutionSpecification": _resolution,
    "SourceSpecification": _source,
    "QualityModifierSpecification": _modifier,
    "SizeSpecification": _size,
    "IndexerFlagSpecification": _indexer_flag,
    "LanguageSpecification": _language,
    "YearSpecification": _year,
    "IndexerSpecification": _indexer,
    "DownloadProtocolSpecification": _protocol,
}


def _go_on() -> None:
    """No time budget."""


@dataclass(frozen=True, slots=True)
class FormatMatch:
    format: CustomFormat
    matched: tuple[str, ...]  # names of the specifications that matched


class CompiledFormat:
    """A custom format with its specifications compiled to predicates."""

    __slots__ = ("_groups", "format")

    def __init__(self, fmt: CustomFormat, compiler: PatternCompiler) -> None:
        self.format = fmt
        groups: dict[str, list[tuple[Specification, Predicate]]] = {}
        for spec in fmt.specifications:
            build = BUILDERS.get(spec.implementation)
            if build is None:
                raise BadRequest(
                    f"Specification {spec.name!r}: unknown implementation "
                    f"{spec.implementation!r}; known: {', '.join(sorted(BUILDERS))}")
            groups.setdefault(spec.implementation, []).append((spec, build(spec, compiler)))
        self._groups = tuple(tuple(g) for g in groups.values())

    def match(self, candidate: Candidate, check: Callable[[], None] = _go_on
              ) -> FormatMatch | None:
        """The match, or None; `check` is called before each specification (a time
        budget raises there)."""
        matched: list[str] = []
        for group in self._groups:
            any_matched = False
            for spec, predicate in group:
                check()
                hit = predicate(candidate) != spec.negate
                if hit:
                    any_matched = True
                    matched.append(spec.name)
                elif spec.required:
                    return None
            if not any_matched:
                return None
        return FormatMatch(self.format, tuple(matched))


def compile_formats(formats: Sequence[CustomFormat], compiler: PatternCompiler
                    ) -> list[CompiledFormat]:
    return [CompiledFormat(f, compiler) for f in formats]


def matching(formats: Sequence[CompiledFormat], candidate: Candidate,
             check: Callable[[], None] = _go_on) -> list[FormatMatch]:
    """The formats that apply to a candidate, in the order given."""
    out = []
    for fmt in formats:
        hit = fmt.match(candidate, check)
        if hit is not None:
            out.append(hit)
    return out
