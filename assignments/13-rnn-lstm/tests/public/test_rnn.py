"""Public tests for the RNN and LSTM step: run them with `grader check rnn-lstm`.

Forward passes are compared with known values; backward passes with numerical gradients of your own
forward functions, on small inputs (so a wrong forward pass shows up in the forward tests, not here).
"""

import numpy as np
import pytest

from grader.judge.checks import assert_close, assert_params, assert_shape
from grader.judge.gradcheck import check_gradient, partial

CYCLE = [1.0, 2.0, 3.0, 4.0, 3.0, 2.0]


def rnn_inputs(n=2, d=3, h=4):
    return (np.linspace(-0.4, 0.6, n * d).reshape(n, d), np.linspace(-0.3, 0.3, n * h).reshape(n, h),
            np.linspace(-0.5, 0.5, d * h).reshape(d, h), np.linspace(-0.2, 0.4, h * h).reshape(h, h),
            np.linspace(-0.1, 0.2, h))


def lstm_inputs():
    return (np.linspace(-0.4, 0.6, 4).reshape(2, 2), np.linspace(-0.3, 0.3, 4).reshape(2, 2),
            np.linspace(-1, 1, 4).reshape(2, 2), np.linspace(-0.5, 0.5, 16).reshape(2, 8),
            np.linspace(-0.3, 0.6, 16).reshape(2, 8), np.linspace(-0.2, 0.3, 8))


def gradient_checks(analytic, inputs, names, forward, upstream, expected, what):
    """Check `forward`'s value at `inputs` (sum(out * upstream) must be `expected`), then each analytic
    gradient against central differences of `forward` in that input."""
    for index, (grad, name) in enumerate(zip(analytic, names)):
        check_gradient(grad, partial(forward, inputs, index), inputs[index], name, upstream=upstream,
                       expected_value=expected, what=what)


@pytest.mark.points(2)
def test_rnn_step_forward(submission):
    expected = np.array([[0.1668411424, 0.184310914, 0.2016649999, 0.2188933849],
                         [-0.0221781808, 0.2111146077, 0.4226033229, 0.5962940533]])
    assert_close(submission.rnn_step_forward(*rnn_inputs()), expected, name="h_next", rtol=1e-8)


@pytest.mark.points(3)
def test_rnn_step_backward(submission):
    rng = np.random.default_rng(131)
    inputs = rnn_inputs()
    dh_next = rng.normal(size=(2, 4))
    grads = submission.rnn_step_backward(dh_next, *inputs)
    assert isinstance(grads, tuple) and len(grads) == 5, "return (dx, dh_prev, dWx, dWh, db)"
    gradient_checks(grads, inputs, ("dx", "dh_prev", "dWx", "dWh", "db"), submission.rnn_step_forward,
                    dh_next, 0.509039529792, "rnn_step_forward()")


@pytest.mark.points(3)
def test_rnn_forward(submission):
    x = np.linspace(-1, 1, 8).reshape(1, 4, 2)
    h0 = np.array([[0.5, -0.5, 0.0]])
    Wx, Wh = np.linspace(-1, 1, 6).reshape(2, 3), np.linspace(-0.5, 0.5, 9).reshape(3, 3)
    h = submission.rnn_forward(x, h0, Wx, Wh, np.array([0.1, 0.0, -0.1]))
    assert_shape(h, (1, 4, 3), name="h (N, T, H)")
    expected = np.array([[[0.6467217302, -0.016070045, -0.6650338996],
                          [0.0123887817, -0.3099406853, -0.5739201712],
                          [-0.0679697432, -0.0483994407, -0.0287919068],
                          [-0.363965084, 0.1840005119, 0.637344846]]])
    assert_close(h, expected, name="h", rtol=1e-8)


@pytest.mark.points(4)
def test_rnn_backward(submission):
    rng = np.random.default_rng(132)
    inputs = (rng.normal(size=(2, 3, 2)), rng.normal(size=(2, 3)), rng.normal(size=(2, 3)) * 0.5,
              rng.normal(size=(3, 3)) * 0.5, rng.normal(size=3) * 0.1)
    dh = rng.normal(size=(2, 3, 3))
    grads = submission.rnn_backward(dh, *inputs)
    assert isinstance(grads, tuple) and len(grads) == 5, "return (dx, dh0, dWx, dWh, db)"
    gradient_checks(grads, inputs, ("dx", "dh0", "dWx", "dWh", "db"), submission.rnn_forward, dh,
                    -4.91185495542, "rnn_forward()")


@pytest.mark.points(1)
def test_sigmoid(submission):
    a = np.array([-800.0, -2.0, 0.0, 2.0, 800.0])
    expected = np.array([0.0, 0.11920292202211755, 0.5, 0.8807970779778823, 1.0])
    assert_close(submission.sigmoid(a), expected, name="sigmoid", rtol=1e-10, atol=1e-300)


