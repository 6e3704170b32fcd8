"""The whole game first: train a digit classifier with a given library, measure it, look at its mistakes.

`DigitNet` below is the library: a complete, working classifier you call without opening it (step 09
builds the same network from its pieces). Your part is everything around the call: turning images into
the numbers it expects, choosing how to train it, measuring how good it is, and finding what it gets
wrong. Images are uint8 (N, 28, 28) with pixels 0 to 255; labels are integers (N,) from 0 to 9.
"""

import numpy as np


class DigitNet:
    """The library call; step 09 opens it up.

    A network with one hidden layer: 784 pixels -> `hidden` ReLU units -> 10 scores -> softmax, trained
    by mini-batch SGD on the mean cross-entropy. Inputs X are float arrays (N, 784) with values in [0, 1].

        net = DigitNet(hidden=64)
        net.fit(X, y, epochs=5, lr=0.1, seed=0)   # y: int labels (N,); returns net
        net.predict(X)                            # int64 labels (N,)
        net.predict_proba(X)                      # float64 (N, 10), each row sums to 1
    """

    def __init__(self, hidden=64, batch_size=32):
        self.hidden = hidden
        self.batch_size = batch_size

    def fit(self, X, y, epochs=5, lr=0.1, seed=0):
        """Train on X (N, 784) and labels y (N,): `epochs` passes in a random order, step size `lr`."""
        rng = np.random.default_rng(seed)
        self.W1 = rng.normal(0.0, np.sqrt(2.0 / X.shape[1]), size=(X.shape[1], self.hidden))
        self.b1 = np.zeros(self.hidden)
        self.W2 = rng.normal(0.0, np.sqrt(2.0 / self.hidden), size=(self.hidden, 10))
        self.b2 = np.zeros(10)
        for _ in range(epochs):
            order = rng.permutation(len(X))
            for start in range(0, len(X), self.batch_size):
                batch = order[start:start + self.batch_size]
                self._sgd_step(X[batch], y[batch], lr)
        return self

    def predict_proba(self, X):
        """Class probabilities (N, 10) for inputs X (N, 784)."""
        scores = np.maximum(X @ self.W1 + self.b1, 0.0) @ self.W2 + self.b2
        scores = scores - scores.max(axis=1, keepdims=True)
        probs = np.exp(scores)
        return probs / probs.sum(axis=1, keepdims=True)

    def predict(self, X):
        """The most probable digit for each row of X (N, 784): int64 (N,)."""
        return self.predict_proba(X).argmax(axis=1).astype(np.int64)

    def _sgd_step(self, X, y, lr):
        hidden = np.maximum(X @ self.W1 + self.b1, 0.0)
        dscores = self.predict_proba(X)
        dscores[np.arange(len(X)), y] -= 1.0
        dscores /= len(X)
        dhidden = (dscores @ self.W2.T) * (hidden > 0)
        self.W2 -= lr * (hidden.T @ dscores)
        self.b2 -= lr * dscores.sum(axis=0)
        self.W1 -= lr * (X.T @ dhidden)
        self.b1 -= lr * dhidden.sum(axis=0)


def prepare(images):
    """uint8 images (N, 28, 28) -> float32 rows (N, 784), pixels scaled from 0..255 to [0, 1]."""
    # TODO: flatten each image to a row of 784 pixels, as float32, scaled to [0, 1].
    raise NotImplementedError


def train_classifier(images, labels):
    """A DigitNet trained on uint8 images (N, 28, 28) and int labels (N,), ready to predict.

    Prepare the images, then call the library: the width, epochs, step size and seed are yours to
    choose. It must reach 90% on digits it has not seen, from 10,000 training digits, in 30 seconds.
    """
    # TODO: prepare the images, make a DigitNet and fit it with settings you choose; return it.
    raise NotImplementedError


def accuracy(predicted, labels):
    """The fraction of predicted labels (N,) equal to the true labels (N,): a float in [0, 1]."""
    # TODO: the share of predictions equal to their labels (a fraction, not a count).
    raise NotImplementedError


def confusion_matrix(predicted, labels, classes=10):
    """Counts (classes, classes), int64: entry [t, p] is how many examples of true class t got label p.

    Rows are the true classes, columns the predicted ones; the diagonal holds the right answers.
    """
    # TODO: count every (true label, predicted label) pair into a (classes, classes) int64 matrix.
    raise NotImplementedError


def worst_mistakes(probs, labels, k=5):
    """Indices (int64) of the k most confidently wrong examples, the most confident first.

    probs: (N, C) class probabilities, labels: (N,) true labels. An example is wrong when its most
    probable class is not its label; its confidence is that class's probability. Ties keep the lower
    index first. Fewer than k wrong examples: return them all.
    """
    # TODO: find the wrong examples, sort them by the probability of their (wrong) answer, keep k.
    raise NotImplementedError
