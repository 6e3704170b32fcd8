"""Hidden tests for the RNN and LSTM: random shapes compared with the reference, gradient checks against
numerical gradients of the reference's forward passes, edge cases of backpropagation through time, and
the trained sequence model run on the judge's side from every position of the cycle, and the trained LSTM
run on fresh sequences of the memory task."""

from itertools import permutations

import numpy as np
import pytest

from grader.judge.checks import CheckFailed, assert_accuracy, assert_close, assert_params, assert_shape
from grader.judge.gradcheck import assert_gradient, numeric_gradient

STEP_SHAPES = [(1, 1, 1), (3, 4, 5), (8, 10, 16), (2, 7, 3)]  # N, D, H
SEQUENCE_SHAPES = [(1, 1, 1, 1), (2, 6, 3, 4), (4, 9, 5, 7)]  # N, T, D, H
CYCLE = [1.0, 2.0, 3.0, 4.0, 3.0, 2.0]
TANH_HINT = "the derivative of tanh is 1 - tanh(a)**2 = 1 - h_next**2, computed from the output h_next"
ORDER_HINT = "the 4H columns hold the gates in the order i, f, o, g (input, forget, output, candidate)"


def rnn_weights(rng, n, d, h):
    return (rng.normal(size=(n, d)), rng.normal(size=(n, h)), rng.normal(size=(d, h)) * 0.6,
            rng.normal(size=(h, h)) * 0.6, rng.normal(size=h) * 0.3)


def lstm_weights(rng, n, d, h):
    return (rng.normal(size=(n, d)), rng.normal(size=(n, h)), rng.normal(size=(n, h)),
            rng.normal(size=(d, 4 * h)) * 0.6, rng.normal(size=(h, 4 * h)) * 0.6,
            rng.normal(size=4 * h) * 0.3)


def assert_all(got, expected, names, hints=None):
    assert isinstance(got, tuple) and len(got) == len(names), f"return a tuple ({', '.join(names)})"
    for index, (g, e, name) in enumerate(zip(got, expected, names)):
        assert_close(g, e, name=name, hints={m: v[index] for m, v in (hints or {}).items()})


def check_numerically(analytic, inputs, names, forward, upstream):
    """Each analytic gradient against central differences of the reference's `forward` in that input."""
    assert isinstance(analytic, tuple) and len(analytic) == len(names), f"return ({', '.join(names)})"
    for index, (grad, name) in enumerate(zip(analytic, names)):
        def f(value, index=index):
            return forward(*inputs[:index], value, *inputs[index + 1:])
        assert_gradient(grad, numeric_gradient(f, inputs[index], upstream), name)


def step_gradients(da, x, h_prev, Wx, Wh):
    """What rnn_step_backward returns for a given gradient `da` at the pre-activation."""
    return da @ Wx.T, da @ Wh.T, x.T @ da, h_prev.T @ da, da.sum(axis=0)


def tanh_slips(dh_next, x, h_prev, Wx, Wh, b):
    """The step gradients a wrong tanh derivative produces, keyed by the hint to show."""
    a = x @ Wx + h_prev @ Wh + b
    h = np.tanh(a)
    slopes = {", not from the pre-activation a": 1 - a ** 2, " (the square is missing)": 1 - h,
              ", not 1 - a": 1 - a}
    return {TANH_HINT + why: step_gradients(dh_next * slope, x, h_prev, Wx, Wh)
            for why, slope in slopes.items()}


# -- vanilla RNN, one step ----------------------------------------------------------------------------
@pytest.mark.points(1)
@pytest.mark.parametrize("n,d,h", STEP_SHAPES)
def test_rnn_step_forward_matches_reference(submission, reference, rng, n, d, h):
    x, h_prev, Wx, Wh, b = rnn_weights(rng, n, d, h)
    assert_close(submission.rnn_step_forward(x, h_prev, Wx, Wh, b),
                 reference.rnn_step_forward(x, h_prev, Wx, Wh, b), name="h_next",
                 hints={"h_next is tanh of the pre-activation": x @ Wx + h_prev @ Wh + b,
                        "the bias b is part of the pre-activation": np.tanh(x @ Wx + h_prev @ Wh),
                        "h_prev multiplies Wh as h_prev @ Wh": np.tanh(x @ Wx + h_prev @ Wh.T + b)})


