"""The fields of each custom-format specification and GET /customformat/schema, as Radarr
builds them (src/NzbDrone.Core/CustomFormats/Specifications/*.cs through
Radarr.Http.ClientSchema.SchemaBuilder, labels from Localization/Core/en.json): in
Radarr's order, with its labels, types, units, select options and defaults, and the
presets that carry condition names (Radarr's six release-title presets, then every
condition of every stored format as "Format: Condition")."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from core.formats import BUILDERS, CustomFormat, Specification
from core.quality import LANGUAGES, UNKNOWN_LANGUAGE

INFO_LINK = "https://wiki.servarr.com/radarr/settings#custom-formats-2"
Options = Callable[[], list[dict[str, Any]]]


def _enum(members: Iterable[tuple[str, int]]) -> Options:
    """A C# enum's options: its name (underscores as spaces), value and value as order."""
    options = [{"value": v, "name": n.replace("_", " "), "order": v, "dividerAfter": False}
               for n, v in members]
    return lambda: sorted(options, key=lambda o: o["order"])


def _languages() -> list[dict[str, Any]]:
    """LanguageFieldConverter: Any, Original, Unknown (then a divider), then by name."""
    ordered = sorted(LANGUAGES.items(), key=lambda kv: (kv[0] > 0, kv[1]))
    return [{"value": i, "name": n, "order": 0, "dividerAfter": i == UNKNOWN_LANGUAGE.id}
            for i, n in ordered]


@dataclass(frozen=True, slots=True)
class FormatField:
    name: str
    label: str
    type: str = "textbox"
    default: Any = None  # Radarr's: null (omitted) for text, 0 for numbers, false
    help: str | None = None
    unit: str | None = None
    is_float: bool = False
    options: Options | None = None


_REGEX = (FormatField("value", "Regular Expression",
                      help="Custom Format RegEx is Case Insensitive"),)
_SELECTS = {
    "ResolutionSpecification": ("Resolution", _enum([
        ("Unknown", 0), ("R360p", 360), ("R480p", 480), ("R540p", 540), ("R576p", 576),
        ("R720p", 720), ("R1080p", 1080), ("R2160p", 2160)])),
    "SourceSpecification": ("Source", _enum((n, i) for i, n in enumerate((
        "UNKNOWN", "CAM", "TELESYNC", "TELECINE", "WORKPRINT", "DVD", "TV", "WEBDL", "WEBRIP",
        "BLURAY")))),
    "QualityModifierSpecification": ("Quality Modifier", _enum((n, i) for i, n in enumerate((
        "NONE", "REGIONAL", "SCREENER", "RAWHD", "BRDISK", "REMUX")))),
    # IndexerFlags without its [Obsolete] AHD_Internal (64) and AHD_UserRelease (1024)
    "IndexerFlagSpecification": ("Flag", _enum([
        ("G_Freeleech", 1), ("G_Halfleech", 2), ("G_DoubleUpload", 4), ("PTP_Golden", 8),
        ("PTP_Approved", 16), ("G_Internal", 32), ("G_Scene", 128), ("G_Freeleech75", 256),
        ("G_Freeleech25", 512), ("Nuked", 2048)])),
}



def _select(implementation: str) -> tuple[FormatField, ...]:
    label, options = _SELECTS[implementation]
    return (FormatField("value", label, "select", 0, options=options),)


# Radarr's specifications by their Order (ReleaseTitle 1 ... Year 10), then Queuarr's own.
FORMAT_FIELDS: dict[str, tuple[FormatField, ...]] = {
    "ReleaseTitleSpecification": _REGEX,
    "EditionSpecification": _REGEX,
    "LanguageSpecification": (
        FormatField("value", "Language", "select", 0, options=_languages),
        FormatField("exceptLanguage", "Except Language", "checkbox", False,
                    "Matches if any language other than the selected language is present")),
    "IndexerFlagSpecification": _select("IndexerFlagSpecification"),
    "SourceSpecification": _select("SourceSpecification"),
    "ResolutionSpecification": _select("ResolutionSpecification"),
    "QualityModifierSpecification": _select("QualityModifierSpecification"),
    "SizeSpecification": (
        FormatField("min", "Minimum Size", "number", 0,
                    "Release must be greater than this size", "GB", True),
        FormatField("max", "Maximum Size", "number", 0,
                    "Release must be less than or equal to this size", "GB", True)),
    "ReleaseGroupSpecification": _REGEX,
    "YearSpecification": (FormatField("min", "Minimum Year", "number", 0),
                          FormatField("max", "Maximum Year", "number", 0)),
    # Queuarr's own (Radarr has neither)
    "IndexerSpecification": (FormatField("value", "Indexer"),),
    "DownloadProtocolSpecification": (FormatField("value", "Protocol", "select", 0),),
}
assert set(FORMAT_FIELDS) == set(BUILDERS), "every implementation has its fields"

