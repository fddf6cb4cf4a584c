"""The compiled program of an optimizer's step, for tests that read XLA's HLO."""

from __future__ import annotations

import jax
import optax


def donated_step_entry(tx: optax.GradientTransformation, params) -> str:
    """The ENTRY computation of ``jit(update + apply_updates)`` with the parameters and
    the state donated, as a training loop compiles it (gradients equal to ``params``)."""

    def step(params, state, grads):
        updates, state = tx.update(grads, state, params)
        return optax.apply_updates(params, updates), state

    lowered = jax.jit(step, donate_argnums=(0, 1)).lower(params, tx.init(params), params)
    return lowered.compile().as_text().split("ENTRY", 1)[1]
