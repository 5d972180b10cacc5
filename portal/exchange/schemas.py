"""The one schema of a received transfer: ``transfers.validation_errors`` checks bodies
against it and the OpenAPI document publishes it (``portal.api.openapi``)."""

from portal.api.schemas import NO_CONTROLS, NOT_BLANK
from portal.models.cases import PROJECT_STAGES

EXTERNAL_ID = r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$"
SLUG = r"^[a-z0-9][a-z0-9_-]*$"


def _text(max_length: int, required: bool = False, **extra) -> dict:
    schema = {"type": "string", "maxLength": max_length,
              "pattern": NOT_BLANK if required else NO_CONTROLS}
    if required:
        schema["minLength"] = 1
    return schema | extra


TRANSFER_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["external_id", "name", "region", "reason"],
    "properties": {
        "external_id": {"type": "string", "minLength": 1, "maxLength": 120,
                        "pattern": EXTERNAL_ID,
                        "description": "The sender's id of this transfer; the same id with "
                                       "the same body answers the first answer"},
        "name": _text(200, True, description="The project's name"),
        "company_name": _text(200, description="The investing company (default: name)"),
        "region": {"type": "string", "minLength": 1, "maxLength": 80, "pattern": SLUG,
                   "description": "Slug of the receiving region in this deployment (see "
                                  "/regions), within the key's region"},
        "reason": _text(2000, True, description="Why the project is transferred"),
        "industry": {"type": "string", "maxLength": 80, "pattern": NO_CONTROLS,
                     "description": "Industry slug; one this deployment does not know is "
                                    "kept in the note"},
        "amount_wan": {"type": "number", "minimum": 0, "maximum": 1e9,
                       "description": "Planned investment, 万元"},
        "stage": {"type": "string", "enum": list(PROJECT_STAGES),
                  "description": "The project's stage at the sender"},
        "consent_at": {"type": "string", "format": "date-time", "maxLength": 40,
                       "pattern": r"^\d{4}-\d{2}-\d{2}[T ][0-9:.]+(Z|[+-]\d{2}:?\d{2})?$",
                       "description": "When the investor consented to the use of the "
                                      "contact by the investment-promotion service"},
        "contact": {
            "type": "object", "additionalProperties": False,
            "description": "The investor's contact, for the receiving staff",
            "properties": {"name": _text(80), "phone": _text(40), "email": _text(254)},
        },
    },
}
