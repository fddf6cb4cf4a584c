"""The input contract: argument specs, checked at construction, errors in the user's words.

A public callable declares what each argument accepts in its own signature, with
``typing.Annotated``::

    def scale_by_adam(b1: Decay = 0.9, eps: NonNegative = 1e-8, *, amsgrad: Flag = False)

and :func:`validated` (or :func:`jaxsched._hyper.block`, which builds on it) checks every
argument against its spec when the user calls it. Errors are ``TypeError`` for the wrong
kind of value and ``ValueError`` for a value out of range, and name the argument as the
user wrote it (``beta_1``, ``lr``, ``betas[0]``). A callable reached from another
validated callable is not checked again: the outermost call, whose argument names the
user typed, has already checked everything it passes on.
"""

from __future__ import annotations

import abc
import collections
import contextvars
import functools
import inspect
import itertools
import math
import numbers
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

import jax
import jax.numpy as jnp
import numpy as np

from ._base import ScalarOrSchedule, StatefulSchedule, is_schedule, path_str

_CHECKED = contextvars.ContextVar("jaxsched_checked", default=False)


def accepts(value: Callable[..., Any], *args: Any) -> bool:
    """False when ``value``'s signature can be read and cannot bind ``args``, else True."""
    try:
        signature = inspect.signature(value)
    except (TypeError, ValueError):  # no signature to read: given the benefit of the doubt
        return True
    try:
        signature.bind(*args)
    except TypeError:
        return False
    return True


class Spec(abc.ABC):
    """What one argument accepts. ``check(name, value)`` raises or returns the value to use."""

    @abc.abstractmethod
    def check(self, name: str, value: Any) -> Any:
        """Returns the value to use, or raises TypeError/ValueError naming ``name``."""

    @abc.abstractmethod
    def describe(self) -> str:
        """What is accepted, in words, for error messages."""


def _type_error(name: str, expected: str, value: Any) -> TypeError:
    shown = repr(value) if isinstance(value, (str, bool, int, float)) else type(value).__name__
    return TypeError(f"{name} must be {expected}, got {shown}")


def _interval(low, high, low_open, high_open) -> str:
    lo = "-inf" if low is None else f"{low:g}"
    hi = "inf" if high is None else f"{high:g}"
    left = "(" if low_open or low is None else "["
    right = ")" if high_open or high is None else "]"
    return f"{left}{lo}, {hi}{right}"


def _real_value(name: str, value: Any, expected: str) -> float | None:
    """The float of a concrete real scalar; None for a tracer. Refuses bools, strings, arrays."""
    if isinstance(value, (bool, np.bool_)):
        raise _type_error(name, expected, value)
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, (np.ndarray, np.generic, jax.Array)):
        if np.ndim(value) != 0:
            raise TypeError(
                f"{name} must be {expected}, got an array of shape {np.shape(value)} "
                "(a scalar is expected)"
            )
        dtype = jnp.result_type(value)
        if not (jnp.issubdtype(dtype, jnp.floating) or jnp.issubdtype(dtype, jnp.integer)):
            raise TypeError(f"{name} must be {expected}, got an array of dtype {dtype}")
        if isinstance(value, jax.core.Tracer):
            return None
        return float(value)
    raise _type_error(name, expected, value)


