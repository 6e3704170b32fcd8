"""Hidden tests for the MNIST autoencoder: every piece against the reference on random nets, gradient
checks, and the reconstruction error on held-out digits.

The test digits are perturbed with seeded pixel noise that leaves them perfectly readable; the judge
compares the reconstructions with the clean digits, which never leave it.
"""

import numpy as np
import pytest

from grader.judge.checks import assert_close, assert_params, assert_shape
from grader.judge.datasets import held_out_digits
from grader.judge.gradcheck import assert_gradient, numeric_gradient

MAX_CODE = 32
MAX_MSE = 0.025


def random_params(rng, d, h, k):
    shapes = ((d, h), (h, k), (k, h), (h, d))
    params = {}
    for index, (fan_in, fan_out) in enumerate(shapes, start=1):
        params[f"W{index}"] = rng.normal(size=(fan_in, fan_out)) / np.sqrt(fan_in)
        params[f"b{index}"] = rng.normal(size=fan_out) * 0.3
    return params


def without_hidden_relu(params, Z):
    """What decode gives when the ReLU after its first layer is missing."""
    logits = (Z @ params["W3"] + params["b3"]) @ params["W4"] + params["b4"]
    return 1 / (1 + np.exp(-logits))


@pytest.mark.points(1)
def test_preprocess_random_images(submission, reference, rng):
    images = rng.integers(0, 256, size=(4, 28, 28)).astype(np.uint8)
    expected = reference.preprocess(images)
    assert_close(submission.preprocess(images), expected, name="preprocessed images", rtol=1e-6,
                 hints={"scale the pixels to [0, 1]: divide by 255": expected * 255})


@pytest.mark.points(2)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sigmoid_matches_reference(submission, reference, rng, dtype):
    x = np.concatenate([rng.normal(size=20) * 5, [-800.0, -50.0, 50.0, 800.0]]).astype(dtype)
    assert_close(submission.sigmoid(x), reference.sigmoid(x), name=f"sigmoid of {np.dtype(dtype)} values",
                 rtol=1e-5 if dtype == np.float32 else 1e-9)


@pytest.mark.points(2)
def test_init_params_follows_the_seed(submission, reference):
    params = submission.init_params([20, 7, 3], 11)
    expected = reference.init_params([20, 7, 3], 11)
    assert isinstance(params, dict) and sorted(params) == sorted(expected), f"expected the keys {sorted(expected)}"
    for key in expected:
        assert_close(params[key], expected[key], name=f"{key} with seed 11 (draw W1, W2, W3, W4 in that "
                                                      "order from one np.random.default_rng(seed))")


@pytest.mark.points(1)
def test_init_params_he_scale(submission):
    params = submission.init_params([300, 200, 50], 4)
    for key, fan_in in (("W1", 300), ("W2", 200), ("W3", 50), ("W4", 200)):
        std = float(params[key].std())
        assert abs(std / np.sqrt(2 / fan_in) - 1) < 0.1, \
            f"{key} has standard deviation {std:.4f}; He initialisation gives sqrt(2 / {fan_in})"


@pytest.mark.points(2)
@pytest.mark.parametrize("sizes", [(5, 4, 2), (30, 12, 6)])
def test_encode_matches_reference(submission, reference, rng, sizes):
    params = random_params(rng, *sizes)
    X = rng.random(size=(7, sizes[0]))
    assert_close(submission.encode(params, X), reference.encode(params, X), name="codes")


@pytest.mark.points(2)
@pytest.mark.parametrize("sizes", [(5, 4, 2), (30, 12, 6)])
def test_decode_matches_reference(submission, reference, rng, sizes):
    params = random_params(rng, *sizes)
    Z = rng.normal(size=(7, sizes[2])) * 2
    assert_close(submission.decode(params, Z), reference.decode(params, Z), name="reconstructions",
                 hints={"the decoder needs a ReLU after its first layer": without_hidden_relu(params, Z)})


@pytest.mark.points(3)
@pytest.mark.parametrize("sizes", [(5, 4, 2), (30, 12, 6)])
def test_loss_and_grads_match_reference(submission, reference, rng, sizes):
    params = random_params(rng, *sizes)
    n, d = 9, sizes[0]
    X = rng.random(size=(n, d))
    loss, grads = submission.loss_and_grads(params, X)
    ref_loss, ref_grads = reference.loss_and_grads(params, X)
    assert_close(loss, ref_loss, name="loss", hints={
        "sum the squared errors over the pixels and divide by N, the number of images": ref_loss / d})
    assert isinstance(grads, dict), "loss_and_grads must return (loss, grads) with grads a dict"
    out = reference.decode(params, reference.encode(params, X))
    no_sigmoid_slope = (2 * (out - X) / n).sum(axis=0)  # db4 without the sigmoid's derivative
    for key in ("b4", "W4", "b3", "W3", "b2", "W2", "b1", "W1"):  # backward order: the first wrong one
        hints = {"the loss is averaged over the N images only: divide the gradient by N": ref_grads[key] / d,
                 "divide the gradient by the batch size N": ref_grads[key] * n}
        if key == "b4":
            hints["backpropagate through the sigmoid: multiply by its derivative out * (1 - out)"] = \
                no_sigmoid_slope
        assert_close(grads.get(key), ref_grads[key], name=f"grads['{key}']", hints=hints)


