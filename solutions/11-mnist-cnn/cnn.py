"""A small convolutional network for MNIST in numpy: im2col convolution, max pooling, dropout, training.

Images use the (N, C, H, W) layout. The network is conv (3x3, padding 1) -> ReLU -> 2x2 max pool ->
flatten -> dropout -> affine -> softmax. Parameters live in a dict: W1 (F, C, K, K) and b1 (F,) for the
convolution, W2 (F * H/2 * W/2, 10) and b2 (10,) for the affine layer.
"""

import numpy as np


def preprocess(images):
    """uint8 images (N, 28, 28) -> float32 (N, 1, 28, 28) with pixel values scaled to [0, 1]."""
    ### BEGIN SOLUTION
    return images.reshape(len(images), 1, *images.shape[1:]).astype(np.float32) / 255.0
    ### END SOLUTION


def im2col(x, field, stride, pad):
    """Every field x field patch of the zero-padded x as one column.

    x: (N, C, H, W). Returns cols: (C * field * field, N * H_out * W_out) with H_out = (H + 2 pad - field)
    // stride + 1 (same for W). Row c * field**2 + i * field + j holds, for every output position, the
    padded input at channel c, offset (i, j) inside the patch; column n * H_out * W_out + r * W_out + s is
    the patch whose top-left corner is at (r * stride, s * stride) of image n.
    """
    ### BEGIN SOLUTION
    n, c, h, w = x.shape
    h_out, w_out = (h + 2 * pad - field) // stride + 1, (w + 2 * pad - field) // stride + 1
    padded = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    cols = np.empty((c, field, field, n, h_out, w_out), dtype=x.dtype)
    for i in range(field):
        for j in range(field):
            patch = padded[:, :, i:i + stride * h_out:stride, j:j + stride * w_out:stride]
            cols[:, i, j] = patch.transpose(1, 0, 2, 3)
    return cols.reshape(c * field * field, n * h_out * w_out)
    ### END SOLUTION


def col2im(cols, x_shape, field, stride, pad):
    """The adjoint of im2col: add every column of cols back onto the patch it came from.

    cols: (C * field * field, N * H_out * W_out), x_shape: (N, C, H, W). Where patches overlap their
    values add up; the padding is cut off at the end. Returns an array of shape x_shape.
    """
    ### BEGIN SOLUTION
    n, c, h, w = x_shape
    h_out, w_out = (h + 2 * pad - field) // stride + 1, (w + 2 * pad - field) // stride + 1
    patches = cols.reshape(c, field, field, n, h_out, w_out)
    padded = np.zeros((n, c, h + 2 * pad, w + 2 * pad), dtype=cols.dtype)
    for i in range(field):
        for j in range(field):
            padded[:, :, i:i + stride * h_out:stride, j:j + stride * w_out:stride] += \
                patches[:, i, j].transpose(1, 0, 2, 3)
    return padded[:, :, pad:pad + h, pad:pad + w]
    ### END SOLUTION


def conv_forward(x, w, b, stride, pad):
    """Convolution (cross-correlation) as one matrix product with im2col.

    x: (N, C, H, W), w: (F, C, K, K), b: (F,). Returns out: (N, F, H_out, W_out).
    """
    ### BEGIN SOLUTION
    n, _, h, wd = x.shape
    f, _, field, _ = w.shape
    h_out, w_out = (h + 2 * pad - field) // stride + 1, (wd + 2 * pad - field) // stride + 1
    out = w.reshape(f, -1) @ im2col(x, field, stride, pad) + b[:, None]  # (F, N * H_out * W_out)
    return out.reshape(f, n, h_out, w_out).transpose(1, 0, 2, 3)
    ### END SOLUTION


def conv_backward(dout, x, w, b, stride, pad):
    """Gradients of conv_forward given dout: (N, F, H_out, W_out). Returns (dx, dw, db) like x, w, b."""
    ### BEGIN SOLUTION
    f, _, field, _ = w.shape
    dout_rows = dout.transpose(1, 0, 2, 3).reshape(f, -1)  # columns ordered like im2col's
    dw = (dout_rows @ im2col(x, field, stride, pad).T).reshape(w.shape)
    dx = col2im(w.reshape(f, -1).T @ dout_rows, x.shape, field, stride, pad)
    return dx, dw, dout_rows.sum(axis=1)
    ### END SOLUTION


def max_pool_forward(x):
    """2x2 max pooling with stride 2. x: (N, C, H, W) with H and W even. Returns (N, C, H/2, W/2)."""
    ### BEGIN SOLUTION
    return np.maximum(np.maximum(x[:, :, 0::2, 0::2], x[:, :, 0::2, 1::2]),
                      np.maximum(x[:, :, 1::2, 0::2], x[:, :, 1::2, 1::2]))
    ### END SOLUTION


def max_pool_backward(dout, x):
    """Gradient of max_pool_forward: each window's gradient goes to its maximum.

    dout: (N, C, H/2, W/2), x the forward input. When a window holds its maximum more than once, the
    gradient goes to the first one in row-major order. Returns dx shaped like x.
    """
    ### BEGIN SOLUTION
    out = max_pool_forward(x)
    dx = np.zeros_like(x)
    taken = np.zeros(out.shape, dtype=bool)
    for i, j in ((0, 0), (0, 1), (1, 0), (1, 1)):  # row-major, so the first maximum wins a tie
        first = (x[:, :, i::2, j::2] == out) & ~taken
        dx[:, :, i::2, j::2] = np.where(first, dout, 0)
        taken |= first
    return dx
    ### END SOLUTION


