"""Reading the project file and the layer files: every problem of every file collected, each
one line naming the file, the key, what was expected and the fix."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from pydantic import (
    TypeAdapter,
    ValidationError,
)

from hazardmap.config.distributions import DISTRIBUTIONS
from hazardmap.config.event import EventConfig, EventFile, resolve_event
from hazardmap.config.fields import StrictModel
from hazardmap.config.layers import LayerFile
from hazardmap.config.loaded import Config, LayerConfig
from hazardmap.config.project import ProjectFile
from hazardmap.config.uncertainty import check_paths
from hazardmap.errors import ConfigError, InputFileNotFoundError
from hazardmap.paths import real_path
from hazardmap.problems import Problems, shorten


def _read_toml(path: Path, role: str = "project file") -> dict[str, Any]:
    if not path.exists():
        fix = "give the project file with --config or create it" if role == "project file" else ""
        raise InputFileNotFoundError(f"{path}: {role} not found; {fix or 'check the path'}")
    if not path.is_file():
        raise ConfigError(f"{path}: the {role} is a folder or a device, not a file; give a file")
    try:
        text = path.read_bytes().removeprefix(b"\xef\xbb\xbf").decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text; save the file as UTF-8") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}; fix the syntax there") from None


_UNION_MEMBER_TAGS = frozenset({"float", "int", "str", "bool"})
_GENERIC_MEMBER_TAGS = ("list[", "tuple[", "dict[", "function-")


def _is_member_tag(part: object) -> bool:
    """pydantic's name for a member of a union in an error's location (e.g. 'float')."""
    text = str(part)
    return text in _UNION_MEMBER_TAGS or text.startswith(_GENERIC_MEMBER_TAGS)


def _key_path(error: Mapping[str, Any]) -> tuple[str, ...]:
    """The error's location without pydantic's union-member tags; a parameter path of
    [uncertainty.parameters] quoted (it holds dots), without its distribution's tag."""
    loc = [str(part) for part in error["loc"] if not _is_member_tag(part)]
    if loc[:2] == ["uncertainty", "parameters"] and len(loc) > 2:
        loc[2] = f'"{loc[2]}"'
        if len(loc) > 3 and loc[3] in DISTRIBUTIONS:
            del loc[3]
    return tuple(loc)


_PATTERNS = {
    r"^[A-Za-z0-9_\-]+$": "use letters, digits, '_' and '-' only",
    r"^[a-z][a-z0-9_]*$": "use lower-case letters, digits and '_', starting with a letter",
}
"""What a name's pattern asks for, in words."""


def _fix(error: Mapping[str, Any]) -> str:
    """What to do about one of pydantic's own errors."""
    ctx = {k: f"{v:g}" if isinstance(v, float) else v for k, v in (error.get("ctx") or {}).items()}
    kind = str(error["type"])
    fixes = {
        "greater_than": lambda: f"set a number greater than {ctx.get('gt')}",
        "greater_than_equal": lambda: f"set a number of at least {ctx.get('ge')}",
        "less_than": lambda: f"set a number below {ctx.get('lt')}",
        "less_than_equal": lambda: f"set a number of at most {ctx.get('le')}",
        "finite_number": lambda: "set a finite number (inf and nan are not allowed here)",
        "string_pattern_mismatch": lambda: _PATTERNS.get(
            str(ctx.get("pattern")), f"match the pattern {ctx.get('pattern')}"
        ),
        "int_from_float": lambda: "give a whole number",
        "literal_error": lambda: f"use one of {ctx.get('expected')}",
        "union_tag_invalid": lambda: f"use one of {ctx.get('expected_tags')}",
        "union_tag_not_found": lambda: (
            f"add {ctx.get('discriminator')} = one of "
            + ", ".join(f'"{tag}"' for tag in DISTRIBUTIONS)
        ),
    }
    if kind in fixes:
        return fixes[kind]()
    return "give a value of the right type" if kind.endswith(("_type", "_parsing")) else "fix it"


def _describe(error: Mapping[str, Any]) -> str:
    """One pydantic error as a sentence that names the key and says what to do."""
    loc = list(_key_path(error))
    key = loc[-1] if loc else ""
    where = f"[{'.'.join(loc[:-1])}]" if len(loc) > 1 else "the top level"
    if error["type"] == "extra_forbidden":
        return f"unknown key '{key}' in {where}; remove it or correct its spelling"
    if error["type"] == "missing":
        return f"missing key '{key}' in {where}; add it"
    name = ".".join(loc)
    if error["type"] == "value_error":  # our own validators: the message says what to do
        message = str(error["msg"]).removeprefix("Value error, ")
        return f"{name}: {message}" if name else message
    got = "" if "got" in str(error["msg"]) else f", got {shorten(error.get('input'))}"
    return f"{name or 'file'}: {error['msg']}{got}; {_fix(error)}"


def pydantic_problems(exc: ValidationError, path: Path) -> list[str]:
    """One line per key at fault. Where a value fits no member of a union (a ratio or a
    table), the member whose type it has explains why, not the type mismatch of the other."""
    errors = [dict(e) for e in exc.errors()]
    paths = [_key_path(e) for e in errors]
    first_per_key: dict[tuple[str, ...], dict[str, Any]] = {}
    for error, key in zip(errors, paths, strict=True):
        deeper = any(len(other) > len(key) and other[: len(key)] == key for other in paths)
        if str(error["type"]).endswith("_type") and deeper:
            continue
        first_per_key.setdefault(key, error)
    return [f"{path}: {_describe(e)}" for e in first_per_key.values()]


