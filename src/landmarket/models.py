"""The models registry: imports every model module so ``Base.metadata`` is complete (Alembic,
tests). It sits above the domains, beside the app factory; ``db`` knows no domain."""

from landmarket.audit import models as audit_models
from landmarket.auth import models as auth_models
from landmarket.db.base import Base
from landmarket.idempotency import models as idempotency_models
from landmarket.matching import models as match_models
from landmarket.municipalities import models as municipality_models
from landmarket.plots import models as plot_models
from landmarket.plots.imports import session_models as import_session_models
from landmarket.requirements import models as requirement_models
from landmarket.webhooks import models as webhook_models

__all__ = [
    "Base",
    "audit_models",
    "auth_models",
    "idempotency_models",
    "import_session_models",
    "match_models",
    "municipality_models",
    "plot_models",
    "requirement_models",
    "webhook_models",
]
