"""Logic notation sympy lacks (quantifiers, named domains, row replacement) and its two printers.

Conventions, fixed here so every rendered statement reads the same way:

* ``ForAll(((x, X), (y, Y)), body)`` is ``∀ x ∈ X, y ∈ Y: body``; ``Exists`` likewise. Both are
  sympy ``Boolean`` objects, so they nest inside ``And`` / ``Implies``.
* ``NamedSet`` is a domain given by name only (the simplex ``Δ_K``, ``(0,∞)^K``...). Its meaning is
  documented where it is defined in :mod:`mtkd.theorems.statements`.
* ``G(P, T, w, i)`` is the operator's output ``G(P, T, w)(i)``; ``q(i)`` abbreviates it at the
  quantified ``(P, T, w)``. ``RowReplaced(P, k, u)`` is ``P`` with row ``k`` replaced by ``u``.
* ``IndexedMax(f, k, S)`` is ``max_{k ∈ S} f``.

``to_unicode`` prints one line (reports put statements in tables and terminals); ``to_latex``
uses sympy's LaTeX printer for the arithmetic and adds the constructs above.

>>> import sympy as sp
>>> x = sp.Symbol("x")
>>> to_unicode(ForAll(((x, NamedSet("ℝ", r"\\mathbb{R}")),), sp.Ge(x**2, 0)))
'∀ x ∈ ℝ: x^2 ≥ 0'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, ClassVar, Mapping

import sympy as sp
from sympy.core.function import AppliedUndef
from sympy.core.symbol import Str
from sympy.logic.boolalg import Boolean
from sympy.printing.latex import LatexPrinter
from sympy.printing.pretty.pretty_symbology import pretty_symbol
from sympy.printing.str import StrPrinter


class NamedSet(sp.Basic):
    """A domain known by its name, e.g. ``NamedSet("Δ_K", r"\\Delta_K")``."""

    def __new__(cls, unicode: str | Str, latex: str | Str) -> "NamedSet":
        return super().__new__(cls, _str(unicode), _str(latex))

    @property
    def unicode(self) -> str:
        return self.args[0].name

    @property
    def latex_name(self) -> str:
        return self.args[1].name


class _Quantifier(Boolean):
    """``(bindings, body)`` with ``bindings`` a tuple of ``(variable, domain)`` pairs."""

    def __new__(cls, bindings: tuple[tuple[sp.Basic, sp.Basic], ...], body: sp.Basic) -> "_Quantifier":
        return super().__new__(cls, sp.Tuple(*(sp.Tuple(v, d) for v, d in bindings)), body)

    @property
    def bindings(self) -> sp.Tuple:
        return self.args[0]

    @property
    def body(self) -> sp.Basic:
        return self.args[1]


class ForAll(_Quantifier):
    pass


class Exists(_Quantifier):
    pass


class RowReplaced(sp.Basic):
    """``P[k ← u]``: the matrix (or vector) ``P`` with entry / row ``k`` replaced by ``u``."""

    def __new__(cls, matrix: sp.Basic, index: sp.Basic, row: sp.Basic | int) -> "RowReplaced":
        return super().__new__(cls, matrix, index, sp.sympify(row))


class IndexedMax(sp.Expr):
    """``max_{k ∈ S} f``: a maximum over an index set of symbolic size (of real terms)."""

    is_extended_real = True
    is_real = True


class Satisfies(Boolean):
    """``G ⊨ name``: operator ``G`` satisfies the property called ``name`` (for all inputs)."""

    def __new__(cls, operator: sp.Basic, name: str | Str) -> "Satisfies":
        return super().__new__(cls, operator, _str(name))


def _str(name: str | Str) -> Str:
    """A name as sympy's ``Str``; unpickling rebuilds a node from its args, which are ``Str`` already
    (report derivations travel from a backend's workers that way)."""
    return name if isinstance(name, Str) else Str(name)


_REL_UNICODE: Mapping[str, str] = {"==": "=", "!=": "≠", "<=": "≤", ">=": "≥", "<": "<", ">": ">"}


@dataclass(frozen=True)
class _Notation:
    """How one printer writes the logic constructs, as ``str.format`` strings (their fields listed below)."""

    forall: str
    exists: str
    quantifier: str
    """``{glyph}``, ``{bindings}``, ``{body}``."""
    binding: str
    """``{var}``, ``{domain}``."""
    group: str
    """``{}``: parentheses around a compound operand."""
    and_: str
    or_: str
    implies: str
    row_replaced: str
    """``{matrix}``, ``{index}``, ``{row}``."""
    indexed_max: str
    """``{index}``, ``{domain}``, ``{body}``."""
    satisfies: str
    """``{operator}``, ``{name}``."""


class _LogicPrinting:
    """The printing of this module's constructs, shared by both printers; only the notation differs."""

    notation: ClassVar[_Notation]
    _print: Callable[[Any], str]  # provided by the sympy printer this is mixed into

    def _quantifier(self, expr: _Quantifier) -> str:
        n = self.notation
        bindings = ", ".join(n.binding.format(var=self._print(v), domain=self._print(d)) for v, d in expr.bindings)
        glyph = n.forall if isinstance(expr, ForAll) else n.exists
        return n.quantifier.format(glyph=glyph, bindings=bindings, body=self._print(expr.body))

    def _print_ForAll(self, expr: ForAll) -> str:
        return self._quantifier(expr)

    def _print_Exists(self, expr: Exists) -> str:
        return self.notation.group.format(self._quantifier(expr))

    def _junction(self, expr: sp.Basic, glyph: str) -> str:
        # Parenthesise every compound operand: a quantifier's body would otherwise swallow the
        # operands to its right, and readers should not need a precedence table for ∧ / ⇒.
        compound = (sp.And, sp.Or, sp.Implies, ForAll)
        return f" {glyph} ".join(self.notation.group.format(self._print(a)) if isinstance(a, compound)
                                 else self._print(a) for a in expr.args)

    def _print_And(self, expr: sp.And) -> str:
        return self._junction(expr, self.notation.and_)

    def _print_Or(self, expr: sp.Or) -> str:
        return self._junction(expr, self.notation.or_)

    def _print_Implies(self, expr: sp.Implies) -> str:
        return self._junction(expr, self.notation.implies)

    def _print_RowReplaced(self, expr: RowReplaced) -> str:
        m, k, u = expr.args
        return self.notation.row_replaced.format(matrix=self._print(m), index=self._print(k), row=self._print(u))

    def _print_IndexedMax(self, expr: IndexedMax) -> str:
        f, k, dom = expr.args
        return self.notation.indexed_max.format(index=self._print(k), domain=self._print(dom), body=self._print(f))

    def _print_Satisfies(self, expr: Satisfies) -> str:
        return self.notation.satisfies.format(operator=self._print(expr.args[0]), name=expr.args[1].name)


class _UnicodePrinter(_LogicPrinting, StrPrinter):
    """sympy's str printer with mathematical glyphs; ``*``/``**`` are mapped in :func:`to_unicode`."""

    notation = _Notation(
        forall="∀", exists="∃", quantifier="{glyph} {bindings}: {body}", binding="{var} ∈ {domain}", group="({})",
        and_="∧", or_="∨", implies="⇒", row_replaced="{matrix}[{index}←{row}]",
        indexed_max="max_{{{index} ∈ {domain}}} {body}", satisfies="{operator} ⊨ {name}")

    def _print_Symbol(self, expr: sp.Symbol) -> str:
        return pretty_symbol(expr.name)

    def _print_IndexedBase(self, expr: sp.IndexedBase) -> str:
        return pretty_symbol(expr.label.name)

    def _print_Indexed(self, expr: sp.Indexed) -> str:
        return f"{self._print(expr.base)}[{','.join(self._print(i) for i in expr.indices)}]"

    def _print_Function(self, expr: sp.Function) -> str:
        if isinstance(expr, AppliedUndef):  # user-named functions such as G_1 get subscripts
            return f"{pretty_symbol(expr.func.__name__)}({', '.join(self._print(a) for a in expr.args)})"
        return super()._print_Function(expr)

    def _print_Relational(self, expr: sp.core.relational.Relational) -> str:
        return f"{self._print(expr.lhs)} {_REL_UNICODE[expr.rel_op]} {self._print(expr.rhs)}"

    def _print_Not(self, expr: sp.Not) -> str:
        return f"¬({self._print(expr.args[0])})"

    def _print_Infinity(self, expr: sp.Basic) -> str:
        return "∞"

    def _print_Reals(self, expr: sp.Basic) -> str:
        return "ℝ"

    def _print_Contains(self, expr: sp.Basic) -> str:
        return f"{self._print(expr.args[0])} ∈ {self._print(expr.args[1])}"

    def _print_Interval(self, expr: sp.Interval) -> str:
        left = "(" if expr.left_open else "["
        right = ")" if expr.right_open else "]"
        return f"{left}{self._print(expr.start)}, {self._print(expr.end)}{right}"

    def _print_Abs(self, expr: sp.Abs) -> str:
        return f"|{self._print(expr.args[0])}|"

    def _big_operator(self, glyph: str, expr: sp.Basic) -> str:
        body = self._print(expr.function)
        if isinstance(expr.function, sp.Add):
            body = f"({body})"
        ranges = ",".join(f"{self._print(v)}={self._print(lo)}..{self._print(hi)}" for v, lo, hi in expr.limits)
        return f"{glyph}_{{{ranges}}} {body}"

    def _print_Sum(self, expr: sp.Sum) -> str:
        return self._big_operator("Σ", expr)

    def _print_Product(self, expr: sp.Product) -> str:
        return self._big_operator("∏", expr)

    def _print_Limit(self, expr: sp.Limit) -> str:
        e, z, z0, direction = expr.args
        target = self._print(z0) + ("⁺" if z0 == 0 and str(direction) == "+" else "")
        return f"lim_{{{self._print(z)}→{target}}} {self._print(e)}"

    def _print_Derivative(self, expr: sp.Derivative) -> str:
        variables = "".join(f"∂{self._print(v)}" for v in expr.variables)
        return f"∂/{variables} {self._print(expr.expr)}"

    def _print_Subs(self, expr: sp.Subs) -> str:
        at = ", ".join(f"{self._print(v)}={self._print(p)}" for v, p in zip(expr.variables, expr.point))
        return f"[{self._print(expr.expr)}]_{{{at}}}"

    def _print_NamedSet(self, expr: NamedSet) -> str:
        return expr.unicode


class _LatexPrinter(_LogicPrinting, LatexPrinter):
    notation = _Notation(
        forall=r"\forall", exists=r"\exists", quantifier=r"{glyph}\, {bindings}:\ {body}",
        binding=r"{var} \in {domain}", group=r"\left({}\right)",
        and_=r"\wedge", or_=r"\vee", implies=r"\Rightarrow",
        row_replaced=r"{matrix}[{index} \leftarrow {row}]", indexed_max=r"\max_{{{index} \in {domain}}} {body}",
        satisfies=r"{operator} \models \text{{{name}}}")

    def _print_NamedSet(self, expr: NamedSet) -> str:
        return expr.latex_name


def to_unicode(expr: sp.Basic) -> str:
    """One-line Unicode rendering (``·`` for products, ``^`` for powers)."""
    return _UnicodePrinter({"order": "none"}).doprint(expr).replace("**", "^").replace("*", "·")


def to_latex(expr: sp.Basic, symbol_names: Mapping[sp.Symbol, str] | None = None) -> str:
    """LaTeX rendering; ``symbol_names`` overrides how individual symbols print."""
    return _LatexPrinter({"symbol_names": dict(symbol_names or {}), "order": "none"}).doprint(expr)
