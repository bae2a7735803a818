"""Index mappings of the skills registry (owned by skills.py; MLflow 3.18).

A skill doc (id = hash of organization and name) holds its tags and aliases and a random
`skill_uid` naming this incarnation of the skill; version docs are keyed by (skill_uid, version),
so versions of a hard-deleted skill never collide with, or show under, a skill re-created with the
same name. Docs written by `bulk_register_skills` carry the batch id in `batch` and stay invisible
until the batch's own doc exists in `skill_batches` (the batch's single commit point).
"""

from __future__ import annotations

from typing import Any

from mlflow_store_es.mapping_types import KW, LONG, OPAQUE, STORED

MAPPINGS: dict[str, dict[str, Any]] = {
    "skills": {
        "skill_uid": KW, "organization": KW, "name": KW, "description": STORED, "icons": OPAQUE,
        "search_text": STORED, "created_by": STORED, "last_updated_by": STORED, "created_at": LONG,
        "last_updated_at": LONG, "tags": OPAQUE, "aliases": OPAQUE, "batch": KW,
    },
    "skill_versions": {
        "skill_uid": KW, "organization": KW, "name": KW, "version": LONG, "source_type": KW,
        "source": STORED, "ref": STORED, "subpath": STORED, "digest": KW, "status": KW,
        "created_by": STORED, "last_updated_by": STORED, "created_at": LONG, "last_updated_at": LONG,
        "tags": OPAQUE, "batch": KW,
    },
    "skill_batches": {"batch_id": KW, "created_at": LONG},
}
