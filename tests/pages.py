"""Reading pages the way a user sees them (labels tied to controls, errors on fields) and the
way a browser submits them (the forms on a page, links)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html import unescape
from html.parser import HTMLParser


class _LabelParser(HTMLParser):
    def __init__(self):
        super().__init__()
        self.labels: list[tuple[str, str]] = []  # (text, for)
        self.control_ids: set[str] = set()
        self._label_for: str | None = None
        self._label_text: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "label":
            self._label_for = attributes.get("for") or ""
            self._label_text = []
        elif tag in {"input", "select", "textarea"} and attributes.get("id"):
            self.control_ids.add(attributes["id"])

    def handle_endtag(self, tag):
        if tag == "label" and self._label_for is not None:
            text = re.sub(r"\s+", " ", "".join(self._label_text)).strip()
            self.labels.append((text, self._label_for))
            self._label_for = None

    def handle_data(self, data):
        if self._label_for is not None:
            self._label_text.append(data)


def tied_labels(html: str) -> list[str]:
    """The label texts whose `for` names a control on the page, in order."""
    parser = _LabelParser()
    parser.feed(html)
    return [text for text, target in parser.labels if target in parser.control_ids]


def untied_labels(html: str) -> list[str]:
    parser = _LabelParser()
    parser.feed(html)
    return [text for text, target in parser.labels if target not in parser.control_ids]


def field_block(html: str, field_name: str) -> str:
    """One field's block (label, control, help, errors), with entities unescaped as a user reads them."""
    start = html.find(f'id="field-{field_name}"')
    assert start != -1, f"no field {field_name} on the page"
    end = html.find('id="field-', start + 1)
    return unescape(html[start : end if end != -1 else len(html)])


@dataclass
class Form:
    """A form on a page: its attributes, and the values a browser submits for it as the page
    stands (checked boxes only, each select's chosen option, no buttons)."""

    attrs: dict[str, str]
    values: dict[str, str] = field(default_factory=dict)


class _FormParser(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self.links: list[tuple[str, str]] = []  # (text, href)
        self._form: Form | None = None
        self._select: tuple[str, list[str], list[str]] | None = None  # (name, options, selected)
        self._textarea: tuple[str, list[str]] | None = None
        self._link: tuple[str, list[str]] | None = None

    def handle_starttag(self, tag, attrs):
        attributes = {name: value or "" for name, value in attrs}
        if tag == "a" and "href" in attributes:
            self._link = (attributes["href"], [])
        if tag == "form":
            self._form = Form(attributes)
            self.forms.append(self._form)
        if self._form is None or ("name" not in attributes and tag != "option"):
            return
        if tag == "input":
            kind = attributes.get("type", "text")
            if kind in {"submit", "button", "image", "reset", "file"}:
                return
            if kind in {"checkbox", "radio"} and "checked" not in attributes:
                return
            default = "on" if kind in {"checkbox", "radio"} else ""
            self._form.values[attributes["name"]] = attributes.get("value", default)
        elif tag == "select":
            self._select = (attributes["name"], [], [])
        elif tag == "option" and self._select is not None:
            self._select[1].append(attributes.get("value", ""))
            if "selected" in attributes:
                self._select[2].append(attributes.get("value", ""))
        elif tag == "textarea":
            self._textarea = (attributes["name"], [])

    def handle_endtag(self, tag):
        if tag == "a" and self._link is not None:
            href, text = self._link
            self.links.append((re.sub(r"\s+", " ", "".join(text)).strip(), href))
            self._link = None
        elif tag == "form":
            self._form = None
        elif tag == "select" and self._select is not None and self._form is not None:
            name, options, selected = self._select
            if selected or options:
                self._form.values[name] = (selected or options)[0]
            self._select = None
        elif tag == "textarea" and self._textarea is not None and self._form is not None:
            name, text = self._textarea
            self._form.values[name] = "".join(text).removeprefix("\n")
            self._textarea = None

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea[1].append(data)
        if self._link is not None:
            self._link[1].append(data)


def _parsed(html: str) -> _FormParser:
    parser = _FormParser()
    parser.feed(html)
    parser.close()
    return parser


def page_forms(html: str) -> list[Form]:
    return _parsed(html).forms


def form_by_id(html: str, form_id: str) -> Form:
    found = [form for form in page_forms(html) if form.attrs.get("id") == form_id]
    assert found, f"no form #{form_id} on the page"
    return found[0]


def links(html: str, text: str) -> list[str]:
    """The hrefs of the links that read `text`, in page order."""
    return [href for link_text, href in _parsed(html).links if link_text == text]


def body_attribute(html: str, name: str) -> str:
    """An attribute of the page's <body>, e.g. hx-headers (where upload.js finds the CSRF token)."""
    match = re.search(r"<body\b[^>]*?\s" + re.escape(name) + r"""=(?:'([^']*)'|"([^"]*)")""", html)
    assert match, f"the page's body has no {name}"
    return unescape(match.group(1) if match.group(1) is not None else match.group(2))


def data_attribute(html: str, name: str) -> str:
    """The value of the first data-* attribute `name` on the page (e.g. data-upload-url)."""
    match = re.search(r"\s" + re.escape(name) + r'="([^"]*)"', html)
    assert match, f"no {name} on the page"
    return unescape(match.group(1))
