"""Piccolo finds its engine here (PICCOLO_CONF=app.piccolo_conf); the engine follows DATABASE_URL."""

from piccolo.conf.apps import AppRegistry

from app.db import engine_for
from app.settings import Settings

DB = engine_for(Settings.from_env().database_url)

APP_REGISTRY = AppRegistry(apps=["app.piccolo_app"])
