"""The ``sentinel`` command. Thin: parse arguments, call one function, render.

Errors are caught once here: a SentinelError prints one line and exits 1;
usage errors exit 2 (click's convention).
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from collectors import registry
from collectors.driver import ReadStats, read_batches
from collectors.errors import SentinelError
from collectors.registry import ParseContext, detect_file, get_format
from sentinel.config import Settings, load_settings
from sentinel.textsafe import printable


class Obj:
    def __init__(self, config: Path | None, overrides: dict[str, Any]) -> None:
        self.config, self.overrides = config, overrides
        self._settings: Settings | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(self.config, self.overrides)
        return self._settings


def _fail(exc: SentinelError) -> None:
    click.echo(f"sentinel: error: {printable(exc, 2000)}", err=True)
    sys.exit(1)


class Group(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except SentinelError as exc:
            _fail(exc)


@click.group(cls=Group)
@click.option("--config", "-c", type=click.Path(path_type=Path), envvar="SENTINEL_CONFIG",
              help="TOML configuration file.")
@click.option("--database", help="SQLAlchemy URL (default: SQLite in the data directory).")
@click.option("--data-dir", type=click.Path(path_type=Path), help="Data directory.")
@click.option("--verbose", "-v", is_flag=True, help="Log progress and stage timings to stderr.")
@click.version_option(package_name="district-sentinel")
@click.pass_context
def main(ctx: click.Context, config: Path | None, database: str | None,
         data_dir: Path | None, verbose: bool) -> None:
    """Find the apps used on a district network without vetting or a DPA."""
    if verbose:
        import logging
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s: %(message)s"))
        log = logging.getLogger("sentinel")
        log.addHandler(handler)
        log.setLevel(logging.INFO)
    ctx.obj = Obj(config, {"storage.database_url": database,
                           "storage.data_dir": str(data_dir) if data_dir else None})


@main.command()
def formats() -> None:
    """List the log formats Sentinel reads."""
    known = registry.formats()
    for name in sorted(known):
        f = known[name]
        click.echo(f"{name:21} {f.kind:6} {f.description}")


@main.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--format", "format_name", help="Format name (default: detect).")
@click.option("--timezone", default="UTC", show_default=True,
              help="Zone of stamps that carry none.")
@click.pass_obj
def parse(obj: Obj, file: Path, format_name: str | None, timezone: str) -> None:
    """Print FILE's normalized events as JSON lines; rejected lines go to stderr."""
    import zoneinfo
    if obj.config is not None:
        obj.settings  # noqa: B018 (loading it registers the configuration's [[formats]])
    fmt = get_format(format_name) if format_name else detect_file(file)
    try:
        tz = zoneinfo.ZoneInfo(timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise click.BadParameter(f"unknown time zone {timezone!r}", param_hint="--timezone") from None
    ctx = ParseContext(tz=tz, reference=dt.datetime.fromtimestamp(file.stat().st_mtime, dt.UTC))
    stats = ReadStats()
    out = sys.stdout
    if fmt.read_records is not None:
        batches = fmt.read_records(file, ctx, stats)
    else:
        batches = read_batches(file, fmt.make_parser(ctx), stats)
    for batch in batches:
        for ev in batch.events:
            out.write(json.dumps(ev.to_json(), ensure_ascii=True) + "\n")
        for rej in batch.rejected:
            click.echo(f"{file}:{rej.line}: rejected: {rej.reason}: {printable(rej.raw, 200)}",
                       err=True)
    click.echo(f"{file}: format {fmt.name}: read {stats.read}, parsed {stats.parsed}, "
               f"ignored {stats.ignored}, rejected {stats.rejected}", err=True)


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("--format", "format_name", help="Format of PATHS (default: detect per file).")
@click.option("--json", "as_json", is_flag=True, help="Print a machine-readable summary.")
@click.option("--jobs", "-j", type=click.IntRange(1, 64),
              help="Read this many files in parallel, one process each (default: ingest.jobs).")
@click.pass_obj
def scan(obj: Obj, paths: tuple[Path, ...], format_name: str | None, as_json: bool,
         jobs: int | None) -> None:
    """Read logs (PATHS, or the configured sources), update usage, findings and report."""
    from sentinel.app import open_context, run_scan
    from sentinel.report import render_terminal

    if jobs is not None:
        obj.overrides["ingest.jobs"] = jobs
    if not paths and not obj.settings.sources:
        raise click.UsageError("no PATHS given and no [[sources]] in the configuration")
    ctx = open_context(obj.settings)
    console = _console(stderr=as_json)
    try:
        with _progress(console, quiet=as_json) as progress:
            outcome = run_scan(ctx, list(paths), format_name, progress=progress)
    finally:
        ctx.store.dispose()  # no pooled connection outlives the command
    if as_json:
        click.echo(json.dumps(outcome.to_json(), indent=2, ensure_ascii=True))
    else:
        render_terminal(outcome.report, console)
        console.print(f"HTML report: {outcome.html}")


@main.command()
@click.option("--output", "-o", type=click.Path(path_type=Path), help="HTML file to write.")
@click.pass_obj
def report(obj: Obj, output: Path | None) -> None:
    """Regenerate the report from the store (no logs are read)."""
    from sentinel.app import open_context
    from sentinel.findings import evaluate
    from sentinel.report import build_report, render_terminal, write_html

    ctx = open_context(obj.settings)
    try:
        evaluation = evaluate(ctx.settings, ctx.store, ctx.catalog, ctx.kb, ctx.matcher)
        data = build_report(ctx.settings, ctx.store, ctx.catalog, evaluation=evaluation)
        path = write_html(data, output or ctx.settings.storage.data_dir / "report.html",
                          ctx.store)
    finally:
        ctx.store.dispose()
    console = _console()
    render_terminal(data, console)
    console.print(f"HTML report: {path}")


@main.command()
@click.option("--out", type=click.Path(path_type=Path), default=Path("sentinel-data/demo"),
              show_default=True, help="Folder to write the demo district into.")
@click.option("--devices", default=1200, show_default=True, help="Devices in the district.")
@click.option("--days", default=7, show_default=True, help="Days of logs.")
@click.option("--end", type=click.DateTime(["%Y-%m-%d"]), help="Last day (default: yesterday).")
@click.option("--seed", default=7, show_default=True)
@click.option("--dns-format", type=click.Choice(["bind", "windns_debug", "zeek_dns", "pcap"]),
              default="bind", show_default=True, help="What the demo's DNS server writes.")
def demo(out: Path, devices: int, days: int, end: dt.datetime | None, seed: int,
         dns_format: str) -> None:
    """Generate a deterministic synthetic district (config, catalog, DNS and Squid logs)."""
    from sentinel.demo import generate

    cfg = generate(out, devices=devices, days=days, end=end.date() if end else None, seed=seed,
                   dns_format=dns_format)
    click.echo(f"Demo district written to {out}; scan it with: sentinel -c {cfg} scan")


def _console(stderr: bool = False) -> Console:
    """A console 120 columns wide when the output is not a terminal (a pipe, a
    log, cron mail): rich's 80 would truncate the tables. A terminal keeps its width."""
    stream = sys.stderr if stderr else sys.stdout
    return Console(stderr=stderr, width=None if stream.isatty() else 120)


class _progress:
    """A rich progress bar per input (bytes and lines/s); silent when quiet."""

    def __init__(self, console: Console, quiet: bool) -> None:
        self.quiet = quiet
        self.bar = Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                            TransferSpeedColumn(), TextColumn("{task.fields[lines]} lines"),
                            TimeRemainingColumn(), console=console, transient=True,
                            disable=quiet)

    def __enter__(self) -> Callable[[str, int], Callable[[int, int], None]] | None:
        if self.quiet:
            return None
        self.bar.__enter__()

        def start(name: str, size: int) -> Callable[[int, int], None]:
            task = self.bar.add_task(printable(Path(name).name, 40), total=size, lines=0)

            def update(done: int, lines: int) -> None:
                self.bar.update(task, completed=min(done, size), lines=f"{lines:,}")
            return update
        return start

    def __exit__(self, *exc: object) -> None:
        if not self.quiet:
            self.bar.__exit__(None, None, None)


