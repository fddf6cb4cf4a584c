"""``pytorch_optimizer`` flavors of the matrix optimizers: Muon and SOAP.

Each flavor is a ``pytorch_optimizer`` 4.1 constructor without ``params``, checked under
its argument names, that builds a native optimizer; the state reports the native names.
``foreach`` never changes the numbers and is ignored.
"""

from __future__ import annotations

from typing import Annotated

import jax
import jax.numpy as jnp
import optax

from .._base import none_if_zero, path_str, resolve_mask
from .._validate import (
    Betas,
    Choice,
    Decay,
    Flag,
    FloatDtype,
    Integer,
    Items,
    Mask,
    NonNegative,
    OptionalUnitInterval,
    Steps,
    Switch,
    validated,
)
from ..optimizers._adam import adam
from ..optimizers._matrix import muon, soap
from ..transforms._muon import NsCoeffs, matrix_shape
from ..transforms._soap import DataFormat


def _adamw_leaves(use_muon):
    """``use_muon`` (a mask of the Muon leaves) as the native's ``fallback_leaves``."""
    if use_muon is None:
        return None

    def leaves(tree):
        chosen = resolve_mask(use_muon, tree)

        def check(path, leaf, on):
            if on and matrix_shape(jnp.shape(leaf), "flatten_trailing") is None:
                raise ValueError(
                    f"use_muon is True for the leaf at {path_str(path)!r} of shape "
                    f"{jnp.shape(leaf)}: Muon takes leaves of 2 or more dims (pytorch_optimizer "
                    "would orthogonalize it as an (n, 1) matrix, which only normalises it); "
                    "set use_muon False for it"
                )
            return not on

        return jax.tree_util.tree_map_with_path(check, tree, chosen)

    return leaves


@validated
def Muon(
    lr: NonNegative = 2e-2,
    momentum: Decay = 0.95,
    weight_decay: NonNegative = 0.0,
    weight_decouple: Flag = True,
    nesterov: Flag = True,
    ns_steps: Steps = 5,
    ns_coeffs: NsCoeffs = "original",
    use_adjusted_lr: Flag = False,
    adamw_lr: NonNegative = 3e-4,
    adamw_betas: Betas = (0.9, 0.95),
    adamw_wd: NonNegative = 0.0,
    adamw_eps: NonNegative = 1e-10,
    maximize: Flag = False,
    foreach: Switch = None,
    ns_method: Annotated[str, Choice(("newton_schulz",))] = "newton_schulz",
    ns_reset_steps: Annotated[tuple, Items(Integer(low=0))] = (2,),
    *,
    use_muon: Mask = None,
    ns_dtype: FloatDtype = jnp.bfloat16,
) -> optax.GradientTransformationExtraArgs:
    """``pytorch_optimizer.Muon``: :func:`jaxsched.optimizers.muon` with an AdamW fallback.

    ``pytorch_optimizer`` takes parameter groups flagged ``use_muon``; here ``use_muon``
    is a mask of the leaves (a pytree of bools or a function params -> bools), and None
    gives the authors' split: leaves of 2 or more dims to Muon, the others to AdamW.
    Select embeddings and output heads out of Muon with it (AdamW, as the authors
    advise). Muon leaves of more than 2 dims are flattened to ``(shape[0], -1)``
    matrices, as ``pytorch_optimizer`` does (``reshape="flatten_trailing"``; the
    authors' code treats 3-D leaves as stacks of matrices instead and divides a
    kernel's ``kh`` by its ``kw`` for the shape factor). A 1-D leaf flagged
    ``use_muon`` is an error (``pytorch_optimizer`` orthogonalizes it as an ``(n, 1)``
    matrix; the authors refuse it). The AdamW groups take ``adamw_*`` and
    ``weight_decouple``, and report their hyperparameters under ``"fallback/..."``
    where the names clash (``fallback/learning_rate``).

    Args:
      lr: >= 0, Muon's rate (state key ``learning_rate``).
      momentum: in [0, 1) (``momentum``).
      weight_decay: >= 0 (``weight_decay``, absent when 0).
      weight_decouple: decoupled decay for both groups; False adds it to the gradient.
      nesterov: Nesterov momentum.
      ns_steps: Newton-Schulz iterations, >= 1.
      ns_coeffs: a preset name (``"original"``, ``"quintic"``, ``"polar_express"``,
        ``"polar_express_safer"``), a triple, or a sequence of triples.
      use_adjusted_lr: Moonlight's factor ``0.2 * max(rows, cols) ** 0.5`` instead of
        ``max(1, rows / cols) ** 0.5``.
      adamw_lr, adamw_betas, adamw_wd, adamw_eps: the AdamW of the other leaves
        (``fallback/learning_rate``, ``b1``, ``b2``, ``fallback/eps``,
        ``fallback/weight_decay``).
      maximize: ascend instead of descend.
      ns_method: ``"newton_schulz"`` only: the Gram Newton-Schulz iteration (float16,
        restarts at ``ns_reset_steps``) is not implemented.
      ns_reset_steps: accepted for the signature; used by the Gram iteration only.
      use_muon: which leaves Muon updates (see above).
      ns_dtype: a jaxsched addition: the dtype of the iteration (bfloat16 as the
        reference, or float32).
      foreach: ignored.

    Returns:
      A transformation whose ``update`` gives ``pytorch_optimizer``'s step.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> params = {"w": jnp.ones((2, 3)), "b": jnp.zeros(3)}
      >>> tx = jaxsched.pytorch_optimizer.Muon(use_muon={"w": True, "b": False})
      >>> u, state = tx.update(params, tx.init(params))
      >>> print(u["w"].shape, u["b"])  # Muon on w, AdamW on b (a zero gradient)
      (2, 3) [-0. -0. -0.]

    References:
      Jordan et al. 2024 (KellerJordan/Muon); Liu et al. 2025;
      ``pytorch_optimizer.Muon``.
    """
    del foreach, ns_method, ns_reset_steps
    b1, b2 = adamw_betas
    fallback = adam(
        adamw_lr,
        b1,
        b2,
        adamw_eps,
        weight_decay=none_if_zero(adamw_wd),
        decoupled=weight_decouple,
        maximize=maximize,
    )
    return muon(
        lr,
        momentum,
        none_if_zero(weight_decay),
        nesterov=nesterov,
        ns_steps=ns_steps,
        ns_coeffs=ns_coeffs,
        adjust_lr="match_rms_adamw" if use_adjusted_lr else "original",
        reshape="flatten_trailing",
        fallback=fallback,
        fallback_leaves=_adamw_leaves(use_muon),
        decoupled=weight_decouple,
        maximize=maximize,
        ns_dtype=ns_dtype,
    )