@dataclass(frozen=True)
class Real(Spec):
    """A real number in ``[low, high]`` (open ends as flagged).

    ``schedule``: a schedule ``step -> value`` or :class:`~jaxsched.StatefulSchedule` is
    accepted too (a callable that cannot take the step is refused; the values are checked
    when it is evaluated, not here). ``inf``: infinity is a
    documented value (e.g. "no clipping"). ``optional``: None is accepted.
    ``concrete``: a traced value is refused, for a value that shapes the computation
    (a cycle length, where a phase ends) and so must be known when it is built.
    """

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    schedule: bool = True
    inf: bool = False
    optional: bool = False
    concrete: bool = False

    def describe(self) -> str:
        what = f"a number in {_interval(self.low, self.high, self.low_open, self.high_open)}"
        if self.schedule:
            what += " or a schedule"
        if self.optional:
            what += ", or None"
        return what

    def check(self, name: str, value: Any) -> Any:
        if value is None and self.optional:
            return value
        if is_schedule(value) and not isinstance(value, (np.ndarray, jax.Array)):
            if not self.schedule:
                raise TypeError(f"{name} must be {self.describe()}, got a schedule")
            if not isinstance(value, StatefulSchedule) and not accepts(value, 0):
                raise TypeError(
                    f"{name} must be {self.describe()}, got a callable that cannot be "
                    "called with the step"
                )
            return value
        v = _real_value(name, value, self.describe())
        if v is None:
            if self.concrete:
                raise TypeError(
                    f"{name} must be {self.describe()} known when it is built (it shapes "
                    "the computation, so it cannot be traced), got a tracer"
                )
            return value
        if math.isnan(v) or (math.isinf(v) and not self.inf):
            raise ValueError(f"{name} must be {self.describe()}, got {v!r}")
        lo_ok = self.low is None or (v > self.low if self.low_open else v >= self.low)
        hi_ok = self.high is None or (v < self.high if self.high_open else v <= self.high)
        if not (lo_ok and hi_ok):
            raise ValueError(f"{name} must be {self.describe()}, got {v!r}")
        return value


@dataclass(frozen=True)
class Integer(Spec):
    """A Python integer ``>= low`` (and ``<= high``); an integer-valued float is accepted."""

    low: int | None = None
    high: int | None = None
    optional: bool = False

    def describe(self) -> str:
        if self.low is not None and self.high is not None:
            what = f"an integer in [{self.low}, {self.high}]"
        elif self.low is not None:
            what = f"an integer >= {self.low}"
        else:
            what = "an integer"
        return what + (", or None" if self.optional else "")

    def check(self, name: str, value: Any) -> Any:
        if value is None and self.optional:
            return value
        if isinstance(value, (bool, np.bool_)):
            raise _type_error(name, self.describe(), value)
        if isinstance(value, (numbers.Integral, np.integer)):
            value = int(value)
        elif isinstance(value, (float, np.floating)) and math.isfinite(value):
            if not float(value).is_integer():
                raise ValueError(f"{name} must be {self.describe()}, got {float(value)!r}")
            value = int(value)
        elif isinstance(value, (np.ndarray, jax.Array)) and np.ndim(value) == 0:
            return self.check(name, value.item())
        elif isinstance(value, float):
            raise ValueError(f"{name} must be {self.describe()}, got {value!r}")
        else:
            raise _type_error(name, self.describe(), value)
        if (self.low is not None and value < self.low) or (
            self.high is not None and value > self.high
        ):
            raise ValueError(f"{name} must be {self.describe()}, got {value}")
        return value


@dataclass(frozen=True)
class FlagSpec(Spec):
    """A Python bool (numpy bools too); strings and numbers are refused."""

    def describe(self) -> str:
        return "True or False"

    def check(self, name: str, value: Any) -> Any:
        if not isinstance(value, (bool, np.bool_)):
            raise _type_error(name, self.describe(), value)
        return bool(value)


@dataclass(frozen=True)
class Choice(Spec):
    """One of a fixed set of values."""

    values: tuple[Any, ...]

    def describe(self) -> str:
        return "one of " + ", ".join(repr(v) for v in self.values)

    def check(self, name: str, value: Any) -> Any:
        if isinstance(value, (bool, np.bool_)) or value not in self.values:
            raise ValueError(f"{name} must be {self.describe()}, got {value!r}")
        return value


@dataclass(frozen=True)
class DtypeSpec(Spec):
    """None (the default dtype) or a floating dtype."""

    def describe(self) -> str:
        return "None or a floating dtype"

    def check(self, name: str, value: Any) -> Any:
        if value is None:
            return value
        try:
            dtype = jnp.dtype(value)
        except TypeError as err:
            raise _type_error(name, self.describe(), value) from err
        if not jnp.issubdtype(dtype, jnp.floating):
            raise TypeError(f"{name} must be {self.describe()}, got {dtype}")
        return value