@pytest.mark.points(2)
@pytest.mark.parametrize("n,d,h", STEP_SHAPES)
def test_rnn_step_backward_matches_reference(submission, reference, rng, n, d, h):
    inputs = rnn_weights(rng, n, d, h)
    dh_next = rng.normal(size=(n, h))
    assert_all(submission.rnn_step_backward(dh_next, *inputs), reference.rnn_step_backward(dh_next, *inputs),
               ("dx", "dh_prev", "dWx", "dWh", "db"), tanh_slips(dh_next, *inputs))


@pytest.mark.points(2)
def test_rnn_step_backward_numerical(submission, reference, rng):
    inputs = rnn_weights(rng, 3, 4, 5)
    dh_next = rng.normal(size=(3, 5))
    grads = submission.rnn_step_backward(dh_next, *inputs)
    check_numerically(grads, inputs, ("dx", "dh_prev", "dWx", "dWh", "db"), reference.rnn_step_forward,
                      dh_next)


# -- vanilla RNN over a sequence ----------------------------------------------------------------------
def sequence(rng, n, t, d, h):
    _, h0, Wx, Wh, b = rnn_weights(rng, n, d, h)
    return rng.normal(size=(n, t, d)), h0, Wx, Wh, b


@pytest.mark.points(2)
@pytest.mark.parametrize("n,t,d,h", SEQUENCE_SHAPES)
def test_rnn_forward_matches_reference(submission, reference, rng, n, t, d, h):
    x, h0, Wx, Wh, b = sequence(rng, n, t, d, h)
    assert_close(submission.rnn_forward(x, h0, Wx, Wh, b), reference.rnn_forward(x, h0, Wx, Wh, b), name="h",
                 hints={"the first step starts from h0, not from zeros":
                        reference.rnn_forward(x, np.zeros_like(h0), Wx, Wh, b)})


@pytest.mark.points(1)
def test_rnn_forward_single_step(submission, reference, rng):
    x, h0, Wx, Wh, b = sequence(rng, 3, 1, 2, 4)
    assert_close(submission.rnn_forward(x, h0, Wx, Wh, b), reference.rnn_forward(x, h0, Wx, Wh, b),
                 name="h for a sequence of one step")


def bptt_slips(reference, dh, x, h0, Wx, Wh, b):
    """What familiar backpropagation-through-time slips return, keyed by the hint to show."""
    h = reference.rnn_forward(x, h0, Wx, Wh, b)
    previous = np.concatenate([h0[:, None], h[:, :-1]], axis=1)
    # Each step sees only its own upstream gradient, nothing carried back from later steps.
    per_step = [reference.rnn_step_backward(dh[:, t], x[:, t], previous[:, t], Wx, Wh, b)
                for t in range(x.shape[1])]
    alone = (np.stack([g[0] for g in per_step], axis=1), per_step[0][1],
             *(sum(g[k] for g in per_step) for k in (2, 3, 4)))
    # Weight gradients assigned, not added, at every step: only step 0's (the last one visited) stays.
    right = reference.rnn_backward(dh, x, h0, Wx, Wh, b)
    into_first = reference.rnn_backward(dh[:, 1:], x[:, 1:], h[:, 0], Wx, Wh, b)[1] if x.shape[1] > 1 else 0
    step0 = reference.rnn_step_backward(dh[:, 0] + into_first, x[:, 0], h0, Wx, Wh, b)
    return {"the gradient reaching h_t is dh[:, t] plus the gradient carried back from step t + 1": alone,
            "the weights are shared by every step: sum (+=) their gradients over all time steps":
                right[:2] + step0[2:]}


@pytest.mark.points(3)
@pytest.mark.parametrize("n,t,d,h", SEQUENCE_SHAPES)
def test_rnn_backward_matches_reference(submission, reference, rng, n, t, d, h):
    inputs = sequence(rng, n, t, d, h)
    dh = rng.normal(size=(n, t, h))
    assert_all(submission.rnn_backward(dh, *inputs), reference.rnn_backward(dh, *inputs),
               ("dx", "dh0", "dWx", "dWh", "db"), bptt_slips(reference, dh, *inputs))


