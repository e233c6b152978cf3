"""LOG_LEVEL=DEBUG turns up the app's own logging, never the database drivers': they log query parameters,
which are concern texts, the child's own words and pupils' names."""

from __future__ import annotations

import dataclasses
import logging

from app.logs import QUIET_LOGGERS
from app.main import create_app
from tests.conftest import add_pupil, csrf, http_client, post_form, sign_in


class Keep(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.name} {record.getMessage()} {record.exc_text or ''}")


async def test_it_logs_no_record_contents_at_debug(settings, cast):
    await add_pupil(cast.school_id, "Zebedee", "Quillfeather", year="9", form="9A")
    words = "Uncle Rastaban keeps the door locked"
    app = create_app(dataclasses.replace(settings, log_level="DEBUG"))
    # Added after create_app: the app's logging config replaces the root logger's handlers.
    kept = Keep()
    logging.getLogger().addHandler(kept)
    try:
        assert logging.getLogger().getEffectiveLevel() == logging.DEBUG  # everything else may speak
        async with http_client(app) as client:
            await sign_in(client, settings, cast.teacher)
            found = await post_form(client, "/pupils/search", {"q": "Quillf"}, page="/pupils/")
            assert "Zebedee" in found.text
            pupil = found.text.split('href="/pupils/', 1)[1].split('"', 1)[0]
            token = await csrf(client, "/concerns/new")
            saved = await client.post("/concerns/", follow_redirects=False, data={
                "_csrf_token": token, "pupil_id": pupil, "seen_or_said": "Flinched at the Zorblax word",
                "childs_words": words, "place": "Form room", "present": "", "action_taken": "Told the DSL"})
            assert saved.status_code == 303
            # A log line from the database layer itself, at the level the drivers log their parameters.
            logging.getLogger("aiosqlite").debug("executing %s", [words])
    finally:
        logging.getLogger().removeHandler(kept)
    log = "\n".join(kept.lines)
    assert "corridor.request POST /concerns" in log  # DEBUG was on for the app's own loggers throughout
    for secret in ("Zebedee", "Quillf", "Rastaban", "Zorblax"):
        assert secret not in log, secret
    for name in QUIET_LOGGERS:
        assert not logging.getLogger(name).isEnabledFor(logging.INFO), name


async def test_it_still_logs_warnings_from_the_database_layer(settings):
    create_app(dataclasses.replace(settings, log_level="DEBUG"))
    kept = Keep()
    logging.getLogger().addHandler(kept)
    try:
        logging.getLogger("asyncpg.pool").warning("pool is closing")
    finally:
        logging.getLogger().removeHandler(kept)
    assert kept.lines == ["asyncpg.pool pool is closing "]
