"""Find the SQL models in sql/, order them by the tables their SQL reads, build and audit them.

Dependencies are parsed from the SQL (sqlglot), never hand-numbered: a model is a file
`sql/<layer>/<name>.sql` whose first line is `-- <name>: one row per <grain>.`, and it becomes
the table `<name>`. Audits (`sql/audits/assert_*.sql`) return the rows that break a promise.
A model may say on its second line that it is keyed (`-- keyed by <column>: <input>.<column>, ...;
whole: <input>, ...`): a night then computes it only for the codes whose input rows changed.
`<input>.<column>[:N]` keys a model by the first N characters of an input's codes (the kelurahan,
10, of a TPS's 13): a model that sums its TPS per kelurahan is computed for the kelurahan whose
TPS changed.

Staging models are views. So is a keyed model whose SQL says `-- stored as a view: <why>`: each
of its rows must come from one row of one keyed input (a union, a filter, a join to tables read
whole), so the rows it gained and lost tonight are its SQL over its inputs' (see keep_view_changes).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import sys
from dataclasses import dataclass
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import duckdb
import pandera.polars as pa
import polars as pl
import sqlglot
from sqlglot import exp

from schemas.counts import COUNT_TABLES
from schemas.marts import MART_CONTRACTS
from schemas.raw import RAW_TABLES
from schemas.regions import CODE_LENGTHS
from schemas.rules import RulePack, load_rules
from warehouse import storage
from warehouse.checkpoints import pause_point
from warehouse.db import comment_table

SQL_DIR = Path(__file__).resolve().parents[1] / "sql"
LAYERS = ("staging", "intermediate", "marts")
NAME = re.compile(r"^[a-z][a-z0-9_]*$")
AUDIT_EXAMPLES = 5


class ModelError(RuntimeError):
    """A model that cannot be built, an audit that found rows, or a mart that breaks its contract."""


@dataclass(frozen=True)
class Keyed:
    """A model whose rows for one code depend only on the rows of its inputs that hold that code
    (and on the tables it reads whole), from its `-- keyed by <column>: ...` line.

    A night recomputes such a model only for the codes whose input rows changed: each keyed
    input is cut to those codes before the model's SQL reads it (tables rekap_delta_*)."""

    key: str  # the model's column holding the code
    inputs: dict[str, tuple["KeyColumn", ...]]  # keyed input -> its columns that hold the code
    whole: frozenset[str]  # inputs read whole: when one changes, the model is rebuilt whole


@dataclass(frozen=True)
class KeyColumn:
    """Where an input holds the code: in `column` itself, in its first `prefix` characters
    (`int_rule_checks.code[:10]`: a TPS's kelurahan), in `column` and every region above it
    (`ancestors`, `int_kelurahan_rule_counts.region_code[ancestors]`: a kelurahan's row counts for
    the kelurahan, its kecamatan, kab/kota, province and the nation), or (`via`) in the `via_key`
    column of table `via` for the row of `via` whose `column` matches
    (`stg_nodes.version_id@stg_documents.code`: a raw row belongs to a version, and a version to a code)."""

    column: str
    via: str | None = None
    via_key: str | None = None
    prefix: int | None = None
    ancestors: bool = False

    def _codes(self) -> list[str]:
        """The expressions giving the code(s) a row holds."""
        if self.ancestors:  # region_ancestor (sql/functions/) of a code no longer than N is the code itself
            return [f"region_ancestor({self.column}, {length})" for length in REGION_LENGTHS] + [self.column]
        return [self.column if self.prefix is None else f"left({self.column}, {self.prefix})"]

    def codes(self, rows: str, database: str) -> str:
        """The codes that the rows of table `rows` hold."""
        if self.via is None:
            codes = self._codes()
            key = codes[0] if len(codes) == 1 else "unnest([" + ", ".join(codes) + "])"
            return f"select {key} as key from {rows}"
        return f"select {self.via_key} as key from {database}.main.{self.via} where {self.column} in (select {self.column} from {rows})"

    def holds(self, scope: str, database: str) -> str:
        """A condition: the row holds a code in table `scope`."""
        if self.via is None:
            # One IN per code a row holds (each a hash probe): 0.3 s over 1.8 million rows and
            # 14,000 codes, where list_has_any over the scope's list takes 17 s.
            return "(" + " or ".join(f"{code} in (select key from {scope})" for code in self._codes()) + ")"
        return f"{self.column} in (select {self.column} from {database}.main.{self.via} where {self.via_key} in (select key from {scope}))"


@dataclass(frozen=True)
class Model:
    name: str
    layer: str
    path: Path
    sql: str
    description: str  # the header line, without "-- name: "
    reads: frozenset[str]  # every table the SQL reads (models, raw tables, seeds)
    keyed: Keyed | None = None
    order: str | None = None  # the columns of its last line `order by <columns>`, if it has one
    view: bool = False  # stored as a view, not a table (staging, and `-- stored as a view:`)

    @property
    def rows_sql(self) -> str:
        """The SQL without its closing `order by`: the order a table is written in when it is
        written whole (its files' statistics then let a query by region skip most of them) is no
        order of its rows once a difference is applied, and sorting a mart's 2 million rows to
        compare them, or to keep 14,000 regions of them, costs more than computing them
        (data_quality at national scale: 1.55 s sorted, 0.82 s not)."""
        return self.sql if self.order is None else ORDER_LINE.sub("", self.sql)


