"""The domain model. Import models from here."""

from .alerts import ALERT_FILTERS, ALERT_STATES, AlertDelivery, AlertSubscription, PolicyRelease
from .base import TranslatableMixin, utcnow
from .cases import (
    PROJECT_STAGES,
    TRANSFER_STATUSES,
    Project,
    ResponseTemplate,
    RoutingRule,
    Transfer,
)
from .content import (
    CONTENT_ACTIONS,
    PUBLICATION_STATES,
    ContentVersion,
    PublicVersion,
    PublishableMixin,
)
from .exchange import API_SCOPES, ApiKey, ExchangeReceipt
from .factors import FACTOR_CATEGORIES, FactorCost
from .imports import IMPORT_KINDS, IMPORT_MODES, ImportStash
from .industries import CHAIN_STAGES, ChainLeader, ChainNode, Industry, Track
from .intake import (
    COMPLAINT_CATEGORIES,
    COMPLAINT_FLOW,
    COMPLAINT_STATUSES,
    DEMAND_FLOW,
    DEMAND_STATUSES,
    Attachment,
    Complaint,
    Demand,
    TicketEvent,
)
from .opportunities import OPPORTUNITY_KINDS, OPPORTUNITY_STATUSES, Opportunity
from .policies import BENEFIT_MODES, POLICY_LEVELS, POLICY_STATUSES, Policy, Topic
from .regions import REGION_KINDS, Region
from .search import search_entry
from .showcase import BATCHES, SERVICE_CATEGORIES, BatchFigure, ServiceLink
from .sites import AVAILABILITY, LAND_USES, READINESS_ITEMS, SITE_KINDS, Site
from .staff import ROLES, AuditEvent, Department, OutboxJob, RateLimitCounter, User

__all__ = [
    "AVAILABILITY", "BATCHES", "BENEFIT_MODES", "CHAIN_STAGES", "COMPLAINT_CATEGORIES",
    "COMPLAINT_FLOW", "COMPLAINT_STATUSES", "DEMAND_FLOW", "DEMAND_STATUSES", "LAND_USES",
    "OPPORTUNITY_KINDS", "OPPORTUNITY_STATUSES", "POLICY_LEVELS", "POLICY_STATUSES",
    "READINESS_ITEMS", "REGION_KINDS", "ROLES", "SERVICE_CATEGORIES", "SITE_KINDS",
    "CONTENT_ACTIONS", "PUBLICATION_STATES", "ContentVersion", "PublicVersion",
    "PublishableMixin",
    "Attachment", "AuditEvent", "BatchFigure", "ChainLeader", "ChainNode", "Complaint", "Demand",
    "Department", "RateLimitCounter", "PROJECT_STAGES", "TRANSFER_STATUSES", "Project",
    "ResponseTemplate", "RoutingRule", "Transfer",
    "FACTOR_CATEGORIES", "FactorCost",
    "Industry", "Opportunity", "OutboxJob", "Policy", "Region", "ServiceLink", "Site",
    "TicketEvent", "Topic", "Track", "TranslatableMixin", "User", "utcnow",
    "ALERT_FILTERS", "ALERT_STATES", "AlertDelivery", "AlertSubscription", "PolicyRelease",
    "search_entry",
    "API_SCOPES", "ApiKey", "ExchangeReceipt",
    "IMPORT_KINDS", "IMPORT_MODES", "ImportStash",
]
