# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/textcls-jax/textcls-jax/blob/main/colab/reproduce_and_scale.ipynb)
#
# # Reproduce and scale
#
# Every experiment is a config in `configs/`, and every run of it can be repeated exactly. This
# notebook loads a config and overrides it, trains it data-parallel on every device in both of the
# project's modes (`jax.jit` over a device mesh, and `jax.pmap`), stops a run from the command line
# the way a preemption would and resumes it, and compares the workdirs. On a CPU runtime, the CPU is
# split into 8 simulated devices, so the parallel code runs as it would on 8 accelerators (slower,
# since they share the same cores).

# %% [markdown]
# ## Setup
#
# In Colab, this cell fetches the textcls-jax release this notebook belongs to, installs it with
# its pinned dependencies and, on a GPU runtime, the matching CUDA build of JAX (a minute or two).
# Anywhere else it does nothing: install with the README's command and start Jupyter from the
# repository.

# %%
import os
import subprocess
import sys

VERSION = '0.1.0'  # pyproject.toml's version; a test keeps the two equal.
JAX_VERSION = '0.10.2'  # pyproject.toml's jax pin, for the CUDA build on a GPU runtime.
REPOSITORY = 'https://github.com/textcls-jax/textcls-jax'  # pyproject.toml's [project.urls].
if 'google.colab' in sys.modules:
  checkout = REPOSITORY.rsplit('/', 1)[-1]
  if not os.path.exists(checkout):
    subprocess.run(['git', 'clone', '--quiet', '--depth=1', f'--branch=v{VERSION}', REPOSITORY],
                   check=True)
  os.chdir(checkout)
  on_gpu = subprocess.run(['nvidia-smi'], capture_output=True).returncode == 0
  subprocess.run([sys.executable, '-m', 'pip', 'install', '--quiet', '-e', '.']
                 + ([f'jax[cuda12]=={JAX_VERSION}'] if on_gpu else []), check=True)

# %% [markdown]
# Paths below (`configs/`, `runs/`) are relative to the repository's root.

# %%
if os.path.basename(os.getcwd()) == 'colab':
  os.chdir('..')

# %% [markdown]
# ## Parameters
#
# `NUM_STEPS = 0` keeps the config's own length; fewer steps give a quick look. `OVERRIDES` sets
# config keys of every run, as `--config.KEY=VALUE` does; without internet, e.g.
# `{'data.source': 'tsv:../shared/data/sst2'}`. `NUM_CPU_DEVICES` is how many devices a CPU
# runtime is split into (a GPU or TPU runtime uses its own).

# %% tags=["parameters"]
NUM_STEPS = 0
WORKDIR = 'runs/reproduce_and_scale'
OVERRIDES = {}
NUM_CPU_DEVICES = 8

# %% [markdown]
# ## The devices
#
# XLA reads the device count once, when JAX starts, so this cell must run before anything imports
# JAX (restart the runtime to change it).

# %%
os.environ['XLA_FLAGS'] = (os.environ.get('XLA_FLAGS', '')
                           + f' --xla_force_host_platform_device_count={NUM_CPU_DEVICES}')
from textcls_jax import quiet

tf = quiet.setup_logging()  # Progress and dev lines; the libraries' INFO chatter off.
import jax

print(f'{jax.device_count()} devices:', *jax.devices(), sep='\n  ')

# %% [markdown]
# ## A config, overridden
#
# `config_base.config_file` loads a config as `--config=` does (`PATH:VARIANT` picks a variant).
# Every value is checked before a run writes anything: a bad one is refused in one line that
# names the key, the value and what is allowed.

# %%
from textcls_jax import config_base
from textcls_jax import config_checks

CONFIG = 'configs/sst2_cnn.py'


def load_config(**keys):
  """CONFIG with OVERRIDES applied, then `keys` (a key 'a.b' is written a__b)."""
  config = config_base.config_file(CONFIG)
  config.update_from_flattened_dict(OVERRIDES)
  config.update_from_flattened_dict({k.replace('__', '.'): v for k, v in keys.items()})
  if NUM_STEPS:
    config.train.num_steps = NUM_STEPS
  return config


