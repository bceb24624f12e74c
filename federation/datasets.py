"""Normalised :class:`DatasetRef` values, named the way OpenLineage names datasets.

The same table seen by two systems (a Fivetran destination, the dbt source that reads it, the
model that rebuilds it, the BI view on top) must produce *equal* refs, or the graph cannot stitch
them. So every ref is built here, with one rule set per SQL dialect:

=========  ==================================  ======================  ========================
dialect    namespace                           name                    identifier case
=========  ==================================  ======================  ========================
postgres   ``postgres://{host}:{port}``        ``db.schema.table``     unquoted -> lower
redshift   ``redshift://{cluster}.{region}:{port}``  ``db.schema.table``  all -> lower (1)
snowflake  ``snowflake://{account}``           ``DB.SCHEMA.TABLE``     unquoted -> UPPER
bigquery   ``bigquery``                        ``project.dataset.table``  kept as written
trino      ``trino://{host}:{port}``           ``catalog.schema.table``  all -> lower (2)
duckdb     ``duckdb://{absolute db path}``     ``db.schema.table``     all -> lower (3)
mysql      ``mysql://{host}:{port}``           ``db.table``            kept as written
sqlite     ``sqlite://{absolute db path}``     ``main.table``          kept as written
=========  ==================================  ======================  ========================

(1) Redshift folds quoted identifiers too unless ``enable_case_sensitive_identifier`` is on.
(2) Trino identifiers are case-insensitive, quoted or not. (3) So are DuckDB's.

Choices the OpenLineage naming table leaves open, made here: DuckDB and SQLite are not in it;
their namespace is the scheme plus the *absolute* path of the database file (so an absolute path
gives three slashes, ``duckdb:///data/shop.duckdb``, as the dbt integration does), and DuckDB's
default database is the file's stem (``shop``), or ``memory`` for ``:memory:``. A Snowflake
account is lower-cased and stripped of ``https://`` and ``.snowflakecomputing.com``. A Redshift
endpoint host (``cluster.id.region.redshift.amazonaws.com``) becomes ``cluster.region``.
Hosts are lower-cased. Missing ports get the system's default port.

Identifiers may be quoted with ``"x"``, ```x``` or ``[x]`` (doubling the closing quote escapes
it); dots inside quotes belong to the name, except in BigQuery, where ```p.d.t``` is a path.
Defaults for missing leading parts (``default_database``, ``default_schema``) are identifiers
too and follow the same rules. For speed at 50k relations, build a :class:`RelationNamer` once
per connection (or call :func:`dataset_for_relation`, which caches namers) and call it per table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from urllib.parse import unquote, urlsplit

from lockgate.federation.errors import ConfigError
from lockgate.federation.keys import DatasetRef

_CLOSE = {'"': '"', "`": "`", "[": "]"}
_FIX_RELATION = "write it as [database.][schema.]table; quote names that contain dots or spaces"


@dataclass(frozen=True, slots=True, kw_only=True)
class Dialect:
    """How one SQL system names, quotes and folds its tables."""

    name: str
    levels: tuple[str, ...]
    fold: Callable[[str], str] | None = None
    fold_quoted: bool = False
    quoted_dots_split: bool = False
    default_schema: str | None = None
    default_port: int | None = None


DIALECTS: dict[str, Dialect] = {
    d.name: d
    for d in (
        Dialect(
            name="postgres",
            levels=("database", "schema", "table"),
            fold=str.lower,
            default_schema="public",
            default_port=5432,
        ),
        Dialect(
            name="redshift",
            levels=("database", "schema", "table"),
            fold=str.lower,
            fold_quoted=True,
            default_schema="public",
            default_port=5439,
        ),
        Dialect(
            name="snowflake",
            levels=("database", "schema", "table"),
            fold=str.upper,
            default_schema="PUBLIC",
        ),
        Dialect(name="bigquery", levels=("project", "dataset", "table"), quoted_dots_split=True),
        Dialect(
            name="trino",
            levels=("catalog", "schema", "table"),
            fold=str.lower,
            fold_quoted=True,
            default_port=8080,
        ),
        Dialect(
            name="duckdb",
            levels=("database", "schema", "table"),
            fold=str.lower,
            fold_quoted=True,
            default_schema="main",
        ),
        Dialect(name="mysql", levels=("database", "table"), default_port=3306),
        Dialect(name="sqlite", levels=("schema", "table"), default_schema="main"),
    )
}
_ALIASES = {"postgresql": "postgres", "pg": "postgres", "bq": "bigquery"}


def get_dialect(name: str) -> Dialect:
    """The rules for ``name`` (case-insensitive; ``postgresql`` is ``postgres``)."""
    key = name.strip().lower()
    dialect = DIALECTS.get(_ALIASES.get(key, key))
    if dialect is None:
        raise ConfigError(
            f"unknown SQL dialect {name!r}",
            where="dataset naming",
            fix="use one of: " + ", ".join(sorted(DIALECTS)),
        )
    return dialect


def _bad(relation: str, dialect: Dialect, why: str) -> ConfigError:
    return ConfigError(
        f"cannot read the {dialect.name} relation {relation!r}: {why}",
        where="dataset naming",
        fix=_FIX_RELATION,
    )


def split_relation(relation: str, dialect: Dialect) -> list[str]:
    """Split ``relation`` into unquoted, case-folded parts (no defaults filled in)."""
    fold = dialect.fold
    if '"' not in relation and "`" not in relation and "[" not in relation and " " not in relation:
        parts = relation.split(".")
        for part in parts:
            if not part or "\t" in part or "]" in part:
                raise _bad(relation, dialect, "an empty or malformed part")
        return [fold(p) for p in parts] if fold else parts
    q = relation[:1]
    if (q == '"' or q == "`") and relation[-1] == q and len(relation) > 2 and q + q not in relation:
        # Every part quoted, as dbt renders relation names: "db"."schema"."table".
        parts = relation[1:-1].split(q + "." + q)
        if all(p and q not in p for p in parts):
            if dialect.quoted_dots_split:
                parts = [piece for p in parts for piece in p.split(".")]
                if "" in parts:
                    raise _bad(relation, dialect, "an empty part inside quotes")
            return [fold(p) for p in parts] if fold and dialect.fold_quoted else parts
    return _split_slow(relation, dialect)


def _split_slow(relation: str, dialect: Dialect) -> list[str]:
    out: list[str] = []
    text, n, i = relation, len(relation), 0
    fold = dialect.fold
    while True:
        while i < n and text[i].isspace():
            i += 1
        if i >= n:
            raise _bad(relation, dialect, "an empty part")
        opener = text[i]
        if opener in _CLOSE:
            closer, chars, start, i = _CLOSE[opener], [], i + 1, i + 1
            while True:
                j = text.find(closer, i)
                if j < 0:
                    raise _bad(relation, dialect, f"the quote {opener} at position {start} is never closed")
                chars.append(text[i:j])
                if j + 1 < n and text[j + 1] == closer:  # doubled closer: an escaped quote
                    chars.append(closer)
                    i = j + 2
                    continue
                i = j + 1
                break
            name = "".join(chars)
            if not name:
                raise _bad(relation, dialect, "an empty quoted name")
            pieces = name.split(".") if dialect.quoted_dots_split else [name]
            if "" in pieces:
                raise _bad(relation, dialect, "an empty part inside quotes")
            if fold and dialect.fold_quoted:
                pieces = [fold(p) for p in pieces]
            out.extend(pieces)
        else:
            j = i
            while j < n and text[j] != "." and not text[j].isspace():
                if text[j] in _CLOSE or text[j] == "]":
                    raise _bad(relation, dialect, f"a stray quote {text[j]} at position {j + 1}")
                j += 1
            out.append(fold(text[i:j]) if fold else text[i:j])
            i = j
        while i < n and text[i].isspace():
            i += 1
        if i >= n:
            return out
        if text[i] != ".":
            raise _bad(relation, dialect, f"unexpected {text[i]!r} at position {i + 1}")
        i += 1


def _host_port(dialect: Dialect, host: str | None, port: int | str | None) -> str:
    if not host:
        raise ConfigError(
            f"a {dialect.name} dataset needs the server's host to build its namespace",
            where="dataset naming",
            fix="pass host= (and port=) or an explicit namespace=",
        )
    host = host.strip().lower()
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"  # IPv6 literal
    return f"{host}:{port or dialect.default_port}"


def _redshift_host(host: str | None) -> str | None:
    if host and host.lower().endswith((".redshift.amazonaws.com", ".redshift-serverless.amazonaws.com")):
        parts = host.lower().split(".")
        return f"{parts[0]}.{parts[2]}"  # cluster.id.region.redshift... -> cluster.region
    return host


def _snowflake_account(account: str) -> str:
    acc = account.strip().lower().removeprefix("https://").removesuffix("/")
    return acc.removesuffix(".snowflakecomputing.com")


def namespace_for(
    dialect: str | Dialect,
    *,
    host: str | None = None,
    port: int | str | None = None,
    account: str | None = None,
    path: str | Path | None = None,
) -> str:
    """The OpenLineage namespace of a connection (see the module docstring for each form)."""
    d = dialect if isinstance(dialect, Dialect) else get_dialect(dialect)
    if d.name in ("postgres", "trino", "mysql"):
        return f"{d.name}://{_host_port(d, host, port)}"
    if d.name == "redshift":
        return f"redshift://{_host_port(d, _redshift_host(host), port)}"
    if d.name == "snowflake":
        if not account:
            msg = "a snowflake dataset needs the account to build its namespace"
            raise ConfigError(
                msg,
                where="dataset naming",
                fix="pass account='orgname-accountname' or an explicit namespace=",
            )
        return f"snowflake://{_snowflake_account(account)}"
    if d.name == "bigquery":
        return "bigquery"
    if not path:
        raise ConfigError(
            f"a {d.name} dataset needs the database file path to build its namespace",
            where="dataset naming",
            fix="pass path= (the database file) or an explicit namespace=",
        )
    text = str(path)
    return f"{d.name}://{text if text == ':memory:' else Path(text).expanduser().resolve()}"


@dataclass(frozen=True, slots=True, kw_only=True)
class RelationNamer:
    """Turns relation names of one connection into refs. Build once, call per table."""

    dialect: Dialect
    namespace: str
    defaults: tuple[str | None, ...]

    def __call__(self, relation: str) -> DatasetRef:
        parts = split_relation(relation, self.dialect)
        levels = self.dialect.levels
        missing = len(levels) - len(parts)
        if missing < 0:
            raise _bad(relation, self.dialect, f"{len(parts)} parts, at most {len(levels)} allowed")
        if missing:
            fill = self.defaults[:missing]
            if None in fill:
                level = levels[fill.index(None)]
                raise ConfigError(
                    f"the {self.dialect.name} relation {relation!r} names no {level}, "
                    f"and no default {level} is configured",
                    where="dataset naming",
                    fix=f"qualify the relation with its {level}, or pass default_{_param(level)}=",
                )
            parts = [f for f in fill if f is not None] + parts
        return DatasetRef(namespace=self.namespace, name=".".join(parts))


def _param(level: str) -> str:
    return "schema" if level in ("schema", "dataset") else "database"


def relation_namer(
    dialect: str,
    *,
    namespace: str | None = None,
    host: str | None = None,
    port: int | str | None = None,
    database: str | None = None,
    account: str | None = None,
    project: str | None = None,
    path: str | Path | None = None,
    default_database: str | None = None,
    default_schema: str | None = None,
) -> RelationNamer:
    """A :class:`RelationNamer` for one connection. ``database`` (or BigQuery's ``project``) is
    the connection's database and the default for relations that do not name one."""
    d = get_dialect(dialect)
    ns = namespace.strip().rstrip("/") if namespace else None
    if not ns:
        ns = namespace_for(d, host=host, port=port, account=account, path=path)
    db = default_database or database or project
    if db is None and d.name == "duckdb" and path:
        db = "memory" if str(path) == ":memory:" else Path(str(path)).stem
    schema = default_schema or d.default_schema
    raw = (db, schema) if len(d.levels) == 3 else (db if d.levels[0] == "database" else schema,)
    defaults = tuple(_one(v, d) if v is not None else None for v in raw)
    return RelationNamer(dialect=d, namespace=ns, defaults=defaults)


def _one(identifier: str, dialect: Dialect) -> str:
    parts = split_relation(identifier, dialect)
    if len(parts) != 1:
        raise _bad(identifier, dialect, "a default must be a single name")
    return parts[0]


_cached_namer = lru_cache(maxsize=256)(relation_namer)


def dataset_for_relation(
    dialect: str,
    *,
    relation: str,
    namespace: str | None = None,
    host: str | None = None,
    port: int | str | None = None,
    database: str | None = None,
    account: str | None = None,
    project: str | None = None,
    path: str | Path | None = None,
    default_database: str | None = None,
    default_schema: str | None = None,
) -> DatasetRef:
    """The normalised ref of ``relation`` (``orders``, ``public.orders``, ``"Shop"."public"."x"``)."""
    namer = _cached_namer(
        dialect,
        namespace=namespace,
        host=host,
        port=port,
        database=database,
        account=account,
        project=project,
        path=path,
        default_database=default_database,
        default_schema=default_schema,
    )
    return namer(relation)


_FILE_SUFFIXES = (".duckdb", ".ddb", ".db", ".sqlite", ".sqlite3")
_SCHEME_ALIASES = {"postgresql": "postgres", "s3a": "s3", "s3n": "s3", "gcs": "gs"}
URI_SCHEMES = (
    *("bigquery", "duckdb", "file", "gs", "mysql", "postgres"),
    *("redshift", "s3", "snowflake", "sqlite", "trino"),
)


def dataset_for_uri(uri: str) -> DatasetRef:
    """The normalised ref of a dataset URI such as ``postgres://host:5432/db/schema/table``.

    Path segments may also be dotted (``postgres://host/db.schema.table``); they follow the
    dialect's rules for unquoted names (``%22`` quotes keep case), and fewer segments fill from
    the right like a relation (``snowflake://acc/s/t`` is schema ``S``, table ``T``). Forms:
    ``{postgres,redshift,trino}://host[:port]/db/schema/table``, ``mysql://host[:port]/db/table``,
    ``snowflake://account/db/schema/table``, ``bigquery://project/dataset/table``,
    ``duckdb:///abs/shop.duckdb/[db/]schema/table``, ``sqlite:///abs/app.db/table``,
    ``file:///path`` (namespace ``file``), ``s3://bucket/key``, ``gs://bucket/key``.
    """
    try:
        parsed = urlsplit(uri.strip())
        port = parsed.port
    except ValueError as exc:
        raise _bad_uri(uri, str(exc)) from None
    scheme = _SCHEME_ALIASES.get(parsed.scheme.lower(), parsed.scheme.lower())
    segments = [unquote(s) for s in parsed.path.split("/") if s]
    if scheme in ("s3", "gs"):
        key = parsed.path.lstrip("/")
        if not parsed.netloc or not key:
            raise _bad_uri(uri, "it needs a bucket and an object key")
        return DatasetRef(namespace=f"{scheme}://{parsed.netloc}", name=unquote(key))
    if scheme == "file":
        if not parsed.path:
            raise _bad_uri(uri, "it has no path")
        ns = f"file://{parsed.netloc.lower()}" if parsed.netloc else "file"
        return DatasetRef(namespace=ns, name=unquote(parsed.path))
    if scheme not in DIALECTS:
        raise ConfigError(
            f"unknown dataset URI scheme {parsed.scheme!r} in {uri!r}",
            where="dataset naming",
            fix="use one of: " + ", ".join(f"{s}://" for s in URI_SCHEMES),
        )
    if scheme in ("duckdb", "sqlite"):
        ends = [i for i, s in enumerate(segments) if s.lower().endswith(_FILE_SUFFIXES)]
        if not ends:
            raise _bad_uri(uri, "no path segment is a database file (" + ", ".join(_FILE_SUFFIXES) + ")")
        cut = ends[-1] + 1
        db_path = "/" + "/".join(segments[:cut])
        namer = relation_namer(scheme, path=db_path)
        segments = segments[cut:]
    elif scheme == "bigquery":
        namer = relation_namer(scheme)
        segments = [*([parsed.netloc] if parsed.netloc else []), *segments]
    elif scheme == "snowflake":
        namer = relation_namer(scheme, account=parsed.netloc)
    else:
        namer = relation_namer(scheme, host=parsed.hostname, port=port)
    if not segments:
        raise _bad_uri(uri, "it names no table")
    try:
        parts = [p for s in segments for p in split_relation(s, namer.dialect)]
        return namer(".".join(_requote(p) for p in parts))
    except ConfigError as exc:
        raise _bad_uri(uri, exc.what + "; it needs " + "/".join(namer.dialect.levels)) from None


def _requote(part: str) -> str:
    """Quote an already-normalised part so the namer reads it back unchanged."""
    return '"' + part.replace('"', '""') + '"'


def _bad_uri(uri: str, why: str) -> ConfigError:
    return ConfigError(
        f"cannot read the dataset URI {uri!r}: {why}",
        where="dataset naming",
        fix="write it as scheme://authority/path, e.g. postgres://host:5432/db/schema/table",
    )