KEYED = re.compile(r"^-- keyed by (\w+): (.*)$", re.MULTILINE)
STORED_AS_VIEW = re.compile(r"^-- stored as a view: ", re.MULTILINE)
ORDER_LINE = re.compile(r"\norder by ([\w, ]+)\s*$")  # a model's last line, at the top level of its SQL
KEYED_INPUT = re.compile(r"^(\w+)\.(\w+)(?:@(\w+)\.(\w+)|\[:([1-9][0-9]*)\]|(\[ancestors\]))?$")
# The lengths of the codes of the regions a code can lie in: 0 is the nation ('0'), as
# sql/functions/region_ancestor.sql reads it, then provinsi, kab/kota, kecamatan and kelurahan.
REGION_LENGTHS = (0, *CODE_LENGTHS[:-1])


def parse_keyed(path: Path, sql: str, reads: frozenset[str]) -> Keyed | None:
    """`-- keyed by code: int_nodes.code, int_child_rows.child_code, stg_nodes.version_id@stg_documents.code;
    whole: ref_rules`: the model's key column, each keyed input's column(s) holding it (or its
    first N characters, `code[:10]`, or it and every region above it, `region_code[ancestors]`, or
    leading to it through another table), and the inputs read whole. Every table the SQL reads
    must be named, so a new input cannot slip in unkeyed."""
    match = KEYED.search(sql)
    if match is None:
        return None
    key, rest = match.groups()
    keyed_part, _, whole_part = rest.partition("; whole:")
    inputs: dict[str, tuple[KeyColumn, ...]] = {}
    for item in filter(None, (i.strip() for i in keyed_part.split(","))):
        found = KEYED_INPUT.match(item)
        if found is None:
            raise ModelError(f"{path}: '{item}' in its keyed-by line is not <table>.<column> (or <table>.<column>[:N], "
                            f"<table>.<column>[ancestors], <table>.<column>@<table>.<column>)")
        table, column, via, via_key, prefix, ancestors = found.groups()
        inputs[table] = (*inputs.get(table, ()), KeyColumn(column, via, via_key, int(prefix) if prefix else None, ancestors is not None))
    whole = frozenset(filter(None, (i.strip() for i in whole_part.split(","))))
    named = set(inputs) | whole
    if named != reads:
        raise ModelError(f"{path}: its keyed-by line must name every table it reads: missing {sorted(reads - named)}, not read {sorted(named - reads)}")
    return Keyed(key, inputs, whole)


def parse_model(path: Path, layer: str) -> Model:
    """The model (or audit) in file `path`; parsed again only when the file changed."""
    stat = path.stat()
    return _parse_model(path, layer, stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=256)
def _parse_model(path: Path, layer: str, mtime_ns: int, size: int) -> Model:
    name = path.stem
    if not NAME.match(name):
        raise ModelError(f"{path}: a model's file name must be a lower-case identifier")
    sql = path.read_text()
    header = sql.splitlines()[0] if sql else ""
    prefix = f"-- {name}: "
    if not header.startswith(prefix):
        raise ModelError(f"{path}: the first line must be '{prefix}one row per <grain>.'")
    reads = table_reads(path, sql)
    order = ORDER_LINE.search(sql)
    keyed = parse_keyed(path, sql, reads)
    view = layer == "staging" or STORED_AS_VIEW.search(sql) is not None
    if view and layer != "staging" and keyed is None:
        # Its readers learn what changed in it from its inputs' changes: which inputs are keyed says how.
        raise ModelError(f"{path}: a model stored as a view must be keyed (its '-- keyed by' line)")
    return Model(name, layer, path, sql, header[len(prefix) :].strip(), reads, keyed, order and order.group(1), view)


# Parsing the 64 SQL files with sqlglot costs ~0.25 s, in every process that builds: the tables each
# SQL text reads are kept on disk by the text's hash, beside the installed packages.
READS_CACHE = Path(sys.prefix) / "share" / "rekap" / f"sql-reads-sqlglot-{sqlglot.__version__}.json"


def table_reads(path: Path, sql: str) -> frozenset[str]:
    """Every table `sql` reads (not its CTEs), from sqlglot's parse or the cache of earlier ones."""
    digest = hashlib.sha256(sql.encode()).hexdigest()
    cache = _reads_cache()
    if digest in cache:
        return frozenset(cache[digest])
    try:
        tree = sqlglot.parse_one(sql, read="duckdb")
    except sqlglot.errors.ParseError as exc:
        raise ModelError(f"{path}: cannot parse: {exc}") from exc
    ctes = {cte.alias_or_name for cte in tree.find_all(exp.CTE)}
    reads = frozenset(t.name for t in tree.find_all(exp.Table) if t.name and t.name not in ctes)
    cache[digest] = sorted(reads)
    try:  # written whole, then renamed: a reader sees the old cache or the new one
        READS_CACHE.parent.mkdir(parents=True, exist_ok=True)
        tmp = READS_CACHE.with_name(f".{READS_CACHE.name}.{os.getpid()}")
        tmp.write_text(json.dumps(cache))
        os.replace(tmp, READS_CACHE)
    except OSError:  # a read-only install parses every time, as before
        pass
    return reads


