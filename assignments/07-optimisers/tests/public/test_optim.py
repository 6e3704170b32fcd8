"""Public tests for the optimisers assignment: run them with `grader check optimisers`.

Update rules (SGD, momentum, AdaGrad, Adam) are compared with values worked out by hand; dropout with the
properties it must have; fit_ridge with the closed-form ridge solution it should converge to; net_loss
with a loss worked out by hand and a gradient check; train with its schedule, its first losses, and its
curves on data small enough to overfit.
"""

import numpy as np
import pytest

from grader.judge.checks import assert_all, assert_close, assert_shape
from grader.judge.gradcheck import check_gradient, partial

W = np.array([1.0, -2.0, 0.5])
DW = np.array([0.5, 0.5, -1.0])


@pytest.mark.points(1)
def test_sgd_step(submission):
    assert_close(submission.sgd_step(W, DW, 0.1), np.array([0.95, -2.05, 0.6]), name="w")


@pytest.mark.points(3)
def test_momentum_two_steps(submission):
    w, v = submission.momentum_step(W, DW, np.zeros(3), 0.1, 0.9)
    assert_close(v, np.array([-0.05, -0.05, 0.1]), name="v after step 1")
    assert_close(w, np.array([0.95, -2.05, 0.6]), name="w after step 1",
                 hints={"update v first, then move w by the new v": W})
    w, v = submission.momentum_step(w, np.array([0.2, -0.4, 0.0]), v, 0.1, 0.9)
    assert_close(v, np.array([-0.065, -0.005, 0.09]), name="v after step 2")
    assert_close(w, np.array([0.885, -2.055, 0.69]), name="w after step 2")


@pytest.mark.points(3)
def test_adagrad_two_steps(submission):
    # Step 1: cache = 0 + DW ** 2 = [0.25, 0.25, 1]; w moves by 0.1 * DW / sqrt(cache) = 0.1 * [1, 1, -1].
    # Step 2 with dw = [1.2, 0, 0.75]: cache = [1.69, 0.25, 1.5625], whose roots are [1.3, 0.5, 1.25], so
    # w moves by 0.1 * [1.2 / 1.3, 0, 0.75 / 1.25] = [0.0923077, 0, 0.06]. (eps = 1e-8 changes nothing here.)
    squares = "the cache adds up squared gradients: cache = cache + dw ** 2"
    with np.errstate(invalid="ignore"):
        unsquared = W - 0.1 * DW / np.sqrt(DW)  # NaN where a gradient is negative
    w, cache = submission.adagrad_step(W, DW, np.zeros(3), 0.1)
    with assert_all() as check:
        check(assert_close, cache, np.array([0.25, 0.25, 1.0]), name="cache after step 1", hints={squares: DW})
        check(assert_close, w, np.array([0.9, -2.1, 0.6]), name="w after step 1", hints={squares: unsquared})
    w, cache = submission.adagrad_step(w, np.array([1.2, 0.0, 0.75]), cache, 0.1)
    with assert_all() as check:
        check(assert_close, cache, np.array([1.69, 0.25, 1.5625]), name="cache after step 2")
        check(assert_close, w, np.array([0.80769231, -2.1, 0.54]), name="w after step 2", hints={
            "divide by the root of the new cache (add dw ** 2 first)": np.array([0.66, -2.1, 0.525])})


@pytest.mark.points(3)
def test_adam_two_steps(submission):
    # Step 1 (t = 1): m = 0.1 * DW = [0.05, 0.05, -0.1], v = 0.001 * DW ** 2 = [0.00025, 0.00025, 0.001];
    # bias-corrected m_hat = m / (1 - 0.9) = DW and v_hat = v / (1 - 0.999) = DW ** 2, so the first step
    # is lr * DW / |DW| = 0.1 * sign(DW) for every weight, whatever the size of its gradient.
    # Step 2 (t = 2) with dw = [0.2, -0.4, 0]: m = [0.065, 0.005, -0.09], v = [0.00028975, 0.00040975,
    # 0.000999]; m_hat = m / 0.19, v_hat = v / 0.001999, w moves by 0.1 * m_hat / sqrt(v_hat).
    w, m, v = submission.adam_step(W, DW, np.zeros(3), np.zeros(3), 1, 0.1)
    with assert_all() as check:
        check(assert_close, m, np.array([0.05, 0.05, -0.1]), name="m after step 1")
        check(assert_close, v, np.array([0.00025, 0.00025, 0.001]), name="v after step 1")
        check(assert_close, w, np.array([0.9, -2.1, 0.6]), name="w after step 1", hints={
            "divide m by (1 - beta1 ** t) and v by (1 - beta2 ** t) before the step (bias correction)":
                W - 0.1 * np.sqrt(10) * np.sign(DW),
            "t is the number of this step, 1 on the first: correct with beta ** t, not beta ** (t + 1)":
                W - 0.1 * (0.1 / 0.19) / np.sqrt(0.001 / 0.001999) * np.sign(DW)})
    w, m, v = submission.adam_step(w, np.array([0.2, -0.4, 0.0]), m, v, 2, 0.1)
    with assert_all() as check:
        check(assert_close, m, np.array([0.065, 0.005, -0.09]), name="m after step 2")
        check(assert_close, v, np.array([0.00028975, 0.00040975, 0.000999]), name="v after step 2")
        check(assert_close, w, np.array([0.81014248, -2.1058125, 0.66700582]), name="w after step 2")


