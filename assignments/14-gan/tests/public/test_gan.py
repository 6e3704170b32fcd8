"""Public tests for the GAN assignment: run them with `grader check gan`.

Backward passes are checked against numerical gradients of your own forward functions and losses; the
last test trains your GAN on samples of N(4, 1.25^2) and looks at what the generator produces.
"""

import numpy as np
import pytest

from grader.judge.checks import assert_close, assert_params
from grader.judge.gradcheck import check_gradient, partial


def small_discriminator(rng, d=1, h=5):
    return {"W1": rng.normal(size=(d, h)), "b1": rng.normal(size=h), "w2": rng.normal(size=h),
            "b2": rng.normal(size=1)}


@pytest.mark.points(2)
def test_sigmoid_values(submission):
    x = np.array([-1000.0, -2.0, 0.0, 2.0, 1000.0])
    expected = np.array([0.0, 0.11920292202211755, 0.5, 0.8807970779778823, 1.0])
    assert_close(submission.sigmoid(x), expected, name="sigmoid", rtol=1e-9)


@pytest.mark.points(2)
def test_bce_at_zero_logits(submission):
    loss, dlogits = submission.bce_with_logits(np.zeros(4), np.array([1.0, 0.0, 1.0, 0.25]))
    assert_close(loss, np.log(2), name="loss with all logits 0 (should be log 2)")
    assert_close(dlogits, np.array([-0.125, 0.125, -0.125, 0.0625]), name="dlogits")


@pytest.mark.points(2)
def test_bce_gradient(submission):
    rng = np.random.default_rng(141)
    logits, targets = rng.normal(size=7) * 3, rng.integers(0, 2, size=7).astype(float)
    _, dlogits = submission.bce_with_logits(logits, targets)
    check_gradient(dlogits, partial(submission.bce_with_logits, (logits, targets), 0, pick=0), logits,
                   "dlogits", expected_value=1.75170494678, what="the loss of bce_with_logits()",
                   batch_size=7)


@pytest.mark.points(2)
def test_losses_at_chance(submission):
    loss, d_real, d_fake = submission.discriminator_loss(np.zeros(3), np.zeros(2))
    assert_close(loss, 2 * np.log(2), name="discriminator loss with all logits 0 (should be 2 log 2)")
    assert_close(d_real, np.full(3, -0.5 / 3), name="d_real")
    assert_close(d_fake, np.full(2, 0.5 / 2), name="d_fake")
    g_loss, g_fake = submission.generator_loss(np.zeros(2))
    assert_close(g_loss, np.log(2), name="generator loss with all logits 0 (should be log 2)")
    assert_close(g_fake, np.full(2, -0.25), name="generator d_fake")


@pytest.mark.points(2)
def test_generator_loss_gradient(submission):
    rng = np.random.default_rng(142)
    fake = rng.normal(size=6) * 2
    _, d_fake = submission.generator_loss(fake)
    check_gradient(d_fake, partial(submission.generator_loss, (fake,), 0, pick=0), fake, "d_fake",
                   expected_value=1.34730171127, what="the loss of generator_loss()",
                   batch_size=6)


@pytest.mark.points(2)
def test_generator_forward_and_backward(submission, rng):
    params = {"W": np.array([[2.0]]), "b": np.array([-1.0])}
    z = np.array([[0.0], [1.0], [-0.5]])
    assert_close(submission.generator_forward(params, z), np.array([[-1.0], [1.0], [-2.0]]), name="x")
    dx = rng.normal(size=(3, 1))
    grads = submission.generator_backward(params, z, dx)
    for key in ("W", "b"):
        check_gradient(grads[key], partial(submission.generator_forward, (params, z), 0, key), params[key],
                       f"grads['{key}']", upstream=dx)


@pytest.mark.points(2)
def test_discriminator_forward(submission):
    params = {"W1": np.array([[1.0, -1.0]]), "b1": np.array([0.0, 0.5]), "w2": np.array([2.0, 1.0]),
              "b2": np.array([-0.5])}
    x = np.array([[0.0], [1.0]])
    expected = np.array([-0.5 + np.tanh(0.5), 2 * np.tanh(1.0) + np.tanh(-0.5) - 0.5])
    assert_close(submission.discriminator_forward(params, x), expected, name="logits")


@pytest.mark.points(3)
def test_discriminator_backward(submission):
    rng = np.random.default_rng(143)
    params, x = small_discriminator(rng), rng.normal(size=(4, 1))
    dlogits = rng.normal(size=4)
    grads, dx = submission.discriminator_backward(params, x, dlogits)
    for key in params:
        check_gradient(grads[key], partial(submission.discriminator_forward, (params, x), 0, key),
                       params[key], f"grads['{key}']", upstream=dlogits,
                       expected_value=-4.64196471276, what="discriminator_forward()")
    check_gradient(dx, partial(submission.discriminator_forward, (params, x), 1), x, "dx", upstream=dlogits,
                   expected_value=-4.64196471276, what="discriminator_forward()")


@pytest.mark.points(3)
def test_train_step_from_chance(submission):
    g_params = {"W": np.ones((1, 1)), "b": np.zeros(1)}
    d_params = {"W1": np.array([[1.0, -0.5, 0.25]]), "b1": np.zeros(3), "w2": np.zeros(3),
                "b2": np.zeros(1)}
    real, z = np.array([[3.0], [4.0], [5.0], [4.5]]), np.array([[-1.0], [0.0], [0.5], [1.0]])
    new_g, new_d, d_loss, g_loss = submission.train_step(g_params, d_params, real, z, 0.1)
    assert_close(d_loss, 2 * np.log(2), name="d_loss (all logits are 0 before the update)")
    assert_close(new_d["w2"], np.array([0.04414911639095514, -0.04486121980259023, 0.03662468520913437]),
                 name="the discriminator's new w2")
    assert_close(g_loss, 0.688945162543863, name="g_loss (through the updated discriminator)")
    assert_close(new_g["W"], np.array([[1.0003624076285547]]), name="the generator's new W")
    assert_close(new_g["b"], np.array([0.00286212006688746]), name="the generator's new b")


@pytest.mark.points(4)
@pytest.mark.call_seconds(20)
def test_train_gan(submission, rng, measured):
    real = rng.normal(4.0, 1.25, size=(2048, 1))
    params = submission.train_gan(real, 0)
    params = assert_params(params, {"W": ("K", 1), "b": (1,)}, "train_gan's params", max_elements=1000)
    samples = rng.normal(size=(20000, params["W"].shape[0])) @ params["W"] + params["b"]
    mean, std = float(samples.mean()), float(samples.std())
    measured.record("mean of generated samples", mean)
    measured.record("std of generated samples", std)
    assert abs(mean - 4.0) <= 0.3 and abs(std - 1.25) <= 0.25, \
        f"the generator's samples have mean {mean:.3f} and std {std:.3f}; the data has 4 and 1.25"
