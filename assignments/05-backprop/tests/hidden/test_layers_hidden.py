"""Hidden tests for the backprop assignment: random shapes, edge cases, comparison with the reference
(its functions, and in part 2 its layer objects and networks built with the same weights)."""

import numpy as np
import pytest

from grader.judge.checks import assert_accuracy, assert_all, assert_close, assert_finite, assert_params
from grader.judge.gradcheck import assert_gradient, numeric_gradient

# The contract of train_xor's result: 2 inputs, a hidden width H of your choice, 2 classes.
XOR_PARAMS = {"W1": (2, "H"), "b1": ("H",), "W2": ("H", 2), "b2": (2,)}

SHAPES = [(1, 1, 1), (2, 7, 3), (10, 5, 8), (64, 30, 20)]


@pytest.mark.points(2)
@pytest.mark.parametrize("n,d,m", SHAPES)
def test_affine_forward_shapes(submission, reference, rng, n, d, m):
    x, w, b = rng.normal(size=(n, d)), rng.normal(size=(d, m)), rng.normal(size=m)
    assert_close(submission.affine_forward(x, w, b), reference.affine_forward(x, w, b), name="out")


@pytest.mark.points(2)
@pytest.mark.parametrize("n,d,m", SHAPES)
def test_affine_backward_shapes(submission, reference, rng, n, d, m):
    x, w, b = rng.normal(size=(n, d)), rng.normal(size=(d, m)), rng.normal(size=m)
    dout = rng.normal(size=(n, m))
    got = submission.affine_backward(dout, x, w, b)
    expected = reference.affine_backward(dout, x, w, b)
    assert isinstance(got, tuple) and len(got) == 3, "affine_backward must return (dx, dw, db)"
    wrong_db = dout  # the classic mistake: the bias gradient not summed over the batch
    with assert_all() as check:
        for name, g, e in zip(("dx", "dw", "db"), got, expected):
            hints = {"db must be summed over the batch axis (axis=0)": wrong_db} if name == "db" else None
            check(assert_close, g, e, name=name, hints=hints)


@pytest.mark.points(2)
def test_relu_at_zero(submission):
    x = np.array([[-1.0, 0.0, 1.0]])
    dout = np.array([[5.0, 5.0, 5.0]])
    assert_close(submission.relu_forward(x), np.array([[0.0, 0.0, 1.0]]), name="relu_forward")
    assert_close(submission.relu_backward(dout, x), np.array([[0.0, 0.0, 5.0]]),
                 name="relu_backward at x = 0", hints={"the gradient at x = 0 must be 0 (use x > 0)":
                                                       np.array([[0.0, 5.0, 5.0]])})


@pytest.mark.points(3)
def test_softmax_loss_matches_reference(submission, reference, rng):
    scores, y = rng.normal(size=(20, 7)) * 3, rng.integers(0, 7, size=20)
    loss, dscores = submission.softmax_loss(scores, y)
    ref_loss, ref_dscores = reference.softmax_loss(scores, y)
    assert_close(loss, ref_loss, name="loss", hints={"average the loss over the batch, don't sum it":
                                                      ref_loss * 20})
    assert_close(dscores, ref_dscores, name="dscores",
                 hints={"divide dscores by the batch size N": ref_dscores * 20})


@pytest.mark.points(3)
def test_softmax_loss_large_scores(submission, reference):
    scores = np.array([[1000.0, 0.0, -1000.0], [0.0, 1500.0, 10.0], [-800.0, -790.0, -805.0]])
    y = np.array([0, 2, 1])
    loss, dscores = submission.softmax_loss(scores, y)
    ref_loss, ref_dscores = reference.softmax_loss(scores, y)
    assert_finite(np.asarray(loss, dtype=float), "loss for scores in the thousands", advice=(
        "exp overflows for scores in the thousands. Subtract each row's maximum score before exp: "
        "softmax does not change, overflow goes away."))
    assert_close(loss, ref_loss, name="loss")
    assert_close(dscores, ref_dscores, name="dscores")


