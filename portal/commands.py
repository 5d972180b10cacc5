"""Command-line groups registered by the factory: seed, search, users, translate, backup,
bootstrap."""

import os
import secrets
import subprocess  # noqa: S404  (fixed argument lists, no shell)
import sys
from datetime import UTC, datetime
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext

from portal.extensions import db
from portal.models import ROLES, Department, Region, User

seed_cli = AppGroup("seed", help="Data packs.")
search_cli = AppGroup("search", help="The search index.")
users_cli = AppGroup("users", help="Staff accounts.")
translate_cli = AppGroup("translate", help="Translation catalogs (babel.cfg, translations/).")
mail_cli = AppGroup("mail", help="Outgoing mail.")
glossary_cli = AppGroup("glossary", help="The investment glossary (seed/glossary/).")
content_cli = AppGroup("content", help="Published content.")
backup_cli = AppGroup("backup", help="Backups of the database and the instance key.")


def register(app: Flask) -> None:
    for group in (seed_cli, search_cli, users_cli, translate_cli, mail_cli, glossary_cli,
                  content_cli, backup_cli):
        app.cli.add_command(group)
    app.cli.add_command(bootstrap)


@seed_cli.command("load")
@click.argument("pack", default="")
def seed_load(pack: str) -> None:
    """Load a data pack (default: PORTAL_DATA_PACK, datong). Safe to run again."""
    load(pack)


def load(pack: str) -> None:
    from seed.loader import PackError, load_pack

    try:
        counts = load_pack(pack or current_app.config["DATA_PACK"])
    except PackError as exc:
        raise click.ClickException(str(exc)) from exc
    for table, n in counts.items():
        click.echo(f"{table:16} {n:6d}")
    _reindex_or_warn()


@search_cli.command("reindex")
def search_reindex() -> None:
    """Rebuild the search index from the database."""
    from portal.indexing import reindex

    n = reindex()
    click.echo(f"indexed {n} documents")


def _reindex_or_warn() -> None:
    from portal.indexing import reindex
    from search import SearchUnavailable

    try:
        click.echo(f"indexed {reindex()} documents")
    except SearchUnavailable as exc:
        click.echo(f"search index not rebuilt ({exc}); run: flask search reindex", err=True)


@users_cli.command("create")
@click.argument("email")
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--region", "region_slug", default=None, help="Region slug for the region role.")
@click.option("--department", "department_slug", default=None,
              help="Department slug for the department role.")
@click.option("--name", default="")
@click.option("--password", envvar="PORTAL_NEW_USER_PASSWORD", default=None,
              help="Default: prompted, or generated when not interactive.")
def users_create(email, role, region_slug, department_slug, name, password) -> None:
    """Create a staff account (the password must pass the portal's password rules)."""
    region = department = None
    if region_slug:
        region = db.session.query(Region).filter_by(slug=region_slug).one_or_none()
        if region is None:
            raise click.ClickException(f"unknown region: {region_slug}")
    if department_slug:
        department = db.session.query(Department).filter_by(slug=department_slug).one_or_none()
        if department is None:
            raise click.ClickException(f"unknown department: {department_slug}")
    if role == "region" and region is None:
        raise click.ClickException("--region is required for the region role")
    if role == "department" and department is None:
        raise click.ClickException("--department is required for the department role")
    if db.session.query(User).filter_by(email=email.lower()).first():
        raise click.ClickException(f"a user with e-mail {email} exists already")
    generated = password is None and not sys.stdin.isatty()
    if password is None:
        password = secrets.token_urlsafe(12) if generated else click.prompt(
            "Password", hide_input=True, confirmation_prompt=True)
    user = create_user(email, password, role=role, region=region, department=department,
                       name=name)
    click.echo(f"created {user.email} ({role})" + (f", password: {password}" if generated else ""))


