"""`sbor watch`: the always-on inbox (the watcher itself is flows/watch.py)."""

from __future__ import annotations

import signal
from dataclasses import replace

import click

from flows.commands.context import Context, pass_ctx
from flows.watch import (
    Watcher,
    WatchOptions,
    configure_logging,
    flow_runner,
    plain_runner,
)


@click.command("watch")
@click.option("--polling", is_flag=True, help="Poll the folder instead of inotify (network shares).")
@click.option("--interval", default=2.0, show_default=True, type=click.FloatRange(0.05, 600),
              help="Seconds between looks at the files waiting to become stable.")
@click.option("--stable-seconds", default=None, type=click.FloatRange(0, 3600),
              help="A file is taken once its size and time stay unchanged this long (default: "
                   "$SBOR_QUIET_SECONDS or 2).")
@click.option("--rescan", "rescan_seconds", default=30.0, show_default=True, type=click.FloatRange(0.1, 86400),
              help="Seconds between full rescans of the inbox (catches what the observer missed).")
@click.option("--give-up-seconds", default=None, type=click.FloatRange(0, 86400),
              help="An empty file or a zip that never completes (a truncated upload) is handed over "
                   "after this (default: $SBOR_GIVE_UP_SECONDS or 60).")
@click.option("--health", "health_seconds", default=60.0, show_default=True, type=click.FloatRange(0.1, 86400),
              help="Seconds between health lines in the log.")
@click.option("--once", is_flag=True, help="Take what is stable now, ingest it and exit (cron, tests).")
@click.option("--without-prefect", is_flag=True, help="Run the ingest in this process without Prefect's engine.")
@pass_ctx
def watch_command(ctx: Context, polling: bool, interval: float, stable_seconds: float | None, rescan_seconds: float,
                  give_up_seconds: float | None, health_seconds: float, once: bool, without_prefect: bool) -> None:
    """Watch the inbox and ingest every file once it has fully arrived; stop with Ctrl-C or
    SIGTERM (the current batch finishes first).

    Example: sbor watch --polling --stable-seconds 5
    """
    configure_logging()
    settings = ctx.settings()
    # The ingest each batch runs applies the same rule (flows.settle) with the same periods.
    settings = replace(settings, quiet_seconds=settings.quiet_seconds if stable_seconds is None else stable_seconds,
                       give_up_seconds=settings.give_up_seconds if give_up_seconds is None else give_up_seconds)
    stable_seconds, give_up_seconds = settings.quiet_seconds, settings.give_up_seconds
    options = WatchOptions(polling=polling, interval=interval, stable_seconds=stable_seconds,
                           rescan_seconds=rescan_seconds, give_up_seconds=give_up_seconds,
                           health_seconds=health_seconds, once=once)
    if not without_prefect:  # from the main thread, which lives as long as the watcher
        from flows.prefect_local import bind_temporary_server

        bind_temporary_server()
    watcher = Watcher(settings, options, plain_runner if without_prefect else flow_runner)
    previous = {s: signal.signal(s, watcher.request_stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        health = watcher.run()
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    click.echo(health.line(len(watcher.tracker)), err=True)
