"""Hugging Face, timm and combinator schedules against independent NumPy versions of the
library formulas (``transformers`` and ``timm`` are not installed; the formulas follow
their sources: transformers/optimization.py, timm/scheduler/cosine_lr.py).

The HF tests also check the mapping documented in docs/schedules.md: each
``get_*_schedule_with_warmup`` equals the jaxsched call given there.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxsched import schedules as js

N = 1000
ABS_DIFF: dict[str, float] = {}


def evaluate(schedule, n=N):
    return np.asarray(jax.vmap(schedule)(jnp.arange(n)), np.float64)


def check(name, got, want, record_parity, rtol=1e-5, atol=1e-7):
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol, err_msg=name)
    diff = np.abs(got - want)
    ABS_DIFF[name] = max(ABS_DIFF.get(name, 0.0), float(diff.max()))
    record_parity(f"schedules.{name} (NumPy formula)", float(diff.max() / np.abs(want).max()))


def rng_for(draw):
    return np.random.default_rng(4000 + draw)


def hf(lr, fn):
    """``lr * lambda(s)`` over the steps, as torch's LambdaLR applies HF's lambdas."""
    return np.array([lr * fn(s) for s in range(N)])


def hf_warmup(s, w):
    return float(s) / float(max(1, w))


def draw_hf(draw):
    r = rng_for(draw)
    lr = float(r.uniform(1e-4, 1))
    w = [0, 1, int(r.integers(2, 200)), int(r.integers(2, 200))][draw]
    total = int(r.integers(w + 1, 1200))
    return r, lr, w, total


# Hugging Face ------------------------------------------------------------------------------


@pytest.mark.parametrize("draw", range(4))
def test_hf_constant_and_linear_with_warmup(draw, record_parity):
    _, lr, w, total = draw_hf(draw)
    want = hf(lr, lambda s: hf_warmup(s, w) if s < w else 1.0)
    check("linear_warmup(constant)", evaluate(js.linear_warmup(lr, w)), want, record_parity)

    def linear(s):
        if s < w:
            return hf_warmup(s, w)
        return max(0.0, float(total - s) / float(max(1, total - w)))

    ours = js.linear_warmup(js.polynomial_decay(lr, total - w, end_learning_rate=0.0), w)
    check("linear_warmup(polynomial_decay)", evaluate(ours), hf(lr, linear), record_parity)


@pytest.mark.parametrize("draw", range(4))
def test_hf_cosine_with_warmup_and_min_lr(draw, record_parity):
    r, lr, w, total = draw_hf(draw)
    cycles = [0.5, 0.5, float(r.uniform(0.2, 3)), 1.0][draw]
    rate = [0.0, float(r.uniform(0, 0.5)), 0.1, 0.0][draw]

    def cosine(s):
        if s < w:
            return hf_warmup(s, w)
        progress = float(s - w) / float(max(1, total - w))
        factor = 0.5 * (1.0 + math.cos(math.pi * float(cycles) * 2.0 * progress))
        return max(0, factor * (1 - rate) + rate)

    ours = js.warmup_cosine(lr, w, total, min_value=lr * rate, num_cycles=cycles)
    check("warmup_cosine", evaluate(ours), hf(lr, cosine), record_parity)


@pytest.mark.parametrize("draw", range(4))
def test_hf_cosine_with_hard_restarts(draw, record_parity):
    _, lr, w, total = draw_hf(draw)
    cycles = [1, 2, 3, 5][draw]

    def hard(s):
        if s < w:
            return hf_warmup(s, w)
        progress = float(s - w) / float(max(1, total - w))
        if progress >= 1.0:
            return 0.0
        return max(0.0, 0.5 * (1.0 + math.cos(math.pi * ((float(cycles) * progress) % 1.0))))

    ours = js.cosine(
        lr, (total - w) / cycles, cycle_limit=cycles, warmup_steps=w, warmup_prefix=True
    )
    check("cosine (HF hard restarts)", evaluate(ours), hf(lr, hard), record_parity)


@pytest.mark.parametrize("draw", range(4))
def test_hf_polynomial_with_warmup(draw, record_parity):
    r, lr, w, total = draw_hf(draw)
    lr_end, power = float(r.uniform(1e-7, lr / 2)), float(r.uniform(0.5, 3))

    def poly(s):
        if s < w:
            return hf_warmup(s, w)
        if s > total:
            return lr_end / lr
        pct_remaining = 1 - (s - w) / (total - w)
        return ((lr - lr_end) * pct_remaining**power + lr_end) / lr

    ours = js.linear_warmup(js.polynomial_decay(lr, total - w, lr_end, power), w)
    check("linear_warmup(polynomial_decay)", evaluate(ours), hf(lr, poly), record_parity)


@pytest.mark.parametrize("draw", range(4))
def test_hf_inverse_sqrt(draw, record_parity):
    r, lr, w, _ = draw_hf(draw)
    timescale = None if draw < 3 else int(r.integers(1, 500))
    ts = timescale if timescale is not None else (w or 10_000)

    def inv(s):
        if s < w:
            return hf_warmup(s, w)
        return 1.0 / math.sqrt((s + ts - w) / ts)

    check("inverse_sqrt", evaluate(js.inverse_sqrt(lr, w, timescale)), hf(lr, inv), record_parity)


@pytest.mark.parametrize(
    "warmup_type, decay_type", [("linear", "cosine"), ("cosine", "linear"), ("1-sqrt", "1-sqrt")]
)
@pytest.mark.parametrize("draw", range(2))
def test_hf_warmup_stable_decay(warmup_type, decay_type, draw, record_parity):
    r = rng_for(draw)
    lr, w, d = float(r.uniform(1e-4, 1)), int(r.integers(0, 200)), int(r.integers(1, 400))
    stable, ratio = int(r.integers(0, 400)), [0.0, float(r.uniform(0, 0.5))][draw]
    cycles = 0.5 if draw == 0 else float(r.uniform(0.2, 1))

    def wsd(s):
        if s < w:
            p = float(s) / float(max(1, w))
            factor = {
                "linear": p,
                "cosine": 0.5 * (1.0 - math.cos(math.pi * p)),
                "1-sqrt": 1.0 - math.sqrt(1.0 - p),
            }[warmup_type]
            return max(0.0, factor * (1.0 - ratio) + ratio)
        if s < w + stable:
            return 1.0
        if s < w + stable + d:
            p = float(s - w - stable) / float(max(1, d))
            factor = {
                "linear": 1.0 - p,
                "cosine": 0.5 * (1.0 + math.cos(math.pi * float(cycles) * 2.0 * p)),
                "1-sqrt": 1.0 - math.sqrt(p),
            }[decay_type]
            return max(0.0, factor * (1.0 - ratio) + ratio)
        return ratio

    kw = dict(warmup_type=warmup_type, decay_type=decay_type, min_lr_ratio=ratio, num_cycles=cycles)
    by_stable = js.warmup_stable_decay(lr, w, d, stable_steps=stable, **kw)
    by_total = js.warmup_stable_decay(lr, w, d, total_steps=w + stable + d, **kw)
    want = hf(lr, wsd)
    check("warmup_stable_decay", evaluate(by_stable), want, record_parity)
    check("warmup_stable_decay", evaluate(by_total), want, record_parity)
    if w > 0:
        assert float(by_stable(0)) == pytest.approx(lr * ratio)  # warmup starts at the floor


# timm --------------------------------------------------------------------------------------


def np_timm_cosine(
    lr,
    t_initial,
    lr_min,
    cycle_mul,
    cycle_decay,
    cycle_limit,
    k,
    warmup_t,
    warmup_lr_init,
    warmup_prefix,
):
    """timm CosineLRScheduler._get_lr, with the cycle found by walking the cycle lengths."""
    out = np.empty(N)
    for step in range(N):
        if step < warmup_t:
            out[step] = warmup_lr_init + step * (lr - warmup_lr_init) / warmup_t
            continue
        t = step - warmup_t if warmup_prefix else step
        i, start, length = 0, 0.0, float(t_initial)
        while t >= start + length:
            start, length, i = start + length, length * cycle_mul, i + 1
        if cycle_limit is None or i < cycle_limit:
            lr_max = lr * cycle_decay**i
            frac = (t - start) ** k / length**k
            out[step] = lr_min + 0.5 * (lr_max - lr_min) * (1 + math.cos(math.pi * frac))
        else:
            out[step] = lr_min
    return out


@pytest.mark.parametrize("draw", range(6))
def test_timm_cosine(draw, record_parity):
    r = rng_for(draw)
    lr = float(r.uniform(1e-3, 1))
    args = dict(
        t_initial=int(r.integers(5, 150)),
        lr_min=float(r.uniform(0, lr / 10)),
        cycle_mul=[1.0, 2.0, 1.5, 1.0, 3.0, 1.0][draw],
        cycle_decay=[1.0, 0.5, float(r.uniform(0.3, 1)), 0.8, 1.0, 1.0][draw],
        cycle_limit=[1, 4, 10, None, None, 3][draw],
        k=[1.0, 1.0, 2.0, 0.5, 1.0, 1.5][draw],
        warmup_t=[0, 20, 5, 0, 50, 30][draw],
        warmup_lr_init=float(r.uniform(0, lr / 10)),
        warmup_prefix=draw in (2, 5),
    )
    want = np_timm_cosine(lr, **args)
    ours = js.cosine(
        lr,
        args["t_initial"],
        min_value=args["lr_min"],
        cycle_mul=args["cycle_mul"],
        cycle_decay=args["cycle_decay"],
        cycle_limit=args["cycle_limit"],
        k_decay=args["k"],
        warmup_steps=args["warmup_t"],
        warmup_init_value=args["warmup_lr_init"],
        warmup_prefix=args["warmup_prefix"],
    )
    check("cosine (timm)", evaluate(ours), want, record_parity)


# Combinators and torch-shaped natives ------------------------------------------------------


def test_constant_and_linear_warmup_into_a_schedule(record_parity):
    np.testing.assert_array_equal(evaluate(js.constant(0.25), 5), 0.25)
    inner = js.exponential_decay(0.2, 10, 0.5)
    ours = evaluate(js.linear_warmup(inner, 30, init_value=0.01))
    s = np.arange(N)
    want = np.where(s < 30, 0.01 + (0.2 - 0.01) * s / 30, 0.2 * 0.5 ** ((s - 30) / 10))
    check("linear_warmup", ours, want, record_parity)


def test_join_restarts_each_schedule_at_its_boundary(record_parity):
    parts = [js.linear_warmup(1.0, 10), 0.5, js.exponential_decay(0.5, 20, 0.1)]
    ours = evaluate(js.join(parts, [10, 300]))
    s = np.arange(N)
    want = np.where(s < 10, s / 10, np.where(s < 300, 0.5, 0.5 * 0.1 ** ((s - 300) / 20)))
    check("join", ours, want, record_parity)


def test_step_and_multistep_decay(record_parity):
    s = np.arange(N)
    check(
        "step_decay", evaluate(js.step_decay(0.3, 7, 0.97)), 0.3 * 0.97 ** (s // 7), record_parity
    )
    ours = evaluate(js.multistep_decay(0.3, [500, 30, 30, 0], 0.5))
    want = 0.3 * 0.5 ** ((s >= 0).astype(int) + 2 * (s >= 30) + (s >= 500))
    check("multistep_decay", ours, want, record_parity)


@pytest.mark.parametrize("horizon", [10_000, 250, 0])
def test_multiplicative_table_and_tail(horizon, record_parity):
    def factor(i):
        return 0.999 + 0.0005 * jnp.sin(i)

    ours = evaluate(js.multiplicative(0.7, factor, horizon=horizon))
    want = 0.7 * np.cumprod(np.concatenate([[1.0], 0.999 + 0.0005 * np.sin(np.arange(1, N))]))
    # Past the table the product is float32: a looser tolerance there, as documented.
    rtol = 1e-6 if horizon >= N else 5e-5
    check("multiplicative", ours, want, record_parity, rtol=rtol)


def test_cyclic_and_one_cycle_shapes():
    tri = evaluate(js.cyclic(0.1, 1.0, step_size_up=10, step_size_down=30), 81)
    assert tri[0] == pytest.approx(0.1) and tri[10] == pytest.approx(1.0)
    assert tri[25] == pytest.approx(0.1 + 0.9 * 15 / 30) and tri[40] == pytest.approx(0.1)
    down = evaluate(js.cyclic(0.9, 0.8, step_size_up=10), 21)  # base > max cycles downwards
    assert down[10] == pytest.approx(0.8) and down[20] == pytest.approx(0.9)
    oc = evaluate(js.one_cycle(1.0, 100, pct_start=0.25, anneal_strategy="linear"), 120)
    assert oc[0] == pytest.approx(1.0 / 25) and oc[24] == pytest.approx(1.0)
    assert oc[99] == pytest.approx(1.0 / 25 / 1e4, abs=1e-7) and oc[119] == oc[100]


def test_invalid_arguments_raise():
    with pytest.raises(ValueError, match="warmup_steps"):
        js.linear_warmup(0.1, -1)
    with pytest.raises(ValueError, match="total_steps"):
        js.warmup_cosine(0.1, 100, 50)
    with pytest.raises(ValueError, match="timescale"):
        js.inverse_sqrt(0.1, 10, timescale=0)
    with pytest.raises(ValueError, match="total_steps or stable_steps"):
        js.warmup_stable_decay(0.1, 10, 10)
    with pytest.raises(ValueError, match="must equal total_steps"):
        js.warmup_stable_decay(0.1, 10, 10, total_steps=100, stable_steps=5)
    with pytest.raises(ValueError, match="decay_type"):
        js.warmup_stable_decay(0.1, 10, 10, stable_steps=5, decay_type="exp")
    with pytest.raises(ValueError, match="min_lr_ratio"):
        js.warmup_stable_decay(0.1, 10, 10, stable_steps=5, min_lr_ratio=2.0)
    with pytest.raises(ValueError, match="cycle_mul"):
        js.cosine(0.1, 10, cycle_mul=0.5)
    with pytest.raises(ValueError, match="cycle_steps"):
        js.cosine(0.1, 0)
    with pytest.raises(TypeError, match="cycle_mul"):
        jax.jit(lambda m: js.cosine(0.1, 10, cycle_mul=m)(3))(2.0)
    with pytest.raises(ValueError, match="boundaries"):
        js.join([0.1, 0.2], [])
    with pytest.raises(ValueError, match="strictly increasing"):
        js.join([0.1, 0.2, 0.3], [5, 3])
    with pytest.raises(ValueError, match="step_size"):
        js.step_decay(0.1, 0)
    with pytest.raises(ValueError, match="step_size_down"):
        js.cyclic(0.1, 1.0, step_size_down=-1)
    with pytest.raises(ValueError, match="scale_mode"):
        js.cyclic(0.1, 1.0, scale_fn=lambda x: 1.0, scale_mode="epoch")
    with pytest.raises(TypeError, match="factor_fn"):
        js.multiplicative(0.1, 0.9)
    with pytest.raises(ValueError, match="horizon"):
        js.multiplicative(0.1, lambda i: 0.9, horizon=-1)


# Rounding at the edges ---------------------------------------------------------------------


def test_linear_warmup_divides_once_and_hands_over_at_its_last_step():
    """``step / warmup_steps`` is rounded once (XLA's ``x * (1 / c)`` is an ulp off for
    343 of the (step, warmup) pairs below 60), and step ``warmup_steps`` is the wrapped
    schedule's step 0 exactly, also when ``init + (peak - init)`` rounds away from peak."""
    for warmup in range(1, 60):
        steps = np.arange(warmup + 1, dtype=np.float32)
        got = np.asarray(jax.jit(jax.vmap(js.linear_warmup(1.0, warmup)))(steps))
        np.testing.assert_array_equal(got[:-1], steps[:-1] / np.float32(warmup))
        assert got[-1] == 1.0
    down = js.linear_warmup(js.exponential_decay(0.1, 10, 0.5), 10, init_value=0.3)
    assert float(jax.jit(down)(10)) == np.float32(0.1)
    assert np.float32(0.3) + (np.float32(0.1) - np.float32(0.3)) != np.float32(0.1)


