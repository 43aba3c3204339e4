"""Artifact stores: the interface (`base`), the local filesystem and S3-compatible buckets."""

from __future__ import annotations

from services.tracking.domain.stores.base import ArtifactStore
from services.tracking.settings import TrackingSettings


def make_store(settings: TrackingSettings) -> ArtifactStore:
    if settings.artifact_store == "s3":
        from services.tracking.domain.stores.s3 import S3ArtifactStore

        if not settings.s3_bucket:
            raise ValueError(
                "GANGLION_TRACKING_ARTIFACT_STORE=s3 needs GANGLION_TRACKING_S3_BUCKET"
            )
        return S3ArtifactStore(
            settings.s3_bucket,
            prefix=settings.s3_prefix,
            endpoint_url=settings.s3_endpoint_url,
            region=settings.s3_region,
        )
    from services.tracking.domain.stores.local import LocalArtifactStore

    return LocalArtifactStore(settings.resolved_artifacts_root)