@validated
def SOAP(
    lr: NonNegative = 3e-3,
    betas: Betas = (0.95, 0.95),
    shampoo_beta: OptionalUnitInterval = None,
    weight_decay: NonNegative = 1e-2,
    precondition_frequency: Steps = 10,
    max_precondition_dim: Steps = 10000,
    merge_dims: Flag = False,
    precondition_1d: Flag = False,
    correct_bias: Flag = True,
    normalize_gradient: Flag = False,
    data_format: DataFormat = "channels_first",
    eps: NonNegative = 1e-8,
    maximize: Flag = False,
    foreach: Switch = None,
) -> optax.GradientTransformationExtraArgs:
    """``pytorch_optimizer.SOAP``: :func:`jaxsched.optimizers.soap` under its names.

    Follows the authors' code where ``pytorch_optimizer`` 4.1 departs from it:
    ``normalize_gradient`` divides by the RMS plus 1e-30 (``pytorch_optimizer`` adds
    ``eps``), and ``merge_dims`` merges as the authors' ``merge_dims`` (``pytorch_optimizer``'s
    ``merge_small_dims`` inserts a dim of 1 before a dim larger than
    ``max_precondition_dim``, which changes nothing, and fails on a leaf whose dims all
    merge into one, which the authors precondition as one dim).

    Args:
      lr: >= 0 (state key ``learning_rate``).
      betas: ``(b1, b2)``, each in [0, 1) (``b1``, ``b2``).
      shampoo_beta: decay of the preconditioner statistics; None: ``b2``
        (``shampoo_beta``, absent when None).
      weight_decay: >= 0, decoupled, applied after the step (``weight_decay``, absent
        when 0).
      precondition_frequency: updates between refreshes of the eigenbases, >= 1.
      max_precondition_dim: larger dims are not preconditioned.
      merge_dims, precondition_1d, correct_bias, data_format: see
        :func:`jaxsched.transforms.scale_by_soap`.
      normalize_gradient: divide the direction by its RMS (``normalize_grads``).
      eps: >= 0 (``eps``).
      maximize: ascend instead of descend.
      foreach: ignored (``pytorch_optimizer`` takes it among its keyword arguments).

    Returns:
      A transformation whose ``update`` gives the authors' SOAP step.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> tx = jaxsched.pytorch_optimizer.SOAP(lr=0.1)
      >>> params = jnp.ones((2, 2))
      >>> u, state = tx.update(params, tx.init(params), params)
      >>> print(u)  # the first step only sets the preconditioner
      [[0. 0.]
       [0. 0.]]

    References:
      Vyas et al. 2024; nikhilvyas/SOAP; ``pytorch_optimizer.SOAP``.
    """
    del foreach
    b1, b2 = betas
    return soap(
        lr,
        b1,
        b2,
        shampoo_beta,
        eps,
        none_if_zero(weight_decay),
        precondition_frequency=precondition_frequency,
        max_precond_dim=max_precondition_dim,
        merge_dims=merge_dims,
        precondition_1d=precondition_1d,
        normalize_grads=normalize_gradient,
        correct_bias=correct_bias,
        data_format=data_format,
        maximize=maximize,
    )
