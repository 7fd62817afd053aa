"""Reading pages the way a user sees them: labels tied to controls, errors on fields."""

from __future__ import annotations

import re
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
