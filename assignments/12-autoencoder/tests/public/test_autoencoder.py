"""Public tests for the MNIST autoencoder: run them with `grader check autoencoder`.

The last test trains your autoencoder on 50,000 training digits and measures how well it redraws the
other 10,000.
"""

import numpy as np
import pytest

from grader.judge.checks import assert_close, assert_dtype, assert_shape
from grader.judge.gradcheck import check_gradient, partial

MAX_CODE = 32
MAX_MSE = 0.025


def tiny_params():
    return {"W1": np.array([[1.0, -1.0], [0.5, 2.0], [0.0, 1.0]]), "b1": np.array([0.0, -1.0]),
            "W2": np.array([[1.0], [-2.0]]), "b2": np.array([0.5]),
            "W3": np.array([[2.0, -1.0]]), "b3": np.array([0.0, 1.0]),
            "W4": np.array([[1.0, 0.0, -1.0], [0.0, 2.0, 1.0]]), "b4": np.array([0.0, -1.0, 0.5])}


@pytest.mark.points(1)
def test_preprocess(submission):
    images = np.zeros((2, 28, 28), dtype=np.uint8)
    images[0, 0, 0], images[1, 27, 27], images[1, 0, 1] = 255, 51, 102
    expected = np.zeros((2, 784), dtype=np.float32)
    expected[0, 0], expected[1, 783], expected[1, 1] = 1.0, 0.2, 0.4
    assert_close(submission.preprocess(images), expected, name="preprocessed images",
                 hints={"scale the pixels to [0, 1]: divide by 255": expected * 255})


@pytest.mark.points(2)
def test_sigmoid(submission):
    x = np.array([-1000.0, -2.0, 0.0, 2.0, 1000.0])
    expected = np.array([0.0, 0.11920292202211755, 0.5, 0.8807970779778823, 1.0])
    assert_close(submission.sigmoid(x), expected, name="sigmoid", rtol=1e-9)
    assert_dtype(submission.sigmoid(x.astype(np.float32)), np.float32, "sigmoid of float32 values")


@pytest.mark.points(2)
def test_init_params(submission):
    params = submission.init_params([784, 100, 20], 0)
    assert isinstance(params, dict) and sorted(params) == ["W1", "W2", "W3", "W4", "b1", "b2", "b3", "b4"], \
        "init_params must return a dict with W1..W4 and b1..b4"
    for key, shape in (("W1", (784, 100)), ("W2", (100, 20)), ("W3", (20, 100)), ("W4", (100, 784))):
        assert_shape(params[key], shape, key)
    assert_close(params["b4"], np.zeros(784), name="b4")
    std = float(params["W1"].std())
    assert abs(std - np.sqrt(2 / 784)) < 0.003, f"W1 has standard deviation {std:.4f}, He initialisation " \
                                                 f"gives sqrt(2 / 784) = {np.sqrt(2 / 784):.4f}"


@pytest.mark.points(3)
def test_encode_decode_small_net(submission):
    params = tiny_params()
    X = np.array([[1.0, 1.0, 0.0], [0.0, 2.0, 1.0]])
    codes = submission.encode(params, X)
    assert_close(codes, np.array([[2.0], [-6.5]]), name="codes")
    pre_sigmoid = np.array([[4.0, -1.0, -3.5], [0.0, 14.0, 8.0]])  # relu(Z @ W3 + b3) @ W4 + b4, by hand
    assert_close(submission.decode(params, codes), 1 / (1 + np.exp(-pre_sigmoid)), name="reconstructions")


@pytest.mark.points(4)
def test_loss_and_grads_gradient_check(submission):
    rng = np.random.default_rng(121)
    params = {"W1": rng.normal(size=(6, 5)), "b1": rng.normal(size=5) * 0.1,
              "W2": rng.normal(size=(5, 2)), "b2": rng.normal(size=2) * 0.1,
              "W3": rng.normal(size=(2, 5)), "b3": rng.normal(size=5) * 0.1,
              "W4": rng.normal(size=(5, 6)), "b4": rng.normal(size=6) * 0.1}
    X = rng.random(size=(4, 6))
    loss, grads = submission.loss_and_grads(params, X)
    assert np.isfinite(loss), f"the loss is {loss}"
    for key in params:
        check_gradient(grads[key], partial(submission.loss_and_grads, (params, X), 0, key, pick=0),
                       params[key], f"grads['{key}']", expected_value=1.52380727386,
                       what="the loss of loss_and_grads()", batch_size=4)


@pytest.mark.points(5)
@pytest.mark.call_seconds(30)
def test_training_reconstructs_validation_digits(submission, mnist, measured):
    images = mnist["train_images"]
    params = submission.train(images[:50000], 7)
    assert isinstance(params, dict) and "W2" in params, "train must return the params dict"
    code = params["W2"].shape[1]
    assert code <= MAX_CODE, f"the code has {code} numbers; at most {MAX_CODE} are allowed"
    rebuilt = submission.reconstruct(params, images[50000:])
    assert_shape(rebuilt, (10000, 784), "reconstructions of 10,000 validation digits")
    clean = images[50000:].reshape(-1, 784) / 255.0
    mse = measured.record("mean squared error per pixel on 10,000 validation digits",
                          float(np.mean((rebuilt.astype(float) - clean) ** 2)))
    assert mse <= MAX_MSE, f"mean squared error per pixel {mse:.4f} on 10,000 validation digits, " \
                           f"needs at most {MAX_MSE} (drawing the average digit every time scores about 0.067)"
