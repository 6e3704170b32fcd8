"""Public tests for the Q-learning assignment: run them with `grader check rl`.

The last test trains your agent and walks its greedy policy on the grader's own copy of the cliff walk,
so changing the environment in your file changes nothing there.
"""

import numpy as np
import pytest

from grader.judge.checks import assert_close, assert_shape

ROWS, COLS, START, GOAL, CLIFF = 4, 6, 18, 23, (19, 20, 21, 22)
MOVES = ((-1, 0), (0, 1), (1, 0), (0, -1))


def env_step(state, action, rng):
    """The grader's copy of the environment in rl.py."""
    if rng.random() < 0.1:
        action = int(rng.integers(4))
    row, col = divmod(state, COLS)
    row = min(max(row + MOVES[action][0], 0), ROWS - 1)
    col = min(max(col + MOVES[action][1], 0), COLS - 1)
    state = row * COLS + col
    return (state, -100.0, True) if state in CLIFF else (state, -1.0, state == GOAL)


def average_return(policy, episodes, rng):
    total = 0.0
    for _ in range(episodes):
        state = START
        for _ in range(100):
            state, reward, done = env_step(state, int(policy[state]), rng)
            total += reward
            if done:
                break
    return total / episodes


@pytest.mark.points(2)
def test_epsilon_greedy_without_exploration(submission):
    actions = submission.sample_actions(np.array([1.0, 3.0, 3.0, 0.0]), 0.0, 0, 50)
    assert np.array_equal(actions, np.ones(50)), \
        f"with epsilon 0 every action must be the greedy one, 1 (the lower index of a tie); got {actions[:10]}..."


@pytest.mark.points(3)
def test_epsilon_greedy_frequencies(submission):
    actions = submission.sample_actions(np.array([0.0, 5.0, 1.0, 2.0]), 0.2, 1, 4000)
    share = np.bincount(actions, minlength=4) / 4000
    expected = np.array([0.05, 0.85, 0.05, 0.05])  # 1 - epsilon + epsilon / 4 for the greedy action
    assert np.all(np.abs(share - expected) < 0.025), \
        f"with epsilon 0.2 the actions came out with frequencies {np.round(share, 3).tolist()}, " \
        f"expected about {expected.tolist()}"


@pytest.mark.points(3)
def test_q_update_known_values(submission):
    q = np.zeros((24, 4))
    q[5] = [1.0, 4.0, 2.0, 0.0]
    expected = q.copy()
    expected[4, 1] = 0.5 * (-1.0 + 0.9 * 4.0)
    got = submission.q_update(q, 4, 1, -1.0, 5, False, 0.5, 0.9)
    assert_close(got, expected, name="q after a step to state 5")
    expected[4, 1] = 0.5 * -100.0
    got = submission.q_update(q, 4, 1, -100.0, 5, True, 0.5, 0.9)
    assert_close(got, expected, name="q after a step into a terminal state")


@pytest.mark.points(2)
def test_greedy_policy(submission):
    q = np.array([[0.0, 1.0, -1.0], [2.0, 2.0, 0.0], [-3.0, -2.0, -1.0]])
    assert_close(submission.greedy_policy(q), np.array([1, 0, 2]), name="greedy actions")


@pytest.mark.points(2)
def test_linear_epsilon(submission):
    got = [submission.linear_epsilon(e, 1.0, 0.1, 100) for e in (0, 50, 100, 250)]
    assert_close(np.array(got), np.array([1.0, 0.55, 0.1, 0.1]), name="epsilon at episodes 0, 50, 100, 250")


@pytest.mark.points(2)
def test_q_learning_runs(submission):
    q, returns = submission.q_learning(5, 0.5, 0.9, 1.0, 0.1, 0)
    assert_shape(q, (24, 4), "q")
    assert_shape(returns, (5,), "returns")
    assert np.all(returns <= -1), f"every episode costs at least 1; got returns {returns.tolist()}"
    assert np.all(q[list(CLIFF) + [GOAL]] == 0), "the terminal states' values must never change"


@pytest.mark.points(4)
@pytest.mark.call_seconds(20)
def test_train_agent(submission, rng, measured):
    q = submission.train_agent(0)
    assert_shape(q, (24, 4), "q")
    score = measured.record("average return of the greedy policy over 300 episodes",
                            average_return(np.argmax(q, axis=1), 300, rng))
    assert score >= -22, f"the greedy policy of your table averages {score:.1f} over 300 episodes; " \
                         "a policy that reliably reaches the goal gets about -13 to -17"