@dataclass(frozen=True)
class TransformationSpec(Spec):
    """An optax-style transformation: an object with callable ``init`` and ``update``."""

    optional: bool = False

    def describe(self) -> str:
        return "a gradient transformation (with init and update)" + (
            ", or None" if self.optional else ""
        )

    def check(self, name: str, value: Any) -> Any:
        if value is None and self.optional:
            return value
        has = [callable(getattr(value, method, None)) for method in ("init", "update")]
        if not all(has):
            raise _type_error(name, self.describe(), value)
        return value


@dataclass(frozen=True)
class CallableSpec(Spec):
    """A callable (a schedule, a function of the parameters)."""

    optional: bool = False

    def describe(self) -> str:
        return "a callable" + (", or None" if self.optional else "")

    def check(self, name: str, value: Any) -> Any:
        if (value is None and self.optional) or callable(value):
            return value
        raise _type_error(name, self.describe(), value)


@dataclass(frozen=True)
class MaskSpec(Spec):
    """None, a function of the parameters, or a pytree of Python bools."""

    def describe(self) -> str:
        return "None, a pytree of bools or a function of the parameters"

    def check(self, name: str, value: Any) -> Any:
        if value is None or callable(value):
            return value
        leaves, _ = jax.tree_util.tree_flatten_with_path(value)
        for path, leaf in leaves:
            if not isinstance(leaf, (bool, np.bool_)):
                raise TypeError(
                    f"{name} must be {self.describe()}; the leaf at {path_str(path)!r} is "
                    f"{type(leaf).__name__}"
                )
        return value


@dataclass(frozen=True)
class Items(Spec):
    """A tuple or list whose items each satisfy ``item``; ``length`` fixes its size."""

    item: Spec
    length: int | None = None
    min_length: int = 0
    increasing: bool = False
    optional: bool = False

    def describe(self) -> str:
        size = f"{self.length} " if self.length is not None else ""
        return f"a sequence of {size}items, each {self.item.describe()}"

    def check(self, name: str, value: Any) -> Any:
        if value is None and self.optional:
            return value
        if isinstance(value, (np.ndarray, jax.Array)) and np.ndim(value) == 1:
            value = value.tolist()
        if not isinstance(value, (tuple, list)):
            raise _type_error(name, self.describe(), value)
        if self.length is not None and len(value) != self.length:
            raise ValueError(f"{name} must have {self.length} items, got {len(value)}")
        if len(value) < self.min_length:
            raise ValueError(f"{name} must have at least {self.min_length} items, got {value!r}")
        checked = [self.item.check(f"{name}[{i}]", v) for i, v in enumerate(value)]
        if self.increasing and any(b <= a for a, b in itertools.pairwise(checked)):
            raise ValueError(f"{name} must be strictly increasing, got {value!r}")
        return type(value)(checked)


@dataclass(frozen=True)
class Either(Spec):
    """The first of several specs that accepts the value."""

    options: tuple[Spec, ...]

    def describe(self) -> str:
        return " or ".join(o.describe() for o in self.options)

    def check(self, name: str, value: Any) -> Any:
        errors = []
        for option in self.options:
            try:
                return option.check(name, value)
            except (TypeError, ValueError) as err:
                errors.append(err)
        if any(isinstance(e, ValueError) for e in errors):
            raise next(e for e in errors if isinstance(e, ValueError))
        raise _type_error(name, self.describe(), value)


# Annotations for signatures: the type a reader expects, with the spec beside it.
@dataclass(frozen=True)
class SwitchSpec(Spec):
    """True, False or None: torch's ``foreach`` and ``fused`` (None lets torch choose)."""

    def describe(self) -> str:
        return "True, False or None"

    def check(self, name: str, value: Any) -> Any:
        if value is not None and not isinstance(value, (bool, np.bool_)):
            shown = repr(value) if isinstance(value, (str, int, float)) else type(value).__name__
            raise TypeError(f"{name} must be {self.describe()}, got {shown}")
        return value