@pytest.mark.points(3)
def test_rnn_backward_numerical(submission, reference, rng):
    inputs = sequence(rng, 2, 5, 3, 4)
    dh = rng.normal(size=(2, 5, 4))
    check_numerically(submission.rnn_backward(dh, *inputs), inputs, ("dx", "dh0", "dWx", "dWh", "db"),
                      reference.rnn_forward, dh)


@pytest.mark.points(2)
@pytest.mark.parametrize("where", ["last", "first"])
def test_rnn_backward_upstream_at_one_step(submission, reference, rng, where):
    """A loss on the last state only (many-to-one) reaches every step; one on the first reaches no later
    input."""
    inputs = sequence(rng, 2, 6, 3, 4)
    dh = np.zeros((2, 6, 4))
    dh[:, -1 if where == "last" else 0] = rng.normal(size=(2, 4))
    assert_all(submission.rnn_backward(dh, *inputs), reference.rnn_backward(dh, *inputs),
               (f"dx (loss on the {where} state)", "dh0", "dWx", "dWh", "db"),
               bptt_slips(reference, dh, *inputs))


# -- LSTM ----------------------------------------------------------------------------------------------
def reorder(w, order, h):
    """w with its four column blocks of width h taken in `order`."""
    return np.concatenate([w[..., k * h:(k + 1) * h] for k in order], axis=-1)


WRONG_ORDERS = [p for p in permutations(range(4)) if p != (0, 1, 2, 3)]


@pytest.mark.points(2)
@pytest.mark.parametrize("n,d,h", STEP_SHAPES[1:])
def test_sigmoid_and_gates(submission, reference, rng, n, d, h):
    a = rng.normal(size=(n, d, h)) * 20
    assert_close(submission.sigmoid(a), reference.sigmoid(a), name="sigmoid", atol=1e-300)
    x, h_prev, _, Wx, Wh, b = lstm_weights(rng, n, d, h)
    got = submission.lstm_gates(x, h_prev, Wx, Wh, b)
    hints = {}
    for order in WRONG_ORDERS:
        hints[f"{ORDER_HINT}; yours look like the order {''.join('ifog'[k] for k in order)}"] = \
            reference.lstm_gates(x, h_prev, *(reorder(v, order, h) for v in (Wx, Wh, b)))
    assert_all(got, reference.lstm_gates(x, h_prev, Wx, Wh, b), ("i", "f", "o", "g"), hints)


@pytest.mark.points(2)
@pytest.mark.parametrize("n,d,h", STEP_SHAPES)
def test_lstm_step_forward_matches_reference(submission, reference, rng, n, d, h):
    x, h_prev, c_prev, Wx, Wh, b = lstm_weights(rng, n, d, h)
    expected = reference.lstm_step_forward(x, h_prev, c_prev, Wx, Wh, b)
    o = reference.lstm_gates(x, h_prev, Wx, Wh, b)[2]
    hints = {f"{ORDER_HINT} (yours: {''.join('ifog'[k] for k in order)})":
             reference.lstm_step_forward(x, h_prev, c_prev, *(reorder(v, order, h) for v in (Wx, Wh, b)))
             for order in WRONG_ORDERS}
    hints["h_next = o * tanh(c_next): squash the cell before the output gate"] = \
        (o * expected[1], expected[1])
    assert_all(submission.lstm_step_forward(x, h_prev, c_prev, Wx, Wh, b), expected, ("h_next", "c_next"),
               hints)


def lstm_order_slips(reference, dh_next, dc_next, x, h_prev, c_prev, Wx, Wh, b):
    """The gradients of an LSTM step whose gates are taken in another order, keyed by the hint to show:
    written consistently in that order, or split in that order but joined back as i, f, o, g."""
    h = h_prev.shape[1]
    slips = {}
    for order in WRONG_ORDERS:
        name = "".join("ifog"[k] for k in order)
        moved = tuple(reorder(v, order, h) for v in (Wx, Wh, b))
        grads = reference.lstm_step_backward(dh_next, dc_next, x, h_prev, c_prev, *moved)
        back = np.argsort(order)
        slips[f"{ORDER_HINT} (yours: {name})"] = grads[:3] + tuple(reorder(v, back, h) for v in grads[3:])
        i, f, o, g = reference.lstm_gates(x, h_prev, *moved)
        tanh_c = np.tanh(f * c_prev + i * g)
        dc = dc_next + dh_next * o * (1 - tanh_c ** 2)
        da = np.concatenate([dc * g * i * (1 - i), dc * c_prev * f * (1 - f), dh_next * tanh_c * o * (1 - o),
                             dc * i * (1 - g ** 2)], axis=1)
        slips[f"{ORDER_HINT}: the gates are split as {name} but their gradients joined as ifog"] = (
            da @ Wx.T, da @ Wh.T, dc * f, x.T @ da, h_prev.T @ da, da.sum(axis=0))
    return slips


