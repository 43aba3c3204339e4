"""Database plumbing shared by every service."""

from libs.common.db.database import Database

__all__ = ["Database"]
