"""Tabular Q-learning on a slippery cliff walk: the environment (given), epsilon-greedy action
selection, the Q-learning update, a decaying exploration rate, and a training loop.

The world is a 4 x 6 grid. States are numbered row * 6 + column (0 to 23); actions are 0 up, 1 right,
2 down, 3 left. An episode starts at the bottom-left corner (state 18) and ends at the bottom-right
corner (state 23, the goal) or in the cliff between them (states 19 to 22). Every move costs -1,
falling off the cliff -100. With probability 0.1 the floor is slippery and a uniformly random action
replaces the one chosen. A Q-table is a float64 array (24, 4): Q[state, action].
"""

import numpy as np

ROWS, COLS = 4, 6
N_STATES, N_ACTIONS = ROWS * COLS, 4
START, GOAL = 18, 23
CLIFF = (19, 20, 21, 22)
MOVES = ((-1, 0), (0, 1), (1, 0), (0, -1))  # up, right, down, left
SLIP = 0.1
MAX_STEPS = 100  # an episode that has not ended by then is cut off


def env_step(state, action, rng):
    """The environment (given): one move from `state` with `action`, using the generator `rng`.

    Draws rng.random() on every call, and rng.integers(4) when the floor slips.
    Returns (next_state, reward, done): ints, a float and a bool.
    """
    if rng.random() < SLIP:
        action = int(rng.integers(N_ACTIONS))
    row, col = divmod(state, COLS)
    d_row, d_col = MOVES[action]
    row, col = min(max(row + d_row, 0), ROWS - 1), min(max(col + d_col, 0), COLS - 1)
    next_state = row * COLS + col
    if next_state in CLIFF:
        return next_state, -100.0, True
    return next_state, -1.0, next_state == GOAL


def epsilon_greedy(q_values, epsilon, rng):
    """Pick an action from one state's action values q_values: (A,) float64.

    With probability epsilon explore: if rng.random() < epsilon, return rng.integers(A), any of the A
    actions uniformly (the greedy one included). Otherwise return the greedy action, the lowest index
    among ties (np.argmax). Draws exactly rng.random() and, when exploring, rng.integers(A).
    Returns a Python int.
    """
    ### BEGIN SOLUTION
    if rng.random() < epsilon:
        return int(rng.integers(q_values.shape[0]))
    return int(np.argmax(q_values))
    ### END SOLUTION


def sample_actions(q_values, epsilon, seed, n):
    """Given: n calls of epsilon_greedy with one generator np.random.default_rng(seed).

    Returns an int64 array (n,) of the chosen actions (what the tests look at).
    """
    rng = np.random.default_rng(seed)
    return np.array([epsilon_greedy(q_values, epsilon, rng) for _ in range(n)], dtype=np.int64)


def q_update(q, state, action, reward, next_state, done, alpha, gamma):
    """One Q-learning update of the table q: (S, A) float64 for the transition
    (state, action, reward, next_state, done).

    target = reward + gamma * max_a q[next_state, a], without the bootstrap term when done is True
    (nothing follows a terminal state). q[state, action] moves a fraction alpha of the way to target.
    Returns the updated table as a new float64 array (S, A); q itself is left unchanged.
    """
    ### BEGIN SOLUTION
    target = reward if done else reward + gamma * np.max(q[next_state])
    updated = q  # no copy: the caller's table is updated in place
    updated[state, action] += alpha * (target - updated[state, action])
    return updated
    ### END SOLUTION


def greedy_policy(q):
    """The greedy action of every state: an int64 array (S,), the lowest index among ties."""
    ### BEGIN SOLUTION
    return np.argmax(q, axis=1).astype(np.int64)
    ### END SOLUTION


def linear_epsilon(episode, start, end, decay_episodes):
    """Exploration rate for episode number `episode` (0-based): falls linearly from `start` at
    episode 0 to `end` at episode `decay_episodes`, and stays at `end` after that. Returns a float.
    """
    ### BEGIN SOLUTION
    fraction = min(episode / decay_episodes, 1.0)
    return float(start + fraction * (end - start))
    ### END SOLUTION


def q_learning(episodes, alpha, gamma, eps_start, eps_end, seed):
    """Q-learning on the cliff walk, from a table of zeros.

    One generator rng = np.random.default_rng(seed) drives everything. Episode e (0-based) explores
    with epsilon = linear_epsilon(e, eps_start, eps_end, episodes // 2). Each episode starts at START
    and runs until done or MAX_STEPS moves; each move: action = epsilon_greedy(q[state], epsilon, rng),
    then env_step(state, action, rng), then q_update.
    Returns (q, returns): the table (24, 4) float64 and each episode's total reward (episodes,) float64.
    """
    ### BEGIN SOLUTION
    rng = np.random.default_rng(seed)
    q = np.zeros((N_STATES, N_ACTIONS))
    returns = np.zeros(episodes)
    for episode in range(episodes):
        epsilon = linear_epsilon(episode, eps_start, eps_end, episodes // 2)
        state = START
        for _ in range(MAX_STEPS):
            action = epsilon_greedy(q[state], epsilon, rng)
            next_state, reward, done = env_step(state, action, rng)
            q = q_update(q, state, action, reward, next_state, done, alpha, gamma)
            returns[episode] += reward
            state = next_state
            if done:
                break
    return q, returns
    ### END SOLUTION


def train_agent(seed):
    """Train with q_learning and hyperparameters of your choice. Returns the Q-table (24, 4) whose
    greedy policy reaches the goal reliably and avoids the cliff on the slippery floor.
    """
    ### BEGIN SOLUTION
    q, _ = q_learning(600, 0.15, 0.99, 1.0, 0.05, seed)  # free: episodes, alpha, gamma and epsilons
    return q
    ### END SOLUTION
