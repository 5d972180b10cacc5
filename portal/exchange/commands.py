"""``flask apikeys create|revoke|list`` and ``flask exchange push|drain`` for operators.
Actions from the command line are audited with no staff actor (the operator's shell)."""

import click
from flask.cli import AppGroup

from portal.extensions import db
from portal.models import API_SCOPES, Demand, Project, Region

from . import keys, transfers

apikeys_cli = AppGroup("apikeys", help="API keys of partner platforms (the exchange API).")
exchange_cli = AppGroup("exchange", help="Project transfers to partner deployments.")


@apikeys_cli.command("create")
@click.option("--partner", required=True, help="Partner id, e.g. shanxi-province.")
@click.option("--region", "region_slug", required=True, help="Slug of the key's region.")
@click.option("--scope", "scopes", multiple=True, type=click.Choice(API_SCOPES),
              default=("pull",), show_default=True)
@click.option("--note", default="")
def apikeys_create(partner, region_slug, scopes, note) -> None:
    """Issue a key; the key is printed once and never stored."""
    region = db.session.scalars(db.select(Region).filter_by(slug=region_slug)).first()
    if region is None:
        raise click.ClickException(f"no region {region_slug!r}")
    try:
        key, secret = keys.issue(partner, region, scopes, note=note)
    except keys.ApiKeyError as exc:
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    click.echo(f"issued {key.prefix} for {key.partner} ({region.slug}; {key.scopes})")
    click.echo(secret)


@apikeys_cli.command("revoke")
@click.argument("prefix")
def apikeys_revoke(prefix) -> None:
    key = keys.find(prefix)
    if key is None:
        raise click.ClickException(f"no key {prefix!r}")
    changed = keys.revoke(key)
    db.session.commit()
    click.echo(f"revoked {key.prefix}" if changed else f"{key.prefix} was already revoked")


@apikeys_cli.command("list")
def apikeys_list() -> None:
    for key in keys.listing():
        state = f"revoked {key.revoked_at:%Y-%m-%d %H:%M}" if key.revoked_at else "live"
        used = f"{key.last_used_at:%Y-%m-%d %H:%M}" if key.last_used_at else "never"
        click.echo(f"{key.prefix}\t{key.partner}\t{key.region.slug}\t{key.scopes}\t"
                   f"created {key.created_at:%Y-%m-%d %H:%M}\tlast used {used}\t{state}")


@exchange_cli.command("push")
@click.argument("ticket")
@click.option("--partner", required=True)
@click.option("--region", "region_slug", required=True,
              help="Slug of the receiving region in the partner's deployment.")
@click.option("--reason", required=True)
def exchange_push(ticket, partner, region_slug, reason) -> None:
    """Send the project of demand TICKET to a partner deployment (through the outbox)."""
    project = db.session.scalars(db.select(Project).join(Demand).where(
        Demand.ticket == ticket)).first()
    if project is None:
        raise click.ClickException(f"no project for {ticket!r}")
    try:
        job = transfers.push(project, partner, region_slug, reason)
    except transfers.ExchangeError as exc:
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    sent, waiting = transfers.drain()
    click.echo(f"queued job {job.id}; sent {sent}, {waiting} waiting")


@exchange_cli.command("drain")
def exchange_drain() -> None:
    """Send exchange jobs whose retry time has come."""
    sent, waiting = transfers.drain()
    click.echo(f"sent {sent} transfers; {waiting} still waiting")
