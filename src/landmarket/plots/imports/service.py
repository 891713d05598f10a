"""Bulk import of plots from a GIS system: validate everything, then write set-based.

Per feature in Python (cheap): the Feature and its properties with the same Pydantic models as
single plots, the geometry's structure (plots.geometry.structure_problem) and the key's right to
the named municipality. Then the features are COPYed into a temporary table and every PostGIS
rule runs as one statement over all of them (plots.geometry.placement), judged per row by the
same code as a single plot. Writes are a handful of statements whatever the number of features.
"""

from __future__ import annotations

import enum
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from landmarket.auth.principal import AuthPrincipal
from landmarket.core.errors import (
    Conflict,
    FieldError,
    Forbidden,
    PayloadTooLarge,
    ValidationFailed,
    validation_errors,
)
from landmarket.db.geo import Crs
from landmarket.db.session import is_transient
from landmarket.matching.recompute import refresh_plots
from landmarket.plots.geometry import (
    DEFAULT_MAX_VERTICES,
    UNREADABLE,
    GeometryProblem,
    Placed,
    judge,
    structure_problem,
)
from landmarket.plots.imports import repository as repo
from landmarket.plots.imports.schemas import (
    REQUIRED_FOR_NEW,
    FeatureFailure,
    FeatureRepaired,
    ImportMode,
    PlotImport,
    PlotImportFeature,
    PlotImportReport,
    PlotMergeFeature,
)
from landmarket.plots.policy import (
    INITIAL_STATUSES,
    attribute_values,
    may_write,
    transition_problem,
)
from landmarket.plots.schemas import PlotProperties


@dataclass(frozen=True)
class ImportOptions:
    crs: Crs
    mode: ImportMode = ImportMode.atomic
    prune: bool = False
    dry_run: bool = False
    repair: bool = False
    # The API passes LANDMARKET_MAX_IMPORT_FEATURES; None (the demo, tools): no cap.
    max_features: int | None = None
    max_vertices: int = DEFAULT_MAX_VERTICES
    # Merge: only these properties change on existing plots (None: replace the whole plot).
    fields: frozenset[str] | None = None
    # Refuse (409) features that would change a plot edited by other means since the last
    # import wrote it, instead of overwriting the edit.
    detect_conflicts: bool = False
    # Per-statement limit inside the import (LANDMARKET_IMPORT_STATEMENT_TIMEOUT_MS; None: the
    # connection's own, LANDMARKET_STATEMENT_TIMEOUT_MS).
    statement_timeout_ms: int | None = None


@dataclass
class _Run:
    """What one import has learnt so far, by feature index."""

    external_ids: dict[int, str] = field(default_factory=dict)
    staged: dict[int, PlotProperties] = field(default_factory=dict)
    placed: dict[int, Placed] = field(default_factory=dict)
    failures: list[FeatureFailure] = field(default_factory=list)

    def fail(self, index: int, pointer: str, detail: str, status: int = 422) -> None:
        self.failures.append(
            FeatureFailure(
                index=index,
                external_id=self.external_ids.get(index),
                pointer=pointer,
                detail=detail,
                status=status,
            )
        )
        self.placed.pop(index, None)

    @property
    def failed(self) -> set[int]:
        return {f.index for f in self.failures}


class _DryRun(Exception):
    """Unwinds the savepoint of a dry run, carrying the report out."""

    def __init__(self, report: PlotImportReport) -> None:
        super().__init__("dry run")
        self.report = report


def _readable_external_id(raw: Any) -> str | None:
    props = raw.get("properties") if isinstance(raw, dict) else None
    value = props.get("external_id") if isinstance(props, dict) else None
    return value if isinstance(value, str) else None


def _forbidden_detail(ags: str) -> str:
    return f"this key may not write plots of municipality {ags}"


def _check_size(body: PlotImport, options: ImportOptions) -> None:
    limit = options.max_features
    if limit is not None and len(body.features) > limit:
        raise PayloadTooLarge(
            f"{len(body.features)} features in one import; at most {limit} are allowed "
            "(LANDMARKET_MAX_IMPORT_FEATURES). Nothing was written; send them in batches "
            "(`landmarket plots push --batch-size`)",
            errors=[FieldError(pointer="/body/features", detail=f"at most {limit} features")],
        )


