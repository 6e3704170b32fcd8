"""Hidden tests for the Q-learning assignment: exploration statistics, exact updates against the
reference, training runs from several seeds compared move for move, and greedy policies walked on the
grader's side of the environment (the reference's env_step, never the submission's)."""

import numpy as np
import pytest

from grader.judge.checks import assert_close, assert_shape

NO_CUT = "a terminal transition has no future: target = reward when done (the terminal cut)"
WRONG_AXIS = "bootstrap from max over the actions of next_state: np.max(q[next_state])"
EXPLORE = "with probability epsilon pick any of the actions uniformly, the greedy one included"


def frequencies(submission, q_values, epsilon, seed, n=6000):
    actions = submission.sample_actions(q_values, epsilon, seed, n)
    assert_shape(actions, (n,), "sampled actions")
    assert actions.dtype.kind in "iu", f"actions must be integers, got dtype {actions.dtype}"
    assert actions.min() >= 0 and actions.max() < q_values.size, "an action out of range"
    return np.bincount(actions, minlength=q_values.size) / n


@pytest.mark.points(3)
@pytest.mark.parametrize("n_actions,epsilon", [(3, 0.5), (6, 0.3)])
def test_epsilon_greedy_statistics(submission, rng, n_actions, epsilon):
    q_values = rng.normal(size=n_actions)
    share = frequencies(submission, q_values, epsilon, int(rng.integers(1000)))
    expected = np.full(n_actions, epsilon / n_actions)
    expected[np.argmax(q_values)] += 1 - epsilon
    tolerance = 4 * np.sqrt(expected * (1 - expected) / 6000) + 1e-3  # four standard errors
    greedy = int(np.argmax(q_values))
    # Exploring among the other actions only leaves the greedy one at 1 - epsilon: name that slip.
    skips = abs(share[greedy] - (1 - epsilon)) <= tolerance[greedy]
    why = "exploring never picks the greedy action" if skips else \
        "the actions come out too often or too rarely"
    assert np.all(np.abs(share - expected) <= tolerance), \
        f"with epsilon {epsilon} and {n_actions} actions the frequencies were {np.round(share, 3).tolist()}, " \
        f"expected about {np.round(expected, 3).tolist()} (the greedy action is {greedy}). " \
        f"Hint: sample_actions(): {why}; {EXPLORE}, otherwise the greedy one"


@pytest.mark.points(2)
def test_epsilon_one_is_uniform_over_all_actions(submission):
    share = frequencies(submission, np.array([0.0, 0.0, 9.0, 0.0, 0.0]), 1.0, 5)
    why = "exploring never picks the greedy action" if share[2] < 0.01 else \
        "the actions are not equally likely"
    assert np.all(np.abs(share - 0.2) < 0.025), \
        f"with epsilon 1 the frequencies were {np.round(share, 3).tolist()}. " \
        f"Hint: sample_actions() with epsilon 1: {why}; exploring picks any of the actions uniformly, " \
        "the greedy one included"


@pytest.mark.points(2)
def test_epsilon_greedy_ties_and_seeds(submission):
    tied = submission.sample_actions(np.array([-2.0, -1.0, -1.0, -1.0]), 0.0, 3, 20)
    assert np.array_equal(tied, np.ones(20)), f"ties go to the lowest index (np.argmax); got {tied.tolist()}"
    first = submission.sample_actions(np.array([0.0, 1.0, 0.5]), 0.5, 42, 200)
    again = submission.sample_actions(np.array([0.0, 1.0, 0.5]), 0.5, 42, 200)
    assert np.array_equal(first, again), "the same seed must give the same actions: draw only from rng"


