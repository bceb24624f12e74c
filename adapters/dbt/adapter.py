"""The dbt adapter: discover from manifest.json, observe run_results.json, launch ``dbt build``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from lockgate.adapters.dbt import profiles
from lockgate.adapters.dbt.artifacts import parse_run_results
from lockgate.adapters.dbt.client import DbtClient
from lockgate.adapters.dbt.config import DbtConfig
from lockgate.adapters.dbt.fast import translate_structs, uses_defaults
from lockgate.adapters.dbt.manifest import Translation, translate_manifest
from lockgate.adapters.dbt.reader import decode_structs, read_manifest
from lockgate.adapters.dbt.run_results import MAX_COMPILED_CODE, cursor_of, run_results_events
from lockgate.adapters.dbt.runner import LaunchStream
from lockgate.adapters.dbt.translator import DatasetFactory, DbtTranslator
from lockgate.federation.adapter import (
    Discovery,
    EventSink,
    ObserveResult,
    RunHandle,
    RunRequest,
    RunState,
)
from lockgate.federation.datasets import RelationNamer, relation_namer
from lockgate.federation.errors import ArtifactError, ConfigError, LaunchError
from lockgate.federation.gcpause import gc_paused
from lockgate.federation.keys import DatasetRef
from lockgate.federation.specs import JsonValue


class DbtAdapter:
    """One dbt project. ``translator`` customises keys, groups, owners... (see DbtTranslator)."""

    def __init__(
        self,
        config: DbtConfig,
        *,
        translator: DbtTranslator | None = None,
        client: DbtClient | None = None,
    ) -> None:
        self.name = config.name
        self.config = config
        self.client = client or DbtClient(config)
        self.translator = translator or DbtTranslator(docs_url=config.docs_url)
        self._translation: Translation | None = None
        self._signature: tuple[int, int] | None = None
        self._launched: dict[str, RunHandle] = {}

    # ---------------------------------------------------------------- discovery
    def discover(self) -> Discovery:
        return self.translation(refresh=True).discovery()

    def translation(self, *, refresh: bool = False) -> Translation:
        """The translated manifest, re-read when the file changed (or when ``refresh``)."""
        path = self.config.manifest_path
        if not self.client.exists(path):
            if not self.config.parse_if_missing:
                msg = "the dbt manifest does not exist and parse_if_missing is false"
                raise ArtifactError(
                    msg,
                    where=str(path),
                    fix="run `dbt parse` in the project, or set parse_if_missing: true",
                )
            self.client.parse()
        signature = self.client.signature(path)
        if refresh or self._translation is None or signature != self._signature:
            warnings: list[str] = []
            with self.client.map_bytes(path, what="manifest") as data, gc_paused():
                decoded = decode_structs(data, path=path) if uses_defaults(self.translator) else None
                if decoded is not None:  # the default translator: the fast path (adapters/dbt/fast.py)
                    factory = self._dataset_factory({"metadata": decoded.metadata}, warnings)
                    translation = translate_structs(
                        decoded, self.translator, adapter=self.name, path=path, dataset_factory=factory
                    )
                    del decoded
                else:
                    manifest = read_manifest(data, path=path, extra_fields=self.translator.extra_node_fields)
                    factory = self._dataset_factory(manifest, warnings)
                    translation = translate_manifest(
                        manifest, self.translator, adapter=self.name, path=path, dataset_factory=factory
                    )
                    del manifest
            if warnings:
                translation = Translation(
                    assets=translation.assets,
                    checks=translation.checks,
                    warnings=(*warnings, *translation.warnings),
                    keys=translation.keys,
                    check_specs=translation.check_specs,
                    selectors=translation.selectors,
                )
            self._translation, self._signature = translation, signature
        assert self._translation is not None
        return self._translation

    def _namer(self, manifest: dict[str, Any], warnings: list[str]) -> RelationNamer | None:
        dialect = str((manifest.get("metadata") or {}).get("adapter_type") or "")
        try:
            if self.config.dataset_namespace:
                return relation_namer(dialect, namespace=self.config.dataset_namespace)
            project_file = self.config.project_dir / "dbt_project.yml"
            project_text = self.client.read_text(project_file)
            profiles_file = self.config.profiles_dir / "profiles.yml"
            profiles_text = self.client.read_text(profiles_file)
            if project_text is None or profiles_text is None:
                missing = project_file if project_text is None else profiles_file
                warnings.append(
                    f"{missing} does not exist, so the dbt assets get no dataset (table) identity; "
                    "set dataset_namespace in the adapter settings to link them to other systems"
                )
                return None
            profile = profiles.profile_name(project_text, path=project_file)
            conn = profiles.connection(
                profiles_text, path=profiles_file, profile=profile, target=self.config.target
            )
            return relation_namer(
                dialect or conn.adapter_type,
                host=conn.host,
                port=conn.port,
                database=conn.database,
                account=conn.account,
                path=conn.path,
            )
        except ConfigError as exc:
            if self.config.dataset_namespace or "dataset naming" not in str(exc):
                raise
            warnings.append(f"{exc} (the dbt assets get no dataset identity)")
            return None

    def _dataset_factory(self, manifest: dict[str, Any], warnings: list[str]) -> DatasetFactory:
        namer = self._namer(manifest, warnings)
        if namer is None:
            return lambda relation: None
        bad: list[str] = []

        def factory(relation: str) -> DatasetRef | None:
            try:
                return namer(relation)
            except ConfigError:
                if not bad:
                    warnings.append(f"cannot name the dataset of relation {relation!r}; it gets none")
                bad.append(relation)
                return None

        return factory

    def _compiled_sql(self, translation: Translation) -> Callable[[str], str | None]:
        """unique_id -> the SQL dbt compiled for it in the running invocation (for OpenLineage)."""
        files = {
            spec.origin.external_id: path
            for spec in translation.assets
            if isinstance(path := spec.metadata.get("original_file_path"), str)
        }

        def read(uid: str) -> str | None:
            parts = uid.split(".")
            path = files.get(uid)
            if path is None or len(parts) < 3:
                return None
            return self.client.compiled_sql(parts[1], path, limit=MAX_COMPILED_CODE)

        return read

    # ---------------------------------------------------------------- observe
    def observe(self, cursor: str | None) -> ObserveResult:
        path = self.config.run_results_path
        if not self.client.exists(path):
            return ObserveResult(events=(), cursor=cursor)
        doc = parse_run_results(self.client.read_bytes(path, what="run results"), path=path)
        new_cursor = cursor_of(doc)
        if new_cursor == cursor:
            return ObserveResult(events=(), cursor=cursor)
        events = run_results_events(
            doc, self.translation(), adapter=self.name, partition_var=self.config.partition_var
        )
        return ObserveResult(events=tuple(events), cursor=new_cursor)

    # ---------------------------------------------------------------- launch
    def launch(self, request: RunRequest, sink: EventSink) -> RunHandle:
        earlier = self._launched.get(request.idempotency_key)
        if earlier is not None:
            return earlier
        translation = self.translation()
        owned = set(translation.keys.values())
        select = [translation.selectors[k] for k in request.assets if k in translation.selectors]
        unknown = [str(k) for k in request.assets if k not in owned]
        external = [str(k) for k in request.assets if k in owned and k not in translation.selectors]
        if unknown or external or not select:
            what = (
                f"assets not in this dbt project: {', '.join(unknown)}"
                if unknown
                else f"sources and exposures cannot be built by dbt: {', '.join(external)}"
                if external
                else "the run request names no assets"
            )
            raise LaunchError(
                what,
                where=f"dbt adapter {self.name!r}",
                fix="request models, seeds or snapshots of this project (see `lockgate assets`)",
            )
        variables = dict(self.config.vars)
        if request.partition is not None:
            variables[self.config.partition_var] = request.partition
        stream = LaunchStream(
            translation,
            adapter=self.name,
            request=request,
            sink=sink,
            compiled_sql=self._compiled_sql(translation),
        )
        invocation = self.client.build(select, variables, stream)
        success, message = stream.finish(
            success=invocation.success, result=invocation.result, exception=invocation.exception
        )
        if invocation.callback_errors:
            message += f" (lockgate's event callback failed: {invocation.callback_errors[0]})"
        handle = RunHandle(
            adapter=self.name,
            run_id=str(stream.invocation_id),
            state=RunState.SUCCEEDED if success else RunState.FAILED,
            message=message,
            metadata={
                "idempotency_key": request.idempotency_key,
                "select": list[JsonValue](select),
                "vars": cast(dict[str, JsonValue], variables),
            },
        )
        self._launched[request.idempotency_key] = handle
        return handle

    def poll(self, handle: RunHandle, sink: EventSink) -> RunHandle:
        """dbt runs synchronously inside ``launch``: the handle is already final."""
        return handle

    def close(self) -> None:
        self._translation = None
