"""Staff sign-in and the dashboard's figures."""

from portal.extensions import db
from portal.models import AuditEvent, Complaint, Demand, Opportunity, Policy, Site, User, utcnow


def authenticate(email: str, password: str) -> User | None:
    user = db.session.scalars(db.select(User).filter_by(email=email.strip().lower())).first()
    if user is None or not user.active or not user.check_password(password):
        return None
    return user


def record_login(user: User, ip: str) -> None:
    user.last_login_at = utcnow()
    db.session.add(AuditEvent(actor=user, action="login", entity_type="user",
                              entity_id=str(user.id), ip=ip or ""))
    db.session.commit()


def area_mismatches(limit: int = 50) -> list[Site]:
    """Parcels whose stated area is more than 5 % off the drawn polygon: staff check them."""
    from portal.sites.geometry import AREA_TOLERANCE

    return db.session.scalars(
        db.select(Site).where(Site.drawn_area_mu.is_not(None), Site.drawn_area_mu > 0,
                              db.func.abs(Site.area_mu - Site.drawn_area_mu)
                              > AREA_TOLERANCE * Site.drawn_area_mu)
        .order_by(Site.key).limit(limit)).all()


def dashboard() -> dict:
    def count(model, **filters):
        return db.session.scalar(db.select(db.func.count(model.id)).filter_by(**filters))

    return {
        "demands_open": db.session.scalar(
            db.select(db.func.count(Demand.id)).where(Demand.status != "closed")),
        "complaints_open": db.session.scalar(
            db.select(db.func.count(Complaint.id)).where(Complaint.status != "closed")),
        "policies": count(Policy),
        "sites": count(Site),
        "opportunities": count(Opportunity, status="open"),
        "area_mismatches": area_mismatches(),
    }
