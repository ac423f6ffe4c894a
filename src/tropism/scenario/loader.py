"""Loading scenarios: files and built-ins, ``--set`` overrides, conditions, sources.

A scenario is read in four steps: the TOML text is parsed; the ``--set`` overrides
change the parsed tables (the *base*); the base is validated, which fills every default;
each ``[[conditions]]`` entry is the base with its ``set`` keys changed, validated again.
Every resolved value gets a source: ``"scenario file"``, ``"--set"``, or the source of
its default (:mod:`tropism.scenario.defaults`).
"""

from __future__ import annotations

import copy
import re
import tomllib
import types
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import tomli_w
from pydantic import BaseModel, ValidationError

from tropism.errors import ScenarioError, TropismError
from tropism.scenario.defaults import default_source
from tropism.scenario.schema import ASSAY_MODELS, MISSING, GradientAssay, Scenario

__all__ = [
    "ScenarioSpec",
    "apply_override",
    "list_builtin",
    "load_scenario",
    "parse_override",
]

USER_FILE = "scenario file"
USER_SET = "--set"
_UNSOURCED = "unsourced (bug: every default needs a source)"


# --- the loaded scenario ----------------------------------------------------------------------


@dataclass
class ScenarioSpec:
    """A loaded scenario: the resolved base and one resolved scenario per condition.

    Attributes
    ----------
    base
        The validated scenario with every default filled in (``--set`` applied).
    conditions
        ``(name, scenario)`` per ``[[conditions]]`` entry, in file order (the first is
        the control); ``[("baseline", base)]`` when the file has none.
    sources
        Dotted key -> source of every leaf of ``base``: ``"scenario file"``, ``"--set"``
        or the source of the default.
    path
        Where it came from: ``"builtin:NAME"`` or the file path.
    """

    base: Scenario
    conditions: list[tuple[str, Scenario]]
    sources: dict[str, str]
    path: str
    overrides: tuple[str, ...] = field(default=())

    @property
    def condition_names(self) -> list[str]:
        """Names of the conditions, in order (the first is the control)."""
        return [name for name, _ in self.conditions]

    def to_toml(self) -> str:
        """The resolved scenario as TOML: every default written out with units.

        Each default's source is a trailing comment. ``[[conditions]]`` list each
        condition's changes against the base, so that :func:`load_scenario` of this text
        gives models equal to these.
        """
        data = self.base.model_dump(mode="json", exclude_none=True)
        comments = {k: v for k, v in self.sources.items() if v != USER_FILE}
        lines = [
            f"# Resolved scenario {self.base.scenario.name!r} from {self.path}.",
            "# Every default is written out; a trailing comment gives its source.",
        ]
        if self.overrides:
            lines.append(f"# --set: {'; '.join(self.overrides)}")
        _emit_table(lines, [], data, comments)
        return "\n".join(lines) + "\n"

    def describe(self) -> str:
        """Every resolved value with its source, one ``key = value   # source`` per line."""
        leaves = _leaves(_dump(self.base))
        rows = [
            (f"{key} = {_toml_value(value)}", self.sources.get(key, _UNSOURCED))
            for key, value in leaves.items()
        ]
        width = min(60, max((len(r[0]) for r in rows), default=0))
        lines = [f"# {self.base.scenario.name} ({self.path})"]
        lines += [f"{text.ljust(width)}   # {src}" for text, src in rows]
        lines.append("")
        lines.append("# conditions (the first is the control)")
        base_conditions = {c.name: c for c in self.base.conditions}
        for i, (name, _) in enumerate(self.conditions):
            cond = base_conditions.get(name)
            changes = cond.set if cond is not None else {}
            if not changes:
                lines.append(f"[{i}] {name!r}: as the base")
                continue
            lines.append(f"[{i}] {name!r}:")
            lines += [f"    {k} = {_toml_value(v)}" for k, v in changes.items()]
        return "\n".join(lines)


# --- loading ----------------------------------------------------------------------------------


def _builtin_dir() -> Any:
    return resources.files("tropism.scenario").joinpath("builtin")


def _builtin_names() -> list[str]:
    return sorted(
        p.name[: -len(".toml")] for p in _builtin_dir().iterdir() if p.name.endswith(".toml")
    )


def _not_found(what: str) -> TropismError:
    names = ", ".join(_builtin_names()) or "none"
    return TropismError(f"{what}: expected a .toml file or a built-in name ({names})")