@users_cli.command("unlock")
@click.argument("email")
def users_unlock(email) -> None:
    """Lift a lockout after failed sign-ins."""
    from portal.accounts import services as accounts

    user = accounts.find(email)
    if user is None:
        raise click.ClickException(f"no user with e-mail {email}")
    accounts.unlock(user, by=None)
    db.session.commit()
    click.echo(f"unlocked {user.email}")


def create_user(email: str, password: str, *, role: str, region=None, department=None,
                name: str = "") -> User:
    from portal.accounts import services as accounts

    try:
        user = accounts.create(email, password, role=role, region=region,
                               department=department, name=name)
    except accounts.AccountError as exc:
        raise click.ClickException("; ".join(exc.messages)) from exc
    db.session.commit()
    return user


@click.command("bootstrap")
@with_appcontext
def bootstrap() -> None:
    """What `make run` does after migrations: demo data when empty, the index, the first admin."""
    from portal.models import Policy

    if db.session.query(Policy).count() == 0:
        click.echo("empty database: loading the data pack")
        load("")
    else:
        _reindex_or_warn()
    ensure_admin()


def ensure_admin() -> None:
    email = os.environ.get("PORTAL_ADMIN_EMAIL", "admin@example.com").strip().lower()
    password = os.environ.get("PORTAL_ADMIN_PASSWORD")
    user = db.session.query(User).filter_by(email=email).one_or_none()
    if user is None and db.session.query(User).filter_by(role="admin").count() == 0:
        shown = password or secrets.token_urlsafe(12)
        create_user(email, shown, role="admin", name="Administrator")
        click.echo(f"first admin created: {email} / {shown}"
                   + ("" if password else "  (shown once; set PORTAL_ADMIN_PASSWORD to choose)"))
    elif user is not None and password and not user.check_password(password):
        from portal.accounts import services as accounts

        try:
            accounts.set_password(user, password, by=None)
        except accounts.AccountError as exc:
            raise click.ClickException("PORTAL_ADMIN_PASSWORD: " + "; ".join(exc.messages)) \
                from exc
        db.session.commit()
        click.echo(f"admin password for {email} set from PORTAL_ADMIN_PASSWORD")
    click.echo(f"staff login: http://127.0.0.1:{os.environ.get('PORT', '5000')}/admin/login "
               f"as {email}")


def _pybabel(*args: str) -> None:
    cmd = [sys.executable, "-m", "babel.messages.frontend", *args]
    if subprocess.run(cmd, check=False).returncode:  # noqa: S603
        raise click.ClickException("pybabel " + " ".join(args[:1]) + " failed")


@translate_cli.command("extract")
def translate_extract() -> None:
    """Extract messages from portal/, search/, seed/ and templates/ into messages.pot."""
    _pybabel("extract", "-F", "babel.cfg", "-k", "_l", "-o", "translations/messages.pot", ".")


@translate_cli.command("update")
def translate_update() -> None:
    """Extract, then merge new messages into every catalog."""
    _pybabel("extract", "-F", "babel.cfg", "-k", "_l", "-o", "translations/messages.pot", ".")
    _pybabel("update", "-i", "translations/messages.pot", "-d", "translations",
             "--no-fuzzy-matching", "--ignore-obsolete")


@translate_cli.command("compile")
def translate_compile() -> None:
    _pybabel("compile", "-d", "translations")


@translate_cli.command("init")
@click.argument("locale")
def translate_init(locale: str) -> None:
    _pybabel("init", "-i", "translations/messages.pot", "-d", "translations", "-l", locale)


@search_cli.command("drain")
def search_drain() -> None:
    """Apply index jobs left waiting in the outbox (engine was down or locked)."""
    from portal.indexing import drain

    total = 0
    while True:
        applied, waiting = drain()
        total += applied
        if waiting:
            raise click.ClickException(f"search engine unavailable; {waiting} jobs still wait")
        if not applied:
            break
    click.echo(f"applied {total} index jobs")


@mail_cli.command("drain")
def mail_drain() -> None:
    """Send mail waiting in the outbox whose retry time has come."""
    from portal.mail import drain_mail

    sent, waiting = drain_mail()
    click.echo(f"sent {sent} messages; {waiting} still waiting")


