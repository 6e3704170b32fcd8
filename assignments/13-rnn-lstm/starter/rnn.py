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
    # TODO: compute h_next (one line: tanh of the affine pre-activation).
    raise NotImplementedError


def rnn_step_backward(dh_next, x, h_prev, Wx, Wh, b):
    """Gradients of rnn_step_forward, given dh_next: (N, H) and the forward inputs.

    Returns (dx, dh_prev, dWx, dWh, db) shaped like x, h_prev, Wx, Wh and b.
    """
    # TODO: backpropagate through tanh (1 - h_next**2), then through the affine part.
    raise NotImplementedError


def rnn_forward(x, h0, Wx, Wh, b):
    """Run the RNN over a whole sequence, starting from the hidden state h0.

    x: (N, T, D), h0: (N, H), Wx: (D, H), Wh: (H, H), b: (H,).
    Returns h: (N, T, H), the hidden state after every step (h[:, t] is computed from x[:, t]).
    """
    # TODO: loop over t, feed each hidden state into the next step, stack them on axis 1.
    raise NotImplementedError


def rnn_backward(dh, x, h0, Wx, Wh, b):
    """Backpropagation through time for rnn_forward.

    dh: (N, T, H), the gradient of the loss with respect to every hidden state rnn_forward returned.
    Returns (dx, dh0, dWx, dWh, db) shaped like x, h0, Wx, Wh and b.
    """
    # TODO: loop t from T-1 down to 0, carrying the gradient into h_{t-1}; sum weight grads.
    raise NotImplementedError


def sigmoid(a):
    """Logistic function 1 / (1 + exp(-a)), elementwise, for an array a of any shape.

    Returns a float64 array shaped like a, without overflow warnings for large |a|.
    """
    # TODO: return 1 / (1 + exp(-a)) without overflowing exp for large negative a.
    raise NotImplementedError


def lstm_gates(x, h_prev, Wx, Wh, b):
    """The four LSTM gates after their non-linearities.

    x: (N, D), h_prev: (N, H), Wx: (D, 4H), Wh: (H, 4H), b: (4H,). The pre-activation
    a = x @ Wx + h_prev @ Wh + b holds, column block by column block, a_i, a_f, a_o, a_g.
    Returns (i, f, o, g), each (N, H): sigmoid(a_i), sigmoid(a_f), sigmoid(a_o), tanh(a_g).
    """
    # TODO: split the (N, 4H) pre-activation into a_i, a_f, a_o, a_g and squash each.
    raise NotImplementedError


def lstm_step_forward(x, h_prev, c_prev, Wx, Wh, b):
    """One LSTM step. The 4H pre-activation columns hold the gates in the order i, f, o, g.

    a = x @ Wx + h_prev @ Wh + b, split into four (N, H) blocks: input gate i = sigmoid(a_i), forget
    gate f = sigmoid(a_f), output gate o = sigmoid(a_o), candidate g = tanh(a_g).
    c_next = f * c_prev + i * g and h_next = o * tanh(c_next).
    x: (N, D), h_prev and c_prev: (N, H), Wx: (D, 4H), Wh: (H, 4H), b: (4H,).
    Returns (h_next, c_next), each (N, H).
    """
    # TODO: combine the gates into c_next and h_next.
    raise NotImplementedError


def lstm_step_backward(dh_next, dc_next, x, h_prev, c_prev, Wx, Wh, b):
    """Gradients of lstm_step_forward, given dh_next and dc_next: (N, H) each, and the forward inputs.

    dc_next is the gradient reaching c_next from later steps; dh_next the one reaching h_next.
    Returns (dx, dh_prev, dc_prev, dWx, dWh, db) shaped like x, h_prev, c_prev, Wx, Wh and b.
    """
    # TODO: backpropagate through h_next and c_next, the gates, then the affine part.
    raise NotImplementedError


def lstm_forward(x, h0, Wx, Wh, b):
    """Run the LSTM over a whole sequence, starting from the hidden state h0 and an empty cell state.

    x: (N, T, D), h0: (N, H), Wx: (D, 4H), Wh: (H, 4H), b: (4H,), the gates in the order i, f, o, g.
    The cell state is not an argument: every sequence starts from c0 = 0, an empty memory (N, H).
    Returns h: (N, T, H), the hidden state after every step (h[:, t] is computed from x[:, t]).
    """
    # TODO: loop over t from h0 and c = zeros, carry (h, c) from step to step, stack the h's on axis 1.
    raise NotImplementedError


def lstm_backward(dh, x, h0, Wx, Wh, b):
    """Backpropagation through time for lstm_forward (which starts from c0 = 0).

    dh: (N, T, H), the gradient of the loss with respect to every hidden state lstm_forward returned.
    Walking back from the last step, step t receives dh[:, t] plus the gradient its h_t sent into step
    t + 1 (dh_prev of step t + 1), and on its cell c_t the gradient sent into step t + 1 (dc_prev).
    Returns (dx, dh0, dWx, dWh, db) shaped like x, h0, Wx, Wh and b.
    """
    # TODO: recompute the states each step starts from, then loop t from T-1 down to 0 carrying
    # both dh and dc into the step before; sum the weight gradients over the steps.
    raise NotImplementedError


def sequence_loss(params, x, y):
    """Mean squared error of an RNN with a linear read-out, and its gradients.

    params: Wx (D, H), Wh (H, H), b (H,), Wy (H, O), by (O,). x: (N, T, D) inputs, y: (N, T, O) targets.
    The RNN starts from h0 = 0; the prediction at step t is h[:, t] @ Wy + by.
    loss = mean over all N * T * O entries of (prediction - y) ** 2.
    Returns (loss, grads): loss a float, grads a dict with the keys and shapes of params.
    """
    # TODO: rnn_forward from h0 = 0, read out, mean squared error, then rnn_backward.
    raise NotImplementedError


def train_sequence(seed):
    """Train an RNN (1 input, H hidden units of your choice, 1 output) to predict the next value of
    1, 2, 3, 4, 3, 2, 1, 2, 3, 4, 3, 2, 1, ...

    The input at step t is the value itself (a float, not one-hot); the target is the value that follows.
    The trained net must predict every next value to within 0.5 once it has seen two values, whatever
    the position in the cycle its input starts at and for inputs up to 30 steps long.
    Use np.random.default_rng(seed) for the initial weights, sequence_loss for the gradients.
    Returns params: Wx (1, H), Wh (H, H), b (H,), Wy (H, 1), by (1,).
    """
    # TODO: build input/target windows of the sequence and minimise sequence_loss.
    raise NotImplementedError


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
    # TODO: run lstm_forward from zeros, read out the last state, then backpropagate with a dh that is
    # zero everywhere except at the last step.
    raise NotImplementedError


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
    # TODO: initialise the weights (open forget gates help), then take Adam steps on fresh batches of
    # memory_sequences, keeping each step's loss.
    raise NotImplementedError