@pytest.mark.points(3)
@pytest.mark.parametrize("n,d,h,upstream", [(1, 1, 1, "both"), (3, 4, 5, "both"), (4, 3, 6, "h only"),
                                            (2, 5, 3, "c only")])
def test_lstm_step_backward_matches_reference(submission, reference, rng, n, d, h, upstream):
    inputs = lstm_weights(rng, n, d, h)
    dh_next = rng.normal(size=(n, h)) * (upstream != "c only")
    dc_next = rng.normal(size=(n, h)) * (upstream != "h only")
    hints = lstm_order_slips(reference, dh_next, dc_next, *inputs)
    hints["dc_next reaches c_prev too: add it to the gradient flowing into c_next"] = \
        reference.lstm_step_backward(dh_next, 0 * dc_next, *inputs)
    hints[FORGET_HINT] = forget_gate_slip(dh_next, dc_next, *inputs, reference=reference)
    assert_all(submission.lstm_step_backward(dh_next, dc_next, *inputs),
               reference.lstm_step_backward(dh_next, dc_next, *inputs),
               ("dx", "dh_prev", "dc_prev", "dWx", "dWh", "db"), hints)


@pytest.mark.points(3)
def test_lstm_step_backward_numerical(submission, reference, rng):
    inputs = lstm_weights(rng, 2, 3, 3)
    dh_next, dc_next = rng.normal(size=(2, 3)), rng.normal(size=(2, 3))

    def both(*args):
        return np.concatenate(reference.lstm_step_forward(*args), axis=1)

    check_numerically(submission.lstm_step_backward(dh_next, dc_next, *inputs), inputs,
                      ("dx", "dh_prev", "dc_prev", "dWx", "dWh", "db"), both,
                      np.concatenate([dh_next, dc_next], axis=1))


def forget_gate_slip(dh_next, dc_next, x, h_prev, c_prev, Wx, Wh, b, reference):
    """lstm_step_backward with the forget gate's gradient taken against c_next instead of c_prev."""
    i, f, o, g = reference.lstm_gates(x, h_prev, Wx, Wh, b)
    c_next = f * c_prev + i * g
    tanh_c = np.tanh(c_next)
    dc = dc_next + dh_next * o * (1 - tanh_c ** 2)
    da = np.concatenate([dc * g * i * (1 - i), dc * c_next * f * (1 - f), dh_next * tanh_c * o * (1 - o),
                         dc * i * (1 - g ** 2)], axis=1)
    return da @ Wx.T, da @ Wh.T, dc * f, x.T @ da, h_prev.T @ da, da.sum(axis=0)


# -- LSTM over a sequence ------------------------------------------------------------------------------
FORGET_HINT = "the forget gate multiplies c_prev (c_next = f * c_prev + i * g): its gradient is dc * c_prev"
CARRY_DC_HINT = ("the cell state c_t feeds step t + 1 too: carry dc_prev of step t + 1 back as the dc_next of "
                 "step t, not zeros")
SUM_HINT = "the weights are shared by every step: sum (+=) their gradients over all time steps"
C0_HINT = "the cell state starts at zero (c0 = 0); only the hidden state starts from h0"


def lstm_sequence(rng, n, t, d, h):
    _, h0, _, Wx, Wh, b = lstm_weights(rng, n, d, h)
    return rng.normal(size=(n, t, d)), h0, Wx, Wh, b


def lstm_run(reference, x, h0, c0, Wx, Wh, b):
    """Every step's (h, c) from the given start: lists of T + 1 states, the start first."""
    hs, cs = [h0], [c0]
    for t in range(x.shape[1]):
        h, c = reference.lstm_step_forward(x[:, t], hs[-1], cs[-1], Wx, Wh, b)
        hs.append(h)
        cs.append(c)
    return hs, cs


