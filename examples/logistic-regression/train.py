"""Logistic regression by gradient descent on generated data: a real (small) ML job that logs its
params, per-epoch metrics and final results to Ganglion. Runs in seconds on a CPU."""

from __future__ import annotations

import argparse

import numpy as np

from ganglion import tracking


def make_data(
    samples: int, features: int, noise: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    true_weights = rng.normal(size=features)
    x = rng.normal(size=(samples, features))
    logits = x @ true_weights + rng.normal(scale=noise, size=samples)
    return x, (logits > 0).astype(np.float64)


def loss_and_accuracy(x: np.ndarray, y: np.ndarray, w: np.ndarray, b: float) -> tuple[float, float]:
    p = 1.0 / (1.0 + np.exp(-(x @ w + b)))
    eps = 1e-12
    loss = float(-np.mean(y * np.log(p + eps) + (1 - y) * np.log(1 - p + eps)))
    accuracy = float(np.mean((p > 0.5) == y))
    return loss, accuracy


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--learning_rate", type=float, default=0.5)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--features", type=int, default=10)
    parser.add_argument("--noise", type=float, default=0.5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    tracking.init()
    tracking.log_inputs(**vars(args))
    rng = np.random.default_rng(args.seed)
    x, y = make_data(args.samples, args.features, args.noise, rng)
    split = int(0.8 * len(x))
    x_train, y_train, x_test, y_test = x[:split], y[:split], x[split:], y[split:]

    w = np.zeros(args.features)
    b = 0.0
    for epoch in range(1, args.epochs + 1):
        p = 1.0 / (1.0 + np.exp(-(x_train @ w + b)))
        error = p - y_train
        w -= args.learning_rate * (x_train.T @ error) / len(x_train)
        b -= args.learning_rate * float(np.mean(error))
        loss, accuracy = loss_and_accuracy(x_train, y_train, w, b)
        val_loss, val_accuracy = loss_and_accuracy(x_test, y_test, w, b)
        tracking.log_metrics(
            step=epoch, loss=loss, accuracy=accuracy, val_loss=val_loss, val_accuracy=val_accuracy
        )
        print(
            f"epoch {epoch:3d}  loss {loss:.4f}  accuracy {accuracy:.3f}  "
            f"val_accuracy {val_accuracy:.3f}"
        )

    tracking.log_outputs(loss=val_loss, accuracy=val_accuracy)
    print(f"done: validation accuracy {val_accuracy:.3f}")
    tracking.end()


if __name__ == "__main__":
    main()
