"""A tiny generative adversarial network in numpy: losses from logits, both networks, a training step.

The generator is an affine map of Gaussian noise, x = z @ W + b. The discriminator is a one-hidden-layer
tanh network that returns one logit per sample (its belief, before the sigmoid, that the sample is
real). Every array is float64. N is a batch size, K the noise dimension, D the data dimension and H
the discriminator's hidden width.

Parameter dicts: generator {"W": (K, D), "b": (D,)}; discriminator {"W1": (D, H), "b1": (H,),
"w2": (H,), "b2": (1,)}.
"""

import numpy as np


def sigmoid(x):
    """Logistic function 1 / (1 + exp(-x)), elementwise, without overflow for large |x|."""
    ### BEGIN SOLUTION
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))
    ### END SOLUTION


def bce_with_logits(logits, targets):
    """Mean binary cross-entropy between sigmoid(logits) and targets, computed from the logits.

    logits: (N,) float64, any size (it must stay finite for logits of +-1000); targets: (N,) float64
    in [0, 1]. Returns (loss, dlogits): loss a float, dlogits (N,) the gradient of the loss.
    """
    ### BEGIN SOLUTION
    n = logits.shape[0]
    # -log sigmoid(z) = softplus(-z) and -log(1 - sigmoid(z)) = softplus(z); softplus(z) - t z joins
    # them, and max(z, 0) + log1p(exp(-|z|)) is softplus without an overflowing exp.
    softplus = np.maximum(logits, 0) + np.log1p(np.exp(-np.abs(logits)))
    loss = np.mean(softplus - targets * logits)
    return float(loss), (sigmoid(logits) - targets) / n
    ### END SOLUTION


def discriminator_loss(real_logits, fake_logits):
    """The discriminator's loss: real samples labelled 1, generated samples labelled 0.

    real_logits: (N,), fake_logits: (M,). The loss is the mean BCE over the real batch plus the mean
    BCE over the fake batch. Returns (loss, d_real (N,), d_fake (M,)).
    """
    ### BEGIN SOLUTION
    real_loss, d_real = bce_with_logits(real_logits, np.ones_like(real_logits))
    fake_loss, d_fake = bce_with_logits(fake_logits, np.zeros_like(fake_logits))
    return real_loss + fake_loss, d_real, d_fake
    ### END SOLUTION


def generator_loss(fake_logits):
    """The non-saturating generator loss: -mean(log sigmoid(fake_logits)), i.e. fakes labelled 1.

    fake_logits: (M,). Returns (loss, d_fake (M,)).
    """
    ### BEGIN SOLUTION
    return bce_with_logits(fake_logits, np.ones_like(fake_logits))
    ### END SOLUTION


def generator_forward(g_params, z):
    """Generated samples x = z @ W + b. z: (N, K). Returns x: (N, D)."""
    ### BEGIN SOLUTION
    return z @ g_params["W"] + g_params["b"]
    ### END SOLUTION


def generator_backward(g_params, z, dx):
    """Gradients of the generator's parameters given dx: (N, D), the gradient at its output.

    Returns {"W": (K, D), "b": (D,)}.
    """
    ### BEGIN SOLUTION
    return {"W": z.T @ dx, "b": dx.sum(axis=0)}
    ### END SOLUTION


def discriminator_forward(d_params, x):
    """Logits tanh(x @ W1 + b1) @ w2 + b2 of samples x: (N, D). Returns (N,)."""
    ### BEGIN SOLUTION
    hidden = np.tanh(x @ d_params["W1"] + d_params["b1"])
    return hidden @ d_params["w2"] + d_params["b2"][0]
    ### END SOLUTION


def discriminator_backward(d_params, x, dlogits):
    """Gradients of the discriminator given dlogits: (N,), the gradient at its logits.

    Returns (grads, dx): grads a dict with the keys and shapes of d_params, dx (N, D) the gradient
    with respect to the samples (the path by which the generator learns).
    """
    ### BEGIN SOLUTION
    hidden = np.tanh(x @ d_params["W1"] + d_params["b1"])
    dhidden = np.outer(dlogits, d_params["w2"])
    dpre = dhidden * (1 - hidden ** 2)  # tanh'(a) = 1 - tanh(a)^2
    grads = {"W1": x.T @ dpre, "b1": dpre.sum(axis=0), "w2": hidden.T @ dlogits,
             "b2": np.array([dlogits.sum()])}
    return grads, dpre @ d_params["W1"].T
    ### END SOLUTION


def train_step(g_params, d_params, real, z, lr):
    """One step of GAN training by plain gradient descent with step size lr.

    First the discriminator: fakes = generator_forward(g_params, z); one update of d_params on
    discriminator_loss(D(real), D(fakes)). Then the generator, through the updated discriminator: the
    same fakes, generator_loss(D(fakes)), its gradient back through discriminator_backward (dx) and
    generator_backward; one update of g_params. real: (N, D), z: (M, K).
    Returns (g_params, d_params, d_loss, g_loss): new dicts, and each loss as computed before its update.
    """
    ### BEGIN SOLUTION
    fakes = generator_forward(g_params, z)
    d_loss, d_real, d_fake = discriminator_loss(discriminator_forward(d_params, real),
                                                discriminator_forward(d_params, fakes))
    real_grads, _ = discriminator_backward(d_params, real, d_real)
    fake_grads, _ = discriminator_backward(d_params, fakes, d_fake)
    d_params = {k: v - lr * (real_grads[k] + fake_grads[k]) for k, v in d_params.items()}
    g_loss, d_fake = generator_loss(discriminator_forward(d_params, fakes))
    _, dx = discriminator_backward(d_params, fakes, d_fake)
    g_grads = generator_backward(g_params, z, dx)
    g_params = {k: v - lr * g_grads[k] for k, v in g_params.items()}
    return g_params, d_params, d_loss, g_loss
    ### END SOLUTION


def train_gan(real, seed):
    """Train a generator whose samples follow the distribution of `real`: (N, 1) samples of a 1-D
    Gaussian (mean within [-5, 5], standard deviation within [0.5, 2]).

    Use np.random.default_rng(seed) for initialisation, minibatches and noise, and train_step.
    Standardise the data first and map the trained generator back to the data's scale.
    Returns the generator's params {"W": (K, 1), "b": (1,)}; samples z @ W + b with z ~ N(0, I) should
    have the mean and the standard deviation of `real`.
    """
    ### BEGIN SOLUTION
    rng = np.random.default_rng(seed)
    # Standardised data puts every target where the networks start (mean 0, std 1) and keeps tanh
    # out of saturation; the generator is mapped back to the data's scale at the end.
    shift, scale = real.mean(), real.std()
    data = (real - shift) / scale
    hidden, batch = 16, 128  # free: discriminator width and batch size
    g_params = {"W": np.ones((1, 1)), "b": np.zeros(1)}  # free: initialisation
    d_params = {"W1": rng.normal(0, 1, (1, hidden)), "b1": rng.normal(0, 1, hidden),  # free: init
                "w2": rng.normal(0, 0.25, hidden), "b2": np.zeros(1)}  # free: initialisation
    for _ in range(800):  # free: the number of steps
        samples = data[rng.integers(0, data.shape[0], batch)]
        z = rng.normal(size=(batch, g_params["W"].shape[0]))
        g_params, d_params, _, _ = train_step(g_params, d_params, samples, z, 0.1)  # free: lr
    return {"W": g_params["W"] * scale, "b": g_params["b"] * scale + shift}
    ### END SOLUTION