def _check_features(
    principal: AuthPrincipal, body: PlotImport, options: ImportOptions, run: _Run
) -> None:
    crs = options.crs
    # In a merge, a property a new plot needs (the title) may be left out: whether the plot
    # exists is known only after placement (its municipality may come from the geometry), so
    # _check_statuses refuses it then, for new plots only.
    model = PlotImportFeature if options.fields is None else PlotMergeFeature
    for i, raw in enumerate(body.features):
        ext = _readable_external_id(raw)
        if ext is not None:
            run.external_ids[i] = ext
        try:
            feature = model.model_validate(raw)
        except ValidationError as exc:
            for error in validation_errors(exc.errors(include_input=False)):
                run.fail(i, f"/features/{i}{error.pointer}", error.detail)
            continue
        problem = structure_problem(
            feature.geometry.model_dump(),
            crs,
            f"/features/{i}/geometry",
            max_vertices=options.max_vertices,
        )
        if problem is not None:
            run.fail(i, problem.pointer, problem.detail)
            continue
        target = feature.properties.municipality_ags
        if target is not None and not may_write(principal, target):
            run.fail(
                i, f"/features/{i}/properties/municipality_ags", _forbidden_detail(target), 403
            )
            continue
        run.staged[i] = feature.properties


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, enum.Enum) else value


def _record(i: int, raw: dict[str, Any], props: PlotProperties) -> tuple[Any, ...]:
    values = attribute_values(props)
    if values["contact"] is not None:
        values["contact"] = json.dumps(values["contact"])  # asyncpg sends jsonb as text
    values |= {
        "idx": i,
        "external_id": props.external_id,
        "target": props.municipality_ags,
        "geojson": json.dumps(raw["geometry"]),
        "status": props.status,
    }
    return tuple(_plain(values[name]) for name in repo.STAGED_COLUMNS)


async def _place(session: AsyncSession, options: ImportOptions, run: _Run) -> None:
    try:
        async with session.begin_nested():
            await repo.place_all(session, options.crs.srid, repair=options.repair)
    except DBAPIError as exc:
        if is_transient(exc):
            raise  # timeout or outage: a 503, not a bad feature
        # Some geometry defeats PostGIS (e.g. a projection far outside its area): find which,
        # one row at a time. Only malformed input ever takes this path.
        for i in await repo.staged_indexes(session):
            try:
                async with session.begin_nested():
                    await repo.place_one(session, i, options.crs.srid, repair=options.repair)
            except DBAPIError as one:
                if is_transient(one):
                    raise
                run.fail(i, f"/features/{i}/geometry", UNREADABLE)


async def _judge(
    session: AsyncSession, principal: AuthPrincipal, options: ImportOptions, run: _Run
) -> None:
    first: dict[tuple[str, str], int] = {}
    for row in await repo.placements(session):
        i = row.idx
        verdict = judge(
            row,
            repair=options.repair,
            pointer=f"/features/{i}/geometry",
            ags_pointer=f"/features/{i}/properties/municipality_ags",
            max_vertices=options.max_vertices,
        )
        if isinstance(verdict, GeometryProblem):
            run.fail(i, verdict.pointer, verdict.detail)
            continue
        ags = verdict.municipality_ags
        if not may_write(principal, ags):
            run.fail(i, f"/features/{i}/geometry", _forbidden_detail(ags), 403)
            continue
        key = (ags, run.staged[i].external_id)
        if key in first:
            run.fail(
                i,
                f"/features/{i}/properties/external_id",
                f"duplicate: feature {first[key]} has the same external_id in {ags}",
            )
            continue
        first[key] = i
        run.placed[i] = verdict


async def _check_statuses(session: AsyncSession, run: _Run) -> int:
    """The state machine, as for single plots; returns how many placed features exist."""
    current = await repo.existing(session)
    matched = 0
    for i in sorted(run.placed):
        wanted = run.staged[i].status
        pointer = f"/features/{i}/properties/status"
        if i not in current:
            absent = [n for n in REQUIRED_FOR_NEW if getattr(run.staged[i], n) is None]
            for name in absent:
                run.fail(
                    i,
                    f"/features/{i}/properties/{name}",
                    f"required for a new plot: no plot with this external_id exists yet in "
                    f"{run.placed[i].municipality_ags} (a merge may leave {name} out only for "
                    "existing plots)",
                )
            if absent:
                continue
            if wanted is not None and wanted not in INITIAL_STATUSES:
                run.fail(i, pointer, f"a new plot starts as draft or published, not {wanted}")
            continue
        matched += 1
        if wanted is not None and wanted is not current[i]:
            problem = transition_problem(current[i], wanted)
            if problem is not None:
                matched -= 1
                run.fail(i, pointer, problem, 409)
    return matched


