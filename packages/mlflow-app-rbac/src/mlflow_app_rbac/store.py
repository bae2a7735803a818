"""Permission grants, service-account API keys and audit events in SQL (SQLAlchemy Core)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from mlflow_app_rbac import skills
from mlflow_app_rbac.permissions import PRINCIPAL_TYPES, RESOURCE_TYPES, SKILL, SKILL_ORGANIZATION, Permission
from mlflow_plugins_shared.errors import config_error, invalid_parameter, not_found
from mlflow_plugins_shared.redact import Secret, redact_uri

metadata = sa.MetaData()

grants = sa.Table(
    "rbac_grants", metadata,
    sa.Column("resource_type", sa.String(32), primary_key=True),
    sa.Column("resource_id", sa.String(512), primary_key=True),
    sa.Column("principal_type", sa.String(16), primary_key=True),
    sa.Column("principal", sa.String(256), primary_key=True),
    sa.Column("permission", sa.Integer, nullable=False),
    sa.Column("granted_by", sa.String(256)),
    sa.Column("granted_at", sa.Float, nullable=False),
    sa.Index("ix_rbac_grants_principal", "principal_type", "principal", "resource_type"),
)

api_keys = sa.Table(
    "rbac_api_keys", metadata,
    sa.Column("key_id", sa.String(32), primary_key=True),
    sa.Column("principal", sa.String(256), nullable=False),
    sa.Column("key_hash", sa.String(64), nullable=False),
    sa.Column("is_admin", sa.Boolean, nullable=False, default=False),
    sa.Column("groups", sa.Text, nullable=False, default="[]"),
    sa.Column("description", sa.String(512)),
    sa.Column("created_by", sa.String(256)),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("revoked_at", sa.Float),
)

audit_events = sa.Table(
    "rbac_audit_events", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("ts", sa.Float, nullable=False),
    sa.Column("principal", sa.String(256)),
    sa.Column("method", sa.String(16), nullable=False),
    sa.Column("route", sa.String(256), nullable=False),
    sa.Column("path", sa.String(2048), nullable=False),
    sa.Column("resource", sa.String(1024)),
    sa.Column("outcome", sa.String(16), nullable=False),
    sa.Column("status", sa.Integer),
    sa.Column("request_id", sa.String(128)),
    sa.Column("detail", sa.String(1024)),
    sa.Index("ix_rbac_audit_ts", "ts"),
)


@dataclass(frozen=True)
class Grant:
    resource_type: str
    resource_id: str
    principal_type: str
    principal: str
    permission: Permission
    granted_by: str | None
    granted_at: float

    def to_json(self) -> dict[str, Any]:
        return {"resource_type": self.resource_type, "resource_id": self.resource_id,
                "principal_type": self.principal_type, "principal": self.principal,
                "permission": self.permission.name, "granted_by": self.granted_by,
                "granted_at": self.granted_at}


@dataclass(frozen=True)
class ApiKeyRecord:
    key_id: str
    principal: str
    key_hash: str
    is_admin: bool
    groups: tuple[str, ...]
    description: str | None
    created_by: str | None
    created_at: float
    revoked_at: float | None

    def to_json(self) -> dict[str, Any]:  # never the hash
        return {"key_id": self.key_id, "principal": self.principal, "is_admin": self.is_admin,
                "groups": list(self.groups), "description": self.description,
                "created_by": self.created_by, "created_at": self.created_at,
                "revoked_at": self.revoked_at}


def _check_resource(resource_type: str, resource_id: str) -> None:
    if resource_type not in RESOURCE_TYPES:
        raise invalid_parameter(f"Invalid resource_type {resource_type!r}; expected one of {', '.join(RESOURCE_TYPES)}")
    if not isinstance(resource_id, str) or not resource_id.strip() or len(resource_id) > 512:
        raise invalid_parameter("resource_id must be a non-empty string of at most 512 characters")
    if resource_type == SKILL:
        skills.parse_key(resource_id)
    elif resource_type == SKILL_ORGANIZATION:
        skills.check_organization(resource_id)
        if not resource_id:  # pragma: no cover - refused above
            raise invalid_parameter("a skill_organization resource_id must name an organization")


def _check_principal(principal_type: str, principal: str) -> None:
    if principal_type not in PRINCIPAL_TYPES:
        raise invalid_parameter(f"Invalid principal_type {principal_type!r}; expected one of {', '.join(PRINCIPAL_TYPES)}")
    if not isinstance(principal, str) or not principal.strip() or len(principal) > 256:
        raise invalid_parameter("principal must be a non-empty string of at most 256 characters")


def _create_tables(engine: Any) -> None:
    """Several workers starting together may race to create the tables (PostgreSQL then raises a
    unique violation on its catalog): the loser looks again and finds them."""
    for attempt in range(3):
        try:
            metadata.create_all(engine)
            return
        except (sa.exc.IntegrityError, sa.exc.ProgrammingError):
            if attempt == 2:
                raise
            time.sleep(0.2 * (attempt + 1))


class RbacStore:
    def __init__(self, uri: Secret) -> None:
        raw = uri.get()
        try:
            kwargs: dict[str, Any] = {"future": True} if sa.__version__ < "2" else {}
            if raw.startswith("sqlite"):
                kwargs["connect_args"] = {"timeout": 30, "check_same_thread": False}
            else:
                kwargs["pool_pre_ping"] = True
            self.engine = sa.create_engine(raw, **kwargs)
            if raw.startswith("sqlite"):
                @sa.event.listens_for(self.engine, "connect")
                def _wal(dbapi_conn: Any, _rec: Any) -> None:
                    cur = dbapi_conn.cursor()
                    cur.execute("PRAGMA journal_mode=WAL")
                    cur.execute("PRAGMA synchronous=NORMAL")
                    cur.close()
            _create_tables(self.engine)
        except sa.exc.ArgumentError as e:
            raise config_error("MLFLOW_RBAC_DATABASE_URI", f"invalid SQLAlchemy URI {redact_uri(raw)!r}: {e}", raw) from None
        except sa.exc.OperationalError as e:
            raise config_error("MLFLOW_RBAC_DATABASE_URI", f"cannot open {redact_uri(raw)!r}: {e.orig}", raw) from None
        except ImportError as e:
            raise config_error("MLFLOW_RBAC_DATABASE_URI", f"database driver missing for {redact_uri(raw)!r}: {e}", raw) from None

    # grants -------------------------------------------------------------------------------
    @staticmethod
    def check_grant(resource_type: str, resource_id: str, principal_type: str, principal: str) -> None:
        """Raise the 400 `set_grant` would, without writing anything."""
        _check_resource(resource_type, resource_id)
        _check_principal(principal_type, principal)

    def set_grant(self, resource_type: str, resource_id: str, principal_type: str, principal: str,
                  permission: Permission, granted_by: str | None) -> Grant:
        _check_resource(resource_type, resource_id)
        _check_principal(principal_type, principal)
        key = dict(resource_type=resource_type, resource_id=resource_id,
                   principal_type=principal_type, principal=principal)
        now = time.time()
        with self.engine.begin() as conn:
            conn.execute(grants.delete().where(*[grants.c[k] == v for k, v in key.items()]))
            if permission > Permission.NONE:
                conn.execute(grants.insert().values(**key, permission=int(permission),
                                                    granted_by=granted_by, granted_at=now))
        return Grant(resource_type, resource_id, principal_type, principal, permission, granted_by, now)

    def delete_grant(self, resource_type: str, resource_id: str, principal_type: str, principal: str) -> bool:
        _check_resource(resource_type, resource_id)
        _check_principal(principal_type, principal)
        with self.engine.begin() as conn:
            res = conn.execute(grants.delete().where(
                grants.c.resource_type == resource_type, grants.c.resource_id == resource_id,
                grants.c.principal_type == principal_type, grants.c.principal == principal))
        return bool(res.rowcount)

    def rename_resource(self, resource_type: str, old_id: str, new_id: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(grants.delete().where(grants.c.resource_type == resource_type,
                                               grants.c.resource_id == new_id))
            conn.execute(grants.update().where(grants.c.resource_type == resource_type,
                                               grants.c.resource_id == old_id).values(resource_id=new_id))

    def list_grants(self, resource_type: str | None = None, resource_id: str | None = None,
                    principal_type: str | None = None, principal: str | None = None,
                    limit: int = 1000) -> list[Grant]:
        q = sa.select(grants)
        for col, val in (("resource_type", resource_type), ("resource_id", resource_id),
                         ("principal_type", principal_type), ("principal", principal)):
            if val is not None:
                q = q.where(grants.c[col] == val)
        q = q.order_by(grants.c.resource_type, grants.c.resource_id, grants.c.principal).limit(limit)
        with self.engine.connect() as conn:
            return [Grant(r.resource_type, r.resource_id, r.principal_type, r.principal,
                          Permission(r.permission), r.granted_by, r.granted_at) for r in conn.execute(q)]

    def permission_for(self, resource_type: str, resource_id: str, user: str, groups: Iterable[str]) -> Permission:
        cond = [sa.and_(grants.c.principal_type == "user", grants.c.principal == user)]
        groups = list(groups)
        if groups:
            cond.append(sa.and_(grants.c.principal_type == "group", grants.c.principal.in_(groups)))
        q = sa.select(sa.func.max(grants.c.permission)).where(
            grants.c.resource_type == resource_type, grants.c.resource_id == resource_id, sa.or_(*cond))
        with self.engine.connect() as conn:
            value = conn.execute(q).scalar()
        return Permission(value or 0)

    def readable_ids(self, resource_type: str, user: str, groups: Iterable[str]) -> set[str]:
        cond = [sa.and_(grants.c.principal_type == "user", grants.c.principal == user)]
        groups = list(groups)
        if groups:
            cond.append(sa.and_(grants.c.principal_type == "group", grants.c.principal.in_(groups)))
        q = sa.select(grants.c.resource_id).where(
            grants.c.resource_type == resource_type, grants.c.permission >= int(Permission.READ),
            sa.or_(*cond)).distinct()
        with self.engine.connect() as conn:
            return {r[0] for r in conn.execute(q)}

    # API keys -----------------------------------------------------------------------------
    def add_api_key(self, key_id: str, principal: str, key_hash: str, is_admin: bool,
                    groups: list[str], description: str | None, created_by: str | None) -> ApiKeyRecord:
        _check_principal("user", principal)
        now = time.time()
        with self.engine.begin() as conn:
            conn.execute(api_keys.insert().values(
                key_id=key_id, principal=principal, key_hash=key_hash, is_admin=is_admin,
                groups=json.dumps(groups), description=description, created_by=created_by, created_at=now))
        return ApiKeyRecord(key_id, principal, key_hash, is_admin, tuple(groups), description, created_by, now, None)

    def get_api_key(self, key_id: str) -> ApiKeyRecord | None:
        with self.engine.connect() as conn:
            r = conn.execute(sa.select(api_keys).where(api_keys.c.key_id == key_id)).first()
        return None if r is None else self._key(r)

    def list_api_keys(self, include_revoked: bool = False) -> list[ApiKeyRecord]:
        q = sa.select(api_keys).order_by(api_keys.c.created_at)
        if not include_revoked:
            q = q.where(api_keys.c.revoked_at.is_(None))
        with self.engine.connect() as conn:
            return [self._key(r) for r in conn.execute(q)]

    def revoke_api_key(self, key_id: str) -> ApiKeyRecord:
        with self.engine.begin() as conn:
            res = conn.execute(api_keys.update().where(api_keys.c.key_id == key_id,
                                                       api_keys.c.revoked_at.is_(None)).values(revoked_at=time.time()))
        rec = self.get_api_key(key_id)
        if rec is None:
            raise not_found(f"API key {key_id!r} does not exist")
        if not res.rowcount and rec.revoked_at is None:  # pragma: no cover - race
            raise not_found(f"API key {key_id!r} could not be revoked")
        return rec

    @staticmethod
    def _key(r: Any) -> ApiKeyRecord:
        return ApiKeyRecord(r.key_id, r.principal, r.key_hash, bool(r.is_admin), tuple(json.loads(r.groups or "[]")),
                            r.description, r.created_by, r.created_at, r.revoked_at)

    # audit --------------------------------------------------------------------------------
    def add_audit_event(self, event: dict[str, Any]) -> None:
        cols = {c.name for c in audit_events.columns} - {"id"}
        with self.engine.begin() as conn:
            conn.execute(audit_events.insert().values(**{k: v for k, v in event.items() if k in cols}))

    def has_denial_since(self, principal: str, route: str, since: float) -> bool:
        q = sa.select(audit_events.c.id).where(
            audit_events.c.ts >= since, audit_events.c.principal == principal, audit_events.c.route == route,
            audit_events.c.outcome == "denied").limit(1)
        with self.engine.connect() as conn:
            return conn.execute(q).first() is not None

    def list_audit_events(self, *, max_results: int, before_id: int | None = None, principal: str | None = None,
                          outcome: str | None = None) -> list[dict[str, Any]]:
        q = sa.select(audit_events).order_by(audit_events.c.id.desc()).limit(max_results)
        if before_id is not None:
            q = q.where(audit_events.c.id < before_id)
        if principal:
            q = q.where(audit_events.c.principal == principal)
        if outcome:
            q = q.where(audit_events.c.outcome == outcome)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]