def lstm_bptt(reference, dh, x, h0, Wx, Wh, b, carry_dc=True, accumulate=True, step_backward=None):
    """Backpropagation through time written here from the reference's steps, with the familiar slips:
    dc not carried back (carry_dc=False), weight gradients assigned instead of added (accumulate=False),
    or another step's backward pass (step_backward)."""
    step_backward = step_backward or reference.lstm_step_backward
    hs, cs = lstm_run(reference, x, h0, np.zeros_like(h0), Wx, Wh, b)
    dx = np.zeros_like(x)
    dW = [np.zeros_like(Wx), np.zeros_like(Wh), np.zeros_like(b)]
    dh_carried, dc_carried = np.zeros_like(h0), np.zeros_like(h0)
    for t in reversed(range(x.shape[1])):
        dx[:, t], dh_carried, dc_next, *step = step_backward(
            dh[:, t] + dh_carried, dc_carried, x[:, t], hs[t], cs[t], Wx, Wh, b)
        dc_carried = dc_next if carry_dc else np.zeros_like(h0)
        dW = [total + one for total, one in zip(dW, step)] if accumulate else step
    return (dx, dh_carried, *dW)


def lstm_bptt_slips(reference, dh, *inputs):
    return {CARRY_DC_HINT: lstm_bptt(reference, dh, *inputs, carry_dc=False),
            SUM_HINT: lstm_bptt(reference, dh, *inputs, accumulate=False),
            FORGET_HINT + " (in lstm_step_backward)": lstm_bptt(
                reference, dh, *inputs, step_backward=lambda *args: forget_gate_slip(*args, reference=reference))}


@pytest.mark.points(2)
@pytest.mark.parametrize("n,t,d,h", SEQUENCE_SHAPES)
def test_lstm_forward_matches_reference(submission, reference, rng, n, t, d, h):
    x, h0, Wx, Wh, b = lstm_sequence(rng, n, t, d, h)
    assert_close(submission.lstm_forward(x, h0, Wx, Wh, b), reference.lstm_forward(x, h0, Wx, Wh, b), name="h",
                 hints={C0_HINT: np.stack(lstm_run(reference, x, h0, h0, Wx, Wh, b)[0][1:], axis=1),
                        "the first step starts from h0, not from zeros":
                            reference.lstm_forward(x, np.zeros_like(h0), Wx, Wh, b)})


@pytest.mark.points(1)
def test_lstm_forward_single_step(submission, reference, rng):
    x, h0, Wx, Wh, b = lstm_sequence(rng, 3, 1, 2, 4)
    expected = reference.lstm_step_forward(x[:, 0], h0, np.zeros_like(h0), Wx, Wh, b)[0][:, None]
    assert_close(submission.lstm_forward(x, h0, Wx, Wh, b), expected, name="h for a sequence of one step",
                 hints={C0_HINT: reference.lstm_step_forward(x[:, 0], h0, h0, Wx, Wh, b)[0][:, None]})


@pytest.mark.points(3)
@pytest.mark.parametrize("n,t,d,h", SEQUENCE_SHAPES)
def test_lstm_backward_matches_reference(submission, reference, rng, n, t, d, h):
    inputs = lstm_sequence(rng, n, t, d, h)
    dh = rng.normal(size=(n, t, h))
    assert_all(submission.lstm_backward(dh, *inputs), reference.lstm_backward(dh, *inputs),
               ("dx", "dh0", "dWx", "dWh", "db"), lstm_bptt_slips(reference, dh, *inputs))


@pytest.mark.points(3)
def test_lstm_backward_numerical(submission, reference, rng):
    inputs = lstm_sequence(rng, 2, 5, 3, 3)
    dh = rng.normal(size=(2, 5, 3))
    check_numerically(submission.lstm_backward(dh, *inputs), inputs, ("dx", "dh0", "dWx", "dWh", "db"),
                      reference.lstm_forward, dh)


