"""Fashion-MNIST: finding and verifying the official files, parsing them, and the folds."""