@functools.cache
def _reads_cache() -> dict[str, list[str]]:
    try:
        cache = json.loads(READS_CACHE.read_text())
    except (OSError, ValueError):
        return {}
    return cache if isinstance(cache, dict) else {}


def discover(sql_dir: Path = SQL_DIR) -> list[Model]:
    """Every model under sql/, in an order where each comes after the models it reads (each file
    parsed once per process while it stays as it is: parse_model)."""
    models = {}
    for layer in LAYERS:
        for path in sorted((sql_dir / layer).glob("*.sql")):
            model = parse_model(path, layer)
            if model.name in models:
                raise ModelError(f"{path}: model {model.name} is defined twice")
            models[model.name] = model
    graph = {name: {dep for dep in m.reads if dep in models and dep != name} for name, m in models.items()}
    try:
        return [models[name] for name in TopologicalSorter(graph).static_order()]
    except CycleError as exc:
        raise ModelError(f"models read each other in a cycle: {exc.args[1]}") from exc


def load_seeds(con: duckdb.DuckDBPyConnection, sql_dir: Path = SQL_DIR) -> None:
    """Reference tables shipped as CSV (sql/seeds/<name>.csv -> table <name>), all text."""
    for path in sorted((sql_dir / "seeds").glob("*.csv")):
        con.execute(
            f"create or replace table {path.stem} as select * from read_csv(?, header = true, all_varchar = true)",
            [str(path)],
        )


RULE_TABLES = {
    "ref_rules": (
        "ref_rules: one row per data-quality rule, from the rule pack the run used (schemas/rules.toml or REKAP_RULES).",
        {
            "rule_id": ("VARCHAR", "Rule id, as in the rule pack and the anomalies mart."),
            "category": ("VARCHAR", "arithmetic, plausibility, withheld, rollup, psu or reference."),
            "checks": ("VARCHAR", "What the rule checks."),
            "severity": ("VARCHAR", "error, warning or info."),
            "enabled": ("BOOLEAN", "false: the rule flags nothing (not in anomalies, tps_status, data_quality or the flagged columns)."),
            "message_id": ("VARCHAR", "Message template in Indonesian ({observed}, {expected} filled in)."),
            "message_en": ("VARCHAR", "Message template in English."),
            "rule_pack": ("VARCHAR", "The rule pack file the rule was read from."),
        },
    ),
    "ref_rule_params": (
        "ref_rule_params: one row per rule x threshold, from the rule pack the run used.",
        {
            "rule_id": ("VARCHAR", "Rule id (ref_rules.rule_id)."),
            "param": ("VARCHAR", "Threshold name, e.g. pemilu, tolerance, max_difference."),
            "value": ("DOUBLE", "Threshold value."),
        },
    ),
}


def load_rule_pack(con: duckdb.DuckDBPyConnection, pack: RulePack) -> None:
    """Write the rule pack into ref_rules / ref_rule_params, the tables the rule models read."""
    for table, (comment, columns) in RULE_TABLES.items():
        con.execute(f"create or replace table {table} ({', '.join(f'{c} {t}' for c, (t, _) in columns.items())})")
        comment_table(con, table, comment, {c: d for c, (_, d) in columns.items()})
    con.executemany(
        "insert into ref_rules values (?, ?, ?, ?, ?, ?, ?, ?)",
        [[r.rule_id, r.category, r.checks, r.severity, r.enabled, r.message_id, r.message_en, str(pack.path)] for r in pack.rules],
    )
    params = [[r.rule_id, name, value] for r in pack.rules for name, value in r.thresholds.items()]
    if params:
        con.executemany("insert into ref_rule_params values (?, ?, ?)", params)
    else:
        storage.give_stats(con, "ref_rule_params")


