"""`flask m4s worker`: deliver the outbox and run the periodic jobs."""

from __future__ import annotations

import click
from flask.cli import ScriptInfo

from portal.extensions import db


@click.command("worker")
@click.option("--once", is_flag=True, help="Deliver what is due and run due jobs once, then exit.")
@click.option("--threads", default=1, show_default=True, help="Delivery threads.")
@click.option("--no-jobs", is_flag=True, help="Only deliver the outbox (another worker runs jobs).")
@click.option("--health-port", type=int, default=None, help="Serve GET /healthz on this port.")
@click.option("--health-host", default="127.0.0.1", show_default=True)
def worker(once: bool, threads: int, no_jobs: bool, health_port: int | None, health_host: str):
    """Deliver the outbox and run the periodic jobs until stopped (SIGTERM ends it cleanly)."""
    from portal.worker.delivery import deliver_due
    from portal.worker.jobs import run_due_jobs
    from portal.worker.runner import Worker

    if once:
        runs = [] if no_jobs else run_due_jobs()
        for run in runs:
            click.echo(f"{run.job}: {run.status} {run.result}")
        counts = deliver_due()
        db.session.remove()
        click.echo("outbox: " + ", ".join(f"{k}={v}" for k, v in counts.items()))
        return
    app = click.get_current_context().ensure_object(ScriptInfo).load_app()
    runner = Worker(app, delivery_threads=threads, jobs=not no_jobs)
    if health_port is not None:
        runner.serve_health(health_port, health_host)
    click.echo(
        f"M4S worker started ({threads} delivery threads, jobs {'off' if no_jobs else 'on'})"
    )
    runner.run()
    click.echo("M4S worker stopped")
