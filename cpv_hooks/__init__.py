"""cpv - Checkpoints Versioning: model and data versions with plain git, DVC and S3.

Names are loaded lazily so that the git hooks, which import this package, stay fast.
"""

from __future__ import annotations

import importlib

TYPE_CHECKING = False  # not typing's: importing typing costs a no-op commit's hooks 5 ms
if TYPE_CHECKING:
    from typing import Any

    from cpv_hooks.checkpoints import (
        CombinedCheckpointsManage,
        DataArtifacts,
        DataCheckpointsManage,
        ModelArtifacts,
        ModelsCheckpointsManage,
    )
    from cpv_hooks.config import CPVConfig
    from cpv_hooks.errors import (
        AWSError,
        CheckpointNotFoundError,
        ConfigError,
        CorruptObjectError,
        CPVError,
        CredentialError,
        DVCError,
        GitError,
        RepositoryError,
        StorageError,
        ValidationError,
    )
    from cpv_hooks.registry import Registry

__version__ = "0.1.0"

_EXPORTS = {
    "ModelsCheckpointsManage": "cpv_hooks.checkpoints",
    "DataCheckpointsManage": "cpv_hooks.checkpoints",
    "CombinedCheckpointsManage": "cpv_hooks.checkpoints",
    "ModelArtifacts": "cpv_hooks.checkpoints",
    "DataArtifacts": "cpv_hooks.checkpoints",
    "CPVConfig": "cpv_hooks.config",
    "Registry": "cpv_hooks.registry",
    "CPVError": "cpv_hooks.errors",
    "ConfigError": "cpv_hooks.errors",
    "CorruptObjectError": "cpv_hooks.errors",
    "AWSError": "cpv_hooks.errors",
    "StorageError": "cpv_hooks.errors",
    "GitError": "cpv_hooks.errors",
    "DVCError": "cpv_hooks.errors",
    "CheckpointNotFoundError": "cpv_hooks.errors",
    "RepositoryError": "cpv_hooks.errors",
    "CredentialError": "cpv_hooks.errors",
    "ValidationError": "cpv_hooks.errors",
}

__all__ = [
    "AWSError",
    "CPVConfig",
    "CPVError",
    "CheckpointNotFoundError",
    "CombinedCheckpointsManage",
    "ConfigError",
    "CorruptObjectError",
    "CredentialError",
    "DVCError",
    "DataArtifacts",
    "DataCheckpointsManage",
    "GitError",
    "ModelArtifacts",
    "ModelsCheckpointsManage",
    "Registry",
    "RepositoryError",
    "StorageError",
    "ValidationError",
]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'cpv_hooks' has no attribute {name!r}")
