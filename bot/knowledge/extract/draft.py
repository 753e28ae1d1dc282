"""The draft: sections, documents and facts of a report, as data."""

from __future__ import annotations

from bot.knowledge.extract.data import Draft
from bot.knowledge.extract.documents import collect_documents
from bot.knowledge.extract.figures import collect_facts
from bot.knowledge.extract.sections import locate_sections, parse_headings
from bot.knowledge.extract.text import flatten


def extract(text: str, source: str = "") -> Draft:
    """Draft the knowledge base of a report: sections, documents, figures."""
    headings, title, warnings = parse_headings(text)
    report, headings, more = locate_sections(text, headings)
    warnings.extend(more)
    flat = flatten(report.body)
    taken: set[str] = set()
    documents = collect_documents(report, flat, taken)
    facts = collect_facts(report, flat, headings, taken)
    return Draft(source, title, headings, documents, facts, warnings, report)
