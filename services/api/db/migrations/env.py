from libs.common.db.migrations import run_env
from services.api.db.tables import Base

run_env(Base.metadata)
