# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/textcls-jax/textcls-jax/blob/main/colab/pretrain_then_finetune.ipynb)
#
# # Pretrain, then fine-tune
#
# A masked language model (MLM) learns from unlabeled text: 15% of each window's tokens are hidden
# and the encoder predicts them from both sides. This notebook pretrains the CNN encoder of
# `configs/pretrain_cnn.py` that way on IMDB's 50,000 unlabeled reviews, starts an SST-2
# classifier from it (`init_from`), trains the same classifier from scratch with the same steps
# and schedule, and compares the two on one plot. `configs/pretrain_rnn.py` and
# `configs/pretrain_transformer.py` do the same for the other two families.

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
# `0` steps keeps a config's own length (its recorded runs, in `results/` and the docs' results
# pages, say how long that takes and what it scores); fewer steps give a quick look. `CORPUS` lists the unlabeled sources (`tfds:NAME@SPLIT`,
# `text:FILE`, or `jsonl:FILE` of `{"text": ...}` lines); without internet, use local files, e.g.
# `['jsonl:../shared/data/imdb/unsup.jsonl.gz']`. `HELD_OUT = ''` holds out the tail of the
# first source for perplexity. `OVERRIDES` sets config keys of all three runs, as
# `--config.KEY=VALUE` does (e.g. `{'data.tfds_data_dir': '../shared/tfds'}`).

# %% tags=["parameters"]
PRETRAIN_STEPS = 0
FINETUNE_STEPS = 0
WORKDIR = 'runs/pretrain_then_finetune'
CORPUS = ['tfds:imdb_reviews@unsupervised']
HELD_OUT = ''
OVERRIDES = {}

# %%
from IPython.display import Image, display

from textcls_jax import config_base
from textcls_jax import quiet

tf = quiet.setup_logging()  # Progress and dev lines; the libraries' INFO chatter off.
PRETRAINED = os.path.join(WORKDIR, 'pretrain_cnn')
SCRATCH = os.path.join(WORKDIR, 'sst2_cnn_scratch')
FINETUNED = os.path.join(WORKDIR, 'sst2_cnn_pretrained')


def load_config(spec, num_steps, **keys):
  """A config from configs/ with OVERRIDES applied, then `keys` (a key 'a.b' is written a__b)."""
  config = config_base.config_file(spec)
  config.update_from_flattened_dict(OVERRIDES)
  config.update_from_flattened_dict({k.replace('__', '.'): v for k, v in keys.items()})
  if num_steps:
    config.train.num_steps = num_steps
  return config

# %% [markdown]
# ## 1. Pretraining
#
# The corpus is tokenized once (by a SentencePiece model trained on it and saved with the run)
# and cut into windows of `data.seq_len` tokens; the masks are drawn inside the train step, fresh
# each time a window is seen. The figure that matters is the held-out perplexity: how surprised
# the model is by the hidden tokens of text it never trained on.

# %%
from textcls_jax import train

pretrain_config = load_config('configs/pretrain_cnn.py', PRETRAIN_STEPS,
                              data__corpus_sources=tuple(CORPUS), data__corpus_weights=(),
                              data__corpus_eval=HELD_OUT)
held_out = train.train_and_evaluate(pretrain_config, PRETRAINED)
print(f"held-out perplexity {held_out['perplexity']:.1f}, masked-token accuracy "
      f"{held_out['accuracy']:.3f}")
display(Image(os.path.join(PRETRAINED, 'plots', 'curves.png')))

# %% [markdown]
# ## 2. Fine-tuning, and the same model from scratch
#
# `configs/sst2_cnn.py:pretrained` is `configs/sst2_cnn.py` with `init_from` set: the encoder's
# parameters and the tokenizer come from the pretraining workdir, and the classification head is
# new. The scratch twin trains its own tokenizer on SST-2 and starts from random parameters; the
# model, steps and schedule are the same.

# %%
finetuned = train.train_and_evaluate(
    load_config('configs/sst2_cnn.py:pretrained', FINETUNE_STEPS, init_from=PRETRAINED), FINETUNED)
scratch = train.train_and_evaluate(load_config('configs/sst2_cnn.py', FINETUNE_STEPS), SCRATCH)

# %% [markdown]
# ## 3. The comparison
#
# `textcls_jax.plot` draws any workdirs from their `metrics.jsonl` on shared axes (from a shell:
# `python -m textcls_jax.plot WORKDIR_A WORKDIR_B --out=comparison.png`).

# %%
from textcls_jax import plot

for name, dev in (('from scratch', scratch), ('pretrained', finetuned)):
  print(f"{name:>12}: dev accuracy {dev['accuracy']:.4f}, macro-F1 {dev['macro_f1']:.4f}")
display(Image(plot.plot_comparison([SCRATCH, FINETUNED], os.path.join(WORKDIR, 'comparison.png'))))

# %% [markdown]
# One seed on a dev split is a noisy judge, and dev is also what chose the recipe: the table of
# what pretraining buys (`docs/results/pretraining.md`) judges each family over seeds, on held-out
# data no decision looked at.