def build(con: duckdb.DuckDBPyConnection, sql_dir: Path = SQL_DIR, rules_path: Path | None = None,
          changed: set[str] | None = None, since: int | None = None) -> list[Model]:  # fmt: skip
    """(Re)build the models as tables in dependency order, then check each mart against its
    contract; the models built.

    `changed` names the input tables that changed since the last build (models.changed_inputs):
    a model is rebuilt when it reads one of them, or a model whose rows changed tonight. A model
    rebuilt to the same rows changes nothing downstream (early cutoff: a night that loads no new
    candidates rebuilds nothing that reads only the candidates). A model `changed` names is one
    whose SQL file changed (or is new): it is rebuilt whole, and what reads it only if its rows
    moved. None rebuilds every model and writes the rule pack and seeds again.

    `since` (with `changed`) is the last observed_seq the previous build saw (built_through):
    the raw rows of versions observed after it are what the staging views gained tonight, which
    lets the keyed models over them be computed for those codes only, in a warehouse of more than
    KEYED_ABOVE documents. None (or a smaller warehouse): they are computed whole.

    `rules_path` names the data-quality rule pack (default schemas/rules.toml); it is read and
    checked before anything is built, so a bad pack changes nothing.
    """
    pack = load_rules(rules_path)
    if changed is None or not table_columns(con, "ref_rules"):
        load_rule_pack(con, pack)
        load_seeds(con, sql_dir)
    create_macros(con, sql_dir, "functions")
    ordered = discover(sql_dir)
    edited = {m.name for m in ordered} & set(changed or ())  # SQL changed: rebuilt whole
    moved = set(changed or ()) - edited
    deltas: set[str] = set()  # models whose changed rows tonight are kept (rekap_delta_<name>)
    held: set[str] = set()  # small models held in memory for the rest of the build (see hold)
    # A keyed model's whole table is read back to be held only in a small warehouse: in a large
    # one it would be too big to hold anyway, and counting it to know costs every night.
    documents = con.execute("select count(*) from raw_documents").fetchone()[0] if table_columns(con, "raw_documents") else 0
    small = documents <= SMALL_TABLE
    # Keyed models are cut to tonight's codes only in a warehouse past KEYED_ABOVE documents.
    by_code = changed is not None and documents > KEYED_ABOVE
    if changed is None:
        drop_retired(con, ordered)
    # A model's changed rows are kept only until the last keyed model that reads it is built.
    last_keyed_reader = {table: n for n, m in enumerate(ordered) if m.keyed for table in m.keyed.inputs}
    models = []
    for n, model in enumerate(ordered):
        for done in [table for table in deltas if last_keyed_reader[table] < n]:
            con.execute(f"drop table {delta(done)}")
            deltas.discard(done)
        if changed is not None and not model.reads & moved and model.name not in edited:
            continue
        models.append(model)
        pause_point(f"model:{model.name}")  # a crash test can stop the run before any model
        try:
            if model.view:
                written = write_view(con, model, refresh=changed is None or model.name in edited)
                # An edited view's rows may all differ: its keyed readers are computed whole.
                if by_code and last_keyed_reader.get(model.name, -1) > n and model.name not in edited:
                    if model.layer == "staging" and since is not None:
                        keep_view_delta(con, model, since)
                        deltas.add(model.name)
                    elif model.layer != "staging" and keep_view_changes(con, model, moved, deltas):
                        deltas.add(model.name)
                if small and model.layer != "staging" and hold(con, model, whole=False):
                    held.add(model.name)
            else:
                scoped = by_code and model.name not in edited and scope(con, model, moved, deltas)
                written = write_model(con, model, scoped=scoped, held=held)
                whole = not scoped and written != "created"
                if (whole or small) and hold(con, model, whole):
                    held.add(model.name)
        except duckdb.Error as exc:
            raise ModelError(f"model {model.name} ({model.path}) failed: {exc}") from exc
        if written == "unchanged":
            if model.name in edited:  # its header may say more than before
                comment_model(con, model)
            continue
        moved.add(model.name)
        contract = MART_CONTRACTS.get(model.name)
        if contract is not None:
            # The rows a difference kept were checked when they were written: check the new ones,
            # and the grain over the whole table.
            check_contract(con, model.name, contract, ADDED if written == "updated" else model.name)
        if written == "updated" and by_code and last_keyed_reader.get(model.name, -1) > n:
            keep_delta(con, model.name)
            deltas.add(model.name)
        if written in ("created", "replaced") or (written == "updated" and (changed is None or model.name in edited)):  # comments lost, or other headers
            comment_model(con, model)
    for table in [NEXT, OLD, GONE, ADDED, SCOPE, *(delta(name) for name in deltas), *(f"temp.main.{name}" for name in held)]:
        con.execute(f"drop table if exists {table}")
    create_macros(con, sql_dir, "macros")
    return models


def comment_model(con: duckdb.DuckDBPyConnection, model: Model) -> None:
    """The model's table and its columns described in the warehouse: its header, and the columns
    of its contract (a mart)."""
    contract = MART_CONTRACTS.get(model.name)
    columns = {n: c.description for n, c in contract.to_schema().columns.items() if c.description} if contract else {}
    comment_table(con, lake_table(con, model.name), f"{model.name}: {model.description}", columns)


def drop_retired(con: duckdb.DuckDBPyConnection, ordered: list[Model]) -> None:
    """Drop the intermediate tables (int_*) of models sql/ no longer holds: an earlier version's
    step that a reader would take for tonight's. Their rows stay in the snapshots before."""
    current = {model.name for model in ordered}
    for name in sorted(storage.lake_tables(con)):
        if name.startswith("int_") and name not in current:
            con.execute(f"drop table {lake_table(con, name)}")


def delta(name: str) -> str:
    """The temp table holding model `name`'s rows that went or came tonight, marked by `gone`."""
    return f"temp.main.rekap_delta_{name}"


def keep_delta(con: duckdb.DuckDBPyConnection, name: str) -> None:
    con.execute(f"create or replace temp table rekap_delta_{name} as select * exclude ({ROW_ID}), true as gone from {GONE} union all by name select *, false as gone from {ADDED}")


def keep_view_delta(con: duckdb.DuckDBPyConnection, model: Model, since: int) -> None:
    """A staging view's rows gained since observed_seq `since`: raw tables only grow, and every
    raw row belongs to a version, first loaded with its first observation."""
    (raw,) = model.reads
    gained = f"observed_seq > {int(since)}" if raw == "raw_observations" else f"version_id in (select version_id from raw_observations where observed_seq > {int(since)})"
    con.execute(f"create or replace temp table rekap_delta_{model.name} as select *, false as gone from {model.name} where {gained}")


