"""The pages' Jinja environment reads `row.name` on a dict as the item without trying an attribute first (an
AttributeError per lookup was 12% of the quick-entry page's CPU); what a template gets must be exactly Jinja's."""

from types import SimpleNamespace

import pytest
from jinja2 import DictLoader, Environment, StrictUndefined, UndefinedError

from app.rendering import PagesEnvironment

TEMPLATE = ("{{ d.name }}|{{ d.missing }}|{{ d['name'] }}|{{ d.items() | list | length }}|{{ d.get('name') }}|"
            "{{ o.name }}|{{ o.missing }}|{% for c in cs %}{{ c.id }}{% endfor %}")


def render(environment_class, **context) -> str:
    env = environment_class(loader=DictLoader({"t": TEMPLATE}), autoescape=True)
    return env.get_template("t").render(**context)


def test_dict_rows_objects_and_dict_methods_read_as_jinja_reads_them():
    context = {"d": {"name": "<Ava>", "items": "not the method"}, "o": SimpleNamespace(name="Obj"),
               "cs": [{"id": 1}, {"id": 2}]}
    ours = render(PagesEnvironment, **context)
    assert ours == render(Environment, **context)
    assert ours == "&lt;Ava&gt;||&lt;Ava&gt;|2|&lt;Ava&gt;|Obj||12"


def test_a_missing_key_is_still_undefined_for_strict_templates():
    env = PagesEnvironment(loader=DictLoader({"t": "{{ d.missing }}"}), undefined=StrictUndefined)
    with pytest.raises(UndefinedError, match="missing"):
        env.get_template("t").render(d={})


def test_the_app_renders_its_pages_with_it(settings):
    from app.main import create_app

    engine = create_app(settings).template_engine.engine
    assert isinstance(engine, PagesEnvironment) and "uk_time" in engine.filters and engine.auto_reload is False