config = load_config()
print(f'{CONFIG}: {config.model.name} encoder, {config.train.num_steps} steps of '
      f'{config.train.batch_size} sentences, {config.train.batch_size // jax.device_count()} on '
      'each device')
try:
  config_checks.validate(load_config(model__dropout=1.5))
except config_checks.ConfigError as e:
  print('refused:', e)

# %% [markdown]
# ## Every device, in both modes
#
# `parallel.mode = 'jit'` shards each global batch over a mesh of all devices and lets XLA insert
# the gradient all-reduce; `'pmap'` runs the same step function once per device and averages the
# gradients over the device axis. Both normalize by the global count of examples, so they train
# the same model to float32 rounding.

# %%
from textcls_jax import train

JIT, PMAP = os.path.join(WORKDIR, 'jit'), os.path.join(WORKDIR, 'pmap')
by_mode = {mode: train.train_and_evaluate(load_config(parallel__mode=mode), workdir)
           for mode, workdir in (('jit', JIT), ('pmap', PMAP))}
for mode, dev in by_mode.items():
  print(f"{mode:>4}: dev accuracy {dev['accuracy']:.6f}, dev loss {dev['loss']:.6f}")

# %% [markdown]
# ## Stopped, then resumed
#
# A third run of the `jit` config is interrupted as soon as it has logged its first steps: this
# cell sends the kernel SIGINT, which is what Colab's stop button does (a preempted job gets
# SIGTERM, which is handled the same way). The run finishes the step it is in, saves a checkpoint
# and returns. Running it again resumes from that checkpoint, with the parameters, the optimizer
# state, the RNG key and the position in the data, so it ends exactly where the uninterrupted
# `jit` run ended. The command line behaves the same: re-run the command that was stopped.

# %%
import signal
import threading
import time

from textcls_jax import plot

RESUMED = os.path.join(WORKDIR, 'stopped_and_resumed')


def logged_steps(workdir):
  try:
    return [row['step'] for row in plot.read_metrics(workdir) if row['split'] == 'train']
  except FileNotFoundError:
    return []


def stop_at_first_log(workdir, finished):
  while not logged_steps(workdir) and not finished.is_set():
    time.sleep(0.01)
  if not finished.is_set():
    os.kill(os.getpid(), signal.SIGINT)


finished = threading.Event()
threading.Thread(target=stop_at_first_log, args=(RESUMED, finished), daemon=True).start()
train.train_and_evaluate(load_config(), RESUMED)
finished.set()
saved = [int(name) for name in os.listdir(os.path.join(RESUMED, 'checkpoints')) if name.isdigit()]
print(f'stopped at step {max(saved)} of {load_config().train.num_steps}')

# %% [markdown]
# The same call again: it resumes.

# %%
resumed = train.train_and_evaluate(load_config(), RESUMED)
last = lambda workdir: [row for row in plot.read_metrics(workdir) if row['split'] == 'dev'][-1]
print(f"resumed: dev accuracy {resumed['accuracy']:.6f}, dev loss {resumed['loss']:.6f}")
print('The same last dev evaluation as the uninterrupted run:', last(RESUMED) == last(JIT))

# %% [markdown]
# ## Several workdirs, one figure

# %%
from IPython.display import Image, display

display(Image(plot.plot_comparison([JIT, PMAP, RESUMED], os.path.join(WORKDIR, 'comparison.png'))))

# %% [markdown]
# ## Next
#
# - On several GPUs or a TPU slice, the same configs run unchanged: the devices-and-hosts guide
#   (`docs/guides/devices_and_hosts.md`) gives the commands, `jax.distributed` included.
# - Each config's docstring holds its command; the results of its runs are tables generated from
#   `results/` (`docs/results/`).