@pytest.mark.points(3)
def test_lstm_step_forward(submission):
    h_next, c_next = submission.lstm_step_forward(*lstm_inputs())
    assert_close(h_next, np.array([[-0.2205982218, -0.0438167478], [0.223903282, 0.4255521746]]),
                 name="h_next", rtol=1e-8)
    assert_close(c_next, np.array([[-0.4396197697, -0.0816597537], [0.4070014232, 0.8474741794]]),
                 name="c_next", rtol=1e-8)


@pytest.mark.points(4)
def test_lstm_step_backward(submission):
    rng = np.random.default_rng(133)
    inputs = lstm_inputs()
    dh_next, dc_next = rng.normal(size=(2, 2)), rng.normal(size=(2, 2))
    grads = submission.lstm_step_backward(dh_next, dc_next, *inputs)
    assert isinstance(grads, tuple) and len(grads) == 6, "return (dx, dh_prev, dc_prev, dWx, dWh, db)"

    def both(*args):  # h_next and c_next side by side, weighted by dh_next and dc_next
        h_next, c_next = submission.lstm_step_forward(*args)
        assert_shape(h_next, (2, 2), name="h_next")
        assert_shape(c_next, (2, 2), name="c_next")
        return np.concatenate([h_next, c_next], axis=1)

    gradient_checks(grads, inputs, ("dx", "dh_prev", "dc_prev", "dWx", "dWh", "db"), both,
                    np.concatenate([dh_next, dc_next], axis=1), -3.17726433531,
                    "lstm_step_forward()")


@pytest.mark.points(3)
def test_sequence_loss(submission):
    rng = np.random.default_rng(134)
    params = {"Wx": rng.normal(size=(1, 3)) * 0.5, "Wh": rng.normal(size=(3, 3)) * 0.5,
              "b": rng.normal(size=3) * 0.1, "Wy": rng.normal(size=(3, 1)), "by": np.array([0.5])}
    x, y = rng.normal(size=(2, 4, 1)), rng.normal(size=(2, 4, 1))
    loss, grads = submission.sequence_loss(params, x, y)
    zero = {**params, "Wy": np.zeros((3, 1)), "by": np.zeros(1)}  # predicts 0 everywhere
    assert_close(submission.sequence_loss(zero, x, y)[0], float(np.mean(y ** 2)),
                 name="loss when every prediction is 0 (the mean of y ** 2)")
    for key in params:
        check_gradient(grads[key], partial(submission.sequence_loss, (params, x, y), 0, key, pick=0),
                       params[key], f"grads['{key}']", expected_value=3.1418339498,
                       what="the loss of sequence_loss()")


@pytest.mark.points(4)
@pytest.mark.call_seconds(30)
def test_train_sequence(submission, measured):
    params = assert_params(submission.train_sequence(0),
                           {"Wx": (1, "H"), "Wh": ("H", "H"), "b": ("H",), "Wy": ("H", 1), "by": (1,)},
                           "train_sequence's params")
    values = np.array(CYCLE * 3)  # 1,2,3,4,3,2,1,2,... 18 values
    h = np.zeros(params["Wh"].shape[0])
    predicted = []
    for value in values[:-1]:
        h = np.tanh(value * params["Wx"][0] + h @ params["Wh"] + params["b"])
        predicted.append(float(h @ params["Wy"][:, 0] + params["by"][0]))
    measured.record("mean squared error of the 17 predictions", np.mean((np.array(predicted) - values[1:]) ** 2))
    misses = [(t, round(p, 2), float(values[t + 1])) for t, p in enumerate(predicted)
              if t >= 1 and abs(p - values[t + 1]) >= 0.5]
    assert not misses, (f"after seeing values[:t+1] the net predicted p for values[t+1]; off by 0.5 or more "
                        f"at (t, p, expected): {misses[:5]}")


# -- LSTM over a sequence ------------------------------------------------------------------------------
@pytest.mark.points(3)
def test_lstm_forward(submission):
    x = np.linspace(-1, 1, 12).reshape(2, 3, 2)
    h0 = np.array([[0.4, -0.2], [0.0, 0.3]])
    Wx, Wh = np.linspace(-0.6, 0.6, 16).reshape(2, 8), np.linspace(0.5, -0.4, 16).reshape(2, 8)
    h = submission.lstm_forward(x, h0, Wx, Wh, np.linspace(-0.2, 0.3, 8))
    assert_shape(h, (2, 3, 2), name="h (N, T, H)")
    expected = np.array([[[0.0166328521, -0.0127944734], [0.0298997647, 0.0099893425],
                          [0.0709103635, 0.0732874899]],
                         [[0.0578630229, 0.0815041502], [0.1240927782, 0.1807480774],
                          [0.160085523, 0.2438455604]]])
    assert_close(h, expected, name="h (the cell state starts at zero, the hidden state at h0)", rtol=1e-8)