@pytest.mark.points(4)
@pytest.mark.parametrize("n,d,h,c", [(1, 2, 3, 2), (8, 5, 10, 3)])
def test_two_layer_matches_reference(submission, reference, rng, n, d, h, c):
    params = {"W1": rng.normal(size=(d, h)), "b1": rng.normal(size=h),
              "W2": rng.normal(size=(h, c)), "b2": rng.normal(size=c)}
    X, y = rng.normal(size=(n, d)), rng.integers(0, c, size=n)
    loss, grads = submission.two_layer_loss(params, X, y)
    ref_loss, ref_grads = reference.two_layer_loss(params, X, y)
    assert_close(loss, ref_loss, name="loss")
    assert isinstance(grads, dict), "two_layer_loss must return (loss, grads) with grads a dict"
    for key in ("W1", "b1", "W2", "b2"):
        assert_close(grads.get(key), ref_grads[key], name=f"grads['{key}']")


@pytest.mark.points(3)
def test_two_layer_gradient_check_wide(submission, reference, rng):
    params = {"W1": rng.normal(size=(4, 12)) * 0.5, "b1": rng.normal(size=12) * 0.1,
              "W2": rng.normal(size=(12, 5)) * 0.5, "b2": rng.normal(size=5) * 0.1}
    X, y = rng.normal(size=(9, 4)), rng.integers(0, 5, size=9)
    _, grads = submission.two_layer_loss(params, X, y)
    for key in ("W1", "b2"):
        numeric = numeric_gradient(lambda v, k=key: reference.two_layer_loss({**params, k: v}, X, y)[0],
                                   params[key])
        assert_gradient(grads[key], numeric, f"grads['{key}']")


@pytest.mark.points(3)
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_train_xor_seeds(submission, reference, seed, measured):
    params = assert_params(submission.train_xor(seed), XOR_PARAMS, "train_xor's params")
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
    scores = reference.affine_forward(reference.relu_forward(
        reference.affine_forward(X, params["W1"], params["b1"])), params["W2"], params["b2"])
    measured.record("final loss on XOR", reference.softmax_loss(scores, np.array([0, 1, 1, 0]))[0])
    predicted = scores.argmax(axis=1)
    assert np.array_equal(predicted, [0, 1, 1, 0]), \
        f"with seed {seed} the trained net predicts {predicted.tolist()}, expected [0, 1, 1, 0]"


# -- part 2: layers as objects, compared with the reference's own objects --------------------------

ACCUMULATED = "backward must replace dW and db, not add to them: each backward's gradients are those of its batch"
STALE_CACHE = "forward must keep its input every time it runs: backward uses the input of the last forward"
NOT_SCALED = "SoftmaxLoss.backward(dout) must multiply dscores by dout"
FORWARD_ORDER = "call backward on the layers in reverse order, the last layer first"
SHARED_RELU = ("give every hidden layer its own ReLU() object: one object used twice keeps only the input of "
               "its last forward, and the earlier layer's backward uses the wrong one")


def random_params(rng, sizes, scale=1.0):
    params = {}
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:]), 1):
        params[f"W{i}"] = rng.normal(size=(fan_in, fan_out)) * scale
        params[f"b{i}"] = rng.normal(size=fan_out) * scale
    return params


def build(module, params, relu=None):
    """Affine -> ReLU -> ... -> Affine from a module's classes (the submission's or the reference's);
    `relu`, when given, is one ReLU object used in every hidden position."""
    count = len(params) // 2
    layers = []
    for i in range(1, count + 1):
        layers.append(module.Affine(params[f"W{i}"].copy(), params[f"b{i}"].copy()))
        if i < count:
            layers.append(relu if relu is not None else module.ReLU())
    return module.Sequential(layers)


def reference_grads(reference, params, X, y, relu=False):
    net = build(reference, params, reference.ReLU() if relu else None)
    loss = net.loss(X, y)
    return loss, net.grads


def forward_order_grads(reference, params, X, y):
    """The gradients of a network whose backward visits the layers in the forward order."""
    net = build(reference, params)
    net.loss_layer.forward(net.forward(X), y)
    dout = net.loss_layer.backward()
    for layer in net.layers:
        dout = layer.backward(dout)
    return net.grads