# CustomFormatController.GetPresets: Radarr's own release-title presets.
PRESETS = (("x264", r"(x|h)\.?264"), ("x265", r"(((x|h)\.?265)|(HEVC))"),
           ("Simple Hardcoded Subs", r"subs?"),
           ("Hardcoded Subs", r"\b(?<hcsub>(\w+SUBS?)\b)|(?<hc>(HC|SUBBED))\b"),
           ("Surround Sound", r"DTS.?(HD|ES|X(?!\D))|TRUEHD|ATMOS|DD(\+|P).?([5-9])|EAC3.?([5-9])"),
           ("Preferred Words", r"\b(SPARKS|Framestor)\b"))


def implementation_name(implementation: str) -> str:
    base = implementation.removesuffix("Specification")
    return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", base)


def fields_json(implementation: str, values: Mapping[str, Any] | None
                ) -> list[dict[str, Any]]:
    """Radarr's Field list of a specification; `values` None: a blank one (the defaults).
    Values Radarr has no field for (a TRaSH import's extras) follow as textboxes."""
    meta = FORMAT_FIELDS.get(implementation, ())
    given = values or {}
    extra = [n for n in given if n not in {m.name for m in meta}]
    out: list[dict[str, Any]] = []
    for order, spec in enumerate([*meta, *(FormatField(n, n) for n in extra)]):
        field: dict[str, Any] = {"order": order, "name": spec.name, "label": spec.label}
        if spec.unit is not None:
            field["unit"] = spec.unit
        if spec.help is not None:
            field["helpText"] = spec.help
        # a stored specification shows what it holds (a missing number stays missing:
        # 0 would change what it matches when sent back); a blank one Radarr's defaults
        fallback = spec.default if values is None or spec.type == "checkbox" else None
        value = given.get(spec.name, fallback)
        if value is not None:
            field["value"] = value
        field.update(type=spec.type, advanced=False)
        if spec.options is not None:
            field["selectOptions"] = spec.options()
        field.update(privacy="normal", isFloat=spec.is_float)
        out.append(field)
    return out


def specification_json(spec: Specification) -> dict[str, Any]:
    return {"name": spec.name, "implementation": spec.implementation,
            "implementationName": implementation_name(spec.implementation),
            "infoLink": INFO_LINK, "negate": spec.negate, "required": spec.required,
            "fields": fields_json(spec.implementation, spec.fields)}


def format_schema(formats: Iterable[CustomFormat]) -> list[dict[str, Any]]:
    """GET /customformat/schema: a blank specification of every implementation (no
    name: Radarr's is null, so left out), each with its presets."""
    presets: dict[str, list[dict[str, Any]]] = {impl: [] for impl in FORMAT_FIELDS}
    for name, pattern in PRESETS:
        presets["ReleaseTitleSpecification"].append(specification_json(
            Specification(name, "ReleaseTitleSpecification", fields={"value": pattern})))
    for fmt in formats:
        for spec in fmt.specifications:
            if spec.implementation in presets:
                named = Specification(f"{fmt.name}: {spec.name}", spec.implementation,
                                      spec.negate, spec.required, spec.fields)
                presets[spec.implementation].append(specification_json(named))
    return [{"implementation": impl, "implementationName": implementation_name(impl),
             "infoLink": INFO_LINK, "negate": False, "required": False,
             "fields": fields_json(impl, None), "presets": presets[impl]}
            for impl in FORMAT_FIELDS]
