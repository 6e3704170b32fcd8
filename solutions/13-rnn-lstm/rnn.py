"""Recurrent layers written by hand with numpy: a vanilla RNN (one step and a whole sequence, with
backpropagation through time), an LSTM (one step, and a whole sequence with its backpropagation), a
small RNN that learns to continue 1,2,3,4,3,2,1,... and a small LSTM that remembers a sign through noise.
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
    ### BEGIN SOLUTION
    return np.tanh(x @ Wx + h_prev @ Wh + b)
    ### END SOLUTION


def rnn_step_backward(dh_next, x, h_prev, Wx, Wh, b):
    """Gradients of rnn_step_forward, given dh_next: (N, H) and the forward inputs.

    Returns (dx, dh_prev, dWx, dWh, db) shaped like x, h_prev, Wx, Wh and b.
    """
    ### BEGIN SOLUTION
    h_next = rnn_step_forward(x, h_prev, Wx, Wh, b)
    da = dh_next * (1.0 - h_next ** 2)  # tanh'(a) = 1 - tanh(a)^2, read off the output
    return da @ Wx.T, da @ Wh.T, x.T @ da, h_prev.T @ da, da.sum(axis=0)
    ### END SOLUTION


def rnn_forward(x, h0, Wx, Wh, b):
    """Run the RNN over a whole sequence, starting from the hidden state h0.

    x: (N, T, D), h0: (N, H), Wx: (D, H), Wh: (H, H), b: (H,).
    Returns h: (N, T, H), the hidden state after every step (h[:, t] is computed from x[:, t]).
    """
    ### BEGIN SOLUTION
    steps = []
    h = h0
    for t in range(x.shape[1]):
        h = rnn_step_forward(x[:, t], h, Wx, Wh, b)
        steps.append(h)
    return np.stack(steps, axis=1)
    ### END SOLUTION


def rnn_backward(dh, x, h0, Wx, Wh, b):
    """Backpropagation through time for rnn_forward.

    dh: (N, T, H), the gradient of the loss with respect to every hidden state rnn_forward returned.
    Returns (dx, dh0, dWx, dWh, db) shaped like x, h0, Wx, Wh and b.
    """
    ### BEGIN SOLUTION
    h = rnn_forward(x, h0, Wx, Wh, b)
    previous = np.concatenate([h0[:, None], h[:, :-1]], axis=1)  # the state each step started from
    dx = np.zeros_like(x)
    dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros_like(b)
    carried = np.zeros_like(h0)  # gradient reaching h_t from the steps after t
    for t in reversed(range(x.shape[1])):
        dx[:, t], carried, dWx_t, dWh_t, db_t = rnn_step_backward(
            dh[:, t] + carried, x[:, t], previous[:, t], Wx, Wh, b)
        dWx += dWx_t  # the weights are shared by every step: their gradients add up
        dWh += dWh_t
        db += db_t
    return dx, carried, dWx, dWh, db
    ### END SOLUTION


def sigmoid(a):
    """Logistic function 1 / (1 + exp(-a)), elementwise, for an array a of any shape.

    Returns a float64 array shaped like a, without overflow warnings for large |a|.
    """
    ### BEGIN SOLUTION
    e = np.exp(-np.abs(a))
    return np.where(a >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
    ### END SOLUTION


def lstm_gates(x, h_prev, Wx, Wh, b):
    """The four LSTM gates after their non-linearities.

    x: (N, D), h_prev: (N, H), Wx: (D, 4H), Wh: (H, 4H), b: (4H,). The pre-activation
    a = x @ Wx + h_prev @ Wh + b holds, column block by column block, a_i, a_f, a_o, a_g.
    Returns (i, f, o, g), each (N, H): sigmoid(a_i), sigmoid(a_f), sigmoid(a_o), tanh(a_g).
    """
    ### BEGIN SOLUTION
    a = x @ Wx + h_prev @ Wh + b
    a_i, a_f, a_o, a_g = np.split(a, 4, axis=1)
    return sigmoid(a_i), sigmoid(a_f), sigmoid(a_o), np.tanh(a_g)
    ### END SOLUTION


def lstm_step_forward(x, h_prev, c_prev, Wx, Wh, b):
    """One LSTM step. The 4H pre-activation columns hold the gates in the order i, f, o, g.

    a = x @ Wx + h_prev @ Wh + b, split into four (N, H) blocks: input gate i = sigmoid(a_i), forget
    gate f = sigmoid(a_f), output gate o = sigmoid(a_o), candidate g = tanh(a_g).
    c_next = f * c_prev + i * g and h_next = o * tanh(c_next).
    x: (N, D), h_prev and c_prev: (N, H), Wx: (D, 4H), Wh: (H, 4H), b: (4H,).
    Returns (h_next, c_next), each (N, H).
    """
    ### BEGIN SOLUTION
    i, f, o, g = lstm_gates(x, h_prev, Wx, Wh, b)
    c_next = f * c_prev + i * g
    return o * np.tanh(c_next), c_next
    ### END SOLUTION


def lstm_step_backward(dh_next, dc_next, x, h_prev, c_prev, Wx, Wh, b):
    """Gradients of lstm_step_forward, given dh_next and dc_next: (N, H) each, and the forward inputs.

    dc_next is the gradient reaching c_next from later steps; dh_next the one reaching h_next.
    Returns (dx, dh_prev, dc_prev, dWx, dWh, db) shaped like x, h_prev, c_prev, Wx, Wh and b.
    """
    ### BEGIN SOLUTION
    i, f, o, g = lstm_gates(x, h_prev, Wx, Wh, b)
    c_next = f * c_prev + i * g
    tanh_c = np.tanh(c_next)
    dc = dc_next + dh_next * o * (1.0 - tanh_c ** 2)  # c_next feeds the next step and h_next
    # Through each non-linearity: sigmoid' = s (1 - s), tanh' = 1 - t^2; same order i, f, o, g.
    da = np.concatenate([dc * g * i * (1.0 - i), dc * c_prev * f * (1.0 - f),
                         dh_next * tanh_c * o * (1.0 - o), dc * i * (1.0 - g ** 2)], axis=1)
    return da @ Wx.T, da @ Wh.T, dc * f, x.T @ da, h_prev.T @ da, da.sum(axis=0)
    ### END SOLUTION


def lstm_forward(x, h0, Wx, Wh, b):
    """Run the LSTM over a whole sequence, starting from the hidden state h0 and an empty cell state.

    x: (N, T, D), h0: (N, H), Wx: (D, 4H), Wh: (H, 4H), b: (4H,), the gates in the order i, f, o, g.
    The cell state is not an argument: every sequence starts from c0 = 0, an empty memory (N, H).
    Returns h: (N, T, H), the hidden state after every step (h[:, t] is computed from x[:, t]).
    """
    ### BEGIN SOLUTION
    h, c = h0, np.zeros_like(h0)  # the memory starts empty; only h0 comes from the caller
    steps = []
    for t in range(x.shape[1]):
        h, c = lstm_step_forward(x[:, t], h, c, Wx, Wh, b)
        steps.append(h)
    return np.stack(steps, axis=1)
    ### END SOLUTION


def lstm_backward(dh, x, h0, Wx, Wh, b):
    """Backpropagation through time for lstm_forward (which starts from c0 = 0).

    dh: (N, T, H), the gradient of the loss with respect to every hidden state lstm_forward returned.
    Walking back from the last step, step t receives dh[:, t] plus the gradient its h_t sent into step
    t + 1 (dh_prev of step t + 1), and on its cell c_t the gradient sent into step t + 1 (dc_prev).
    Returns (dx, dh0, dWx, dWh, db) shaped like x, h0, Wx, Wh and b.
    """
    ### BEGIN SOLUTION
    hs, cs = [h0], [np.zeros_like(h0)]  # hs[t], cs[t]: the states step t starts from
    for t in range(x.shape[1]):
        h, c = lstm_step_forward(x[:, t], hs[t], cs[t], Wx, Wh, b)
        hs.append(h)
        cs.append(c)
    dx = np.zeros_like(x)
    dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros_like(b)
    dh_carried, dc_carried = np.zeros_like(h0), np.zeros_like(h0)  # what steps after t sent back
    for t in reversed(range(x.shape[1])):
        dx[:, t], dh_carried, dc_carried, dWx_t, dWh_t, db_t = lstm_step_backward(
            dh[:, t] + dh_carried, dc_carried, x[:, t], hs[t], cs[t], Wx, Wh, b)
        dWx += dWx_t  # shared weights: every step's gradient adds up
        dWh += dWh_t
        db += db_t
    return dx, dh_carried, dWx, dWh, db
    ### END SOLUTION


def sequence_loss(params, x, y):
    """Mean squared error of an RNN with a linear read-out, and its gradients.

    params: Wx (D, H), Wh (H, H), b (H,), Wy (H, O), by (O,). x: (N, T, D) inputs, y: (N, T, O) targets.
    The RNN starts from h0 = 0; the prediction at step t is h[:, t] @ Wy + by.
    loss = mean over all N * T * O entries of (prediction - y) ** 2.
    Returns (loss, grads): loss a float, grads a dict with the keys and shapes of params.
    """
    ### BEGIN SOLUTION
    h0 = np.zeros((len(x), len(params["b"])))
    h = rnn_forward(x, h0, params["Wx"], params["Wh"], params["b"])
    error = h @ params["Wy"] + params["by"] - y
    dpred = 2.0 * error / error.size
    dh = dpred @ params["Wy"].T
    _, _, dWx, dWh, db = rnn_backward(dh, x, h0, params["Wx"], params["Wh"], params["b"])
    grads = {"Wx": dWx, "Wh": dWh, "b": db,
             "Wy": np.einsum("nth,nto->ho", h, dpred), "by": dpred.sum(axis=(0, 1))}
    return float(np.mean(error ** 2)), grads
    ### END SOLUTION


def train_sequence(seed):
    """Train an RNN (1 input, H hidden units of your choice, 1 output) to predict the next value of
    1, 2, 3, 4, 3, 2, 1, 2, 3, 4, 3, 2, 1, ...

    The input at step t is the value itself (a float, not one-hot); the target is the value that follows.
    The trained net must predict every next value to within 0.5 once it has seen two values, whatever
    the position in the cycle its input starts at and for inputs up to 30 steps long.
    Use np.random.default_rng(seed) for the initial weights, sequence_loss for the gradients.
    Returns params: Wx (1, H), Wh (H, H), b (H,), Wy (H, 1), by (1,).
    """
    ### BEGIN SOLUTION
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
    ### END SOLUTION


def memory_sequences(rng, n, steps):
    """n sequences of the memory task that train_lstm learns, drawn with the numpy Generator rng.

    Two input features. At step 0 the input is (s, 1): the sign s to remember, +1 or -1 with equal
    chance, and a marker 1 that says "this is the one". At every later step it is (noise, 0), noise drawn
    from a normal distribution N(0, 1): values as large as s that must not overwrite it.
    Returns (x, y): x (n, steps, 2) and y (n, 1) holding s, both float64.
    """
    signs = rng.choice([-1.0, 1.0], size=n)
    x = np.zeros((n, steps, 2))
    x[:, 0, 0], x[:, 0, 1] = signs, 1.0
    x[:, 1:, 0] = rng.normal(size=(n, steps - 1))
    return x, signs[:, None]


def lstm_last_step_loss(params, x, y):
    """Mean squared error of an LSTM read out after its last step only, and its gradients.

    params: Wx (D, 4H), Wh (H, 4H), b (4H,), Wy (H, O), by (O,). x: (N, T, D) inputs, y: (N, O) targets.
    The LSTM starts from h0 = 0 (and c0 = 0); the prediction is h[:, -1] @ Wy + by, read off the state
    after the last step. loss = mean over all N * O entries of (prediction - y) ** 2.
    Returns (loss, grads): loss a float, grads a dict with the keys and shapes of params.
    """
    ### BEGIN SOLUTION
    h0 = np.zeros((len(x), params["Wh"].shape[0]))
    h = lstm_forward(x, h0, params["Wx"], params["Wh"], params["b"])
    last = h[:, -1]
    error = last @ params["Wy"] + params["by"] - y
    dpred = 2.0 * error / error.size
    dh = np.zeros_like(h)
    dh[:, -1] = dpred @ params["Wy"].T  # the loss sees the last state only
    _, _, dWx, dWh, db = lstm_backward(dh, x, h0, params["Wx"], params["Wh"], params["b"])
    grads = {"Wx": dWx, "Wh": dWh, "b": db, "Wy": last.T @ dpred, "by": dpred.sum(axis=0)}
    return float(np.mean(error ** 2)), grads
    ### END SOLUTION


def train_lstm(seed):
    """Train an LSTM (D = 2 inputs, H hidden units of your choice, O = 1 output) to remember a sign.

    The sequences are those of memory_sequences: the sign s comes at step 0, then noise. After the last
    step the net must output s. The judge runs your weights on fresh sequences of 20 to 30 steps and
    takes the sign of h[:, -1] @ Wy + by as the answer; at least 90% must be right.
    Use np.random.default_rng(seed) for the initial weights and the training sequences, and
    lstm_last_step_loss for the gradients.
    Returns (params, losses): params Wx (2, 4H), Wh (H, 4H), b (4H,), Wy (H, 1), by (1,); losses a list
    of floats, the training loss of every update in order.
    """
    ### BEGIN SOLUTION
    rng = np.random.default_rng(seed)
    hidden, steps, batch = 8, 25, 64  # free: hidden size, training length and batch size
    params = {"Wx": rng.normal(0, 0.5, (2, 4 * hidden)),  # free: initialisation
              "Wh": rng.normal(0, 0.2, (hidden, 4 * hidden)),  # free: initialisation
              "b": np.zeros(4 * hidden), "Wy": rng.normal(0, 0.5, (hidden, 1)),  # free: initialisation
              "by": np.zeros(1)}  # free: initialisation
    params["b"][hidden:2 * hidden] = 3.0  # free: forget gates start open (f = 0.95), so memory lasts
    moments = {k: (np.zeros_like(v), np.zeros_like(v)) for k, v in params.items()}
    losses = []
    for step in range(1, 201):  # free: number of Adam steps, a fresh batch each
        x, y = memory_sequences(rng, batch, steps)
        loss, grads = lstm_last_step_loss(params, x, y)
        losses.append(loss)
        for key, (m, v) in moments.items():
            m[:] = 0.9 * m + 0.1 * grads[key]  # free: Adam's beta1
            v[:] = 0.999 * v + 0.001 * grads[key] ** 2  # free: Adam's beta2
            m_hat, v_hat = m / (1 - 0.9 ** step), v / (1 - 0.999 ** step)  # free: Adam's bias correction
            params[key] -= 0.05 * m_hat / (np.sqrt(v_hat) + 1e-8)  # free: learning rate and eps
    return params, losses
    ### END SOLUTION