@pytest.mark.points(2)
@pytest.mark.parametrize("n,d,m", [(1, 1, 1), (7, 5, 3), (32, 20, 10)])
def test_layer_objects_match_reference(submission, reference, rng, n, d, m):
    x, W, b = rng.normal(size=(n, d)), rng.normal(size=(d, m)), rng.normal(size=m)
    dout, y = rng.normal(size=(n, m)), rng.integers(0, m, size=n)
    ref_dx, ref_dW, ref_db = reference.affine_backward(dout, x, W, b)
    affine, relu, loss_layer = submission.Affine(W, b), submission.ReLU(), submission.SoftmaxLoss()
    with assert_all() as check:
        check(assert_close, affine.forward(x), reference.affine_forward(x, W, b), name="Affine.forward")
        check(assert_close, affine.backward(dout), ref_dx, name="Affine.backward's dx")
        check(assert_close, affine.dW, ref_dW, name="Affine's dW")
        check(assert_close, affine.db, ref_db, name="Affine's db",
              hints={"db must be summed over the batch axis (axis=0)": dout})
        check(assert_close, relu.forward(x), reference.relu_forward(x), name="ReLU.forward")
        check(assert_close, relu.backward(x[::-1].copy()), reference.relu_backward(x[::-1], x), name="ReLU.backward")
        ref_loss, ref_dscores = reference.softmax_loss(dout, y)
        check(assert_close, loss_layer.forward(dout, y), ref_loss, name="SoftmaxLoss.forward", dtype=None)
        check(assert_close, loss_layer.backward(0.5), ref_dscores * 0.5, name="SoftmaxLoss.backward(0.5)",
              hints={NOT_SCALED: ref_dscores})


@pytest.mark.points(2)
def test_affine_layer_twice(submission, reference, rng):
    """Two forward/backward pairs on one layer, then two forwards before a backward."""
    W, b = rng.normal(size=(4, 3)), rng.normal(size=3)
    (x1, x2), (d1, d2) = rng.normal(size=(2, 6, 4)), rng.normal(size=(2, 6, 3))
    _, dW1, db1 = reference.affine_backward(d1, x1, W, b)
    _, dW2, db2 = reference.affine_backward(d2, x2, W, b)
    layer = submission.Affine(W, b)
    layer.forward(x1)
    layer.backward(d1)
    layer.forward(x2)
    layer.backward(d2)
    with assert_all() as check:
        check(assert_close, layer.dW, dW2, name="dW after a second backward", hints={ACCUMULATED: dW1 + dW2})
        check(assert_close, layer.db, db2, name="db after a second backward", hints={ACCUMULATED: db1 + db2})
    fresh = submission.Affine(W, b)
    fresh.forward(x1)
    fresh.forward(x2)
    fresh.backward(d2)
    assert_close(fresh.dW, dW2, name="dW of a backward after two forwards",
                 hints={STALE_CACHE: reference.affine_backward(d2, x1, W, b)[1]})


@pytest.mark.points(3)
@pytest.mark.parametrize("sizes,n", [((4, 7, 3), 6), ((5, 9, 8, 4), 11)], ids=["two-layer", "three-layer"])
def test_sequential_matches_reference(submission, reference, rng, sizes, n):
    params = random_params(rng, sizes, 0.7)
    X, y = rng.normal(size=(n, sizes[0])), rng.integers(0, sizes[-1], size=n)
    ref_loss, ref_grads = reference_grads(reference, params, X, y)
    net = build(submission, params)
    assert_close(net.loss(X, y), ref_loss, name="net.loss(X, y)", dtype=None)
    grads = net.grads
    assert isinstance(grads, dict), "net.grads must be a dict with the keys W1, b1, W2, b2, ..."
    with assert_all() as check:
        for key in params:
            check(assert_close, grads.get(key), ref_grads[key], name=f"grads['{key}']")
    numeric = numeric_gradient(lambda v: build(reference, {**params, "W1": v}).loss(X, y), params["W1"])
    assert_gradient(grads["W1"], numeric, "grads['W1']")


@pytest.mark.points(2)
def test_sequential_backward_order(submission, reference, rng):
    """Layers of equal widths, so that a backward in the wrong order runs (and gives wrong gradients)."""
    params = random_params(rng, (5, 5, 5, 5), 0.7)
    X, y = rng.normal(size=(8, 5)), rng.integers(0, 5, size=8)
    _, ref_grads = reference_grads(reference, params, X, y)
    wrong = forward_order_grads(reference, params, X, y)
    net = build(submission, params)
    net.loss(X, y)
    grads = net.grads
    assert isinstance(grads, dict), "net.grads must be a dict with the keys W1, b1, W2, b2, ..."
    with assert_all() as check:
        for key in params:
            check(assert_close, grads.get(key), ref_grads[key], name=f"grads['{key}']",
                  hints={FORWARD_ORDER: wrong[key]})


