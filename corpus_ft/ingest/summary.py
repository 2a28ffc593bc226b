"""The short table `corpus-ft ingest` prints on stderr after a run."""

from __future__ import annotations


def print_summary(report: dict, out_dir: str) -> None:
    """Files, skips by reason, units by kind and language, warnings and time, as a rich table on stderr."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = Console(stderr=True)
    several = report.get("repos") or []
    title = ", ".join(f"{r['name']} ({r['path']})" for r in several) if several else report["repo"]
    table = Table(title=f"ingest: {escape(title)}", show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    table.add_row(
        "files",
        f"{report['files_seen']} seen, {report['files_ingested']} ingested, "
        f"{report['files_skipped']} skipped, {report['dirs_skipped']} directories skipped",
    )
    if report["skipped_by_reason"]:
        table.add_row("skipped", ", ".join(f"{k} {v}" for k, v in report["skipped_by_reason"].items()))
    table.add_row("units", f"{report['units']}: " + ", ".join(f"{k} {v}" for k, v in report["units_by_kind"].items()))
    for r in several:
        kinds = ", ".join(f"{k} {v}" for k, v in r["units_by_kind"].items())
        table.add_row(f"  {escape(r['name'])}", f"{r['files_ingested']} files, {r['units']} units: {kinds}")
    table.add_row("languages", ", ".join(f"{k} {v}" for k, v in report["units_by_language"].items()))
    cats = report.get("categories") or {}
    total = sum(c["bytes"] for c in cats.values()) or 1
    if cats:
        table.add_row(
            "categories",
            ", ".join(
                f"{name} {100 * c['bytes'] / total:.0f}% ({c['units']} units{'' if c['used'] else ', left out'})"
                for name, c in sorted(cats.items(), key=lambda kv: -kv[1]["bytes"])
            ),
        )
        if any(not c["used"] for c in cats.values()):
            table.add_row(
                "", escape("left out of datasets by default; `datasets.include: [test, changelog, …]` keeps them")
            )
    if report["warnings"]:
        shown = "; ".join(f"{w['path']}:{w['line']} {w['kind']}" for w in report["warnings"][:3])
        more = f" (+{len(report['warnings']) - 3} more)" if len(report["warnings"]) > 3 else ""
        table.add_row("warnings", f"{len(report['warnings'])}: {shown}{more}")
    cache = report.get("cache", {})
    reuse = (
        "unchanged, outputs kept"
        if cache.get("unchanged")
        else f"{cache.get('parsed_files', 0)} files parsed, {cache.get('reused_files', 0)} reused"
    )
    table.add_row("time", f"{report['seconds']:.2f} s, {report['workers']} workers ({reuse})")
    table.add_row("output", f"{out_dir}/units.parquet, ingest_report.json")
    console.print(table)
