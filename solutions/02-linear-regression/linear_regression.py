"""Linear regression from scratch: the hypothesis, the mean squared error, its gradient, and descent.

X is (N, D) float64 (N examples, D features), y is (N,), w is (D,) and b a float. The cost is
J(w, b) = 1/(2N) * sum((X @ w + b - y)^2), the form whose gradient has no stray factor 2.
"""

import numpy as np


def predict(X, w, b):
    """The hypothesis h(x) = x . w + b for every row of X: (N,)."""
    ### BEGIN SOLUTION
    return X @ w + b
    ### END SOLUTION


def cost(X, y, w, b):
    """J(w, b) = 1/(2N) * sum of squared errors: a float."""
    ### BEGIN SOLUTION
    errors = predict(X, w, b) - y
    return float(errors @ errors / (2 * len(y)))
    ### END SOLUTION


def gradients(X, y, w, b):
    """(dJ/dw, dJ/db): an array (D,) and a float."""
    ### BEGIN SOLUTION
    errors = predict(X, w, b) - y
    return X.T @ errors / len(y), float(errors.mean())
    ### END SOLUTION


def gradient_descent(X, y, learning_rate, steps):
    """Start from w = 0, b = 0 and take `steps` gradient steps of size learning_rate.

    Returns (w, b, history) where history (steps + 1,) holds the cost before each step and after the last.
    """
    ### BEGIN SOLUTION
    w, b = np.zeros(X.shape[1]), 0.0
    history = [cost(X, y, w, b)]
    for _ in range(steps):
        dw, db = gradients(X, y, w, b)
        w, b = w - learning_rate * dw, b - learning_rate * db
        history.append(cost(X, y, w, b))
    return w, b, np.array(history)
    ### END SOLUTION


def normal_equation(X, y):
    """The exact least-squares (w, b), solved in closed form (hint: np.linalg.lstsq on [X, 1])."""
    ### BEGIN SOLUTION
    design = np.hstack([X, np.ones((len(X), 1))])
    solution = np.linalg.lstsq(design, y, rcond=None)[0]
    return solution[:-1], float(solution[-1])
    ### END SOLUTION