def _read(source: str | Path) -> tuple[str, str]:
    """``(label, text)`` of a scenario file or built-in scenario."""
    text_source = str(source)
    looks_like_path = (
        isinstance(source, Path)
        or text_source.endswith(".toml")
        or "/" in text_source
        or "\\" in text_source
    )
    if not looks_like_path and text_source in _builtin_names():
        entry = _builtin_dir().joinpath(f"{text_source}.toml")
        return f"builtin:{text_source}", entry.read_text(encoding="utf-8")
    path = Path(source)
    if path.is_file():
        try:
            return str(path), path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise TropismError(f"cannot read scenario file '{path}': {exc}") from None
    if looks_like_path:
        raise _not_found(f"scenario file '{path}' not found")
    raise _not_found(f"unknown scenario '{text_source}'")


def _parse_toml(text: str, label: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        match = re.search(r"\(at line (\d+), column (\d+)\)", message)
        if match is None:
            raise ScenarioError(label, text[:40], f"valid TOML ({message})") from None
        line = int(match.group(1))
        reason = message[: match.start()].strip()
        lines = text.splitlines()
        shown = lines[line - 1].strip() if 0 < line <= len(lines) else ""
        raise ScenarioError(
            f"{label}:{line}", shown, f"valid TOML ({reason}, column {match.group(2)})"
        ) from None


def load_scenario(source: str | Path, overrides: Sequence[str] = ()) -> ScenarioSpec:
    """Load, resolve and validate a scenario.

    Parameters
    ----------
    source
        Path of a ``.toml`` file, or the name of a built-in scenario (:func:`list_builtin`).
    overrides
        ``"key=value"`` strings (the command line's ``--set``), applied to the base
        before the conditions.

    Returns
    -------
    ScenarioSpec

    Raises
    ------
    TropismError
        Unknown built-in name or missing file.
    ScenarioError
        Malformed TOML or any invalid value, with the key path, value and what was
        expected.

    Examples
    --------
    >>> spec = load_scenario("msc-gradient-cxcl12", ["cells.msc.count=50"])
    >>> spec.condition_names[0]
    'no chemokine'
    """
    label, text = _read(source)
    raw = _parse_toml(text, label)
    return _resolve(raw, list(overrides), label)


def _resolve(raw: dict[str, Any], overrides: list[str], label: str) -> ScenarioSpec:
    file_leaves = set(_leaves({k: v for k, v in raw.items() if k != "conditions"}))
    base_raw = copy.deepcopy(raw)
    set_keys: list[str] = []
    for item in overrides:
        key, value = parse_override(item)
        apply_override(base_raw, key, value)
        set_keys.append(key)
    base = _validate(base_raw)

    common = {k: v for k, v in base_raw.items() if k != "conditions"}
    base_dump = _dump(base)
    pairs: list[tuple[str, Scenario]] = []
    resolved_conditions = []
    user_set_keys: list[set[str]] = []
    for cond in base.conditions:
        where = f" (condition {cond.name!r})"
        data = copy.deepcopy(common)
        for key, value in cond.set.items():
            if key.split(".")[0].strip() == "conditions":
                raise ScenarioError(f"{key}{where}", value, "a scenario key outside [[conditions]]")
            try:
                apply_override(data, key, copy.deepcopy(value))
            except ScenarioError as exc:
                raise ScenarioError(f"{exc.key}{where}", exc.value, exc.expected) from None
        scenario = _validate(data, where)
        pairs.append((cond.name, scenario))
        # store the resolved changes, so that to_toml() reloads to equal models
        changes = _diff(base_dump, _dump(scenario))
        resolved_conditions.append(cond.model_copy(update={"set": changes}))
        user_set_keys.append(set(cond.set))
    if resolved_conditions:
        base = base.model_copy(update={"conditions": resolved_conditions})
    if not pairs:
        pairs = [("baseline", base)]

    kinds = {name: spec.kind for name, spec in base.cells.items()}
    sources: dict[str, str] = {}
    for key in _leaves(base_dump):
        if any(key == k or key.startswith(k + ".") for k in set_keys):
            sources[key] = USER_SET
        elif key in file_leaves:
            sources[key] = USER_FILE
        else:
            found = default_source(
                key,
                assay=base.scenario.assay,
                cell_kinds=kinds,
                tumour_kind=base.tumour.kind if base.tumour is not None else None,
            )
            sources[key] = found or _UNSOURCED
    for i, cond in enumerate(base.conditions):
        sources[f"conditions.{i}.name"] = USER_FILE
        sources[f"conditions.{i}.description"] = USER_FILE
        for key in cond.set:
            given = key in user_set_keys[i]
            sources[f"conditions.{i}.set.{key}"] = (
                USER_FILE if given else "derived: resolved from the condition's set"
            )
    return ScenarioSpec(base, pairs, sources, label, tuple(overrides))


def _validate(data: dict[str, Any], where: str = "") -> Scenario:
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise _to_scenario_error(exc, data, where) from None


def _to_scenario_error(exc: ValidationError, data: dict[str, Any], where: str) -> ScenarioError:
    """The first pydantic error as one ScenarioError: key path, value, what was expected."""
    err = exc.errors(include_url=False)[0]
    loc = [str(p) for p in err["loc"] if p != "[key]"]
    ctx = err.get("ctx") or {}
    value = err.get("input")
    if "key" in ctx:
        loc += str(ctx["key"]).split(".")
        value = ctx.get("value", value)
    kind = err["type"]
    message = err["msg"]
    if kind == "tropism":
        expected = str(ctx.get("expected", message))
    elif kind == "missing":
        value, expected = MISSING, "a value (this key is required)"
    elif kind == "extra_forbidden":
        expected = f"a known key ({_keys_at(loc[:-1], data)})"
    elif kind == "literal_error":
        expected = f"one of {ctx.get('expected', '')}"
    elif message.startswith("Input should be "):
        expected = message[len("Input should be ") :]
    elif message.startswith("Value error, "):
        expected = message[len("Value error, ") :]
    else:
        expected = message[:1].lower() + message[1:]
    key = ".".join(loc) or "scenario file"
    return ScenarioError(f"{key}{where}", value, expected)


def _keys_at(path: list[str], data: dict[str, Any]) -> str:
    try:
        tp = _type_at(path, data)
    except ScenarioError:
        return "see the documentation"
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return "valid keys: " + ", ".join(tp.model_fields)
    return "see the documentation"


# --- overrides --------------------------------------------------------------------------------


def parse_override(text: str) -> tuple[str, Any]:
    """Split ``"key=value"``; the value is read as TOML when it parses, else kept as text.

    >>> parse_override("cells.msc.count=2000")
    ('cells.msc.count', 2000)
    >>> parse_override("assay.source.cxcl12=50 ng/mL")
    ('assay.source.cxcl12', '50 ng/mL')
    """
    if not isinstance(text, str) or "=" not in text:
        raise ScenarioError("--set", text, "KEY=VALUE, such as 'cells.msc.count=2000'")
    key, _, value_text = text.partition("=")
    key, value_text = key.strip(), value_text.strip()
    try:
        value = tomllib.loads(f"v = {value_text}")["v"]
    except tomllib.TOMLDecodeError:
        value = value_text
    return key, value


def _unwrap(tp: Any) -> Any:
    while True:
        origin = get_origin(tp)
        if origin is Annotated:
            tp = get_args(tp)[0]
            continue
        if origin in (Union, types.UnionType):
            args = [a for a in get_args(tp) if a is not type(None)]
            if len(args) == 1:
                tp = args[0]
                continue
        return tp


def _literal_names(tp: Any) -> tuple[str, ...] | None:
    tp = _unwrap(tp)
    return tuple(get_args(tp)) if get_origin(tp) is Literal else None


def _child(tp: Any, part: str, key: str, parent: str, value: Any, data: dict) -> tuple[Any, bool]:
    """Type under ``part`` and whether a missing table there may be created.

    Errors name the whole ``key`` being set and the valid keys under ``parent``.
    """
    tp = _unwrap(tp)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        if part not in tp.model_fields:
            raise ScenarioError(
                key, value, f"a known key of {parent} ({', '.join(tp.model_fields)})"
            )
        if tp is Scenario and part == "assay":
            meta = data.get("scenario")
            name = meta.get("assay") if isinstance(meta, dict) else None
            return ASSAY_MODELS.get(name, GradientAssay), True
        return tp.model_fields[part].annotation, True
    if get_origin(tp) is dict:
        key_tp, value_tp = get_args(tp)
        names = _literal_names(key_tp)
        if names is not None and part not in names:
            raise ScenarioError(key, value, f"a known name under {parent} ({', '.join(names)})")
        return value_tp, names is not None
    if get_origin(tp) is list:
        raise ScenarioError(key, value, f"no keys below {parent} (set the whole list)")
    raise ScenarioError(key, value, f"no keys below {parent} (it is a single value)")


def _type_at(path: list[str], data: dict[str, Any]) -> Any:
    tp: Any = Scenario
    for i, part in enumerate(path):
        parent = ".".join(path[:i]) or "the scenario"
        tp, _ = _child(tp, part, ".".join(path[: i + 1]), parent, None, data)
    return _unwrap(tp)


def apply_override(data: dict, key: str, value: Any) -> None:
    """Set the dotted ``key`` of the raw scenario tables ``data`` to ``value``, in place.

    Shared by ``--set`` and ``[[conditions]]`` ``set``. The key must exist in the
    schema: a field of a model, or an entry of a table keyed by name. Tables keyed by a
    chemokine, receptor or drug accept any known name (``assay.source.ccl2`` adds a
    chemokine); ``cells.<name>`` must name an existing population (or set it whole).
    The value replaces what was there (a table value replaces the whole table).

    Raises
    ------
    ScenarioError
        The key does not exist, naming the valid keys at that level.
    """
    parts = [p.strip() for p in key.split(".")]
    if not key or any(not p for p in parts):
        raise ScenarioError(key, value, "a dotted key such as 'cells.msc.count'")
    tp: Any = Scenario
    node = data
    for i, part in enumerate(parts):
        parent = ".".join(parts[:i]) or "the scenario"
        last = i == len(parts) - 1
        child_tp, may_create = _child(tp, part, key, parent, value, data)
        if last:
            node[part] = value
            return
        child = node.get(part)
        if child is None:
            if not may_create:
                existing = ", ".join(str(k) for k in node) or "none"
                raise ScenarioError(key, value, f"an existing entry under {parent} ({existing})")
            child = node[part] = {}
        elif not isinstance(child, dict):
            here = ".".join(parts[: i + 1])
            raise ScenarioError(key, value, f"{here} to be a table, not {child!r}")
        node, tp = child, child_tp


# --- built-ins ----------------------------------------------------------------------------------


def list_builtin() -> list[tuple[str, str, str]]:
    """Built-in scenarios as ``(name, assay, one-line description)``, sorted by name."""
    out = []
    for name in _builtin_names():
        raw = _parse_toml(_builtin_dir().joinpath(f"{name}.toml").read_text("utf-8"), name)
        meta = raw.get("scenario", {})
        description = str(meta.get("description", "")).strip().splitlines()
        out.append((name, str(meta.get("assay", "")), description[0] if description else ""))
    return out


# --- dumping helpers ------------------------------------------------------------------------------


def _dump(scenario: Scenario) -> dict[str, Any]:
    data = scenario.model_dump(mode="json", exclude_none=True)
    data.pop("conditions", None)
    return data


def _leaves(data: Any, prefix: str = "") -> dict[str, Any]:
    """Dotted key -> scalar for every leaf (list items by index)."""
    out: dict[str, Any] = {}
    if isinstance(data, dict):
        for k, v in data.items():
            out.update(_leaves(v, f"{prefix}{k}."))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            out.update(_leaves(v, f"{prefix}{i}."))
    else:
        out[prefix[:-1]] = data
    return out


def _diff(a: dict[str, Any], b: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Dotted key -> value that turn ``a`` into ``b`` (a table losing keys is set whole)."""
    out: dict[str, Any] = {}
    for k, vb in b.items():
        key = f"{prefix}{k}"
        if k not in a:
            out[key] = vb
            continue
        va = a[k]
        if isinstance(va, dict) and isinstance(vb, dict):
            if set(va) - set(vb):
                out[key] = vb
            else:
                out.update(_diff(va, vb, key + "."))
        elif va != vb:
            out[key] = vb
    return out


_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def _toml_key(key: str) -> str:
    return key if _BARE_KEY.match(key) else _toml_value(key)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, dict):
        if not value:
            return "{}"
        return (
            "{ " + ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items()) + " }"
        )
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return tomli_w.dumps({"v": value})[len("v = ") :].rstrip("\n")


def _is_table_array(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def _emit_table(
    lines: list[str],
    path: list[str],
    table: dict[str, Any],
    comments: dict[str, str],
    array_item: bool = False,
) -> None:
    scalars = {k: v for k, v in table.items() if not isinstance(v, dict) and not _is_table_array(v)}
    tables = {k: v for k, v in table.items() if isinstance(v, dict)}
    arrays = {k: v for k, v in table.items() if _is_table_array(v)}
    header = ".".join(_toml_key(p) for p in path)
    if array_item:
        lines += ["", f"[[{header}]]"]
    elif path and (scalars or not (tables or arrays)):
        lines += ["", f"[{header}]"]
    for k, v in scalars.items():
        line = f"{_toml_key(k)} = {_toml_value(v)}"
        source = None if array_item else comments.get(".".join([*path, k]))
        lines.append(f"{line.ljust(36)}  # {source}" if source else line)
    for k, v in tables.items():
        _emit_table(lines, [*path, k], v, {} if array_item else comments)
    for k, items in arrays.items():
        for item in items:
            _emit_table(lines, [*path, k], item, {}, array_item=True)