def dropout_forward(x, p, train, seed):
    """Inverted dropout: drop each value with probability p in training, rescale the kept ones by 1/(1-p).

    The mask is (np.random.default_rng(seed).random(x.shape) >= p) / (1 - p), as x's dtype. In test mode
    (train False) nothing is dropped and the mask is all ones. Returns (out, mask), both shaped like x.
    """
    ### BEGIN SOLUTION
    if not train:
        return x, np.ones_like(x)
    mask = ((np.random.default_rng(seed).random(x.shape) >= p) / (1 - p)).astype(x.dtype)
    return x * mask, mask
    ### END SOLUTION


def dropout_backward(dout, mask):
    """Gradient of dropout_forward: dout through the same mask. Returns an array shaped like dout."""
    ### BEGIN SOLUTION
    return dout * mask
    ### END SOLUTION


def init_params(filters, channels, size, field, seed):
    """He-initialised parameters: filters conv filters of field x field over channels input channels,
    then an affine layer from the pooled maps (filters * (size / 2) ** 2 values) to 10 classes.

    Draw W1 (filters, channels, field, field) with std sqrt(2 / (channels * field ** 2)), then W2 with
    std sqrt(2 / fan_in), both from one np.random.default_rng(seed), float64; biases are zeros.
    """
    ### BEGIN SOLUTION
    rng = np.random.default_rng(seed)
    fan_conv, fan_affine = channels * field ** 2, filters * (size // 2) ** 2
    return {"W1": rng.normal(0.0, np.sqrt(2.0 / fan_conv), size=(filters, channels, field, field)),
            "b1": np.zeros(filters),
            "W2": rng.normal(0.0, np.sqrt(2.0 / fan_affine), size=(fan_affine, 10)),
            "b2": np.zeros(10)}
    ### END SOLUTION


def scores(params, X):
    """Class scores (N, 10) for inputs X (N, C, H, W) in test mode (no dropout)."""
    ### BEGIN SOLUTION
    pad = params["W1"].shape[2] // 2
    pooled = max_pool_forward(np.maximum(conv_forward(X, params["W1"], params["b1"], 1, pad), 0))
    return pooled.reshape(len(X), -1) @ params["W2"] + params["b2"]
    ### END SOLUTION


def loss_and_grads(params, X, y, p, seed):
    """Mean softmax cross-entropy of the network in training mode, and its gradients.

    X: (N, C, H, W), y: (N,) integer labels, p: the dropout probability on the flattened pooled maps,
    seed: for dropout_forward. Returns (loss, grads) with grads keyed and shaped like params.
    """
    ### BEGIN SOLUTION
    n, pad = len(X), params["W1"].shape[2] // 2
    conv = conv_forward(X, params["W1"], params["b1"], 1, pad)
    relu = np.maximum(conv, 0)
    pooled = max_pool_forward(relu)
    dropped, mask = dropout_forward(pooled.reshape(n, -1), p, True, seed)
    logits = dropped @ params["W2"] + params["b2"]
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = -log_probs[np.arange(n), y].mean()
    dlogits = np.exp(log_probs)
    dlogits[np.arange(n), y] -= 1
    dlogits /= n
    ddropped = dlogits @ params["W2"].T
    dpooled = dropout_backward(ddropped, mask).reshape(pooled.shape)
    dconv = max_pool_backward(dpooled, relu) * (conv > 0)
    _, dW1, db1 = conv_backward(dconv, X, params["W1"], params["b1"], 1, pad)
    grads = {"W1": dW1, "b1": db1, "W2": dropped.T @ dlogits, "b2": dlogits.sum(axis=0)}
    return float(loss), grads
    ### END SOLUTION


def predict(params, images):
    """Predicted digit for every uint8 image (N, 28, 28): an int64 array (N,), in test mode.

    Works through the images in chunks so that im2col's copy of them stays small.
    """
    ### BEGIN SOLUTION
    chunks = [scores(params, preprocess(images[i:i + 1000])).argmax(axis=1) for i in range(0, len(images), 1000)]
    return np.concatenate(chunks).astype(np.int64)
    ### END SOLUTION


def train(images, labels, seed):
    """Train the network on uint8 images (N, 28, 28) and integer labels (N,); return its params dict.

    Use init_params, loss_and_grads with dropout and minibatch SGD (momentum welcome), with a learning
    rate that falls from one pass over the data to the next. It must reach 97.5% on digits it has never
    seen within the time limit, on one CPU core.
    """
    ### BEGIN SOLUTION
    X = preprocess(images)
    rng = np.random.default_rng(seed)
    params = {k: v.astype(np.float32) for k, v in init_params(8, 1, 28, 5, seed).items()}  # free: 8 5x5 filters
    velocity = {k: np.zeros_like(v) for k, v in params.items()}
    step = 0
    for rate in (0.08, 0.016):  # free: two passes, the second at a fifth of the first's rate
        order = rng.permutation(len(X))
        for start in range(0, len(order), 64):  # free: batch size
            batch = order[start:start + 64]  # free: batch size
            _, grads = loss_and_grads(params, X[batch], labels[batch], 0.1, seed + step)  # free: dropout p
            step += 1
            for key in params:
                velocity[key] = 0.9 * velocity[key] - rate * grads[key]  # free: momentum
                params[key] += velocity[key]
    return params
    ### END SOLUTION