def test_powers_of_a_concrete_base_keep_float64_accuracy():
    """``gamma ** k`` for a Python gamma is ``exp(k log gamma)`` with the log in float64:
    float32 ``0.999`` raised to 20000 would be 2.6e-4 off torch's float64; gamma = 0
    gives 0 from the first decay (no log of 0)."""
    steps = np.arange(0, 20001, 250)
    got = np.asarray(jax.vmap(js.step_decay(1.0, 1, gamma=0.999))(steps))
    np.testing.assert_allclose(got, 0.999 ** steps.astype(np.float64), rtol=3e-6)
    zero = js.step_decay(0.5, 3, gamma=0.0)
    np.testing.assert_array_equal([float(zero(t)) for t in range(5)], [0.5, 0.5, 0.5, 0, 0])


@pytest.mark.parametrize(
    "first, mul, step",
    [
        (1.0, 1.7, 58059),
        (1.0, 1.1, 151577),
        (1.0, 1.05, 19421),
        (2.0, 1.5, 151503),
        (3, 1.1, 89942),
        (5.0, 1.3, 33572),
        (1.0, 1.05, 5720),
        (7.0, 1.05, 1057),
        (1.0, 2.0, 8190),
    ],
)
def test_cosine_cycles_deep_in_the_schedule(first, mul, step):
    """Steps where the float32 log estimate of the cycle is one too high (the first five,
    at the step) or one too low (the last four, at the next step; the last one, torch's
    ``T_mult=2``, exactly at the start), found by a search: the cycle is corrected to the
    one a float64 walk over the cycle lengths finds (lengths ``first * mul**i`` with the
    float32 ``mul`` the schedule computes with). The step is the last of its cycle (the
    value near 0), the next one starts the next cycle (near 1): one cycle off either way
    is a difference of order 1."""
    m = float(np.float32(mul))
    schedule = jax.jit(js.cosine(1.0, first, cycle_mul=mul, cycle_limit=None))
    for t in (step, step + 1):
        start, length = 0.0, first
        while t >= start + length:
            start, length = start + length, length * m
        want = 0.5 * (1 + math.cos(math.pi * (t - start) / length))
        assert float(schedule(t)) == pytest.approx(want, abs=2e-6), t
    assert float(schedule(step)) < 1e-3 < 0.9 < float(schedule(step + 1))