@pytest.mark.points(2)
def test_step_decay(submission):
    got = [submission.step_decay(0.1, epoch, 0.5, 10) for epoch in (0, 9, 10, 25)]
    assert_close(np.array(got, dtype=float), np.array([0.1, 0.1, 0.05, 0.025]),
                 name="learning rates at epochs 0, 9, 10, 25")


@pytest.mark.points(3)
def test_l2_penalty(submission):
    params = {"W1": np.array([[1.0, -2.0], [0.5, 0.0]]), "b1": np.array([3.0, 4.0]),
              "W2": np.array([[2.0], [1.0]]), "b2": np.array([-1.0])}
    loss, grads = submission.l2_penalty(params, 0.1)
    assert_close(loss, 0.5125, name="loss")
    assert_close(grads["W1"], np.array([[0.1, -0.2], [0.05, 0.0]]), name="grads['W1']")
    assert_close(grads["b1"], np.zeros(2), name="grads['b1'] (biases are not regularised)")


@pytest.mark.points(3)
def test_dropout_train(submission):
    x = np.ones((100, 200))
    out, mask = submission.dropout_forward(x, 0.25, True, 0)
    assert_shape(mask, x.shape, name="mask")
    assert_close(out, x * mask, name="out (should be x * mask)")
    assert set(np.unique(mask).round(12)) <= {0.0, round(1 / 0.75, 12)}, \
        "mask entries must be 0 (dropped) or 1 / (1 - p) (kept)"
    dropped = float(np.mean(mask == 0))
    assert abs(dropped - 0.25) < 0.02, f"dropped {dropped:.1%} of the units with p = 0.25"


@pytest.mark.points(2)
def test_dropout_test_mode(submission, rng):
    x = rng.normal(size=(4, 6))
    out, mask = submission.dropout_forward(x, 0.5, False, 0)
    assert_close(out, x, name="out at test time (should be x itself)")
    assert mask is None, "at test time the mask is None"


@pytest.mark.points(2)
def test_dropout_backward_gradient_check(submission):
    rng = np.random.default_rng(71)
    x, dout = rng.normal(size=(4, 5)), rng.normal(size=(4, 5))
    _, mask = submission.dropout_forward(x, 0.4, True, 3)
    dx = submission.dropout_backward(dout, mask, True)
    # The mask is yours (seeded), so the forward value is checked for what any mask must give: the
    # kept entries of x scaled by 1 / (1 - p), the rest 0. Then the gradient against your forward.
    out = submission.dropout_forward(x, 0.4, True, 3)[0]
    assert_shape(out, x.shape, name="out")
    kept = out != 0
    assert kept.any() and not kept.all(), "dropout with p = 0.4 must drop some entries and keep others"
    assert_close(out[kept], x[kept] / 0.6, name="kept entries of out (x / (1 - p))")
    check_gradient(dx, partial(submission.dropout_forward, (x, 0.4, True, 3), 0, pick=0), x, "dx", upstream=dout)


@pytest.mark.points(3)
def test_fit_ridge_converges(submission, rng, measured):
    X = rng.normal(size=(50, 3))
    y = X @ np.array([1.0, -2.0, 0.5]) + 0.1 * rng.normal(size=50)
    w = submission.fit_ridge(X, y, 0.1, 0.9, 0.01, 300)
    assert_shape(w, (3,), name="w")
    measured.record("training loss after 300 steps",
                    0.5 * float(np.mean((X @ w - y) ** 2)) + 0.5 * 0.01 * float(np.sum(w ** 2)))
    best = np.linalg.solve(X.T @ X / 50 + 0.01 * np.eye(3), X.T @ y / 50)
    assert_close(w, best, name="w after 300 steps (vs the closed-form ridge solution)", rtol=1e-4)


X4 = np.array([[1.0, -1.0], [0.5, 2.0], [-1.5, 0.0], [2.0, 1.0]])
Y4 = np.array([1.0, -0.5, 0.0, 2.0])
NET = {"W1": np.array([[1.0, -0.5, 0.5], [0.5, 1.0, -1.0]]), "b1": np.array([0.0, 0.5, -0.5]),
       "W2": np.array([[1.0], [-1.0], [0.5]]), "b2": np.array([0.25])}


