"""Hidden tests for the PyTorch MLP, all judged with numpy (the grader has no torch): initialisation and
seeding, the weights' layout, scores and SGD steps recomputed from the weights, device placement, and
accuracy on held-out digits whose labels never leave the grader.
"""

import time

import numpy as np
import pytest

from grader.judge.checks import assert_accuracy, assert_close, assert_shape
from grader.judge.datasets import held_out_digits

SOFTMAX = "the model must output raw scores (logits): cross_entropy applies log-softmax itself"
UNSCALED = "scale the pixels to [0, 1]: divide by 255"
ZERO_GRAD = "call optimizer.zero_grad() before backward(): gradients accumulate across calls"


def scores(weights, images, scale=255.0):
    x = images.reshape(len(images), -1).astype(np.float64) / scale
    hidden = np.maximum(0, x @ weights["W1"] + weights["b1"])
    return hidden @ weights["W2"] + weights["b2"]


def softmax(logits):
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def loss_and_grads(weights, images, labels):
    x = images.reshape(len(images), -1).astype(np.float64) / 255
    hidden = np.maximum(0, x @ weights["W1"] + weights["b1"])
    probs = softmax(hidden @ weights["W2"] + weights["b2"])
    n = len(labels)
    loss = -np.log(probs[np.arange(n), labels]).mean()
    dlogits = probs
    dlogits[np.arange(n), labels] -= 1
    dlogits /= n
    dhidden = dlogits @ weights["W2"].T * (hidden > 0)
    return loss, {"W2": hidden.T @ dlogits, "b2": dlogits.sum(axis=0), "W1": x.T @ dhidden,
                  "b1": dhidden.sum(axis=0)}


def weights_of(submission, model, hidden):
    """The model's weights, their layout checked before any arithmetic uses them."""
    weights = submission.model_weights(model)
    assert isinstance(weights, dict), "model_weights must return a dict"
    for key, shape in {"W1": (784, hidden), "b1": (hidden,), "W2": (hidden, 10), "b2": (10,)}.items():
        assert_shape(weights.get(key), shape, key)
    for key in ("W1", "W2"):  # a model of constant weights (zeros) agrees with itself and learns nothing
        assert np.ptp(weights[key]) > 0, f"{key} is constant ({float(weights[key].flat[0]):g} everywhere): " \
                                         "a model starts from random weights (nn.Linear initialises them)"
    return weights


def double_softmax_loss(weights, images, labels):
    """The loss when the model already ends in a softmax and cross_entropy applies another one."""
    probs = softmax(softmax(scores(weights, images)))
    return -np.log(probs[np.arange(len(labels)), labels]).mean()


@pytest.mark.points(2)
def test_build_model_follows_the_seed(submission):
    first = weights_of(submission, submission.build_model(20, 5), 20)
    again = weights_of(submission, submission.build_model(20, 5), 20)
    other = weights_of(submission, submission.build_model(20, 6), 20)
    for key in ("W1", "b1", "W2", "b2"):
        assert_close(again[key], first[key], name=f"{key} built twice with seed 5")
    assert not np.allclose(first["W1"], other["W1"]), "seeds 5 and 6 gave the same W1: seed torch in build_model"
    for key, fan_in in (("W1", 784), ("W2", 20)):
        bound = 1 / np.sqrt(fan_in)  # nn.Linear's default: uniform in +-1/sqrt(fan_in)
        assert np.abs(first[key]).max() <= bound * 1.0001, \
            f"{key} has values beyond +-1/sqrt({fan_in}): keep nn.Linear's default initialisation"
        assert abs(first[key].std() * np.sqrt(3) / bound - 1) < 0.1, f"{key} is not spread like nn.Linear's init"


@pytest.mark.points(2)
def test_model_weights_layout(submission):
    weights_of(submission, submission.build_model(17, 3), 17)


@pytest.mark.points(3)
@pytest.mark.parametrize("hidden,count", [(7, 1), (40, 25)])
def test_forward_random_images(submission, rng, hidden, count):
    model = submission.build_model(hidden, int(rng.integers(1000)))
    weights = weights_of(submission, model, hidden)
    images = rng.integers(0, 256, size=(count, 28, 28)).astype(np.uint8)
    expected = scores(weights, images)
    assert_close(submission.forward(model, images), expected.astype(np.float32), name="scores",
                 rtol=1e-4, atol=1e-5, hints={SOFTMAX: softmax(expected), UNSCALED: scores(weights, images, 1.0)})


@pytest.mark.points(2)
def test_sgd_step_loss(submission, mnist, rng):
    model = submission.build_model(24, 8)
    weights = weights_of(submission, model, 24)
    pick = rng.choice(60000, size=12, replace=False)
    images, labels = mnist["train_images"][pick], mnist["train_labels"][pick].astype(np.int64)
    expected, _ = loss_and_grads(weights, images, labels)
    assert_close(submission.sgd_step(model, images, labels, 0.1), expected, name="loss", rtol=1e-4,
                 hints={"average the loss over the batch": expected * 12,
                        SOFTMAX: double_softmax_loss(weights, images, labels)})


