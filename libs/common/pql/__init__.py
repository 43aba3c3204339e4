"""Polyaxon's query language (PQL) for run search: the grammar and its syntax tree. Compiling a
tree to SQL is the job of the service that owns the data (the api, for runs)."""

from libs.common.pql.parser import And, Condition, Node, Or, PQLError, SortKey, parse, parse_sort

__all__ = ["And", "Condition", "Node", "Or", "PQLError", "SortKey", "parse", "parse_sort"]
