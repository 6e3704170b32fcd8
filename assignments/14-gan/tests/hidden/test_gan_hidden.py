"""Hidden tests for the GAN assignment: values against the reference on random shapes, logits in the
thousands, gradient checks, one training step, and training on Gaussians the public tests don't use."""

import numpy as np
import pytest

from grader.judge.checks import assert_close, assert_finite, assert_params
from grader.judge.gradcheck import assert_gradient, numeric_gradient

STABLE = "compute it from the logits with softplus(z) = max(z, 0) + log1p(exp(-|z|)), never log(sigmoid)"


def discriminator(rng, d, h):
    return {"W1": rng.normal(size=(d, h)), "b1": rng.normal(size=h), "w2": rng.normal(size=h),
            "b2": rng.normal(size=1)}


def generator(rng, k, d):
    return {"W": rng.normal(size=(k, d)), "b": rng.normal(size=d)}


@pytest.mark.points(2)
def test_sigmoid_random_and_extreme(submission, reference, rng):
    x = np.concatenate([rng.normal(size=20) * 5, [-800.0, -40.0, 40.0, 800.0]])
    assert_close(submission.sigmoid(x), reference.sigmoid(x), name="sigmoid", rtol=1e-9, atol=1e-300)


@pytest.mark.points(3)
def test_bce_soft_targets(submission, reference, rng):
    logits, targets = rng.normal(size=15) * 4, rng.uniform(0, 1, size=15)
    loss, dlogits = submission.bce_with_logits(logits, targets)
    ref_loss, ref_dlogits = reference.bce_with_logits(logits, targets)
    assert_close(loss, ref_loss, name="loss", hints={"average the loss over the batch": ref_loss * 15})
    assert_close(dlogits, ref_dlogits, name="dlogits",
                 hints={"divide dlogits by the batch size N": ref_dlogits * 15})


@pytest.mark.points(3)
def test_bce_large_logits(submission, reference):
    logits = np.array([1000.0, -1000.0, 800.0, -750.0, 0.5])
    targets = np.array([1.0, 0.0, 0.0, 1.0, 1.0])
    loss, dlogits = submission.bce_with_logits(logits, targets)
    ref_loss, ref_dlogits = reference.bce_with_logits(logits, targets)
    advice = f"log(sigmoid(z)) underflows to log(0) for large logits: {STABLE}"
    assert_finite(np.asarray(loss, dtype=float), "loss for large logits", advice=advice)
    assert_close(loss, ref_loss, name="loss for large logits", advice=advice)
    assert_close(dlogits, ref_dlogits, name="dlogits for logits of +-1000")


@pytest.mark.points(2)
def test_bce_gradient_check(submission, reference, rng):
    logits, targets = rng.normal(size=9) * 2, rng.uniform(0, 1, size=9)
    _, dlogits = submission.bce_with_logits(logits, targets)
    numeric = numeric_gradient(lambda z: reference.bce_with_logits(z, targets)[0], logits)
    assert_gradient(dlogits, numeric, "dlogits")


@pytest.mark.points(3)
def test_discriminator_loss_uneven_batches(submission, reference, rng):
    real, fake = rng.normal(size=7) * 3, rng.normal(size=4) * 3
    loss, d_real, d_fake = submission.discriminator_loss(real, fake)
    ref_loss, ref_real, ref_fake = reference.discriminator_loss(real, fake)
    swapped = reference.discriminator_loss(fake, real)[0]
    assert_close(loss, ref_loss, name="discriminator loss",
                 hints={"real samples are labelled 1 and fakes 0, not the other way round": swapped})
    assert_close(d_real, ref_real, name="d_real", hints={"divide by the real batch's size": ref_real * 7})
    assert_close(d_fake, ref_fake, name="d_fake", hints={"divide by the fake batch's size": ref_fake * 4})


@pytest.mark.points(3)
def test_generator_loss_non_saturating(submission, reference, rng):
    fake = np.concatenate([rng.normal(size=8) * 3, [-30.0, -600.0]])
    loss, d_fake = submission.generator_loss(fake)
    ref_loss, ref_fake = reference.generator_loss(fake)
    # the minimax form, mean(log(1 - D(G(z)))), whose gradient vanishes when D rejects the fakes
    saturating = -reference.bce_with_logits(fake, np.zeros_like(fake))[0]
    saturating_grad = -reference.bce_with_logits(fake, np.zeros_like(fake))[1]
    hint = "use the non-saturating loss -mean(log D(G(z))), not mean(log(1 - D(G(z))))"
    assert_close(loss, ref_loss, name="generator loss", hints={hint: saturating})
    assert_close(d_fake, ref_fake, name="generator d_fake", hints={hint: saturating_grad})