@pytest.mark.points(2)
def test_sequential_loss_twice(submission, reference, rng):
    params = random_params(rng, (3, 6, 4), 0.7)
    (X1, X2), (y1, y2) = rng.normal(size=(2, 7, 3)), rng.integers(0, 4, size=(2, 7))
    _, first = reference_grads(reference, params, X1, y1)
    ref_loss, second = reference_grads(reference, params, X2, y2)
    net = build(submission, params)
    net.loss(X1, y1)
    assert_close(net.loss(X2, y2), ref_loss, name="the second net.loss(X, y)", dtype=None)
    grads = net.grads
    assert isinstance(grads, dict), "net.grads must be a dict with the keys W1, b1, W2, b2"
    with assert_all() as check:
        for key in params:
            check(assert_close, grads.get(key), second[key], name=f"grads['{key}'] after a second loss()",
                  hints={ACCUMULATED: first[key] + second[key]})


@pytest.mark.points(2)
def test_sequential_predict(submission, reference, rng):
    params = random_params(rng, (4, 10, 6))
    X = rng.normal(size=(40, 4))
    expected = build(reference, params).forward(X).argmax(axis=1)
    predicted = build(submission, params).predict(X)
    assert_close(predicted, expected, name="net.predict(X)", dtype=None,
                 hints={"predict the highest score of each row (argmax over axis=1)":
                        build(reference, params).forward(X).argmin(axis=1)})
    assert np.issubdtype(np.asarray(predicted).dtype, np.integer), "net.predict must return integer labels"


@pytest.mark.points(3)
def test_build_mlp_matches_reference(submission, reference, rng):
    sizes = [4, 9, 9, 9, 3]
    net = submission.build_mlp(sizes, 7)
    contract = {}
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:]), 1):
        contract.update({f"W{i}": (fan_in, fan_out), f"b{i}": (fan_out,)})
    params = assert_params(net.params, contract, "build_mlp's params")
    for key in ("W1", "W2", "W3", "W4"):
        assert np.ptp(params[key]) > 0, f"{key} is constant: start from random weights"
    again = submission.build_mlp(sizes, 7).params
    assert_close(again.get("W1") if isinstance(again, dict) else again, params["W1"],
                 name="W1 of build_mlp built twice with the same seed")
    X, y = rng.normal(size=(10, 4)), rng.integers(0, 3, size=10)
    ref_loss, ref_grads = reference_grads(reference, params, X, y)
    _, shared = reference_grads(reference, params, X, y, relu=True)
    assert_close(net.loss(X, y), ref_loss, name="net.loss(X, y)", dtype=None)
    grads = net.grads
    assert isinstance(grads, dict), "net.grads must be a dict with the keys of net.params"
    with assert_all() as check:
        for key in contract:
            check(assert_close, grads.get(key), ref_grads[key], name=f"grads['{key}']",
                  hints={SHARED_RELU: shared[key]})


@pytest.mark.points(2)
@pytest.mark.parametrize("seed", [11, 12])
def test_train_net_held_out(submission, rng, figures, measured, seed):
    X, y = spiral(rng, 300)
    result = submission.train_net(X, y, seed)
    assert isinstance(result, tuple) and len(result) == 2, "train_net must return (net, losses)"
    net, losses = result
    figures.curve("training loss of train_net on a spiral", {"yours": losses}, x_label="step", y_label="loss")
    test_X, test_y = spiral(rng, 1000)
    assert_accuracy(net.predict(test_X), test_y, at_least=0.9, name="held-out spiral points", measured=measured)


def spiral(rng, n, classes=3):
    """n points of `classes` interleaved spiral arms in the plane, labels 0..classes-1."""
    y = rng.integers(0, classes, size=n)
    radius = rng.uniform(0.1, 1.0, size=n)
    angle = y * 2 * np.pi / classes + 8.0 * radius + rng.normal(0, 0.3, size=n)
    return np.c_[radius * np.cos(angle), radius * np.sin(angle)], y
