"""pywebpush is imported when the app starts, not on the first push (an on-call request whose screens would all
wait about 1.5 s for the import)."""

import sys

from app.main import create_app


async def test_the_push_library_is_loaded_when_the_app_starts(settings, monkeypatch):
    monkeypatch.delitem(sys.modules, "pywebpush", raising=False)
    app = create_app(settings)
    assert "pywebpush" not in sys.modules
    async with app.lifespan():
        assert "pywebpush" in sys.modules