@pytest.mark.points(2)
@pytest.mark.parametrize("done", [False, True])
def test_q_update_matches_reference(submission, reference, rng, done):
    q = rng.normal(size=(24, 4)) * 5
    state, action, next_state = (int(v) for v in rng.integers(0, 24, size=3) % [24, 4, 24])
    reward, alpha, gamma = float(rng.normal()), float(rng.uniform(0.1, 0.9)), float(rng.uniform(0.5, 0.99))
    expected = reference.q_update(q, state, action, reward, next_state, done, alpha, gamma)
    hints = {WRONG_AXIS: _update(q, state, action, reward + gamma * q.max(axis=0)[action], alpha)}
    if done:
        hints[NO_CUT] = reference.q_update(q, state, action, reward, next_state, False, alpha, gamma)
    got = submission.q_update(q, state, action, reward, next_state, done, alpha, gamma)
    assert_close(got, expected, name=f"q after the update (done={done})", hints=hints)


@pytest.mark.points(2)
def test_q_update_self_loop(submission, reference):
    q = np.arange(24 * 4, dtype=float).reshape(24, 4) / 10
    expected = reference.q_update(q, 0, 0, -1.0, 0, False, 0.3, 0.9)  # bumping into the top-left wall
    assert_close(submission.q_update(q, 0, 0, -1.0, 0, False, 0.3, 0.9), expected,
                 name="q after a move that stays in place", hints={WRONG_AXIS: _update(
                     q, 0, 0, -1.0 + 0.9 * q.max(axis=0)[0], 0.3)})


def _update(q, state, action, target, alpha):
    wrong = q.copy()
    wrong[state, action] += alpha * (target - wrong[state, action])
    return wrong


@pytest.mark.points(2)
def test_greedy_policy_random_tables(submission, reference, rng):
    q = rng.integers(-3, 3, size=(15, 5)).astype(float)  # small integers: plenty of ties
    expected = reference.greedy_policy(q)
    assert_close(submission.greedy_policy(q), expected, name="greedy actions",
                 hints={"take the argmax over the actions (axis=1)": np.argmax(q, axis=0)})


@pytest.mark.points(1)
@pytest.mark.parametrize("episode,start,end,decay", [(0, 0.8, 0.05, 40), (13, 0.8, 0.05, 40),
                                                     (40, 0.5, 0.2, 40), (97, 1.0, 0.01, 60)])
def test_linear_epsilon_values(submission, reference, episode, start, end, decay):
    expected = reference.linear_epsilon(episode, start, end, decay)
    assert_close(submission.linear_epsilon(episode, start, end, decay), expected,
                 name=f"epsilon at episode {episode} (from {start} to {end} over {decay} episodes)",
                 hints={"epsilon must decay: it is still the starting value": start})


@pytest.mark.points(4)
@pytest.mark.parametrize("seed,episodes", [(4, 40), (9, 41)])  # 41: decay over 41 // 2 = 20 episodes
def test_q_learning_matches_reference(submission, reference, seed, episodes):
    got_q, got_returns = submission.q_learning(episodes, 0.3, 0.9, 1.0, 0.1, seed)
    q, returns = reference.q_learning(episodes, 0.3, 0.9, 1.0, 0.1, seed)
    constant = reference.q_learning(episodes, 0.3, 0.9, 1.0, 1.0, seed)[1]
    assert_close(got_returns, returns, name=f"returns of the {episodes} episodes",
                 hints={"decay epsilon each episode with linear_epsilon(episode, eps_start, eps_end, "
                        "episodes // 2)": constant})
    assert_close(got_q, q, name=f"q after {episodes} episodes")


@pytest.mark.points(3)
@pytest.mark.call_seconds(20)
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_trained_agent_gets_home(submission, reference, rng, seed, measured):
    q = submission.train_agent(seed)
    assert_shape(q, (24, 4), "q")
    policy = np.argmax(q, axis=1)
    total, falls = 0.0, 0
    for _ in range(400):
        state = reference.START
        for _ in range(reference.MAX_STEPS):
            state, reward, done = reference.env_step(state, int(policy[state]), rng)
            total += reward
            falls += reward == -100.0
            if done:
                break
    score = measured.record("average return of the greedy policy over 400 episodes", total / 400)
    assert score >= -22, f"with seed {seed} the greedy policy averages {score:.1f} over 400 episodes " \
                         f"({falls} falls off the cliff); a policy that reliably gets home scores -13 to -17"
