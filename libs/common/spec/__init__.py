"""The polyaxonfile spec: parse, validate and compile operations."""

from libs.common.spec.compiler import RunContext, compile_operation, load_content, load_operation
from libs.common.spec.errors import SpecError, SpecIssue
from libs.common.spec.models import EXECUTABLE_KINDS, CompiledOperation, Operation
from libs.common.spec.parsing import parse_content

__all__ = [
    "EXECUTABLE_KINDS",
    "CompiledOperation",
    "Operation",
    "RunContext",
    "SpecError",
    "SpecIssue",
    "compile_operation",
    "load_content",
    "load_operation",
    "parse_content",
]