async def _check_conflicts(session: AsyncSession, options: ImportOptions, run: _Run) -> int:
    """Plots edited through the API (or another client) since the last import wrote them are
    not overwritten: each such feature fails with 409. Returns how many existing plots that
    removed from the import."""
    failed = run.failed
    conflicts = 0
    for i, (version, synced) in sorted(
        (await repo.edited_elsewhere(session, options.fields)).items()
    ):
        if i in failed or i not in run.placed:
            continue
        conflicts += 1
        run.fail(
            i,
            f"/features/{i}",
            f"conflict: the plot was edited elsewhere since the last push (version {version}, "
            f"the last push left version {synced}); push with force to overwrite it",
            409,
        )
    return conflicts


def _rejected(run: _Run, received: int) -> ValidationFailed:
    failures = sorted(run.failures, key=lambda f: f.index)
    return ValidationFailed(
        f"{len(run.failed)} of {received} feature(s) failed; nothing was written "
        "(send mode=partial to save the valid ones)",
        errors=failures,
    )


def _refused(run: _Run, received: int) -> Forbidden:
    """An atomic import that fails only because the key may not write those municipalities
    is refused as a whole (403), as a single write would be, not reported as invalid input."""
    failures = sorted(run.failures, key=lambda f: f.index)
    return Forbidden(
        f"This key may not write the municipalities of {len(run.failed)} of {received} "
        "feature(s) (see errors); nothing was written",
        errors=failures,
    )


def _keep_records(body: PlotImport, run: _Run) -> list[tuple[Any, ...]]:
    """What the sync contains: every readable id of this request (failed features too, so a
    feature that could not be saved is never withdrawn for it) and the ids of earlier batches."""
    records: list[tuple[Any, ...]] = []
    for i, ext in run.external_ids.items():
        placed = run.placed.get(i)
        records.append((placed.municipality_ags if placed else None, ext))
    records += [(None, ext) for ext in body.keep]
    return records


async def import_plots(
    session: AsyncSession, principal: AuthPrincipal, body: PlotImport, options: ImportOptions
) -> PlotImportReport:
    _check_size(body, options)
    for ags in body.municipalities:
        if not may_write(principal, ags):
            raise Forbidden(f"This key may not prune plots of municipality {ags}")
    if options.statement_timeout_ms is not None:
        # set_config(..., is_local => true) is SET LOCAL with a bound value: this transaction only.
        limit = str(options.statement_timeout_ms)
        await session.execute(select(func.set_config("statement_timeout", limit, True)))
    try:
        async with session.begin_nested():
            report = await _import(session, principal, body, options)
            if options.dry_run:
                raise _DryRun(report)
    except _DryRun as dry:
        return dry.report
    return report


async def _import(
    session: AsyncSession, principal: AuthPrincipal, body: PlotImport, options: ImportOptions
) -> PlotImportReport:
    run = _Run()
    received = len(body.features)
    _check_features(principal, body, options, run)
    await repo.create_tables(session)
    records = [_record(i, body.features[i], props) for i, props in sorted(run.staged.items())]
    await repo.copy_rows(session, repo.staging, records)
    await _place(session, options, run)
    await _judge(session, principal, options, run)
    matched = await _check_statuses(session, run)
    if options.detect_conflicts:
        matched -= await _check_conflicts(session, options, run)
    if run.failures and options.mode is ImportMode.atomic:
        if all(f.status == 403 for f in run.failures):
            raise _refused(run, received)
        raise _rejected(run, received)
    await repo.discard(session, run.failed)
    updated = await repo.update_changed(session, principal, options.fields)
    created = await repo.insert_new(session, principal)
    await repo.mark_synced(session)
    if len(created) != len(run.placed) - matched:
        # Another request inserted one of these plots between our check and our insert.
        raise Conflict("Plots of this import were created concurrently; send it again")
    municipalities = sorted({p.municipality_ags for p in run.placed.values()})
    withdrawn: list[uuid.UUID] = []
    if options.prune:
        await repo.copy_rows(session, repo.keep, _keep_records(body, run))
        scope = sorted(set(municipalities) | set(body.municipalities))
        withdrawn = await repo.withdraw_missing(session, principal, scope)
    # Matches commit (or, in a dry run, roll back) together with the plots.
    await refresh_plots(session, [*updated, *created, *withdrawn])
    return PlotImportReport(
        mode=options.mode,
        dry_run=options.dry_run,
        received=received,
        created=len(created),
        updated=len(updated),
        unchanged=matched - len(updated),
        withdrawn=len(withdrawn),
        failed=len(run.failed),
        municipalities=municipalities,
        repaired=[
            FeatureRepaired(index=i, external_id=run.staged[i].external_id, reason=p.repaired)
            for i, p in sorted(run.placed.items())
            if p.repaired
        ],
        errors=sorted(run.failures, key=lambda f: f.index),
    )