def _validate(model: type[StrictModel], data: dict[str, Any], path: Path) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(*pydantic_problems(exc, path)) from None


def load_layer(path: Path) -> LayerConfig:
    """Read and validate one layer file."""
    spec = _validate(LayerFile, _read_toml(path, "layer file"), path)
    return LayerConfig(file=real_path(path), spec=spec)


def load_event(path: Path, config: Config) -> EventConfig:
    """Read and validate an event file against its project."""
    spec = _validate(EventFile, _read_toml(path, "event file"), path)
    return resolve_event(spec, path, config)


@dataclass(frozen=True)
class ConfigDraft:
    """Whatever could be read of a project: the whole ``config`` when every file is valid;
    otherwise the valid sections of the project file and the valid layer files, so that
    ``validate`` can go on to check the inputs they name."""

    file: Path
    sections: Mapping[str, Any]
    layers: tuple[LayerConfig, ...]
    config: Config | None

    def resolve(self, path: Path) -> Path:
        return real_path(self.file.parent / path)


def _read_sections(
    data: dict[str, Any], path: Path, problems: Problems
) -> tuple[ProjectFile | None, dict[str, Any]]:
    """The project file, and its sections; when it is not valid (its problems recorded),
    None and each section that validates on its own."""
    try:
        project = ProjectFile.model_validate(data)
    except ValidationError as exc:
        problems.record(ConfigError(*pydantic_problems(exc, path)))
    else:
        return project, dict(project)
    sections: dict[str, Any] = {}
    for name, field in ProjectFile.model_fields.items():
        if name not in data and not field.is_required():
            sections[name] = field.get_default(call_default_factory=True)
            continue
        try:
            adapter: TypeAdapter[Any] = TypeAdapter(field.annotation)  # type: ignore[arg-type]
            sections[name] = adapter.validate_python(data[name])
        except (KeyError, ValidationError):
            continue
    return None, sections


def _layer_files(folder: Path, project_file: Path) -> list[Path]:
    """The layer files of a folder: its *.toml files, but for hidden ones (editors' lock
    and backup files such as .#hail.toml) and the project file itself."""
    return sorted(
        path
        for path in folder.glob("*.toml")
        if not path.name.startswith(".") and real_path(path) != project_file
    )


def _check_layer_names(layers: tuple[LayerConfig, ...]) -> list[str]:
    seen: dict[str, Path] = {}
    found = []
    for layer in layers:
        if layer.name in seen:
            found.append(
                f"{layer.file}: layer name '{layer.name}' is also used by "
                f"{seen[layer.name]}; give each layer its own name"
            )
        seen.setdefault(layer.name, layer.file)
    return found


def _check_interventions(project: ProjectFile, names: set[str], file: Path) -> list[str]:
    """The interventions' and the uncertain parameters' references to layers and
    interventions, checked against the layers read."""
    found = []
    listed = [p.name for p in project.interventions]
    for intervention in project.interventions:
        if intervention.hazard not in names:
            found.append(
                f"{file}: intervention '{intervention.name}' names hazard "
                f"'{intervention.hazard}', but the layers are {sorted(names)}; use one of those"
            )
        if listed.count(intervention.name) > 1:
            found.append(
                f"{file}: intervention name '{intervention.name}' is used more than once; "
                "give each intervention its own name"
            )
    if project.uncertainty is not None:
        found += [
            f"{file}: {problem}"
            for problem in check_paths(project.uncertainty, sorted(names), listed)[1]
        ]
    return list(dict.fromkeys(found))


def read_project(path: str | Path, problems: Problems) -> ConfigDraft:
    """Read the project file and every layer file, recording every problem in any of them
    (rather than stopping at the first)."""
    file = real_path(path)
    data = problems.attempt(lambda: _read_toml(file))
    if data is None:
        return ConfigDraft(file, {}, (), None)
    project, sections = _read_sections(data, file, problems)
    layers: tuple[LayerConfig, ...] = ()
    layers_section = sections.get("layers")
    layer_files_ok = False
    if layers_section is not None:
        layer_dir = real_path(file.parent / layers_section.dir)
        if not layer_dir.is_dir():
            problems.record(
                InputFileNotFoundError(
                    f"{file}: [layers] dir '{layers_section.dir}' is not a folder; "
                    "create it or fix the path"
                )
            )
        elif not (layer_files := _layer_files(layer_dir, file)):
            problems.record(
                ConfigError(f"{layer_dir}: no layer files (*.toml); add one file per hazard")
            )
        else:
            loaded = [problems.attempt(partial(load_layer, p)) for p in layer_files]
            layers = tuple(layer for layer in loaded if layer is not None)
            layer_files_ok = len(layers) == len(layer_files)
            naming = _check_layer_names(layers)
            if naming:
                problems.record(ConfigError(*naming))
                layer_files_ok = False
    config = None
    if project is not None and layer_files_ok:
        mismatches = _check_interventions(project, {layer.name for layer in layers}, file)
        if mismatches:
            problems.record(ConfigError(*mismatches))
        else:
            warnings = tuple(w for layer in layers for w in layer.warnings())
            config = Config(file=file, settings=project, layers=layers, warnings=warnings)
    return ConfigDraft(file, sections, layers, config)


def load_config(path: str | Path = "hazardmap.toml") -> Config:
    """Read and validate a project file and every layer file of its layer folder; a
    ConfigError lists every problem found in any of them."""
    problems = Problems()
    draft = read_project(path, problems)
    problems.raise_errors()
    assert draft.config is not None  # no error recorded means every part was read
    return draft.config