def keep_view_changes(con: duckdb.DuckDBPyConnection, model: Model, moved: set[str], deltas: set[str]) -> bool:
    """A keyed model stored as a view: its rows that went or came tonight (delta), its SQL over
    the rows that went from its inputs, then over the rows that came. Each of its rows comes from
    one row of one keyed input (`-- stored as a view:`), so these are exactly its changes. False
    (kept nothing: its readers are computed whole) when an input read whole changed, or a keyed
    one changed in a way not kept row by row."""
    keyed = model.keyed
    assert keyed is not None
    inputs = changed_row_by_row(model, moved, deltas)
    if inputs is None:
        return False
    database = current_database(con)

    def over(gone: bool) -> str:
        shadows = {
            table: f"select * exclude (gone) from {delta(table)} where {'' if gone else 'not '}gone" if table in inputs
            else f"select * from {database}.main.{table} where false"
            for table in keyed.inputs
        }  # fmt: skip
        return f"select *, {str(gone).lower()} as gone from ({over_inputs(model, shadows)})"

    con.execute(f"create or replace temp table rekap_delta_{model.name} as {over(True)} union all by name {over(False)}")
    return True


def changed_row_by_row(model: Model, moved: set[str], deltas: set[str]) -> set[str] | None:
    """A keyed model's inputs that changed tonight, when each kept its changed rows (`deltas`);
    None when a table it reads whole changed, or a keyed input changed in a way not kept row by
    row (written anew, or a view over raw tables): the model is then computed whole."""
    assert model.keyed is not None
    inputs = model.reads & moved
    return None if inputs & model.keyed.whole or not inputs <= deltas else inputs


def over_inputs(model: Model, shadows: dict[str, str]) -> str:
    """The model's SQL, run as written, over each input in `shadows` replaced by that query's rows
    (a CTE of the input's name shadows the table)."""
    ctes = ",\n".join(f"{table} as ({query})" for table, query in sorted(shadows.items()))
    return f"with {ctes}\nselect * from (\n{model.rows_sql}\n) as model"


def scope(con: duckdb.DuckDBPyConnection, model: Model, moved: set[str], deltas: set[str]) -> bool:
    """For a keyed model: write into SCOPE the codes whose input rows changed tonight; False when
    it must be rebuilt whole (not keyed, not built yet, a whole-read input changed, or a keyed
    input changed in a way not kept row by row: written anew, or a view over raw tables)."""
    keyed = model.keyed
    if keyed is None or not table_columns(con, model.name):
        return False
    inputs = changed_row_by_row(model, moved, deltas)
    if inputs is None:
        return False
    database = current_database(con)
    codes = " union ".join(column.codes(delta(table), database) for table in sorted(inputs) for column in keyed.inputs[table])
    con.execute(f"create or replace temp table rekap_scope as {codes}")
    # A change to a row without a code reaches no code's rows: only a whole rebuild places it.
    return not con.execute(f"select count(*) filter (where key is null) from {SCOPE}").fetchone()[0]


def scoped_sql(con: duckdb.DuckDBPyConnection, model: Model, held: frozenset[str] | set[str] = frozenset()) -> str:
    """The model's SQL over its keyed inputs cut to the codes in SCOPE, its rows for those codes.
    Each input is shadowed by a CTE of its own name, so the model's SQL is run as written; one
    `held` in memory is read from there."""
    database, keyed = current_database(con), model.keyed
    assert keyed is not None
    shadows = {
        table: f"select * from {'temp' if table in held else database}.main.{table} where " + " or ".join(column.holds(SCOPE, database) for column in columns)
        for table, columns in keyed.inputs.items()
    }  # fmt: skip
    return f"{over_inputs(model, shadows)} where model.{keyed.key} in (select key from {SCOPE})"


# Above this share of a model's rows changed, writing the table anew costs less than the diff.
REPLACE_SHARE = 0.3
NEXT, GONE, ADDED = "temp.main.rekap_model_next", "temp.main.rekap_model_gone", "temp.main.rekap_model_added"
OLD = "temp.main.rekap_model_old"  # the rows compared, read once from the lake (scoped, or a small table)
# Up to this many rows, a table's rows are read into memory once to be compared.
SMALL_TABLE = 100_000
# Up to this many documents, a night computes every model it rebuilds whole: there, cutting a
# keyed model to tonight's codes (its scope, its old rows read back from the lake, its changed
# rows kept for the next model: ~40 ms a model) costs more than the whole model, which reads
# held inputs from memory. Models of a changed night, whole vs keyed: 2.5 vs 4.2 s on a 2-TPS race,
# 1.5 vs 2.2 s on 22 documents, 3.3 vs 2.9 s on 6,274 TPS, 9.6 vs 4.9 s on 31,370 TPS (1% changed).
KEYED_ABOVE = 1_000
SCOPE = "temp.main.rekap_scope"  # the codes a keyed model is recomputed for tonight (column `key`)
ROW_HASH = "rekap_row_hash"
ROW_ID = "rekap_rowid"  # a compared row's rowid in the lake table (GONE's rows: what to delete)