NonNegative = Annotated[ScalarOrSchedule, Real(low=0.0)]
Positive = Annotated[ScalarOrSchedule, Real(low=0.0, low_open=True)]
AnyReal = Annotated[ScalarOrSchedule, Real()]
UnitInterval = Annotated[ScalarOrSchedule, Real(0.0, 1.0)]
Decay = Annotated[ScalarOrSchedule, Real(0.0, 1.0, high_open=True)]
OptionalNonNegative = Annotated[ScalarOrSchedule | None, Real(low=0.0, optional=True)]
OptionalUnitInterval = Annotated[ScalarOrSchedule | None, Real(0.0, 1.0, optional=True)]
Flag = Annotated[bool, FlagSpec()]
FloatDtype = Annotated[Any, DtypeSpec()]
Mask = Annotated[Any, MaskSpec()]
Transformation = Annotated[Any, TransformationSpec()]
Steps = Annotated[int, Integer(low=1)]
Count = Annotated[int, Integer(low=0)]
Switch = Annotated[bool | None, SwitchSpec()]
# torch's (beta1, beta2) pairs.
Betas = Annotated[tuple, Items(Real(0.0, 1.0, high_open=True), length=2)]


def spec_of(annotation: Any) -> Spec | None:
    """The :class:`Spec` carried by an ``Annotated`` annotation, or None."""
    for meta in getattr(annotation, "__metadata__", ()):
        if isinstance(meta, Spec):
            return meta
    return None


def signature_specs(fn: Callable) -> dict[str, Spec]:
    """Each parameter of ``fn`` that declares a spec in its annotation, with that spec.

    Annotations are resolved as ``typing.get_type_hints`` does; if one of them names
    something the module imports only for type checkers, they are resolved one by one,
    so that plain hint does not hide the specs of the other parameters.
    """
    params = inspect.signature(fn).parameters
    try:
        hints = typing.get_type_hints(fn, include_extras=True)
    except NameError:
        chain, target = [], fn
        while target is not None:
            chain.append(getattr(target, "__globals__", {}))
            target = getattr(target, "__wrapped__", None)
        namespace = dict(collections.ChainMap(*reversed(chain)))
        hints = {}
        for name, param in params.items():
            annotation = getattr(fn, "__annotations__", {}).get(name, param.annotation)
            if isinstance(annotation, str):
                try:
                    annotation = eval(annotation, namespace)
                except NameError:
                    continue
            hints[name] = annotation
    specs = {}
    for name in params:
        spec = spec_of(hints.get(name))
        if spec is not None:
            specs[name] = spec
    return specs


def is_checked() -> bool:
    """True while an outer validated call is running (its arguments are already checked)."""
    return _CHECKED.get()


def validated(fn: Callable) -> Callable:
    """Checks the arguments of ``fn`` against the specs of its signature at each call.

    Arguments without a spec are passed as given. Inside an outer validated call nothing
    is checked again. The checked values (bools normalised, integer-valued floats made
    ints) are what ``fn`` receives.
    """
    sig = inspect.signature(fn)
    specs: dict[str, Spec] | None = None

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        nonlocal specs
        if _CHECKED.get():
            return fn(*args, **kwargs)
        if specs is None:
            specs = signature_specs(fn)
        try:
            bound = sig.bind(*args, **kwargs)
        except TypeError as err:
            raise TypeError(f"{fn.__name__}(): {err}") from None
        bound.apply_defaults()
        for name, spec in specs.items():
            bound.arguments[name] = spec.check(name, bound.arguments[name])
        token = _CHECKED.set(True)
        try:
            return fn(*bound.args, **bound.kwargs)
        finally:
            _CHECKED.reset(token)

    return wrapper


def check_value(name: str, value: Any, spec: Spec) -> Any:
    """Checks one value outside a signature (e.g. an entry of ``**kwargs``)."""
    return spec.check(name, value)


def check_schedule_arg(name: str, value: Any) -> Any:
    """A hyperparameter given to :func:`~jaxsched.with_hyperparams`: a number or a schedule."""
    if isinstance(value, StatefulSchedule):
        return value
    return Real().check(name, value)
