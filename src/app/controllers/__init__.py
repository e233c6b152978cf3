"""Thin controllers: parse, call one service, render. Shared parameter types live here."""

from __future__ import annotations

from litestar.di import NamedDependency

from app.domain.audit.service import Origin
from app.domain.schools.service import Actor
from app.settings import Settings

CurrentActor = NamedDependency[Actor]
AppSettings = NamedDependency[Settings]
RequestOrigin = NamedDependency[Origin]