def write_view(con: duckdb.DuckDBPyConnection, model: Model, refresh: bool) -> str:
    """Staging models are views: each renames and casts one raw table, so a stored copy would
    only double the raw layer's storage and its rows are the raw table's anyway. So are the
    models that say `-- stored as a view:`. Made when missing, or again on a full build (other
    SQL); "view"."""
    # duckdb_views(), not information_schema.tables: that loads every table's statistics first
    # (17 ms a view, 0.14 s a night).
    is_view = con.execute("select count(*) from duckdb_views() where database_name = current_database() and view_name = ?", [model.name]).fetchone()[0]
    if not is_view and model.name in storage.lake_tables(con):  # a warehouse from before the model was a view
        con.execute(f"drop table {model.name}")
    if refresh or not is_view:
        con.execute(f"create or replace view {model.name} as\n{model.sql}")
        comment_table(con, model.name, f"{model.name}: {model.description}", {}, kind="view")
    return "view"


def write_model(con: duckdb.DuckDBPyConnection, model: Model, scoped: bool = False, held: frozenset[str] | set[str] = frozenset()) -> str:
    """Make table `model.name` hold what the model's SQL returns; how it was written.

    A model already built with the same columns gets only its difference: the rows it no longer
    returns are deleted and the new ones inserted. On a lake every write is a file, kept until
    retention expires its snapshot, so a night that moves 1% of the rows stores about 1% of the
    table, not a copy of it. Rows are matched whole (a row hash finds the candidates, then every
    column is compared), so the table ends exactly equal to the SQL's result. "unchanged" when
    the SQL returns the rows the table holds; "replaced" when most rows moved, or when a table
    holds a row twice (no set difference says which copy went); "created" on the first build.

    `scoped` (a keyed model, SCOPE written by `scope`): only the rows of the codes in SCOPE are
    computed and compared; the others are the model's rows already. `held`: the inputs held in
    memory (hold); the model's own table is always the lake's.
    """
    name = lake_table(con, model.name)
    columns = table_columns(con, name)
    if not columns:
        create_table_as(con, name, model.sql)
        return "created"
    source = scoped_sql(con, model, held) if scoped else model.rows_sql
    con.execute(f"create or replace temp table rekap_model_next as select *, hash(model) as {ROW_HASH} from (\n{source}\n) as model")
    whole = None if scoped else NEXT  # what a table written anew is written from
    next_rows, hashes = con.execute(f"select count(*), count(distinct {ROW_HASH}) from {NEXT}").fetchone()
    # A row twice (or two rows with one hash, as good as never): no difference says which copy went.
    if table_columns(con, NEXT)[:-1] != columns or next_rows != hashes:
        return rewrite(con, model, whole)
    # The rows compared, each with its row hash and its rowid (a delete by rowid reads one column
    # of the table, not every column of it: 43 against 124 ms for 1,000 of 1.4 million rows).
    compared = f"select *, hash(old) as {ROW_HASH}, old.rowid as {ROW_ID} from {name} as old"
    # Each row the SQL returns matches one old row at most: when the table holds `most` rows or
    # more, over REPLACE_SHARE of them went whatever they hold (rows - next_rows > REPLACE_SHARE *
    # rows), and it is written anew without its rows compared (`corrections` the night after a
    # first night: 1.9 million old rows, the night's few new ones).
    most = None if REPLACE_SHARE >= 1 else int(next_rows / (1 - REPLACE_SHARE)) + 1
    if scoped:
        con.execute(f"create or replace temp table rekap_model_old as {compared} where old.{model.keyed.key} in (select key from {SCOPE})")
        old = OLD
        (rows,) = con.execute(f"select count(*) from {old}").fetchone()
    elif next_rows <= SMALL_TABLE:
        # Read the rows compared once, the two differences then taken in memory, and no more of
        # them than `most`: that read counts them too (a lake table's count(*) is a scan of its
        # own, with its catalog lookups).
        con.execute(f"create or replace temp table rekap_model_old as {compared}" + ("" if most is None else f" limit {most}"))
        old = OLD
        (rows,) = con.execute(f"select count(*) from {old}").fetchone()
    else:
        (rows,) = con.execute(f"select count(*) from {name}").fetchone()
        old = f"({compared})"
    if not scoped and most is not None and rows >= most:
        return rewrite(con, model, whole)
    same = " and ".join(f'old."{column}" is not distinct from next."{column}"' for column, _ in columns)
    matched = f"on old.{ROW_HASH} = next.{ROW_HASH} and {same}"
    con.execute(f"create or replace temp table rekap_model_gone as select old.* exclude ({ROW_HASH}) from {old} as old anti join {NEXT} as next {matched}")
    (gone,) = con.execute(f"select count(*) from {GONE}").fetchone()
    if not scoped and gone > REPLACE_SHARE * rows:
        return rewrite(con, model, whole)
    con.execute(f"create or replace temp table rekap_model_added as select next.* exclude ({ROW_HASH}) from {NEXT} as next anti join {old} as old {matched}")
    (added,) = con.execute(f"select count(*) from {ADDED}").fetchone()
    if not (gone or added) and rows == next_rows:
        return "unchanged"
    deleted = 0
    if gone:
        (deleted,) = con.execute(f"delete from {name} where rowid in (select {ROW_ID} from {GONE})").fetchone()
    if added:
        con.execute(f"insert into {name} select * from {ADDED}")
    # The table holds a row twice only if the old one did (the SQL's rows are distinct, and an
    # added row matched none): then the counts differ, and the table is written anew.
    if rows - deleted + added != next_rows:
        return rewrite(con, model, whole)
    return "updated"


