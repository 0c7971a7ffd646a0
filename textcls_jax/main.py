"""Trains (or resumes) one experiment.

  python -m textcls_jax.main --config=configs/sst2_rnn.py --workdir=runs/sst2_rnn \
      [--config.train.num_steps=5000 ...]

Re-running the same command on the same workdir resumes from its latest checkpoint.
"""

from __future__ import annotations

import sys

from absl import app
from absl import flags

from textcls_jax import config_checks  # Neither JAX nor TensorFlow: a bad value is refused fast.
from textcls_jax import failures

_CONFIG = config_checks.define_config_flag('Experiment config file (configs/*.py[:VARIANT]).')
_WORKDIR = flags.DEFINE_string('workdir', None, 'Directory for checkpoints, metrics, tokenizer.')
_COORDINATOR = flags.DEFINE_string(
    'coordinator_address', '', 'Multi-host: host:port of process 0 (or JAX_COORDINATOR_ADDRESS).')
_NUM_PROCESSES = flags.DEFINE_integer(
    'num_processes', 0, 'Multi-host: the number of processes (or JAX_NUM_PROCESSES).')
_PROCESS_ID = flags.DEFINE_integer(
    'process_id', -1, 'Multi-host: this process, 0..num_processes-1 (or JAX_PROCESS_ID).')
_VERBOSE = flags.DEFINE_bool(
    'verbose', False,
    "Tracebacks with errors, and the libraries' INFO logging (or TEXTCLS_VERBOSE=1).")
flags.mark_flags_as_required(['config', 'workdir'])


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'unexpected arguments: {" ".join(argv[1:])}')
  # A failure a user can act on is one line naming the file, key or checkpoint and what to do,
  # not a traceback (failures.py); --verbose keeps the traceback.
  with failures.reported(_WORKDIR.value, _VERBOSE.value):
    # Before JAX and TensorFlow are imported: a bad value is refused in a second.
    config_checks.validate(_CONFIG.value)
    from textcls_jax import quiet
    quiet.setup_logging(_VERBOSE.value)  # TensorFlow first, without its load-time C++ lines.
    from textcls_jax import parallel  # After flag parsing: importing JAX/TF is slow.
    from textcls_jax import train
    parallel.initialize_distributed(_COORDINATOR.value, _NUM_PROCESSES.value, _PROCESS_ID.value)
    train.train_and_evaluate(_CONFIG.value, _WORKDIR.value)


def run():
  from textcls_jax import quiet
  quiet.quiet_native_logs(verbose='--verbose' in sys.argv)
  app.run(main)  # Parsing --config executes the file, once, and checks its overrides' keys.


if __name__ == '__main__':
  run()