@pytest.mark.points(3)
def test_loss_and_grads_gradient_check(submission, reference, rng):
    params = random_params(rng, 8, 6, 3)
    X = rng.random(size=(5, 8))
    _, grads = submission.loss_and_grads(params, X)
    for key in ("W1", "b2", "W3", "W4", "b4"):
        numeric = numeric_gradient(lambda v, k=key: reference.loss_and_grads({**params, k: v}, X)[0], params[key])
        assert_gradient(grads[key], numeric, f"grads['{key}']")


@pytest.mark.points(2)
def test_relu_gradient_at_exactly_zero(submission, reference, rng):
    # A blank image with zero biases (as at initialisation) puts both ReLUs exactly at 0, where they pass
    # no gradient.
    params = random_params(rng, 6, 4, 2)
    params["b1"], params["b3"] = np.zeros(4), np.zeros(4)
    params["W3"][:, 1] = 0.0
    X = np.vstack([np.zeros(6), rng.random(size=(2, 6))])
    _, grads = submission.loss_and_grads(params, X)
    _, ref_grads = reference.loss_and_grads(params, X)
    for key in ("b3", "b1"):
        assert_close(grads.get(key), ref_grads[key], name=f"grads['{key}'] where a ReLU's input is exactly 0 "
                                                           "(its gradient there is 0: use > 0)")


@pytest.mark.points(1)
def test_loss_is_zero_for_a_perfect_reconstruction(submission, reference, rng):
    # With W4 = 0 the decoder outputs sigmoid(b4) for every image; inputs equal to that cost nothing.
    params = random_params(rng, 6, 4, 2)
    params["W4"] = np.zeros((4, 6))
    X = np.tile(reference.sigmoid(params["b4"]), (3, 1))
    loss, grads = submission.loss_and_grads(params, X)
    assert_close(loss, 0.0, name="loss of a perfect reconstruction", atol=1e-12)
    assert_close(grads.get("b4"), np.zeros(6), name="grads['b4'] of a perfect reconstruction", atol=1e-12)
    # ... and an imperfect one costs what it should (a loss that is always 0 must not pass)
    shifted = np.clip(X + 0.2, 0.0, 1.0)
    assert_close(submission.loss_and_grads(params, shifted)[0], reference.loss_and_grads(params, shifted)[0],
                 name="loss of the same inputs moved by 0.2")


@pytest.mark.points(2)
def test_reconstruct_matches_reference(submission, reference, rng, mnist):
    params = random_params(rng, 784, 16, 4)
    images = mnist["test_images"][:30]
    expected = reference.reconstruct(params, images)
    got = submission.reconstruct(params, images)
    assert_close(got, expected, name="reconstructions", rtol=1e-4, atol=1e-6)


@pytest.mark.points(10)
@pytest.mark.call_seconds(30)
def test_trained_autoencoder_on_held_out_digits(submission, reference, mnist, figures, measured):
    params = submission.train(mnist["train_images"], 12)
    assert isinstance(params, dict) and {f"W{k}" for k in range(1, 5)} <= set(params), \
        "train must return the params dict with W1..W4 and b1..b4"
    # The contract, checked before the judge computes with them: 784 -> H1 -> code -> H2 -> 784.
    params = assert_params(params, {"W1": (784, "H1"), "b1": ("H1",), "W2": ("H1", "C"), "b2": ("C",),
                                    "W3": ("C", "H2"), "b3": ("H2",), "W4": ("H2", 784), "b4": (784,)},
                           "train's params", max_elements=1_000_000)
    code = params["W2"].shape[1]
    assert code <= MAX_CODE, f"the code has {code} numbers; at most {MAX_CODE} are allowed"
    images, _ = held_out_digits(mnist, seed=1212)
    clean = mnist["test_images"][:10000].reshape(10000, -1) / 255.0  # the targets: the digits without noise
    # The judge runs the autoencoder itself: the student's params are numbers, nothing else.
    rebuilt = reference.reconstruct(params, images)
    mse = measured.record("mean squared error per pixel on 10,000 held-out digits",
                          float(np.mean((rebuilt - clean) ** 2)))
    figures.images("held-out digits and what your autoencoder makes of them",
                   {"digit": clean[:10].reshape(-1, 28, 28), "reconstruction": rebuilt[:10].reshape(-1, 28, 28)})
    assert mse <= MAX_MSE, f"mean squared error per pixel {mse:.4f} on 10,000 held-out digits, needs at " \
                           f"most {MAX_MSE} (drawing the average digit every time scores about 0.067)"
    own = submission.reconstruct(params, images)
    assert_shape(own, clean.shape, "your reconstruct() of 10,000 held-out digits")
    own_mse = measured.record("mean squared error per pixel of your reconstruct()",
                              float(np.mean((own.astype(float) - clean) ** 2)))
    assert own_mse <= MAX_MSE, f"your reconstruct() has mean squared error {own_mse:.4f} per pixel on " \
                               f"10,000 held-out digits, needs at most {MAX_MSE}"