def rewrite(con: duckdb.DuckDBPyConnection, model: Model, rows: str | None) -> str:
    """Write the model's table anew, from the temp table `rows` holding its whole result (with
    ROW_HASH) or from its SQL; "replaced"."""
    if rows is None:
        source = model.sql
    else:  # in the model's order, as its SQL would have written it
        source = f"select * exclude ({ROW_HASH}) from {rows}" + (f" order by {model.order}" if model.order else "")
    create_table_as(con, lake_table(con, model.name), source)
    return "replaced"


def create_table_as(con: duckdb.DuckDBPyConnection, table: str, sql: str) -> None:
    """CREATE OR REPLACE TABLE `table` AS `sql`; a table created empty gets its statistics."""
    (rows,) = con.execute(f"create or replace table {table} as\n{sql}").fetchone()
    if not rows:
        storage.give_stats(con, table)


def lake_table(con: duckdb.DuckDBPyConnection, name: str) -> str:
    """Model `name`'s table in the lake, qualified: a temp table of its name may be held (hold)."""
    return f"{current_database(con)}.main.{name}"


def hold(con: duckdb.DuckDBPyConnection, model: Model, whole: bool) -> bool:
    """Hold a small model's rows in memory for the rest of the build, as a temp table of its name,
    which every later model's SQL then reads instead of the lake table (a temp table shadows a
    table of the same name): on a lake each table read costs catalog lookups and a file, 2-20 ms
    however few its rows, and most models are read by several. `whole`: NEXT holds the model's
    whole result (it was computed whole), else its rows are read back from the lake once. Only
    tables of up to SMALL_TABLE rows are held; True when held."""
    if whole:
        (rows,) = con.execute(f"select count(*) from {NEXT}").fetchone()
        source = f"select * exclude ({ROW_HASH}) from {NEXT}"
    else:
        source = f"select * from {lake_table(con, model.name)}"
        (rows,) = con.execute(f"select count(*) from ({source})").fetchone()
    if rows > SMALL_TABLE:
        return False
    con.execute(f"create or replace temp table {model.name} as {source}")
    return True


def table_columns(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple[str, str]]:
    """(name, type) of each column of `table` (a model's name, or a qualified temp table); [] when missing."""
    # DESCRIBE reads one table's entry; duckdb_columns() lists every catalog's, 3x slower on a lake.
    try:
        return [(name, dtype) for name, dtype, *_ in con.execute(f"describe {table}").fetchall()]
    except duckdb.CatalogException:
        return []


def current_database(con: duckdb.DuckDBPyConnection) -> str:
    return con.execute("select current_database()").fetchone()[0]


def create_macros(con: duckdb.DuckDBPyConnection, sql_dir: Path = SQL_DIR, folder: str = "macros", before_models: bool = False) -> None:
    """`create or replace temp macro <name>` files: sql/functions/ (scalar helpers the models
    call) and sql/macros/ (table macros over the models). A lake catalog stores tables, not
    macros, so every connection makes them (warehouse/storage.py connect, `before_models` on a
    lake whose models are not built yet)."""
    for path in sorted((sql_dir / folder).glob("*.sql")):
        sql = path.read_text()
        if not sql.startswith(f"-- {path.stem}: "):
            raise ModelError(f"{path}: the first line must be '-- {path.stem}: <what it returns>.'")
        try:
            con.execute(sql)
        except duckdb.CatalogException:
            if before_models:  # a table macro binds its tables: made once the models exist
                continue
            raise
        except duckdb.Error as exc:
            raise ModelError(f"macro {path.stem} ({path}) failed: {exc}") from exc


def validate_mart(name: str, contract: type[pa.DataFrameModel], frame: pl.DataFrame) -> None:
    try:
        contract.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as err:
        cases = err.failure_cases.head(AUDIT_EXAMPLES)
        raise ModelError(f"mart {name} breaks its contract (schemas/marts.py):\n{cases}") from err


# Rows of a mart validated at a time: a national mart read whole into one frame (data_quality,
# 2 million rows) lifted a first night's peak memory by 600 MB.
CONTRACT_ROWS = 200_000


def check_contract(con: duckdb.DuckDBPyConnection, name: str, contract: type[pa.DataFrameModel], rows: str | None = None) -> None:
    """Check mart `name` against its contract: the rows of table `rows` (default: the whole mart),
    CONTRACT_ROWS at a time, and the contract's unique key over the whole mart."""
    reader = con.execute(f"select * from {rows or name}").to_arrow_reader(CONTRACT_ROWS)
    checked = False
    for batch in reader:
        validate_mart(name, contract, pl.from_arrow(batch))
        checked = True
    if not checked and rows in (None, name):  # an empty mart's columns (no added rows: checked before)
        validate_mart(name, contract, pl.from_arrow(reader.schema.empty_table()))
    key = getattr(contract.Config, "unique", None)
    if key:
        keys = ", ".join(key)
        repeated = con.execute(f"select {keys}, count(*) as rows from {name} group by all having count(*) > 1 limit {AUDIT_EXAMPLES}").pl()
        if repeated.height:
            raise ModelError(f"mart {name} breaks its contract (schemas/marts.py): {keys} repeated:\n{repeated}")