@pytest.mark.points(2)
@pytest.mark.parametrize("n,k,d", [(1, 1, 1), (6, 3, 2)])
def test_generator_matches_reference(submission, reference, rng, n, k, d):
    params, z, dx = generator(rng, k, d), rng.normal(size=(n, k)), rng.normal(size=(n, d))
    assert_close(submission.generator_forward(params, z), reference.generator_forward(params, z), name="x")
    grads, expected = submission.generator_backward(params, z, dx), reference.generator_backward(params, z, dx)
    assert isinstance(grads, dict), "generator_backward must return a dict {'W', 'b'}"
    assert_close(grads.get("W"), expected["W"], name="grads['W']")
    assert_close(grads.get("b"), expected["b"], name="grads['b']",
                 hints={"sum the bias gradient over the batch (axis=0)": dx.mean(axis=0)})


@pytest.mark.points(2)
@pytest.mark.parametrize("n,d,h", [(1, 1, 1), (9, 2, 6)])
def test_discriminator_forward_matches_reference(submission, reference, rng, n, d, h):
    params, x = discriminator(rng, d, h), rng.normal(size=(n, d)) * 2
    assert_close(submission.discriminator_forward(params, x), reference.discriminator_forward(params, x),
                 name="logits")


@pytest.mark.points(3)
@pytest.mark.parametrize("n,d,h", [(1, 1, 3), (7, 2, 5)])
def test_discriminator_backward_matches_reference(submission, reference, rng, n, d, h):
    params, x, dlogits = discriminator(rng, d, h), rng.normal(size=(n, d)), rng.normal(size=n)
    got = submission.discriminator_backward(params, x, dlogits)
    grads, dx = reference.discriminator_backward(params, x, dlogits)
    assert isinstance(got, tuple) and len(got) == 2 and isinstance(got[0], dict), \
        "discriminator_backward must return (grads, dx) with grads a dict"
    no_tanh = np.outer(dlogits, params["w2"])  # the hidden layer's gradient without tanh's derivative
    hint = "multiply by tanh's derivative 1 - tanh(a)^2 on the way back"
    wrong = {"W1": x.T @ no_tanh, "b1": no_tanh.sum(axis=0)}
    for key in ("W1", "b1", "w2", "b2"):
        assert_close(got[0].get(key), grads[key], name=f"grads['{key}']",
                     hints={hint: wrong[key]} if key in wrong else None)
    assert_close(got[1], dx, name="dx", hints={hint: no_tanh @ params["W1"].T})


@pytest.mark.points(2)
def test_discriminator_gradient_check(submission, reference, rng):
    params, x, dlogits = discriminator(rng, 2, 4), rng.normal(size=(5, 2)), rng.normal(size=5)
    grads, dx = submission.discriminator_backward(params, x, dlogits)
    numeric = numeric_gradient(lambda v: reference.discriminator_forward({**params, "W1": v}, x),
                               params["W1"], dlogits)
    assert_gradient(grads["W1"], numeric, "grads['W1']")
    numeric = numeric_gradient(lambda v: reference.discriminator_forward(params, v), x, dlogits)
    assert_gradient(dx, numeric, "dx")


@pytest.mark.points(4)
def test_train_step_matches_reference(submission, reference, rng):
    g_params, d_params = generator(rng, 2, 1), discriminator(rng, 1, 6)
    real, z = rng.normal(3, 1, size=(10, 1)), rng.normal(size=(6, 2))
    got = submission.train_step(g_params, d_params, real, z, 0.2)
    expected = reference.train_step(g_params, d_params, real, z, 0.2)
    assert isinstance(got, tuple) and len(got) == 4, "train_step must return (g_params, d_params, d_loss, g_loss)"
    assert_close(got[2], expected[2], name="d_loss")
    for key in d_params:
        assert_close(got[1].get(key), expected[1][key], name=f"new d_params['{key}']")
    stale = reference.train_step(g_params, d_params, real, z, 0.0)[3]
    assert_close(got[3], expected[3], name="g_loss",
                 hints={"compute the generator's loss with the discriminator after its update": stale})
    for key in g_params:
        assert_close(got[0].get(key), expected[0][key], name=f"new g_params['{key}']")


@pytest.mark.points(3)
@pytest.mark.call_seconds(20)
@pytest.mark.parametrize("mean,std,seed", [(4.0, 1.25, 7), (-2.0, 0.5, 3), (1.0, 2.0, 11)])
def test_train_gan_moments(submission, rng, mean, std, seed):
    real = rng.normal(mean, std, size=(2048, 1))
    params = submission.train_gan(real, seed)
    params = assert_params(params, {"W": ("K", 1), "b": (1,)}, "train_gan's params", max_elements=1000)
    W, b = params["W"], params["b"]
    samples = rng.normal(size=(20000, W.shape[0])) @ W + b  # sampled here, never by the submission
    got_mean, got_std = float(samples.mean()), float(samples.std())
    assert np.isfinite(got_mean) and abs(got_mean - mean) <= 0.15 * std, \
        f"the generator's samples have mean {got_mean:.3f}; the data's is {mean} (std {std})"
    assert abs(got_std / std - 1) <= 0.15, \
        f"the generator's samples have std {got_std:.3f}; the data's is {std}"