@pytest.mark.points(2)
@pytest.mark.parametrize("where", ["last", "first"])
def test_lstm_backward_upstream_at_one_step(submission, reference, rng, where):
    """A loss on the last state only (what train_lstm uses) reaches every step, through c most of all; one
    on the first reaches no later input."""
    inputs = lstm_sequence(rng, 2, 8, 3, 4)
    dh = np.zeros((2, 8, 4))
    dh[:, -1 if where == "last" else 0] = rng.normal(size=(2, 4))
    assert_all(submission.lstm_backward(dh, *inputs), reference.lstm_backward(dh, *inputs),
               (f"dx (loss on the {where} state)", "dh0", "dWx", "dWh", "db"),
               lstm_bptt_slips(reference, dh, *inputs))


def lstm_params(rng, d, h, o):
    return {"Wx": rng.normal(size=(d, 4 * h)) * 0.5, "Wh": rng.normal(size=(h, 4 * h)) * 0.5,
            "b": rng.normal(size=4 * h) * 0.2, "Wy": rng.normal(size=(h, o)), "by": rng.normal(size=o)}


@pytest.mark.points(3)
@pytest.mark.parametrize("n,t,d,h,o", [(1, 1, 1, 1, 1), (4, 6, 2, 3, 1), (3, 5, 3, 4, 2)])
def test_lstm_last_step_loss_matches_reference(submission, reference, rng, n, t, d, h, o):
    params = lstm_params(rng, d, h, o)
    x, y = rng.normal(size=(n, t, d)), rng.normal(size=(n, o))
    loss, grads = submission.lstm_last_step_loss(params, x, y)
    ref_loss, ref_grads = reference.lstm_last_step_loss(params, x, y)
    assert_close(loss, ref_loss, name="loss", hints={"average the squared errors over all N * O entries":
                                                      ref_loss * y.size})
    assert isinstance(grads, dict), "lstm_last_step_loss must return (loss, grads) with grads a dict"
    for key in params:
        assert_close(grads.get(key), ref_grads[key], name=f"grads['{key}']",
                     hints={"the loss is a mean over all N * O entries: its gradient carries 1 / (N O)":
                            ref_grads[key] * y.size})


@pytest.mark.points(2)
def test_lstm_last_step_loss_numerical(submission, reference, rng):
    params = lstm_params(rng, 2, 3, 2)
    x, y = rng.normal(size=(3, 6, 2)), rng.normal(size=(3, 2))
    _, grads = submission.lstm_last_step_loss(params, x, y)
    assert isinstance(grads, dict), "lstm_last_step_loss must return (loss, grads) with grads a dict"
    for key in params:
        numeric = numeric_gradient(lambda v, k=key: reference.lstm_last_step_loss({**params, k: v}, x, y)[0],
                                   params[key])
        assert_gradient(grads.get(key), numeric, f"grads['{key}']")


@pytest.mark.points(4)
@pytest.mark.call_seconds(15)
@pytest.mark.parametrize("seed", [1, 2])
def test_train_lstm_remembers_the_sign(submission, reference, rng, figures, measured, seed):
    result = submission.train_lstm(seed)
    assert isinstance(result, tuple) and len(result) == 2, "train_lstm must return (params, losses)"
    params, losses = result
    figures.curve(f"training loss of train_lstm({seed}) at every update", {"yours": losses}, y_label="loss")
    params = assert_params(params, {"Wx": (2, "4H"), "Wh": ("H", "4H"), "b": ("4H",), "Wy": ("H", 1),
                                    "by": (1,)}, "train_lstm's params", max_elements=1_000_000)
    hidden = params["Wh"].shape[0]
    assert params["Wx"].shape[1] == 4 * hidden, "Wx needs 4H columns, the gates i, f, o, g of H units each"
    answers, signs = [], []
    for steps in (20, 25, 30):  # sequences drawn here, never seen by the submission
        x, y = reference.memory_sequences(rng, 300, steps)
        h = reference.lstm_forward(x, np.zeros((len(x), hidden)), params["Wx"], params["Wh"], params["b"])
        answers.append((h[:, -1] @ params["Wy"] + params["by"])[:, 0])
        signs.append(y[:, 0])
    answers, signs = np.concatenate(answers), np.concatenate(signs)
    measured.record("mean squared error on 900 fresh sequences", np.mean((answers - signs) ** 2))
    try:  # the answer is the output's sign: 1 for +, 0 for -, and -1 (never right) for an output of 0
        assert_accuracy(np.where(answers > 0, 1, np.where(answers < 0, 0, -1)), (signs > 0).astype(int),
                        0.9, "the signs recalled after 20, 25 and 30 steps", measured=measured)
    except CheckFailed as failure:
        raise CheckFailed(f"{failure} Hint: the sign lives in the cell state c; start the forget gates open "
                          "(a positive forget-gate bias) and check that lstm_backward carries dc back") from None


