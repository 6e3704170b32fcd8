"""Recurrent layers written by hand with numpy: a vanilla RNN (one step and a whole sequence, with
backpropagation through time), one LSTM step, and a small RNN that learns to continue 1,2,3,4,3,2,1,...

All arrays are float64. N is the batch size, T the number of time steps, D the input features, H the
hidden units and O the outputs. Backward functions take the forward inputs again (not a cache) and
recompute what they need.
"""

import numpy as np

SEQUENCE_CYCLE = (1.0, 2.0, 3.0, 4.0, 3.0, 2.0)  # 1,2,3,4,3,2 then again from 1


def rnn_step_forward(x, h_prev, Wx, Wh, b):
    """One step of a vanilla RNN: h_next = tanh(x @ Wx + h_prev @ Wh + b).

    x: (N, D), h_prev: (N, H), Wx: (D, H), Wh: (H, H), b: (H,).
    Returns h_next: (N, H).
    """
    return np.tanh(x @ Wx + h_prev @ Wh + b)


def rnn_step_backward(dh_next, x, h_prev, Wx, Wh, b):
    """Gradients of rnn_step_forward, given dh_next: (N, H) and the forward inputs.

    Returns (dx, dh_prev, dWx, dWh, db) shaped like x, h_prev, Wx, Wh and b.
    """
    h_next = rnn_step_forward(x, h_prev, Wx, Wh, b)
    da = dh_next * (1.0 - h_next ** 2)  # tanh'(a) = 1 - tanh(a)^2, read off the output
    return da @ Wx.T, da @ Wh.T, x.T @ da, h_prev.T @ da, da.sum(axis=0)


def rnn_forward(x, h0, Wx, Wh, b):
    """Run the RNN over a whole sequence, starting from the hidden state h0.

    x: (N, T, D), h0: (N, H), Wx: (D, H), Wh: (H, H), b: (H,).
    Returns h: (N, T, H), the hidden state after every step (h[:, t] is computed from x[:, t]).
    """
    steps = []
    h = h0
    for t in range(x.shape[1]):
        h = rnn_step_forward(x[:, t], h, Wx, Wh, b)
        steps.append(h)
    return np.stack(steps, axis=1)


def rnn_backward(dh, x, h0, Wx, Wh, b):
    """Backpropagation through time for rnn_forward.

    dh: (N, T, H), the gradient of the loss with respect to every hidden state rnn_forward returned.
    Returns (dx, dh0, dWx, dWh, db) shaped like x, h0, Wx, Wh and b.
    """
    h = rnn_forward(x, h0, Wx, Wh, b)
    previous = np.concatenate([h0[:, None], h[:, :-1]], axis=1)  # the state each step started from
    dx = np.zeros_like(x)
    dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros_like(b)
    carried = np.zeros_like(h0)  # gradient reaching h_t from the steps after t
    for t in reversed(range(x.shape[1])):
        dx[:, t], carried, dWx, dWh, db = rnn_step_backward(
            dh[:, t] + carried, x[:, t], previous[:, t], Wx, Wh, b)
    return dx, carried, dWx, dWh, db