@pytest.mark.points(4)
def test_two_sgd_steps(submission, mnist, rng):
    model = submission.build_model(24, 9)
    weights = weights_of(submission, model, 24)
    batches = [rng.choice(60000, size=10, replace=False) for _ in range(2)]
    expected, accumulated, previous = dict(weights), dict(weights), None
    for step, pick in enumerate(batches, 1):
        images, labels = mnist["train_images"][pick], mnist["train_labels"][pick].astype(np.int64)
        submission.sgd_step(model, images, labels, 0.3)
        _, grads = loss_and_grads(expected, images, labels)
        leaked = grads if previous is None else {k: grads[k] + previous[k] for k in grads}
        accumulated = {k: expected[k] - 0.3 * leaked[k] for k in grads}
        expected = {k: expected[k] - 0.3 * grads[k] for k in grads}
        previous = leaked
        got = submission.model_weights(model)
        for key in ("W1", "b1", "W2", "b2"):
            assert_close(got[key], expected[key].astype(np.float32), name=f"{key} after step {step}",
                         rtol=1e-4, atol=1e-6, hints={ZERO_GRAD: accumulated[key]})


@pytest.mark.points(2)
def test_predict_is_the_argmax(submission, rng):
    model = submission.build_model(16, 4)
    weights = weights_of(submission, model, 16)
    images = rng.integers(0, 256, size=(30, 28, 28)).astype(np.uint8)
    predicted = submission.predict(model, images)
    assert_close(predicted, scores(weights, images).argmax(axis=1).astype(np.int64), name="predicted labels",
                 hints={"predict the argmax over the classes (axis=1)": scores(weights, images).argmax(axis=0)})


def tensor_devices(model):
    """The devices of the trained model's own tensors, read through the proxy from torch's attributes
    (its layers' weights and biases, and the gradients backward() left on them in `train`), not from
    anything the student reports."""
    found = {}
    for index in ("0", "2"):  # nn.Sequential(Linear, ReLU, Linear), as build_model makes it
        layer = getattr(model, index)
        for name in ("weight", "bias"):
            tensor = getattr(layer, name)
            found[f"layer {index} {name}"] = tensor.device.type
            grad = tensor.grad
            if grad is not None:
                found[f"layer {index} {name}.grad"] = grad.device.type
    return found


@pytest.mark.points(2)
def test_device_placement(submission, mnist, sandbox_gpu):
    """Training runs on the sandbox's GPU where the grader handed one out (on one device elsewhere)."""
    model = submission.train(mnist["train_images"][:256], mnist["train_labels"][:256].astype(np.int64), 1)
    found = tensor_devices(model)
    claimed = submission.model_device(model)
    if sandbox_gpu and sandbox_gpu.get("torch_cuda"):
        wrong = {k: v for k, v in found.items() if v != "cuda"}
        assert not wrong, (f"the sandbox has a GPU ({sandbox_gpu.get('name')}) but these tensors of the "
                           f"trained model are not on it: {wrong}; build the model on get_device()")
    assert set(found.values()) == {claimed}, \
        f"model_device says {claimed!r} but the trained model's tensors are on {found}"
    predicted = submission.predict(model, mnist["test_images"][:5])
    assert_shape(predicted, (5,), "predicted labels")


@pytest.mark.points(0)
@pytest.mark.call_seconds(60)
def test_gpu_speedup(submission, mnist, sandbox_gpu, figures):
    """The same SGD steps on the CPU and on the GPU: how much faster the GPU is (for information)."""
    if not (sandbox_gpu and sandbox_gpu.get("torch_cuda")):
        pytest.skip("no GPU in this sandbox: the CPU/GPU comparison runs where the grader hands one out")
    images, labels = mnist["train_images"][:2048], mnist["train_labels"][:2048].astype(np.int64)
    model = submission.build_model(4096, 0)
    seconds = {}
    for device in ("cpu", "cuda"):
        model.to(device)
        submission.sgd_step(model, images[:64], labels[:64], 0.01)  # warm-up: kernels, allocations
        times = []
        for _ in range(3):
            started = time.perf_counter()
            submission.sgd_step(model, images, labels, 0.01)
            times.append(time.perf_counter() - started)
        seconds[device] = times
    speedup = min(seconds["cpu"]) / min(seconds["cuda"])
    figures.curve(f"seconds per SGD step (2048 digits, 4096 hidden units): the GPU is {speedup:.1f}x faster "
                  f"({sandbox_gpu.get('name')})", seconds, x_label="step", y_label="seconds")


@pytest.mark.points(3)
@pytest.mark.call_seconds(60)
@pytest.mark.parametrize("seed,start", [(3, 20000), (7, 40000)])
def test_accuracy_on_held_out_digits(submission, mnist, seed, start, measured):
    images, labels = mnist["train_images"][start:start + 8000], mnist["train_labels"][start:start + 8000]
    model = submission.train(images, labels.astype(np.int64), seed)
    test_images, test_labels = held_out_digits(mnist, seed=1616, count=5000)
    assert_accuracy(submission.predict(model, test_images), test_labels, at_least=0.85, measured=measured)
