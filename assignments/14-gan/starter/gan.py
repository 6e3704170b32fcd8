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
    # TODO: compute 1 / (1 + exp(-x)) with exp only ever of a non-positive number.
    raise NotImplementedError


def bce_with_logits(logits, targets):
    """Mean binary cross-entropy between sigmoid(logits) and targets, computed from the logits.

    logits: (N,) float64, any size (it must stay finite for logits of +-1000); targets: (N,) float64
    in [0, 1]. Returns (loss, dlogits): loss a float, dlogits (N,) the gradient of the loss.
    """
    # TODO: mean of softplus(z) - t * z (softplus written stably) and its gradient (sigmoid(z) - t) / N.
    raise NotImplementedError


def discriminator_loss(real_logits, fake_logits):
    """The discriminator's loss: real samples labelled 1, generated samples labelled 0.

    real_logits: (N,), fake_logits: (M,). The loss is the mean BCE over the real batch plus the mean
    BCE over the fake batch. Returns (loss, d_real (N,), d_fake (M,)).
    """
    # TODO: BCE of the real logits against 1 plus BCE of the fake logits against 0, with both gradients.
    raise NotImplementedError


def generator_loss(fake_logits):
    """The non-saturating generator loss: -mean(log sigmoid(fake_logits)), i.e. fakes labelled 1.

    fake_logits: (M,). Returns (loss, d_fake (M,)).
    """
    # TODO: BCE of the fake logits against 1 (the non-saturating loss) and its gradient.
    raise NotImplementedError


def generator_forward(g_params, z):
    """Generated samples x = z @ W + b. z: (N, K). Returns x: (N, D)."""
    # TODO: apply the affine map to the noise.
    raise NotImplementedError


def generator_backward(g_params, z, dx):
    """Gradients of the generator's parameters given dx: (N, D), the gradient at its output.

    Returns {"W": (K, D), "b": (D,)}.
    """
    # TODO: gradients of W and b; b's gradient is summed over the batch.
    raise NotImplementedError


def discriminator_forward(d_params, x):
    """Logits tanh(x @ W1 + b1) @ w2 + b2 of samples x: (N, D). Returns (N,)."""
    # TODO: hidden = tanh(x @ W1 + b1), then the logits hidden @ w2 + b2.
    raise NotImplementedError


def discriminator_backward(d_params, x, dlogits):
    """Gradients of the discriminator given dlogits: (N,), the gradient at its logits.

    Returns (grads, dx): grads a dict with the keys and shapes of d_params, dx (N, D) the gradient
    with respect to the samples (the path by which the generator learns).
    """
    # TODO: backpropagate dlogits through w2, tanh and W1; return (grads, dx).
    raise NotImplementedError


def train_step(g_params, d_params, real, z, lr):
    """One step of GAN training by plain gradient descent with step size lr.

    First the discriminator: fakes = generator_forward(g_params, z); one update of d_params on
    discriminator_loss(D(real), D(fakes)). Then the generator, through the updated discriminator: the
    same fakes, generator_loss(D(fakes)), its gradient back through discriminator_backward (dx) and
    generator_backward; one update of g_params. real: (N, D), z: (M, K).
    Returns (g_params, d_params, d_loss, g_loss): new dicts, and each loss as computed before its update.
    """
    # TODO: update the discriminator on real vs fakes, then the generator through the updated discriminator.
    raise NotImplementedError


def train_gan(real, seed):
    """Train a generator whose samples follow the distribution of `real`: (N, 1) samples of a 1-D
    Gaussian (mean within [-5, 5], standard deviation within [0.5, 2]).

    Use np.random.default_rng(seed) for initialisation, minibatches and noise, and train_step.
    Standardise the data first and map the trained generator back to the data's scale.
    Returns the generator's params {"W": (K, 1), "b": (1,)}; samples z @ W + b with z ~ N(0, I) should
    have the mean and the standard deviation of `real`.
    """
    # TODO: initialise both networks with the seed and run train_step on minibatches of real and fresh noise.
    raise NotImplementedError
