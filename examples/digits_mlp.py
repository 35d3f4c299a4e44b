"""An MLP on the bundled handwritten digits with annie.fit: 64 inputs -> 128 ReLU -> 10 logits,
Adam, cross-entropy, a validation split, early stopping, and the held-out accuracy."""
import annie
from annie import data, losses, nn, optim
from annie.train import EarlyStopping
from annie.train.metrics import confusion_matrix

from _common import arguments, pyplot_or_none


def main(argv=None):
    args = arguments(__doc__.splitlines()[0], argv)
    X, y = data.load_digits()
    X_train, X_test, y_train, y_test = data.train_test_split(X, y, test_size=0.2, stratify=True,
                                                             seed=0)
    scaler = data.StandardScaler()
    X_train, X_test = scaler.fit_transform(X_train), scaler.transform(X_test)
    annie.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))
    history = annie.fit(model, losses.cross_entropy, optim.Adam(model.parameters(), lr=1e-3),
                        X_train, y_train, epochs=3 if args.quick else 30, batch_size=32,
                        validation_split=0.1, metrics=["accuracy"], verbose=2,
                        callbacks=[EarlyStopping(patience=5, restore_best_weights=True)])
    results = annie.evaluate(model, losses.cross_entropy, X_test, y_test,
                             metrics=["accuracy", "f1"])
    print(f"held-out accuracy: {results['accuracy']:.4f}  macro F1: {results['f1']:.4f}")
    print(confusion_matrix(annie.predict(model, X_test), y_test))
    if pyplot_or_none() is not None:
        import os
        os.makedirs(args.out, exist_ok=True)
        history.plot(os.path.join(args.out, "digits_history.png"))
        print(f"figure: {os.path.join(args.out, 'digits_history.png')}")


if __name__ == "__main__":
    main()
