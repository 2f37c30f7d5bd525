"""The data-quality rule pack: load and check `rules.toml`, the one file a user edits to change
a threshold, a severity or a message.

The SQL in sql/intermediate/int_rule_*.sql implements each rule and reads its values from the
warehouse tables `ref_rules` and `ref_rule_params` (written by warehouse.models.build), so no
threshold lives in code. What lives here is the list of rules the SQL implements and the names
of their thresholds: a pack must cover exactly those, so a typo fails loudly, naming the file
and the key, instead of silently switching a rule off.
"""

from __future__ import annotations

import math
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

DEFAULT_RULES = Path(__file__).resolve().parent / "rules.toml"
SEVERITIES = ("error", "warning", "info")
PLACEHOLDERS = frozenset({"observed", "expected"})

# rule id -> (category, threshold names). The SQL evaluates exactly these rules.
KNOWN_RULES: dict[str, tuple[str, tuple[str, ...]]] = {
    "c1_candidate_sum": ("arithmetic", ()),
    "c1_valid_invalid_total": ("arithmetic", ()),
    "c1_voters_total": ("arithmetic", ()),
    "c1_male_female_total": ("arithmetic", ()),
    "c1_ballots_over_voters": ("arithmetic", ()),
    "c1_dpt_voters_over_registered": ("arithmetic", ()),
    "candidate_over_cap": ("plausibility", ("pemilu", "pilkada")),
    "votes_over_dpt": ("plausibility", ("tolerance",)),
    "counts_over_registered": ("plausibility", ()),
    "withheld_counts": ("withheld", ()),
    "rollup_parent_row": ("rollup", ("max_difference",)),
    "rollup_tps_sum": ("rollup", ("max_difference",)),
    "psu_revote": ("psu", ()),
    "unknown_candidate": ("reference", ()),
    "region_outside_tree": ("reference", ()),
    "duplicate_node": ("reference", ()),
}
TEXT_KEYS = ("checks", "message_id", "message_en")
ALLOWED_KEYS = frozenset({*TEXT_KEYS, "severity", "enabled", "thresholds"})


class RulesError(ValueError):
    """A rule pack that cannot be used; the message names the file and the key."""


@dataclass(frozen=True)
class Rule:
    rule_id: str
    category: str
    checks: str
    severity: str
    enabled: bool
    message_id: str  # Indonesian (id is the language code)
    message_en: str
    thresholds: dict[str, float]


@dataclass(frozen=True)
class RulePack:
    path: Path
    rules: tuple[Rule, ...]

    def rule(self, rule_id: str) -> Rule:
        return next(r for r in self.rules if r.rule_id == rule_id)


def load_rules(path: Path | None = None) -> RulePack:
    """Read and check a rule pack (default: schemas/rules.toml)."""
    path = Path(path) if path is not None else DEFAULT_RULES
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise RulesError(f"{path}: rule pack not found (set REKAP_RULES to an existing rules.toml)") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise RulesError(f"{path}: cannot read the rule pack: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise RulesError(f"{path}: not valid TOML: {exc}") from exc
    return parse_rules(data, path)


def parse_rules(data: dict, path: Path) -> RulePack:
    extra = sorted(set(data) - {"rules"})
    if extra:
        raise RulesError(f"{path}: unknown top-level key {extra[0]!r}: every rule goes under [rules.<rule id>]")
    rules = data.get("rules")
    if not isinstance(rules, dict) or not rules:
        raise RulesError(f"{path}: no [rules.<rule id>] tables")
    unknown = sorted(set(rules) - set(KNOWN_RULES))
    if unknown:
        raise RulesError(f"{path}: rules.{unknown[0]}: unknown rule id (known: {', '.join(KNOWN_RULES)})")
    missing = [rule_id for rule_id in KNOWN_RULES if rule_id not in rules]
    if missing:
        raise RulesError(f"{path}: rules.{missing[0]}: missing (to switch a rule off, keep it with enabled = false)")
    return RulePack(path, tuple(_parse_rule(rule_id, rules[rule_id], path) for rule_id in KNOWN_RULES))


def _parse_rule(rule_id: str, table: object, path: Path) -> Rule:
    where = f"{path}: rules.{rule_id}"
    if not isinstance(table, dict):
        raise RulesError(f"{where}: must be a table ([rules.{rule_id}])")
    extra = sorted(set(table) - ALLOWED_KEYS)
    if extra:
        raise RulesError(f"{where}.{extra[0]}: unknown key (allowed: {', '.join(sorted(ALLOWED_KEYS))})")
    texts = {}
    for key in TEXT_KEYS:
        value = table.get(key)
        if not isinstance(value, str) or not value.strip():
            raise RulesError(f"{where}.{key}: required, a non-empty string")
        texts[key] = value.strip()
    for key in ("message_id", "message_en"):
        for name in re.findall(r"\{([^{}]*)\}", texts[key]):
            if name not in PLACEHOLDERS:
                raise RulesError(f"{where}.{key}: unknown placeholder {{{name}}} (use {{observed}} and {{expected}})")
    severity = table.get("severity")
    if severity not in SEVERITIES:
        raise RulesError(f"{where}.severity: {severity!r} is not one of {', '.join(SEVERITIES)}")
    enabled = table.get("enabled", True)
    if not isinstance(enabled, bool):
        raise RulesError(f"{where}.enabled: {enabled!r} is not true or false")
    category, names = KNOWN_RULES[rule_id]
    return Rule(rule_id, category, texts["checks"], severity, enabled, texts["message_id"], texts["message_en"],
                _thresholds(where, table.get("thresholds"), names))  # fmt: skip


def _thresholds(where: str, table: object, names: tuple[str, ...]) -> dict[str, float]:
    if table is None:
        table = {}
    if not isinstance(table, dict):
        raise RulesError(f"{where}.thresholds: must be a table ([...thresholds])")
    extra = sorted(set(table) - set(names))
    if extra:
        allowed = ", ".join(names) if names else "none: this rule has no thresholds"
        raise RulesError(f"{where}.thresholds.{extra[0]}: unknown threshold (allowed: {allowed})")
    values = {}
    for name in names:
        if name not in table:
            raise RulesError(f"{where}.thresholds.{name}: required, a number >= 0")
        value = table[name]
        if isinstance(value, bool) or not isinstance(value, int | float) or value != value or value < 0:
            raise RulesError(f"{where}.thresholds.{name}: {value!r} is not a number >= 0")
        # inf is a float TOML accepts: it bounds nothing and breaks the SQL's arithmetic.
        if not math.isfinite(value):
            raise RulesError(f"{where}.thresholds.{name}: {value!r} is not a finite number")
        values[name] = float(value)
    return values
