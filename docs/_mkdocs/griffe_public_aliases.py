"""Griffe extension for the jaxsched API pages (loaded by mkdocstrings, see mkdocs.yml).

Two things, both on the documentation side (the source is not changed):

* ``from module import name as name`` marks ``name`` public. jaxsched's namespaces
  re-export their objects with redundant aliases (the convention type checkers and
  ruff read as "public re-export"), and only some define ``__all__``; griffe treats
  imported names as private unless they are in ``__all__``. With this, ``::: jaxsched.timm``
  lists ``CosineLRScheduler`` and friends.
* Docstring layout that griffe's Google parser reads differently from the doctests:
  ``Example:`` (singular) becomes ``Examples:`` so that the ``>>>`` lines render as code,
  and an ``Args:`` entry naming several arguments on a wrapped first line
  (``weight_decay, clipnorm, ...,`` / ``    ema_momentum, decay: ...``) is joined onto
  one line, which griffe would otherwise drop with a warning; an entry's description
  that starts with ``>`` (``learning_rate: >= 0; ...``) gets it escaped, or Markdown
  would make it a block quote.
* Optimizers declared as ``name = variant(base, "name", doc, **defaults)`` (see
  ``jaxsched._hyper.variant``) are attributes to a static reader; they are documented
  as functions with ``base``'s signature, the bound defaults and their own docstring,
  which is what ``inspect.signature`` gives at run time.
"""

from __future__ import annotations

import ast
import inspect
import re
from typing import Any

import griffe

_EXAMPLE = re.compile(r"^(\s*)Example:\s*$", re.MULTILINE)
# "  a, b, c," (argument names and commas only) followed by a more indented line.
# "  name: >= 0" (an Args or Attributes entry whose description starts with ">").
_QUOTE = re.compile(r"^( +[\w*][\w*, ]*: *)>", re.MULTILINE)
_WRAPPED_NAMES = re.compile(r"^( +)(\w+(?:, *\w+)*,)\n\1 +(?=\w+(?:, *\w+)*[,:])", re.MULTILINE)


def normalize_docstring(text: str) -> str:
    """The docstring with the layout fixes above applied."""
    text = _EXAMPLE.sub(r"\1Examples:", text)
    text = _QUOTE.sub(r"\1\\>", text)
    while True:
        joined = _WRAPPED_NAMES.sub(r"\1\2 ", text)
        if joined == text:
            return text
        text = joined


class PublicRedundantAliases(griffe.Extension):
    """Public redundant aliases, variants and normalized docstrings (module docstring)."""

    def __init__(self) -> None:
        super().__init__()
        self._variants: list[tuple[griffe.Attribute, str, dict[str, str]]] = []

    def on_alias_instance(self, *, node: Any, alias: griffe.Alias, **kwargs: Any) -> None:
        if not isinstance(node, ast.ImportFrom):
            return
        for name in node.names:
            if name.asname is not None and name.asname == name.name == alias.name:
                alias.public = True

    def on_object(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = normalize_docstring(obj.docstring.value)

    def on_attribute_instance(
        self, *, node: Any, attr: griffe.Attribute, agent: Any, **kwargs: Any
    ) -> None:
        call = getattr(node, "value", None)
        if not (
            isinstance(call, ast.Call)
            and isinstance(call.func, ast.Name)
            and call.func.id == "variant"
            and len(call.args) >= 3
            and isinstance(call.args[0], ast.Name)
            and isinstance(call.args[2], ast.Constant)
            and isinstance(call.args[2].value, str)
        ):
            return
        doc = call.args[2]
        attr.docstring = griffe.Docstring(
            inspect.cleandoc(doc.value),
            lineno=doc.lineno,
            endlineno=doc.end_lineno,
            parent=attr,
            parser=agent.docstring_parser,
            parser_options=agent.docstring_options,
        )
        defaults = {kw.arg: ast.unparse(kw.value) for kw in call.keywords if kw.arg}
        self._variants.append((attr, call.args[0].id, defaults))

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        for attr, base_name, defaults in self._variants:
            module = attr.parent
            if module is None or base_name not in module.members:
                continue
            base = module.members[base_name]
            if base.is_alias:
                base = base.final_target
            if not base.is_function:
                continue
            parameters = griffe.Parameters(
                *(
                    griffe.Parameter(
                        p.name,
                        annotation=p.annotation,
                        kind=p.kind,
                        default=defaults.get(p.name, p.default),
                        docstring=p.docstring,
                    )
                    for p in base.parameters
                )
            )
            function = griffe.Function(
                attr.name,
                lineno=attr.lineno,
                endlineno=attr.endlineno,
                parameters=parameters,
                returns=base.returns,
                docstring=attr.docstring,
            )
            if function.docstring is not None:
                function.docstring.parent = function
            module.set_member(attr.name, function)
        self._variants.clear()
