# Two commands set up everything on a fresh machine:  make repro  (the study)  and  make test.
# make repro also continues a study from git alone: what dvcstore/ holds is restored, the rest trained
# and pushed there as it finishes (docs/workflow.md). make shard K=1 N=3: this machine's third.
VENV   ?= .venv
BIN    := $(CURDIR)/$(VENV)/bin
STAMP  := $(VENV)/.installed
export PATH := $(BIN):$(PATH)

.PHONY: repro shard test bench dataset setup study study-stop

# The venv and the data only (a batch job's set-up; repro and test do it themselves).
setup: $(STAMP) dataset

repro: $(STAMP) dataset
	python -m cnnlstm.timed_repro

shard: $(STAMP) dataset
	python -m cnnlstm.shard $(K) $(N)

# The converged study in the background, one worker per core (WORKERS=n for another number), and
# before the machine goes, study-stop: the runs in progress commit their checkpoints and are merged.
study: $(STAMP) dataset
	scripts/study_sitting.sh start $(WORKERS)

study-stop: $(STAMP)
	scripts/study_sitting.sh stop

# One worker per core; the smoke-run tests share one pipeline run, made once (tests/smoke_fixtures.py).
test: $(STAMP) dataset
	python -m pytest -n auto --dist loadgroup --no-loadscope-reorder --durations=10

# make bench BENCH_ARGS=--quick: the proposed model only, about a minute (bench/README.md).
bench: $(STAMP) dataset
	python bench/benchmark.py $(BENCH_ARGS)

# A venv with the pinned requirements and the package; redone only when they change.
$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || python3 -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements.txt
	$(BIN)/python -m pip install -q --no-deps -e .
	touch $@

# Offline machines get Fashion-MNIST from Debian's package when no other copy is configured.
dataset:
	@if [ -z "$$FASHION_MNIST_DIR" ] && [ ! -d /usr/share/datasets/fashion-mnist ] \
	    && command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	  echo "installing Debian's dataset-fashion-mnist"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dataset-fashion-mnist; \
	fi