@dataclass(frozen=True)
class AuditResult:
    name: str
    description: str
    failing_rows: int
    examples: str


def run_audits(con: duckdb.DuckDBPyConnection, sql_dir: Path = SQL_DIR, changed: set[str] | None = None) -> list[AuditResult]:
    """Every audit's failing rows; with `changed`, only the audits that read one of those tables
    or are named in it (edited: models.changed_inputs); the others read what the last published
    run audited already."""
    results = []
    for path in sorted((sql_dir / "audits").glob("assert_*.sql")):
        audit = parse_model(path, "audits")
        if changed is not None and not (audit.reads & changed or audit.name in changed):
            continue
        rows = con.execute(audit.sql).pl()
        examples = str(rows.head(AUDIT_EXAMPLES)) if rows.height else ""
        results.append(AuditResult(audit.name, audit.description, rows.height, examples))
    return results


def audit_failures(results: list[AuditResult]) -> str | None:
    failed = [r for r in results if r.failing_rows]
    if not failed:
        return None
    return "\n".join(f"audit {r.name} found {r.failing_rows} row(s): {r.description}\n{r.examples}" for r in failed)


# The tables the models read that runs write. Append-only, except `runs` (every night adds a row):
# a table whose row count did not move did not change.
MODEL_INPUTS = (*RAW_TABLES, *COUNT_TABLES, "raw_observations", "quarantine", "runs")


@dataclass(frozen=True)
class BuildInputs:
    code: dict[str, str]  # fingerprints: each model's and audit's SQL by name, and SHARED (code_fingerprints)
    counts: dict[str, int]  # row count of each input table
    observed_seq: int = 0  # the last observation loaded (raw_observations.observed_seq)


# The fingerprint, in BuildInputs.code, of what any model may read beside its own file: the SQL
# functions and macros, the seeds, the rule pack. When it changes, every model is rebuilt.
SHARED = "@shared"


def code_fingerprints(sql_dir: Path = SQL_DIR, rules_path: Path | None = None) -> dict[str, str]:
    """A hash of each model's and each audit's SQL file, by name, and under SHARED one of every
    other file under `sql_dir` and of the rule pack."""
    prints, shared = {}, hashlib.sha256()
    for path in sorted(sql_dir.rglob("*")):
        if not path.is_file():
            continue
        relative = path.relative_to(sql_dir)
        if path.suffix == ".sql" and relative.parts[0] in (*LAYERS, "audits"):
            prints[path.stem] = hashlib.sha256(path.read_bytes()).hexdigest()
        else:
            shared.update(str(relative).encode() + b"\0" + path.read_bytes() + b"\0")
    shared.update(Path(load_rules(rules_path).path).read_bytes())
    return {SHARED: shared.hexdigest(), **prints}


def build_inputs(con: duckdb.DuckDBPyConnection, sql_dir: Path = SQL_DIR, rules_path: Path | None = None) -> BuildInputs:
    counts = con.execute(" union all ".join(f"select '{t}', count(*) from {t}" for t in MODEL_INPUTS)).fetchall()
    (observed_seq,) = con.execute("select coalesce(max(observed_seq), 0) from raw_observations").fetchone()
    return BuildInputs(code_fingerprints(sql_dir, rules_path), dict(counts), observed_seq)


def changed_inputs(con: duckdb.DuckDBPyConnection, inputs: BuildInputs) -> set[str] | None:
    """What changed since the last build, for models.build: the input tables whose rows moved,
    and the models and audits whose SQL file changed or is new. None when everything must be
    rebuilt: no build yet (or one from before per-model fingerprints), other functions, macros,
    seeds or rule pack, a model or audit removed, a mart missing."""
    row = con.execute("select code_fingerprint, input_counts from model_builds order by built_at desc limit 1").fetchone()
    if row is None or not set(MART_CONTRACTS) <= storage.lake_tables(con):
        return None
    try:
        code = json.loads(row[0])
    except ValueError:  # a single hash of all the SQL, as builds before per-model fingerprints wrote it
        return None
    if not isinstance(code, dict) or code.get(SHARED) != inputs.code[SHARED] or not code.keys() <= inputs.code.keys():
        return None
    edited = {name for name, digest in inputs.code.items() if code.get(name) != digest}
    before = json.loads(row[1])
    return edited | {table for table, count in inputs.counts.items() if before.get(table) != count}


# Kept in model_builds.input_counts beside the tables' row counts (not a table).
OBSERVED_SEQ = "@observed_seq"


def built_through(con: duckdb.DuckDBPyConnection) -> int | None:
    """The last observed_seq the latest build saw; None before any build that recorded it."""
    row = con.execute("select input_counts from model_builds order by built_at desc limit 1").fetchone()
    return json.loads(row[0]).get(OBSERVED_SEQ) if row else None


def record_build(con: duckdb.DuckDBPyConnection, run_id: str, inputs: BuildInputs, built: int) -> None:
    counts = json.dumps({**inputs.counts, OBSERVED_SEQ: inputs.observed_seq})
    con.execute("insert into model_builds values (?, ?, ?, ?, now()::timestamp)", [run_id, json.dumps(inputs.code), counts, built])
