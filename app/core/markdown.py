"""Markdown descriptions rendered to HTML that is safe to show to anyone.

Two layers: markdown-it renders with raw HTML disabled (typed tags come out escaped) and refuses
``javascript:`` style links; nh3 (ammonia) then keeps only a small set of tags and attributes,
whatever the renderer did. Event handlers, ``style``, scripts and iframes never survive.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

import nh3
from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict
from markupsafe import Markup

ALLOWED_TAGS = {
    "p", "br", "strong", "em", "b", "i", "a", "ul", "ol", "li", "blockquote", "code", "pre",
    "h3", "h4", "h5", "h6", "hr",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}}
URL_SCHEMES = {"http", "https", "mailto"}


@cache
def _renderer() -> MarkdownIt:
    # "js-default" is CommonMark with raw HTML off and typographer/linkify left out.
    md = MarkdownIt("js-default", {"breaks": True})
    # Headings inside a description must not compete with the page's own h1/h2.
    md.add_render_rule("heading_open", _demoted_heading)
    md.add_render_rule("heading_close", _demoted_heading)
    return md


def _demoted_heading(
    self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    token = tokens[idx]
    level = min(6, max(3, int(token.tag[1]) + 2))
    token.tag = f"h{level}"
    return self.renderToken(tokens, idx, options, env)


def sanitize_html(html: str) -> str:
    return nh3.clean(
        html, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES, url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow", strip_comments=True,
    )


def render_markdown(text: str | None) -> Markup:
    """Markdown → sanitised HTML, ready to insert in a template."""
    if not text:
        return Markup("")
    return Markup(sanitize_html(_renderer().render(text)))
