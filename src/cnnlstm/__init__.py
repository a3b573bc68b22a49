"""cnnlstm: does an LSTM reading image rows make a CNN a better Fashion-MNIST classifier?"""

import os

# Spinning OpenMP threads wait for a partner the scheduler has paused: on a busy 2-core machine
# that made training up to 19x slower (bench/README.md). Must be set before torch is imported.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