@pytest.mark.points(3)
def test_net_loss_by_hand(submission):
    # X4 @ W1 + b1 = [[0.5, -1, 1], [1.5, 2.25, -2.25], [-1.5, 1.25, -1.25], [2.5, 0.5, -0.5]]; after relu
    # the predictions h @ W2 + b2 are [1.25, -0.5, -1, 2.25], the errors [0.25, 0, -1, 0.25], so the data
    # loss is 0.5 * mean(errors ** 2) = 0.5 * 1.125 / 4 = 0.140625. The weights' squares add up to
    # 3.75 + 2.25 = 6, so l2 = 0.1 adds 0.5 * 0.1 * 6 = 0.3. With train False dropout changes nothing.
    loss, _ = submission.net_loss(NET, X4, Y4, 0.0, 0.5, False, 0)
    assert_close(loss, 0.140625, name="loss without L2, dropout off", dtype=None)
    loss, grads = submission.net_loss(NET, X4, Y4, 0.1, 0.5, False, 0)
    assert_close(loss, 0.440625, name="loss with l2 = 0.1, dropout off", dtype=None,
                 hints={"add the L2 penalty of the weights to the data loss": 0.140625})
    for key in ("W1", "b1", "W2"):
        check_gradient(grads[key], partial(submission.net_loss, (NET, X4, Y4, 0.1, 0.5, False, 0), 0, key, pick=0),
                       NET[key], f"grads['{key}']", expected_value=0.440625, what="the loss of net_loss()")


@pytest.mark.points(3)
def test_train_first_epochs(submission):
    # Six epochs with lr0 = 0.1, halved every 2 epochs. The losses come from the reference solution: the
    # first training loss is the loss at the starting weights, drawn exactly as train's docstring says.
    rng = np.random.default_rng(3)
    X, X_val = rng.normal(size=(8, 3)), rng.normal(size=(20, 3))
    w = np.array([1.0, -1.0, 0.5])
    params, history = submission.train(X, np.tanh(X @ w), X_val, np.tanh(X_val @ w), hidden=5, epochs=6, lr0=0.1,
                                       drop=0.5, every=2, l2=0.0, dropout_p=0.0, seed=11)
    assert isinstance(history, dict) and {"train_loss", "val_loss", "lr"} <= set(history), \
        "history must be a dict with the keys 'train_loss', 'val_loss' and 'lr'"
    assert_close(np.asarray(history["lr"], dtype=float), np.array([0.1, 0.1, 0.05, 0.05, 0.025, 0.025]),
                 name="history['lr']")
    assert_close(np.asarray(history["train_loss"], dtype=float),
                 np.array([0.2012823974686668, 0.1569166108533842, 0.11830072185837867, 0.10710722889348723,
                           0.10549030937567672, 0.10796686108641819]), name="history['train_loss']", rtol=1e-6)
    assert_close(np.asarray(history["val_loss"], dtype=float),
                 np.array([0.23757146503475743, 0.2127444017548084, 0.2078161460103629, 0.2132278220859159,
                           0.22289917788751074, 0.23042243114400737]), name="history['val_loss']", rtol=1e-6)
    assert_shape(params["W1"], (3, 5), name="params['W1']")


@pytest.mark.points(3)
def test_train_overfits_and_l2_helps(submission, figures, measured):
    # 20 noisy training rows, 100 hidden units: without regularisation the network learns the noise.
    rng = np.random.default_rng(0)
    w = rng.normal(size=10) / np.sqrt(10)
    X, X_val = rng.normal(size=(20, 10)), rng.normal(size=(500, 10))
    y, y_val = 2 * np.tanh(X @ w) + rng.normal(size=20), 2 * np.tanh(X_val @ w) + rng.normal(size=500)
    runs = {}
    for label, l2 in (("no regularisation", 0.0), ("l2 = 0.1", 0.1)):
        _, history = submission.train(X, y, X_val, y_val, hidden=100, epochs=200, lr0=0.02, drop=0.5, every=50,
                                      l2=l2, dropout_p=0.0, seed=1)
        assert isinstance(history, dict) and {"train_loss", "val_loss"} <= set(history), \
            "history must be a dict with the keys 'train_loss', 'val_loss' and 'lr'"
        runs[label] = {key: np.asarray(history[key], dtype=float) for key in ("train_loss", "val_loss")}
    figures.curve("training and held-out loss per epoch",
                  {f"{label}: {key}": curve for label, run in runs.items() for key, curve in run.items()},
                  x_label="epoch", y_label="loss")
    plain, l2 = runs["no regularisation"], runs["l2 = 0.1"]
    for label, run in runs.items():
        assert_shape(run["train_loss"], (200,), name=f"history['train_loss'] ({label})")
        assert_shape(run["val_loss"], (200,), name=f"history['val_loss'] ({label})")
        measured.record(f"final training loss, {label}", run["train_loss"][-1])
        measured.record(f"final held-out loss, {label}", run["val_loss"][-1])
    assert plain["train_loss"][-1] < 0.1 * plain["val_loss"][-1], \
        "without regularisation the final training loss should be below a tenth of the held-out loss"
    assert l2["val_loss"][-1] < 0.8 * plain["val_loss"][-1], \
        "with l2 = 0.1 the final held-out loss should be below 0.8 times the one without regularisation"
