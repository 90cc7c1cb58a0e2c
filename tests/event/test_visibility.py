"""Who sees what: members-only events and drafts never reach visitors or other spaces; descriptions
are sanitised whatever is typed into them."""

from __future__ import annotations

from html.parser import HTMLParser

from tests.event.factories import create_event


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, attrs))


def elements(html: str) -> list[tuple[str, list[tuple[str, str | None]]]]:
    parser = _Elements()
    parser.feed(html)
    return parser.found


def description_of(page: str) -> str:
    start = page.index('<div class="event-description">')
    return page[start:page.index("</div>", start)]

HOSTILE = """# Hello
<script>alert("xss")</script>
<img src=x onerror="alert(1)">
[click](javascript:alert(1)) [data](data:text/html;base64,PHNjcmlwdD4=)
<a href="https://ok.example" onclick="steal()">raw link</a>
<iframe src="https://evil.example"></iframe><style>body{display:none}</style>
**fine** and [a real link](https://fabrique.example/agenda)
"""


async def test_a_members_only_event_is_a_404_for_visitors_and_absent_from_the_public_agenda(world, web):
    secret = await create_event(world.a.space, world.a.animator, visibility="members", title="Members only AG")
    public = await create_event(world.a.space, world.a.animator, title="Open repair café")
    visitor = await web()
    agenda = await visitor.get(f"/p/{world.a.slug}/events")
    assert agenda.status_code == 200
    assert "Open repair café" in agenda.text and "Members only AG" not in agenda.text
    for path in ("", "/event.ics"):
        assert (await visitor.get(f"/p/{world.a.slug}/events/{secret.id}{path}")).status_code == 404
    assert (await visitor.post(f"/p/{world.a.slug}/events/{secret.id}/register",
                               {"name": "Eve", "email": "eve@example.org"})).status_code == 404
    assert (await visitor.get(f"/p/{world.a.slug}/events/{public.id}")).status_code == 200
    # Members see it on their own pages.
    member = await web(world.a.member)
    assert "Members only AG" in (await member.get(f"/s/{world.a.slug}/events")).text


async def test_a_public_event_of_one_space_is_a_404_under_another_spaces_address(world, web, api):
    event = await create_event(world.a.space, world.a.animator, title="Open repair café")
    visitor = await web()
    assert (await visitor.get(f"/p/{world.b.slug}/events/{event.id}")).status_code == 404
    assert (await visitor.get(f"/p/{world.b.slug}/events/{event.id}/event.ics")).status_code == 404
    r = await api(world.b.tokens["owner"]).get(f"/api/v1/spaces/{world.b.slug}/events/{event.id}")
    assert r.status_code == 404
    assert "Open repair café" not in (await visitor.get(f"/p/{world.b.slug}/events")).text


async def test_drafts_and_other_peoples_proposals_are_invisible_to_members(world, api):
    draft = await create_event(world.a.space, world.a.animator, publish=False, title="Not yet")
    member = api(world.a.tokens["member"])
    assert (await member.get(f"/api/v1/spaces/{world.a.slug}/events/{draft.id}")).status_code == 404
    assert (await member.get(f"/api/v1/spaces/{world.a.slug}/events")).json() == []
    r = await member.post(f"/api/v1/spaces/{world.a.slug}/events/{draft.id}/registrations")
    assert r.status_code == 404


async def test_a_suspended_spaces_public_agenda_says_so(world, web):
    from app.core import db
    from app.space import service as spaces

    async with db.transaction() as session:
        space = await spaces.get_space(session, world.a.slug)
        await spaces.set_suspended(session, space, world.a.owner, True)
    r = await (await web()).get(f"/p/{world.a.slug}/events")
    assert r.status_code == 423


async def test_a_hostile_description_is_sanitised_in_the_api_and_on_every_page(world, api, web):
    event = await create_event(world.a.space, world.a.animator, description=HOSTILE)
    body = (await api(world.a.tokens["member"]).get(f"/api/v1/spaces/{world.a.slug}/events/{event.id}")).json()
    pages = [
        (await (await web(world.a.member)).get(f"/s/{world.a.slug}/events/{event.id}")).text,
        (await (await web()).get(f"/p/{world.a.slug}/events/{event.id}")).text,
    ]
    for html in [body["description_html"], *map(description_of, pages)]:
        found = elements(html)
        assert {tag for tag, _a in found} <= {"div", "h3", "p", "br", "strong", "a"}, found
        for _tag, attrs in found:
            for name, value in attrs:
                assert not name.startswith("on"), (name, html)
                assert name in ("class", "href", "rel"), (name, html)
                if name == "href":
                    assert value and value.startswith("https://"), (value, html)
        # What was typed as HTML is shown as text, harmless.
        assert "&lt;script&gt;" in html
        assert "<strong>fine</strong>" in html
        assert '<a href="https://fabrique.example/agenda" rel="noopener noreferrer nofollow">' in html
    assert "<h3>Hello</h3>" in body["description_html"]  # demoted under the page's own headings


def test_the_sanitiser_alone_strips_raw_html_even_if_markdown_let_it_through():
    from app.core.markdown import sanitize_html

    out = sanitize_html('<p onclick="x()">hi<script>alert(1)</script></p><a href="javascript:alert(1)">j</a>'
                        '<img src=x onerror=alert(1)><a href="https://ok.example" style="x">ok</a>')
    assert out == ('<p>hi</p><a rel="noopener noreferrer nofollow">j</a>'
                   '<a href="https://ok.example" rel="noopener noreferrer nofollow">ok</a>')
