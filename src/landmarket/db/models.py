"""Import every model module so ``Base.metadata`` is complete (Alembic, tests)."""

from landmarket.auth import models as auth_models
from landmarket.municipalities import models as municipality_models
from landmarket.db.base import Base

__all__ = ["Base", "auth_models", "municipality_models"]