def sigmoid(a):
    """Logistic function 1 / (1 + exp(-a)), elementwise, for an array a of any shape.

    Returns a float64 array shaped like a, without overflow warnings for large |a|.
    """
    e = np.exp(-np.abs(a))
    return np.where(a >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def lstm_gates(x, h_prev, Wx, Wh, b):
    """The four LSTM gates after their non-linearities.

    x: (N, D), h_prev: (N, H), Wx: (D, 4H), Wh: (H, 4H), b: (4H,). The pre-activation
    a = x @ Wx + h_prev @ Wh + b holds, column block by column block, a_i, a_f, a_o, a_g.
    Returns (i, f, o, g), each (N, H): sigmoid(a_i), sigmoid(a_f), sigmoid(a_o), tanh(a_g).
    """
    a = x @ Wx + h_prev @ Wh + b
    a_i, a_f, a_o, a_g = np.split(a, 4, axis=1)
    return sigmoid(a_i), sigmoid(a_f), sigmoid(a_o), np.tanh(a_g)


def lstm_step_forward(x, h_prev, c_prev, Wx, Wh, b):
    """One LSTM step. The 4H pre-activation columns hold the gates in the order i, f, o, g.

    a = x @ Wx + h_prev @ Wh + b, split into four (N, H) blocks: input gate i = sigmoid(a_i), forget
    gate f = sigmoid(a_f), output gate o = sigmoid(a_o), candidate g = tanh(a_g).
    c_next = f * c_prev + i * g and h_next = o * tanh(c_next).
    x: (N, D), h_prev and c_prev: (N, H), Wx: (D, 4H), Wh: (H, 4H), b: (4H,).
    Returns (h_next, c_next), each (N, H).
    """
    i, f, o, g = lstm_gates(x, h_prev, Wx, Wh, b)
    c_next = f * c_prev + i * g
    return o * np.tanh(c_next), c_next


def lstm_step_backward(dh_next, dc_next, x, h_prev, c_prev, Wx, Wh, b):
    """Gradients of lstm_step_forward, given dh_next and dc_next: (N, H) each, and the forward inputs.

    dc_next is the gradient reaching c_next from later steps; dh_next the one reaching h_next.
    Returns (dx, dh_prev, dc_prev, dWx, dWh, db) shaped like x, h_prev, c_prev, Wx, Wh and b.
    """
    i, f, o, g = lstm_gates(x, h_prev, Wx, Wh, b)
    c_next = f * c_prev + i * g
    tanh_c = np.tanh(c_next)
    dc = dc_next + dh_next * o * (1.0 - tanh_c ** 2)  # c_next feeds the next step and h_next
    # Through each non-linearity: sigmoid' = s (1 - s), tanh' = 1 - t^2; same order i, f, o, g.
    da = np.concatenate([dc * g * i * (1.0 - i), dc * c_prev * f * (1.0 - f),
                         dh_next * tanh_c * o * (1.0 - o), dc * i * (1.0 - g ** 2)], axis=1)
    return da @ Wx.T, da @ Wh.T, dc * f, x.T @ da, h_prev.T @ da, da.sum(axis=0)


def sequence_loss(params, x, y):
    """Mean squared error of an RNN with a linear read-out, and its gradients.

    params: Wx (D, H), Wh (H, H), b (H,), Wy (H, O), by (O,). x: (N, T, D) inputs, y: (N, T, O) targets.
    The RNN starts from h0 = 0; the prediction at step t is h[:, t] @ Wy + by.
    loss = mean over all N * T * O entries of (prediction - y) ** 2.
    Returns (loss, grads): loss a float, grads a dict with the keys and shapes of params.
    """
    h0 = np.zeros((len(x), len(params["b"])))
    h = rnn_forward(x, h0, params["Wx"], params["Wh"], params["b"])
    error = h @ params["Wy"] + params["by"] - y
    dpred = 2.0 * error / error.size
    dh = dpred @ params["Wy"].T
    _, _, dWx, dWh, db = rnn_backward(dh, x, h0, params["Wx"], params["Wh"], params["b"])
    grads = {"Wx": dWx, "Wh": dWh, "b": db,
             "Wy": np.einsum("nth,nto->ho", h, dpred), "by": dpred.sum(axis=(0, 1))}
    return float(np.mean(error ** 2)), grads


def train_sequence(seed):
    """Train an RNN (1 input, H hidden units of your choice, 1 output) to predict the next value of
    1, 2, 3, 4, 3, 2, 1, 2, 3, 4, 3, 2, 1, ...

    The input at step t is the value itself (a float, not one-hot); the target is the value that follows.
    The trained net must predict every next value to within 0.5 once it has seen two values, whatever
    the position in the cycle its input starts at and for inputs up to 30 steps long.
    Use np.random.default_rng(seed) for the initial weights, sequence_loss for the gradients.
    Returns params: Wx (1, H), Wh (H, H), b (H,), Wy (H, 1), by (1,).
    """
    rng = np.random.default_rng(seed)
    hidden, length = 16, 12  # free: hidden size and training window
    series = np.array(SEQUENCE_CYCLE * 8)  # free: enough cycles for every window
    windows = np.stack([series[s:s + length + 1] for s in range(len(SEQUENCE_CYCLE))])  # free: one per phase
    x, y = windows[:, :-1, None], windows[:, 1:, None]
    params = {"Wx": rng.normal(0, 0.3, (1, hidden)),  # free: initialisation
              "Wh": rng.normal(0, 0.3, (hidden, hidden)),  # free: initialisation
              "b": np.zeros(hidden), "Wy": rng.normal(0, 0.3, (hidden, 1)),  # free: initialisation
              "by": np.full(1, 2.5)}  # free: start the read-out at the sequence's mean
    moments = {k: (np.zeros_like(v), np.zeros_like(v)) for k, v in params.items()}
    for step in range(1, 301):  # free: number of Adam steps
        _, grads = sequence_loss(params, x, y)
        for key, (m, v) in moments.items():
            m[:] = 0.9 * m + 0.1 * grads[key]  # free: Adam's beta1
            v[:] = 0.999 * v + 0.001 * grads[key] ** 2  # free: Adam's beta2
            m_hat, v_hat = m / (1 - 0.9 ** step), v / (1 - 0.999 ** step)  # free: Adam's bias correction
            params[key] -= 0.05 * m_hat / (np.sqrt(v_hat) + 1e-8)  # free: learning rate and eps
    return params