from sentinel.cli_audit import audit  # noqa: E402  (a command group of its own module)

main.add_command(audit)
from sentinel.cli_kb import kb  # noqa: E402  (a command group of its own module)

main.add_command(kb)

from sentinel.cli_evidence import evidence  # noqa: E402  (a command group of its own module)

main.add_command(evidence)
from sentinel.cli_findings import findings  # noqa: E402  (a command group of its own module)

main.add_command(findings)
from sentinel.cli_catalog import catalog, triage  # noqa: E402  (command groups of their own module)

main.add_command(catalog)
main.add_command(triage)
from sentinel.cli_identify import identify  # noqa: E402  (a command of its own module)

main.add_command(identify)
from sentinel.cli_poll import poll  # noqa: E402  (a command group of its own module)

main.add_command(poll)


def entry() -> None:
    """The ``sentinel`` command: `main`, then a quick exit.

    Once the command has exited (its database work committed, its files closed
    by their ``with`` blocks), the exit hooks run as usual: threads are joined,
    `atexit` handlers and weak-reference finalizers run, and the standard streams
    are flushed. Then the process ends without tearing down the interpreter,
    which only freed the objects of some 700 modules and cost 0.3 s on every
    command. An exception other than `SystemExit` leaves the normal way.
    """
    import atexit
    import os
    import threading

    try:
        main()
        code: Any = 0  # pragma: no cover  (click always exits)
    except SystemExit as exc:
        code = exc.code
    if isinstance(code, str):  # sys.exit("message"): printed, status 1
        print(code, file=sys.stderr)
    status = code if isinstance(code, int) else (0 if code is None else 1)
    shutdown = getattr(threading, "_shutdown", None)  # what interpreter exit does first
    if shutdown is not None:
        shutdown()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe (sentinel ... | head)
            status = status or 1
    os._exit(status)


if __name__ == "__main__":  # pragma: no cover
    entry()