@pytest.mark.points(4)
def test_lstm_backward(submission):
    rng = np.random.default_rng(135)
    inputs = (rng.normal(size=(2, 4, 3)), rng.normal(size=(2, 2)), rng.normal(size=(3, 8)) * 0.6,
              rng.normal(size=(2, 8)) * 0.6, rng.normal(size=8) * 0.3)
    dh = rng.normal(size=(2, 4, 2))
    grads = submission.lstm_backward(dh, *inputs)
    assert isinstance(grads, tuple) and len(grads) == 5, "return (dx, dh0, dWx, dWh, db)"
    gradient_checks(grads, inputs, ("dx", "dh0", "dWx", "dWh", "db"), submission.lstm_forward, dh,
                    0.480755978211, "lstm_forward()")


@pytest.mark.points(3)
def test_lstm_last_step_loss(submission):
    rng = np.random.default_rng(136)
    params = {"Wx": rng.normal(size=(2, 12)) * 0.5, "Wh": rng.normal(size=(3, 12)) * 0.5,
              "b": rng.normal(size=12) * 0.2, "Wy": rng.normal(size=(3, 1)), "by": np.array([0.3])}
    x, y = rng.normal(size=(3, 5, 2)), rng.normal(size=(3, 1))
    loss, grads = submission.lstm_last_step_loss(params, x, y)
    zero = {**params, "Wy": np.zeros((3, 1)), "by": np.zeros(1)}  # predicts 0 for every sequence
    assert_close(submission.lstm_last_step_loss(zero, x, y)[0], float(np.mean(y ** 2)),
                 name="loss when every prediction is 0 (the mean of y ** 2)")
    for key in params:
        check_gradient(grads[key], partial(submission.lstm_last_step_loss, (params, x, y), 0, key, pick=0),
                       params[key], f"grads['{key}']", expected_value=2.43995710967,
                       what="the loss of lstm_last_step_loss()")


def memory_sequences(rng, n, steps):
    """The task of train_lstm: the sign to remember and a marker at step 0, then (noise, 0)."""
    signs = rng.choice([-1.0, 1.0], size=n)
    x = np.zeros((n, steps, 2))
    x[:, 0, 0], x[:, 0, 1] = signs, 1.0
    x[:, 1:, 0] = rng.normal(size=(n, steps - 1))
    return x, signs


def lstm_answers(params, x):
    """The trained net's output after the last step, computed here with numpy (gates i, f, o, g)."""
    hidden = params["Wh"].shape[0]
    h = c = np.zeros((len(x), hidden))
    for t in range(x.shape[1]):
        a = x[:, t] @ params["Wx"] + h @ params["Wh"] + params["b"]
        i, f, o = (1 / (1 + np.exp(-np.clip(a[:, k * hidden:(k + 1) * hidden], -50, 50))) for k in range(3))
        c = f * c + i * np.tanh(a[:, 3 * hidden:])
        h = o * np.tanh(c)
    return (h @ params["Wy"] + params["by"])[:, 0]


@pytest.mark.points(4)
@pytest.mark.call_seconds(15)
def test_train_lstm(submission, figures, measured):
    result = submission.train_lstm(0)
    assert isinstance(result, tuple) and len(result) == 2, "train_lstm must return (params, losses)"
    params, losses = result
    figures.curve("training loss of train_lstm(0) at every update", {"yours": losses}, y_label="loss")
    params = assert_params(params, {"Wx": (2, "4H"), "Wh": ("H", "4H"), "b": ("4H",), "Wy": ("H", 1),
                                    "by": (1,)}, "train_lstm's params")
    assert params["Wx"].shape[1] == 4 * params["Wh"].shape[0], (
        f"Wx has {params['Wx'].shape[1]} columns for {params['Wh'].shape[0]} hidden units: an LSTM needs 4H "
        f"(i, f, o, g)")
    rng = np.random.default_rng(137)
    right, total = 0, 0
    for steps in (20, 25, 30):
        x, signs = memory_sequences(rng, 200, steps)
        right += int(np.sum(np.sign(lstm_answers(params, x)) == signs))
        total += len(x)
    share = measured.record("right signs on 600 fresh sequences of 20, 25 and 30 steps", right / total)
    assert share >= 0.9, (f"the trained LSTM gives the right sign for {share:.1%} of 600 fresh sequences "
                          f"(at least 90% needed; 50% is guessing)")
