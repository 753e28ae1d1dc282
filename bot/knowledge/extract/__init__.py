"""Draft knowledge-base YAML from a report in the source's markdown form (`python -m bot extract`).

This is how next year's report gets in: the draft holds the report's section table (found from its
headings, not from `knowledge/sections.yaml`), every document it cites and every figure it states,
each figure with the clause around it so an admin can write the real entries. The draft is close to
the schema (`draft_files` turns it into files `load_base` accepts, and its figures pass provenance),
but ids, titles, units, roles and issuers are guesses and every subject is a placeholder.

With `--compare` (the default) the draft is measured against the curated base: how many of its
documents (by code, or by fuzzy name for documents without a code) and figures (by text, section
and footnote) the draft found.
"""

from __future__ import annotations

from bot.knowledge.extract.cli import run_extract
from bot.knowledge.extract.comparison import NAME_THRESHOLD, Comparison, compare, name_score
from bot.knowledge.extract.data import (
    DRAFT_HEADER,
    DRAFT_ONLY,
    SUBJECT_TODO,
    DocMention,
    Draft,
    DraftDocument,
    DraftFact,
    DraftFigure,
    Heading,
)
from bot.knowledge.extract.documents import collect_documents, find_code_mentions, find_name_mentions
from bot.knowledge.extract.draft import extract
from bot.knowledge.extract.figures import annotate, collect_facts, compose_figures, split_clauses
from bot.knowledge.extract.render import draft_files, render_yaml
from bot.knowledge.extract.sections import classify_heading, locate_sections, parse_headings
from bot.knowledge.extract.text import code_slug, flatten, slug
from bot.knowledge.extract.words import ISSUERS
from bot.knowledge.vocabulary import CODE, CODE_LETTERS, CODE_RE, DOC_TYPES

# The public API; helpers stay in their modules (tests import those from there).
__all__ = [
    "_ABBREVIATIONS",
    "_COMMA_STOP",
    "_DATE_AFTER",
    "_FOLLOWED_BY_CODE",
    "_ISSUER_RE",
    "ISSUERS",
    "_KHOA",
    "_MAX_NAME_WORDS",
    "_NAME_STOP",
    "_TYPE_BEFORE",
    "_TYPE_BY_LOWER",
    "_TYPE_WORD",
    "_TYPES_ALT",
    "_vi",
    "DocMention",
    "_document_data",
    "Draft",
    "DRAFT_HEADER",
    "DRAFT_ONLY",
    "DraftDocument",
    "DraftFact",
    "DraftFigure",
    "_fact_data",
    "_figure_data",
    "Heading",
    "_section_data",
    "SUBJECT_TODO",
    "_anchor_text",
    "_BOLD_SEG",
    "classify_heading",
    "_CLOSING",
    "_depths",
    "_H_ARABIC",
    "_H_PART",
    "_H_ROMAN",
    "_H_SUB",
    "_line_segments",
    "locate_sections",
    "_logical_lines",
    "_new_heading",
    "parse_headings",
    "_part_title",
    "_PART_WORDS",
    "_ROMAN",
    "_ROMAN_RE",
    "_roman_value",
    "_sentence_case",
    "_SEPARATOR",
    "_capitalize",
    "code_slug",
    "_expand",
    "flatten",
    "_protected",
    "slug",
    "_AND_TYPE",
    "collect_documents",
    "_complete_bare_congress",
    "_context",
    "_elliptic_items",
    "find_code_mentions",
    "find_name_mentions",
    "_issuer_after",
    "_issuer_at",
    "_list_items",
    "_NAME_TOKEN",
    "_places",
    "_scan_name",
    "_type_from_code",
    "_type_of",
    "_unique",
    "annotate",
    "_APPROX",
    "collect_facts",
    "compose_figures",
    "_COST",
    "_hard_clauses",
    "_is_fact",
    "_period",
    "split_clauses",
    "_title_of",
    "_tokens",
    "_unit_after",
    "_UNIT_STOP",
    "extract",
    "draft_files",
    "render_yaml",
    "compare",
    "Comparison",
    "name_score",
    "NAME_THRESHOLD",
    "run_extract",
    "CODE",
    "CODE_LETTERS",
    "CODE_RE",
    "DOC_TYPES",
]