@glossary_cli.command("check")
def glossary_check() -> None:
    """Validate the glossary files and count the terms each language has."""
    from seed.glossary import read_glossary
    from seed.loader import PackError

    try:
        terms = read_glossary(current_app.config["GLOSSARY_DIR"])
    except PackError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"terms            {len(terms):6d}")
    click.echo(f"common           {sum(t.common for t in terms):6d}")
    for lang in ("en", "ja", "ko", "ru"):
        click.echo(f"{lang:16} {sum(bool(t.forms.get(lang)) for t in terms):6d}")


@content_cli.command("tick")
def content_tick() -> None:
    """Apply scheduled publication, policy expiry and opportunity closing now (pages do it
    after requests at most once a minute; cron can call this on a quiet deployment)."""
    from portal.content.schedule import apply_due
    from portal.indexing import drain

    counts = apply_due()
    drain()
    for name, n in counts.items():
        click.echo(f"{name:16} {n:6d}")


@backup_cli.command("create")
@click.argument("path", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The same as PATH.")
def backup_create(path: Path | None, output: Path | None) -> None:
    """Write one archive at PATH (default: portal-backup-<UTC time>.tar.gz in the current
    directory): the database (a consistent snapshot while the portal serves), the instance
    secret key when the portal made its own, and a manifest with checksums."""
    from portal import __version__, backup

    if path and output and path != output:
        raise click.UsageError("give the archive's path once: PATH or --output")
    output = path or output or Path(f"portal-backup-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.tar.gz")
    try:
        manifest = backup.create(output, database_url=current_app.config["SQLALCHEMY_DATABASE_URI"],
                                 secret_key=current_app.config["SECRET_KEY"],
                                 instance_path=current_app.instance_path, version=__version__)
    except backup.BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"wrote {output} ({output.stat().st_size} bytes)")
    click.echo(f"revision {manifest['alembic_revision']}, {len(manifest['tables'])} tables, "
               f"{sum(manifest['tables'].values())} rows, "
               f"{manifest['attachments']['count']} attachments")
    if not manifest["secret_key"]["included"]:
        click.echo("the secret key comes from PORTAL_SECRET_KEY and is not in the archive; "
                   "keep it with the backup", err=True)


@backup_cli.command("restore")
@click.argument("archive", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--database-url", default=None,
              help="Restore into this database (default: the portal's own).")
@click.option("--instance", "instance_path", type=click.Path(file_okay=False), default=None,
              help="Where the backup's secret key is written (default: the portal's instance "
                   "folder when restoring into the portal's own database).")
@click.option("--force", is_flag=True, help="Replace the tables of a database that is not empty.")
def backup_restore(archive: Path, database_url: str | None, instance_path: str | None,
                   force: bool) -> None:
    """Restore a backup into an empty database and check it against its manifest."""
    from portal import backup

    own = current_app.config["SQLALCHEMY_DATABASE_URI"]
    elsewhere = bool(database_url) and database_url != own
    try:
        restored = backup.restore(archive, database_url=database_url or own,
                                  instance_path=instance_path or (
                                      None if elsewhere else current_app.instance_path),
                                  secret_key=current_app.config["SECRET_KEY"], force=force)
    except backup.BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    manifest = restored.manifest
    click.echo(f"restored {archive} (made {manifest['created_at']}): "
               f"{sum(manifest['tables'].values())} rows in {len(manifest['tables'])} tables "
               f"and {manifest['attachments']['count']} attachments match the manifest")
    for note in restored.notes:
        click.echo(note, err=True)
    if elsewhere or not restored.current:
        click.echo("then run `flask search reindex` with PORTAL_DATABASE_URL naming the "
                   "restored database", err=True)
        return
    from portal.content import public

    db.engine.dispose()  # connections opened before the restore
    public.bump(db.session)  # pages kept before the restore are not served again
    db.session.commit()
    _reindex_or_warn()
