"""Parsing untrusted XML: no DTD, no entities, no network — refused before anything expands."""

from __future__ import annotations

import re

from lxml import etree

from engine.errors import Problem

# A DOCTYPE is where entities (XXE, "billion laughs") are declared; BPMN and DMN never need one.
_DOCTYPE = re.compile(rb"<!\s*DOCTYPE", re.IGNORECASE)
_ENTITY = re.compile(rb"<!\s*ENTITY", re.IGNORECASE)


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=False,
        remove_pis=True,
    )


def parse_untrusted_xml(name: str, content: bytes) -> tuple[etree._ElementTree | None, list[Problem]]:
    """Parse `content`, or say why not; a DOCTYPE or entity declaration is refused unparsed."""
    if _DOCTYPE.search(content) or _ENTITY.search(content):
        return None, [Problem(name, "DOCTYPE and entity declarations are not allowed in BPMN or DMN files")]
    try:
        tree = etree.ElementTree(etree.fromstring(content, _parser()))
    except etree.XMLSyntaxError as exc:
        line = exc.position[0] if exc.position else None
        return None, [Problem(name, f"not well-formed XML: {exc.msg}", line=line)]
    docinfo = tree.docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        return None, [Problem(name, "DOCTYPE and entity declarations are not allowed in BPMN or DMN files")]
    for node in tree.iter():
        if isinstance(node, etree._Entity):
            return None, [Problem(name, "entity references are not allowed", line=node.sourceline)]
    return tree, []


def element_at_line(tree: etree._ElementTree, line: int | None) -> str | None:
    """The id of the element that starts at `line`, or of its nearest ancestor with one."""
    if line is None:
        return None
    best = None
    for node in tree.iter():
        if not isinstance(node.tag, str):
            continue
        if node.sourceline == line:
            best = node
            break
        if node.sourceline and node.sourceline < line:
            best = node
    while best is not None and best.get("id") is None:
        best = best.getparent()
    return best.get("id") if best is not None else None
