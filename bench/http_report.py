"""The side-by-side table of `make bench-http`: Keyward's req/s as ratios to the reference's."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from bench.wrk import Result

KEYWARD, REFERENCE = "keyward", "reference"
P99_OVER_P50 = 2.0  # SPEC 10: p99 within 2x of p50 at 16 connections


@dataclass(frozen=True)
class Comparison:
    label: str
    keyward: str  # a Keyward route name (bench/http_load.py's setup)
    reference: str  # a reference route name (bench/reference/seed.py)
    target: float | None = None  # SPEC 10: Keyward's req/s at least this times the reference's


COMPARISONS = (
    Comparison("/healthz vs /healthz", "healthz", "healthz", 0.95),
    Comparison("whoami vs raw-SQL lookup", "whoami", "raw whoami", 1.0),
    Comparison("whoami vs DRF TokenAuthentication", "whoami", "DRF whoami"),
    Comparison("whoami vs knox", "whoami", "knox whoami"),
    Comparison("whoami vs ninja-ORM", "whoami", "ninja-ORM whoami"),
    Comparison("one zone vs ORM get()", "zone", "zone", 0.85),
    Comparison("page of 30 vs ORM Paginator", "zones page", "zones page", 0.7),
)

# (run, side, route, connections) -> wrk's result
Measured = dict[tuple[int, str, str, int], Result]


def _spread(values: list[float], fmt: str) -> str:
    median = statistics.median(values)
    if len(values) == 1:
        return format(median, fmt)
    return f"{median:{fmt}} ({min(values):{fmt}}-{max(values):{fmt}})"


def _cells(measured: Measured, runs: int, side: str, route: str, connections: int) -> list[Result]:
    return [measured[(run, side, route, connections)] for run in range(runs)]


def _errors(*cell_lists: list[Result]) -> str:
    errors = sum(cell.errors for cells in cell_lists for cell in cells)
    return f" ({errors} errors)" if errors else ""


def _ratios(
    measured: Measured, runs: int, connections: list[int], comparisons: Sequence[Comparison]
) -> list[str]:
    missed = []
    print(
        "| Keyward vs reference | conns | Keyward req/s | reference req/s | req/s ratio "
        "| CPU us/request (Keyward, reference) | CPU ratio | target |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for count in connections:
        for comparison in comparisons:
            ours = _cells(measured, runs, KEYWARD, comparison.keyward, count)
            theirs = _cells(measured, runs, REFERENCE, comparison.reference, count)
            pairs = list(zip(ours, theirs, strict=True))
            ratios = [a.requests_per_second / b.requests_per_second for a, b in pairs]
            cpu_ratios = [b.cpu_us / a.cpu_us for a, b in pairs if a.cpu_us]
            target = ""
            if comparison.target is not None:
                met = statistics.median(ratios) >= comparison.target
                target = f">= {comparison.target:.2f}x{'' if met else ' !'}"
                if not met:
                    missed.append(f"{comparison.label} at {count}")
            print(
                f"| {comparison.label} | {count} | "
                f"{_spread([c.requests_per_second for c in ours], ',.0f')} | "
                f"{_spread([c.requests_per_second for c in theirs], ',.0f')} | "
                f"{_spread(ratios, '.2f')}x{_errors(ours, theirs)} | "
                f"{statistics.median(c.cpu_us for c in ours):.0f}, "
                f"{statistics.median(c.cpu_us for c in theirs):.0f} | "
                f"{_spread(cpu_ratios, '.2f') + 'x' if cpu_ratios else ''} | {target} |"
            )
    return missed


def _latencies(
    measured: Measured, runs: int, connections: list[int], comparisons: Sequence[Comparison]
) -> list[str]:
    missed = []
    print("\n| route | conns | p50 ms | p99 ms | p99/p50 | reference p50 | reference p99 |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    shown = dict.fromkeys((c.keyward, c.reference) for c in comparisons if c.target)
    for count in connections:
        for ours_route, theirs_route in shown:
            ours = _cells(measured, runs, KEYWARD, ours_route, count)
            theirs = _cells(measured, runs, REFERENCE, theirs_route, count)
            tails = [c.p99_ms / c.p50_ms for c in ours]
            flag = ""
            if count >= 16 and statistics.median(tails) > P99_OVER_P50:
                flag = " !"
                missed.append(f"{ours_route} p99/p50 at {count}")
            print(
                f"| {ours_route} | {count} | {_spread([c.p50_ms for c in ours], '.2f')} | "
                f"{_spread([c.p99_ms for c in ours], '.2f')} | {_spread(tails, '.2f')}x{flag} | "
                f"{statistics.median(c.p50_ms for c in theirs):.2f} | "
                f"{statistics.median(c.p99_ms for c in theirs):.2f} |"
            )
    return missed


def _load(measured: Measured, runs: int, route: str, connections: int) -> None:
    print(f"\nAt {connections} connections (queueing on the workers), one {route} read:\n")
    print("| side | req/s | p50 ms | p99 ms | errors |")
    print("|---|---:|---:|---:|---:|")
    for side in (KEYWARD, REFERENCE):
        cells = _cells(measured, runs, side, route, connections)
        print(
            f"| {side} | {_spread([c.requests_per_second for c in cells], ',.0f')} | "
            f"{_spread([c.p50_ms for c in cells], '.2f')} | "
            f"{_spread([c.p99_ms for c in cells], '.2f')} | {sum(c.errors for c in cells)} |"
        )


def report(
    measured: Measured,
    runs: int,
    connections: list[int],
    comparisons: Sequence[Comparison],
    load: tuple[str, int] | None,
) -> None:
    """Print the ratios, the latencies and the load row; name the targets missed."""
    missed = _ratios(measured, runs, connections, comparisons)
    missed += _latencies(measured, runs, connections, comparisons)
    if load:
        _load(measured, runs, *load)
    print(
        "\nreq/s ratio: Keyward's req/s over the reference's, run by run; "
        f"median{' (min-max)' if runs > 1 else ''} over {runs} run(s). CPU us/request: the "
        "gunicorn workers' and their PostgreSQL backends' CPU time per request; CPU ratio: the "
        "reference's over Keyward's (above 1: Keyward spends less), steadier than req/s while "
        "other processes share the cores."
    )
    if missed:
        print(f"Below the targets: {'; '.join(missed)}")
