"""A small convolutional network for MNIST in numpy: im2col convolution, max pooling, dropout, training.

Images use the (N, C, H, W) layout. The network is conv (3x3, padding 1) -> ReLU -> 2x2 max pool ->
flatten -> dropout -> affine -> softmax. Parameters live in a dict: W1 (F, C, K, K) and b1 (F,) for the
convolution, W2 (F * H/2 * W/2, 10) and b2 (10,) for the affine layer.
"""

import numpy as np


def preprocess(images):
    """uint8 images (N, 28, 28) -> float32 (N, 1, 28, 28) with pixel values scaled to [0, 1]."""
    # TODO: add the channel axis and scale the pixels to [0, 1] as float32.
    raise NotImplementedError


def im2col(x, field, stride, pad):
    """Every field x field patch of the zero-padded x as one column.

    x: (N, C, H, W). Returns cols: (C * field * field, N * H_out * W_out) with H_out = (H + 2 pad - field)
    // stride + 1 (same for W). Row c * field**2 + i * field + j holds, for every output position, the
    padded input at channel c, offset (i, j) inside the patch; column n * H_out * W_out + r * W_out + s is
    the patch whose top-left corner is at (r * stride, s * stride) of image n.
    """
    # TODO: zero-pad x, then copy every shifted (i, j) slice of the patches into its row of cols.
    raise NotImplementedError


def col2im(cols, x_shape, field, stride, pad):
    """The adjoint of im2col: add every column of cols back onto the patch it came from.

    cols: (C * field * field, N * H_out * W_out), x_shape: (N, C, H, W). Where patches overlap their
    values add up; the padding is cut off at the end. Returns an array of shape x_shape.
    """
    # TODO: add every row of cols back onto the padded image at its (i, j) offset, then cut the padding off.
    raise NotImplementedError


def conv_forward(x, w, b, stride, pad):
    """Convolution (cross-correlation) as one matrix product with im2col.

    x: (N, C, H, W), w: (F, C, K, K), b: (F,). Returns out: (N, F, H_out, W_out).
    """
    # TODO: multiply the reshaped filters with im2col(x) and add b; reshape to (N, F, H_out, W_out).
    raise NotImplementedError


def conv_backward(dout, x, w, b, stride, pad):
    """Gradients of conv_forward given dout: (N, F, H_out, W_out). Returns (dx, dw, db) like x, w, b."""
    # TODO: reshape dout like im2col's columns; dw from cols, dx through col2im, db as a sum.
    raise NotImplementedError


def max_pool_forward(x):
    """2x2 max pooling with stride 2. x: (N, C, H, W) with H and W even. Returns (N, C, H/2, W/2)."""
    # TODO: take the maximum of the four strided 2x2 offsets.
    raise NotImplementedError


def max_pool_backward(dout, x):
    """Gradient of max_pool_forward: each window's gradient goes to its maximum.

    dout: (N, C, H/2, W/2), x the forward input. When a window holds its maximum more than once, the
    gradient goes to the first one in row-major order. Returns dx shaped like x.
    """
    # TODO: send each window's gradient to its first maximum in row-major order.
    raise NotImplementedError


def dropout_forward(x, p, train, seed):
    """Inverted dropout: drop each value with probability p in training, rescale the kept ones by 1/(1-p).

    The mask is (np.random.default_rng(seed).random(x.shape) >= p) / (1 - p), as x's dtype. In test mode
    (train False) nothing is dropped and the mask is all ones. Returns (out, mask), both shaped like x.
    """
    # TODO: in training, draw the mask with default_rng(seed) as documented and rescale by 1/(1-p).
    raise NotImplementedError


def dropout_backward(dout, mask):
    """Gradient of dropout_forward: dout through the same mask. Returns an array shaped like dout."""
    # TODO: multiply dout by the mask.
    raise NotImplementedError


def init_params(filters, channels, size, field, seed):
    """He-initialised parameters: filters conv filters of field x field over channels input channels,
    then an affine layer from the pooled maps (filters * (size / 2) ** 2 values) to 10 classes.

    Draw W1 (filters, channels, field, field) with std sqrt(2 / (channels * field ** 2)), then W2 with
    std sqrt(2 / fan_in), both from one np.random.default_rng(seed), float64; biases are zeros.
    """
    # TODO: draw W1 then W2 from one default_rng(seed) with He standard deviations; zero biases.
    raise NotImplementedError


def scores(params, X):
    """Class scores (N, 10) for inputs X (N, C, H, W) in test mode (no dropout)."""
    # TODO: conv (padding K // 2) -> ReLU -> max pool -> flatten -> affine.
    raise NotImplementedError


def loss_and_grads(params, X, y, p, seed):
    """Mean softmax cross-entropy of the network in training mode, and its gradients.

    X: (N, C, H, W), y: (N,) integer labels, p: the dropout probability on the flattened pooled maps,
    seed: for dropout_forward. Returns (loss, grads) with grads keyed and shaped like params.
    """
    # TODO: forward with dropout in training mode, softmax loss, then backward through every layer.
    raise NotImplementedError


def predict(params, images):
    """Predicted digit for every uint8 image (N, 28, 28): an int64 array (N,), in test mode.

    Works through the images in chunks so that im2col's copy of them stays small.
    """
    # TODO: in chunks of images: preprocess, score in test mode, argmax; one int64 array.
    raise NotImplementedError


def train(images, labels, seed):
    """Train the network on uint8 images (N, 28, 28) and integer labels (N,); return its params dict.

    Use init_params, loss_and_grads with dropout and minibatch SGD (momentum welcome), with a learning
    rate that falls from one pass over the data to the next. It must reach 97.5% on digits it has never
    seen within the time limit, on one CPU core.
    """
    # TODO: initialise, then minibatch SGD with loss_and_grads (dropout on), and return the params.
    raise NotImplementedError
