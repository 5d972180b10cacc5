"""Tracks (赛道), industries and their chain maps (产业链图谱)."""

from sqlalchemy import Boolean, Column, ForeignKey, Integer, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db

from .base import TranslatableMixin, check_in

CHAIN_STAGES = ("upstream", "midstream", "downstream")
# 链主企业 lead a chain; 本地企业 are the local companies working on a link.
COMPANY_ROLES = ("leader", "local")

# A parcel or building offered for a link of a chain (a site may suit several links).
site_chain_node = Table(
    "site_chain_node",
    db.Model.metadata,
    Column("site_id", ForeignKey("site.id", ondelete="CASCADE"), primary_key=True),
    Column("chain_node_id", ForeignKey("chain_node.id", ondelete="CASCADE"), primary_key=True,
           index=True),
)


class Track(TranslatableMixin, db.Model):
    __tablename__ = "track"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    summary: Mapped[str] = mapped_column(Text, default="")
    sort_order: Mapped[int] = mapped_column(Integer, default=0)

    industries: Mapped[list["Industry"]] = relationship(
        back_populates="track", order_by="Industry.sort_order"
    )


class Industry(TranslatableMixin, db.Model):
    __tablename__ = "industry"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    track_id: Mapped[int | None] = mapped_column(ForeignKey("track.id"), index=True)
    is_key: Mapped[bool] = mapped_column(Boolean, default=False)
    summary: Mapped[str] = mapped_column(Text, default="")
    profile: Mapped[str] = mapped_column(Text, default="")
    sort_order: Mapped[int] = mapped_column(Integer, default=0)

    track: Mapped[Track | None] = relationship(back_populates="industries")
    chain_nodes: Mapped[list["ChainNode"]] = relationship(
        back_populates="industry", order_by="ChainNode.sort_order", cascade="all, delete-orphan"
    )
    leaders: Mapped[list["ChainLeader"]] = relationship(
        back_populates="industry", cascade="all, delete-orphan"
    )

    def nodes_by_stage(self) -> dict[str, list["ChainNode"]]:
        stages = {stage: [] for stage in CHAIN_STAGES}
        for node in self.chain_nodes:
            stages[node.stage].append(node)
        return stages


class ChainNode(TranslatableMixin, db.Model):
    """A link in an industry chain; ``is_gap`` marks a link the region wants to fill (补链)."""

    __tablename__ = "chain_node"
    __table_args__ = (
        check_in("stage", CHAIN_STAGES),
        UniqueConstraint("industry_id", "key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    industry_id: Mapped[int] = mapped_column(ForeignKey("industry.id"), index=True)
    # Stable within the industry, so opportunities and sites can name the link
    # ("industry-slug/key") while its name is edited.
    key: Mapped[str | None] = mapped_column(String(80))
    stage: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    is_gap: Mapped[bool] = mapped_column(Boolean, default=False)
    gap_note: Mapped[str] = mapped_column(Text, default="")
    sort_order: Mapped[int] = mapped_column(Integer, default=0)

    industry: Mapped[Industry] = relationship(back_populates="chain_nodes")
    companies: Mapped[list["ChainLeader"]] = relationship(back_populates="chain_node")

    @property
    def ref(self) -> str:
        """How a pack record, a form or an export names this link."""
        return f"{self.industry.slug}/{self.key}"


class ChainLeader(TranslatableMixin, db.Model):
    """A company of an industry: a chain leader (链主企业) or a local company (本地企业),
    optionally on the chain link it works in."""

    __tablename__ = "chain_leader"
    __table_args__ = (check_in("role", COMPANY_ROLES),)

    id: Mapped[int] = mapped_column(primary_key=True)
    industry_id: Mapped[int] = mapped_column(ForeignKey("industry.id"), index=True)
    region_id: Mapped[int | None] = mapped_column(ForeignKey("region.id"), index=True)
    chain_node_id: Mapped[int | None] = mapped_column(
        ForeignKey("chain_node.id", ondelete="SET NULL"), index=True)
    role: Mapped[str] = mapped_column(String(16), default="leader", server_default="leader")
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)

    industry: Mapped[Industry] = relationship(back_populates="leaders")
    region = relationship("Region")
    chain_node: Mapped[ChainNode | None] = relationship(back_populates="companies")