# -- sequence loss and training ------------------------------------------------------------------------
def sequence_params(rng, d, h, o):
    return {"Wx": rng.normal(size=(d, h)) * 0.5, "Wh": rng.normal(size=(h, h)) * 0.5,
            "b": rng.normal(size=h) * 0.2, "Wy": rng.normal(size=(h, o)), "by": rng.normal(size=o)}


@pytest.mark.points(3)
@pytest.mark.parametrize("n,t,d,h,o", [(1, 1, 1, 1, 1), (3, 7, 1, 6, 1), (4, 5, 3, 4, 2)])
def test_sequence_loss_matches_reference(submission, reference, rng, n, t, d, h, o):
    params = sequence_params(rng, d, h, o)
    x, y = rng.normal(size=(n, t, d)), rng.normal(size=(n, t, o))
    loss, grads = submission.sequence_loss(params, x, y)
    ref_loss, ref_grads = reference.sequence_loss(params, x, y)
    assert_close(loss, ref_loss, name="loss", hints={"average the squared errors over all N * T * O entries":
                                                      ref_loss * y.size})
    assert isinstance(grads, dict), "sequence_loss must return (loss, grads) with grads a dict"
    for key in params:
        assert_close(grads.get(key), ref_grads[key], name=f"grads['{key}']",
                     hints={"the loss is a mean over all N * T * O entries: its gradient carries 1 / (N T O)":
                            ref_grads[key] * y.size})


@pytest.mark.points(2)
def test_sequence_loss_numerical(submission, reference, rng):
    params = sequence_params(rng, 2, 4, 2)
    x, y = rng.normal(size=(3, 5, 2)), rng.normal(size=(3, 5, 2))
    _, grads = submission.sequence_loss(params, x, y)
    assert isinstance(grads, dict), "sequence_loss must return (loss, grads) with grads a dict"
    for key in params:
        numeric = numeric_gradient(lambda v, k=key: reference.sequence_loss({**params, k: v}, x, y)[0],
                                   params[key])
        assert_gradient(grads.get(key), numeric, f"grads['{key}']")


@pytest.mark.points(4)
@pytest.mark.call_seconds(30)
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_train_sequence_continues_the_cycle(submission, reference, measured, seed):
    params = submission.train_sequence(seed)
    assert isinstance(params, dict), "train_sequence must return a dict of arrays"
    hidden = np.shape(params.get("Wh"))[:1] or (0,)
    for key, shape in {"Wx": (1, *hidden), "Wh": (*hidden, *hidden), "b": hidden, "Wy": (*hidden, 1),
                       "by": (1,)}.items():
        assert_shape(params.get(key), shape, name=f"params['{key}']")
    runs = []
    for start in range(len(CYCLE)):
        values = np.array([CYCLE[(start + k) % len(CYCLE)] for k in range(31)])
        h = reference.rnn_forward(values[None, :-1, None], np.zeros((1, hidden[0])), params["Wx"],
                                  params["Wh"], params["b"])
        runs.append((values, (h @ params["Wy"] + params["by"])[0, :, 0]))
    measured.record("mean squared error of the predictions after the second value",
                    np.mean([(predicted[1:] - values[2:]) ** 2 for values, predicted in runs]))
    for values, predicted in runs:
        off = np.abs(predicted[1:] - values[2:])
        if not np.all(off < 0.5):
            t = int(np.argmax(off)) + 1
            raise AssertionError(
                f"seed {seed}: fed 30 values starting with {values[:3].tolist()}, the net predicts "
                f"{predicted[t]:.2f} after {t + 1} values where the next value is {values[t + 1]:.0f} "
                f"({int(np.sum(off >= 0.5))} of 29 predictions off by 0.5 or more)")
